// The example app through build-test-image → run-tests → push-image, on the
// real Docker engine and the real registry with auth, exactly as a workflow
// would chain them.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { act, demoDir, expectNoStackTrace, registryDigest, testbed, uniqueName } from '../support/actions';


const bed = testbed();
const RUN = 'python3 -m pytest --junitxml=/reports/junit.xml';

describe('example app pipeline', () => {
  const repo = uniqueName('demo');
  let testImage = '';

  test('build-test-image builds the test stage and says which builder it used', async () => {
    const r = await act('build-test-image', { context: demoDir, image: `kubeline-test/${repo}:ci` });
    expect(r.conclusion).toBe('success');
    expect(r.outputs.image).toBe(`kubeline-test/${repo}:ci`);
    expect(r.outputs['image-id']).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(r.outputs.target).toBe('test');
    expect(JSON.parse(r.outputs.stages)).toEqual(['build', 'test', 'app']);
    expect(['buildx', 'classic']).toContain(r.outputs.builder);
    expect(r.summary).toContain(r.outputs.builder === 'buildx' ? 'docker buildx build' : 'DOCKER_BUILDKIT=1 docker build');
    testImage = r.outputs.image;
  });

  test('run-tests runs the tests in that image and reports JUnit totals', async () => {
    const r = await act('run-tests', { image: testImage, run: RUN, results: '/reports', 'source-dir': 'examples/demo' });
    expect(r.conclusion).toBe('success');
    expect(Number(r.outputs.passed)).toBeGreaterThanOrEqual(5);
    expect(r.outputs.failed).toBe('0');
    expect(r.outputs.report).not.toBe('');
    expect(r.summary).toMatch(/passed/i);
  });

  const pushDemo = () =>
    act('push-image', { context: demoDir, repositories: `${bed.registry}/${repo}`, tags: 'type=sha\ntype=raw,value=ci', username: bed.user, password: bed.password });

  let digest = '';
  test('push-image builds the final stage from the cache, pushes every tag and proves the digest', async () => {
    const r = await pushDemo();
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    digest = r.outputs.digest;
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(r.outputs['image-ref']).toBe(`${bed.registry}/${repo}@${digest}`);
    const tags = r.outputs.tags.split('\n');
    expect(tags).toContain(`${bed.registry}/${repo}:ci`);
    expect(tags.some((t) => /:sha-[0-9a-f]{7}$/.test(t))).toBe(true);
    for (const t of tags) {
      expect(await registryDigest(bed.registry, repo, t.split(':').pop()!, bed)).toBe(digest);
    }
    // The test stage is not rebuilt: the final stage only reuses `build` from the cache.
    expect(r.summary).toMatch(/\d+ steps from cache, 0 run/);
    expect(r.log).not.toMatch(/pytest/);
    // The password never reaches the log.
    expect(r.log).not.toContain(bed.password);
    const meta = JSON.parse(r.outputs.metadata);
    expect(meta.labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
  });

  test('a second run with no source change pushes the same digest and re-uploads no layer', async () => {
    const r = await pushDemo();
    expect(r.conclusion).toBe('success');
    expect(r.outputs.digest).toBe(digest);
    expect(r.log).not.toMatch(/^[0-9a-f]{12}: Pushed$/m);
    expect(r.log).toMatch(/Layer already exists/);
  });

  test('the post step logs out and leaves no docker config behind', async () => {
    const r = await act('push-image', { context: demoDir, repositories: `${bed.registry}/${repo}`, tags: 'ci2', username: bed.user, password: bed.password });
    expect(r.conclusion).toBe('success');
    expect(r.postExitCode).toBe(0);
    expect(r.log).toMatch(/Logged out of .* and removed the temporary docker config/);
    // The credential never landed in the user's docker config.
    const config = join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
    const auths = existsSync(config) ? (JSON.parse(readFileSync(config, 'utf8')).auths ?? {}) : {};
    expect(Object.keys(auths)).not.toContain(bed.registry);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('kubeline-docker-config-'))).toEqual([]);
  });
});

describe('push-image options', () => {
  test('several registries at once get the same digest under every tag', async () => {
    const repo = uniqueName('multi');
    const r = await act('push-image', {
      context: demoDir,
      repositories: `${bed.registryNoAuth}/${repo}\n${bed.registry}/Acme/${repo}`,
      tags: 'type=raw,value=one\ntype=raw,value=two',
      registry: bed.registry,
      username: bed.user,
      password: bed.password,
    });
    expect(r.conclusion).toBe('success');
    // Image names are lowercased, as registries require.
    expect(r.outputs.tags.split('\n').sort()).toEqual(
      [`${bed.registryNoAuth}/${repo}:one`, `${bed.registryNoAuth}/${repo}:two`, `${bed.registry}/acme/${repo}:one`, `${bed.registry}/acme/${repo}:two`].sort(),
    );
    expect(await registryDigest(bed.registryNoAuth, repo, 'two')).toBe(r.outputs.digest);
    expect(await registryDigest(bed.registry, `acme/${repo}`, 'one', bed)).toBe(r.outputs.digest);
  });

  test('push: false builds and loads the image without pushing', async () => {
    const repo = uniqueName('local');
    const r = await act('push-image', { context: demoDir, repositories: `${bed.registryNoAuth}/${repo}`, tags: 'local', push: 'false' });
    expect(r.conclusion).toBe('success');
    expect(r.outputs.digest).toBe('');
    expect(r.outputs['image-id']).toMatch(/^sha256:/);
    expect(r.summary).toContain('Not pushed');
    expect(await registryDigest(bed.registryNoAuth, repo, 'local')).toBeUndefined();
  });
});

describe('failing-test variant', () => {
  const repo = uniqueName('demo-failing');

  test('run-tests fails with the failing test named in the summary and annotated at file:line', async () => {
    const built = await act('build-test-image', { context: demoDir, 'build-args': 'DEMO_FAIL=1', image: `kubeline-test/${repo}:ci` });
    expect(built.conclusion).toBe('success');
    const r = await act('run-tests', { image: built.outputs.image, run: RUN, results: '/reports', 'source-dir': 'examples/demo' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(Number(r.outputs.failed)).toBe(1);
    const failure = r.annotations.find((a) => a.level === 'error' && a.file);
    expect(failure?.file).toMatch(/^examples\/demo\/tests\/test_\w+\.py$/);
    expect(failure?.line).toBeGreaterThan(0);
    expect(r.summary).toMatch(/test_\w+/);
    expect(r.summary).toContain(failure!.file!);
  });
});
