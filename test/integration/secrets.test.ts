// build-test-image's `secrets` reach `RUN --mount=type=secret` and nothing
// else: no layer, no history, no log, no file left on the runner. Its
// `build-args` reach the build.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { act, expectNoStackTrace, testbed, uniqueName } from '../support/actions';

const bed = testbed();
const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).trim();

const images: string[] = [];
const temps: string[] = [];
function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const image of images) execFileSync('docker', ['rmi', '--force', image], { stdio: 'ignore' });
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A build context whose test stage uses the secret `token` and the build argument GREETING. */
function context(extraRun = ''): string {
  const dir = temp('kubeline-secret-ctx-');
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      `FROM ${bed.busybox} AS test`,
      'ARG GREETING=unset',
      // What the build keeps of the secret: its hash and its length, never the value.
      'RUN --mount=type=secret,id=token,required=true sha256sum /run/secrets/token | cut -d" " -f1 > /token.sha256 && wc -c < /run/secrets/token | tr -d " " > /token.length',
      'RUN echo "$GREETING" > /greeting',
      ...(extraRun ? [`RUN --mount=type=secret,id=token ${extraRun}`] : []),
      '',
    ].join('\n'),
  );
  return dir;
}

/** The RUNNER_TEMP the action gets: the secret files' folder would be left here. */
const buildFolders = (runnerTemp: string): string[] => readdirSync(runnerTemp).filter((f) => f.startsWith('kubeline-build-'));

test('a secret reaches RUN --mount=type=secret but no layer, history, log or leftover file; build-args reach the build', async () => {
  const secret = `tok-${randomBytes(16).toString('hex')}`;
  const greeting = `hello-${randomBytes(4).toString('hex')}`;
  const image = `kubeline-test/${uniqueName('secrets')}:1`;
  images.push(image);
  const runnerTemp = temp('kubeline-secret-temp-');
  const r = await act(
    'build-test-image',
    { context: context(), image, secrets: `token=${secret}`, 'build-args': `GREETING=${greeting}`, 'no-cache': 'true' },
    { env: { RUNNER_TEMP: runnerTemp } },
  );
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('success');
  expect(r.outputs.image).toBe(image);

  // The build saw the secret: its hash and length are in the image.
  const read = (path: string) => docker('run', '--rm', '--entrypoint', '', image, 'cat', path);
  expect(read('/token.sha256')).toBe(createHash('sha256').update(secret).digest('hex'));
  expect(read('/token.length')).toBe(String(secret.length));
  // The build argument reached the build.
  expect(read('/greeting')).toBe(greeting);
  // The mount is gone from the image.
  expect(docker('run', '--rm', '--entrypoint', '', image, 'sh', '-c', 'ls -A /run/secrets 2>/dev/null || true')).toBe('');

  // Not in any layer or in the image config: `docker save` holds both, uncompressed.
  const saved = execFileSync('docker', ['save', image], { maxBuffer: 256 * 1024 * 1024 });
  expect(saved.length).toBeGreaterThan(100_000);
  expect(saved.includes(greeting)).toBe(true); // the search does find what is there
  expect(saved.includes(secret)).toBe(false);
  expect(docker('history', '--no-trunc', image)).not.toContain(secret);
  expect(docker('image', 'inspect', image)).not.toContain(secret);

  // Not in the log, not even masked: nothing the action printed held it.
  expect(r.log).not.toContain(secret);
  expect(r.log).not.toContain('***');
  expect(r.log).toMatch(/--secret=id=token,src=\S+/);
  expect(r.summary).not.toContain(secret);

  // The folder that held the secret file is gone.
  expect(buildFolders(runnerTemp)).toEqual([]);
});

test('after a failed build the secret file is gone too', async () => {
  const secret = `tok-${randomBytes(16).toString('hex')}`;
  const runnerTemp = temp('kubeline-secret-temp-');
  const r = await act(
    'build-test-image',
    { context: context('test "$(wc -c < /run/secrets/token)" -eq 0'), image: `kubeline-test/${uniqueName('secrets-fail')}:1`, secrets: `token=${secret}` },
    { env: { RUNNER_TEMP: runnerTemp } },
  );
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  expect(r.annotations.find((a) => a.title === 'Docker build failed')?.line).toBe(5);
  expect(r.log).not.toContain(secret);
  expect(buildFolders(runnerTemp)).toEqual([]);
});

test('a secret id the --secret flag cannot carry names the secrets input', async () => {
  const r = await act('build-test-image', { context: context(), secrets: 'my token=x' });
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  expect(r.annotations.find((a) => a.level === 'error')?.message).toContain("input 'secrets': secret id 'my token' may hold only letters, digits, '_', '.' and '-'.");
});
