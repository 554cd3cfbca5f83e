// Every bundle in dist/ run exactly as the GitHub runner runs it — a bare
// `node dist/<name>/index.js` with INPUT_* variables and the runner's files —
// so a bundle that cannot load its dependencies, or writes its outputs
// wrongly, fails here. No local-runner code is involved.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFileCommands } from '@kubeline/runner';
import { repoRoot, testbed, uniqueName } from '../support/actions';
import { runnerFiles } from '../support/runner-files';

const bed = testbed();

interface StepResult {
  status: number;
  stdout: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
}

function runBundle(action: string, inputs: Record<string, string>, state: Record<string, string> = {}): StepResult {
  const dir = mkdtempSync(join(tmpdir(), `kubeline-bundle-${action}-`));
  const files = runnerFiles(dir);
  const sha = 'c0ffee'.padEnd(40, '0');
  const eventPath = join(dir, 'event.json');
  writeFileSync(eventPath, JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'acme/app', default_branch: 'main' } }));
  const env: Record<string, string> = {
    ...files,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_SHA: sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_WORKSPACE: repoRoot,
    RUNNER_TEMP: dir,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v; // the runner keeps hyphens: INPUT_TIMEOUT-MINUTES
  for (const [k, v] of Object.entries(state)) env[`STATE_${k}`] = v;
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', action, 'index.js')], { env, cwd: repoRoot, encoding: 'utf8' });
  return {
    status: r.status ?? -1,
    stdout: r.stdout + r.stderr,
    outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    state: parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}

function context(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-bundle-ctx-'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${bed.busybox} AS build\nRUN echo built > /built\nFROM build AS test\nFROM build AS app\nCMD ["cat", "/built"]\n`);
  return dir;
}

test('the local runner bundle starts and explains itself', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli', 'index.js'), '--help'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('Usage: kubeline run <action>');
});

test('build-test-image → run-tests → push-image bundles, main and post steps, through the runner protocol', () => {
  const ctx = context();
  const built = runBundle('build-test-image', { context: ctx, image: `kubeline-test/${uniqueName('bundle')}:1` });
  expect(built.stdout).not.toMatch(/ERR_|Cannot find (module|package)|SyntaxError/);
  expect(built.status).toBe(0);
  expect(built.outputs.image).toMatch(/^kubeline-test\/bundle-\w+:1$/);
  expect(built.outputs['image-id']).toMatch(/^sha256:/);
  expect(built.summary).toContain('### build-test-image');

  const tested = runBundle('run-tests', { image: built.outputs.image, run: 'test "$(cat /built)" = built', timeout: '5m', shell: 'sh' });
  expect(tested.status).toBe(0);
  expect(tested.outputs['exit-code']).toBe('0');
  expect(tested.state.isPost).toBe('true');
  const post = runBundle('run-tests', {}, tested.state);
  expect(post.status).toBe(0);

  const repo = uniqueName('bundle');
  const pushed = runBundle('push-image', { context: ctx, repositories: `${bed.registryNoAuth}/${repo}`, tags: 'type=sha\ntype=ref,event=branch', push: 'true', retries: '2' });
  expect(pushed.status).toBe(0);
  expect(pushed.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  expect(pushed.outputs.tags.split('\n')).toEqual([`${bed.registryNoAuth}/${repo}:main`, `${bed.registryNoAuth}/${repo}:sha-c0ffee0`]);
  expect(JSON.parse(pushed.outputs.metadata).digest).toBe(pushed.outputs.digest);
  expect(runBundle('push-image', {}, pushed.state).status).toBe(0);
});

test('a bundle fails with `<action>: <message>` and exit code 1, never a stack trace', () => {
  for (const action of ['build-test-image', 'run-tests', 'push-image']) {
    const r = runBundle(action, { context: '/nonexistent', image: '', run: '', images: '' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^::error::${action}: input '[a-z-]+': `, 'm'));
    expect(r.stdout).not.toMatch(/\n\s+at /);
  }
});
