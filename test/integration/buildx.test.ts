// The buildx path, as on GitHub-hosted runners: with the buildx CLI plugin
// (built by the test bed from its Go module) the actions use
// `docker buildx build --load`; login keeps the plugin visible.
import { act, demoDir, registryDigest, testbed, uniqueName } from '../support/actions';

const bed = testbed();
const buildxConfig = process.env.KUBELINE_BUILDX_CONFIG;

if (!buildxConfig) {
  throw new Error('KUBELINE_BUILDX_CONFIG is not set: bring the test bed up with `scripts/testbed up --buildx-isolated` (npm test does).');
}
const env = { DOCKER_CONFIG: buildxConfig };

test('build-test-image, run-tests and push-image work with docker buildx and say so', async () => {
  const repo = uniqueName('buildx');
  const built = await act('build-test-image', { context: demoDir, image: `kubeline-test/${repo}:ci` }, { env });
  expect(built.conclusion).toBe('success');
  expect(built.outputs.builder).toBe('buildx');
  expect(built.log).toContain('Building with docker buildx build.');
  expect(built.log).toMatch(/docker buildx build --load/);

  const tested = await act('run-tests', { image: built.outputs.image, run: 'python3 -m pytest --junitxml=/reports/junit.xml', results: '/reports' }, { env });
  expect(tested.conclusion).toBe('success');
  expect(Number(tested.outputs.passed)).toBeGreaterThan(0);

  const pushed = await act(
    'push-image',
    { context: demoDir, images: `${bed.registry}/${repo}`, tags: 'ci', username: bed.user, password: bed.password },
    { env },
  );
  expect(pushed.conclusion).toBe('success');
  expect(pushed.log).toContain('Building with docker buildx build.');
  expect(await registryDigest(bed.registry, repo, 'ci', bed)).toBe(pushed.outputs.digest);
});

// buildx's docker driver cannot push by digest, and the docker-container driver
// needs the moby/buildkit image, which cannot be pulled here: so only the
// refusal is tested on this machine; .github/workflows/e2e.yml runs the push.
test('push-by-digest on the docker driver says which builder it needs', async () => {
  const r = await act('push-image', { context: demoDir, repositories: `${bed.registryNoAuth}/${uniqueName('bydigest')}`, 'push-by-digest': 'true' }, { env });
  expect(r.conclusion).toBe('failure');
  expect(r.annotations.find((a) => a.level === 'error')?.message).toContain(
    "input 'push-by-digest': needs a buildx builder with the docker-container driver",
  );
});
