// Every mistake a user can make gets a message that names the input and the
// fix, before any work and without a stack trace, against the real engine.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { act, demoDir, expectNoStackTrace, registryDigest, testbed, uniqueName } from '../support/actions';

const bed = testbed();

function failureOf(r: Awaited<ReturnType<typeof act>>): string {
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  return r.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
}

test('missing Dockerfile names the file input', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'kubeline-empty-'));
  const msg = failureOf(await act('build-test-image', { context: empty }));
  expect(msg).toMatch(/^build-test-image: input 'file': no Dockerfile at '.*Dockerfile'\. Set 'file'/m);
});

test('missing context folder names the context input', async () => {
  const msg = failureOf(await act('push-image', { context: '/nonexistent/app', repositories: `${bed.registry}/x` }));
  expect(msg).toContain("push-image: input 'context': folder '/nonexistent/app' does not exist");
});

test('a target that does not exist lists the stages that do', async () => {
  const msg = failureOf(await act('build-test-image', { context: demoDir, target: 'unit' }));
  expect(msg).toContain("input 'target': stage 'unit' is not in examples/demo/Dockerfile. Stages there: build, test, app.");
});

test('a Dockerfile with neither test nor build stage asks for a target', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-df-'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${bed.busybox} AS app\nCMD ["true"]\n`);
  const msg = failureOf(await act('build-test-image', { context: dir }));
  expect(msg).toContain("has no stage named 'test' or 'build' (stages: app). Set 'target'");
});

test('a build error becomes an annotation on the Dockerfile line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-df-'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${bed.busybox} AS build\nRUN true\n\nRUN exit 3\nFROM build AS test\n`);
  const r = await act('build-test-image', { context: dir });
  failureOf(r);
  const a = r.annotations.find((x) => x.title === 'Docker build failed');
  expect(a?.file).toMatch(/Dockerfile$/);
  expect(a?.line).toBe(4);
  expect(a?.message).toMatch(/exit code: 3/);
});

test('unreachable Docker says where it looked and how to fix it', async () => {
  const r = await act('build-test-image', { context: demoDir }, { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  const msg = failureOf(r);
  expect(msg).toContain('Cannot reach the Docker engine at unix:///nonexistent/docker.sock. Start Docker, or set DOCKER_HOST');
  // Whichever docker call meets it first, the message is the same.
  const unreachable = { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } };
  expect(failureOf(await act('run-tests', { image: 'x', run: 'true' }, unreachable))).toContain('Cannot reach the Docker engine at unix:///nonexistent/docker.sock');
  expect(failureOf(await act('push-image', { context: demoDir, repositories: `${bed.registryNoAuth}/x` }, unreachable))).toContain(
    'Cannot reach the Docker engine at unix:///nonexistent/docker.sock',
  );
});

test('bad booleans, numbers and key=value lines are refused before any work', async () => {
  expect(failureOf(await act('push-image', { repositories: 'x/y', push: 'maybe' }))).toContain("input 'push': 'maybe' is not a boolean. Use true or false.");
  expect(failureOf(await act('push-image', { repositories: 'x/y', retries: '99' }))).toContain("input 'retries': 99 is out of range");
  expect(failureOf(await act('build-test-image', { 'build-args': 'NOVALUE' }))).toContain("input 'build-args': 'NOVALUE' is not of the form key=value.");
  expect(failureOf(await act('push-image', { repositories: '' }))).toContain("input 'repositories': is required");
  expect(failureOf(await act('push-image', { repositories: 'x/y', username: 'u' }))).toContain("input 'password'");
  expect(failureOf(await act('push-image', { context: demoDir, repositories: 'x/y', tags: 'type=semvar,pattern={{version}}' }))).toMatch(/input 'tags'.*semvar/);
  expect(failureOf(await act('run-tests', { image: '', run: 'true' }))).toContain("input 'image': is required");
  expect(failureOf(await act('run-tests', { image: 'kubeline-test/none:missing', run: 'true' }))).toContain(
    "input 'image': 'kubeline-test/none:missing' is not in the Docker engine",
  );
});

test('a wrong registry password names the credentials and pushes nothing', async () => {
  const repo = uniqueName('badpass');
  const r = await act('push-image', { context: demoDir, repositories: `${bed.registry}/${repo}`, tags: 'ci', username: bed.user, password: 'wrong-password' });
  const msg = failureOf(r);
  expect(msg).toContain(`input 'password': ${bed.registry} rejected the credentials of user '${bed.user}'`);
  expect(r.log).not.toContain('wrong-password');
  expect(r.outputs.digest).toBeUndefined();
  expect(await registryDigest(bed.registry, repo, 'ci', bed)).toBeUndefined();
});

test('pushing to an auth registry without credentials says which inputs to give', async () => {
  const repo = uniqueName('noauth');
  const r = await act('push-image', { context: demoDir, repositories: `${bed.registry}/${repo}`, tags: 'ci', retries: '0' });
  expect(failureOf(r)).toMatch(/input 'password': .*refused the push.*Give 'username' and 'password'/);
});

test('push-by-digest without buildx says it needs buildx', async () => {
  const msg = failureOf(await act('push-image', { context: demoDir, repositories: `${bed.registryNoAuth}/x`, 'push-by-digest': 'true' }));
  expect(msg).toContain("input 'push-by-digest': needs docker buildx");
});
