// Bad input, every input (issue 13): the cases are generated from each action.yml, so a new input is
// covered without anyone remembering to. Every input of every action gets, in turn, with the other
// inputs valid: empty, whitespace only, a newline inside, shell metacharacters, option injection
// (a leading `-`) and path traversal. Each run must end with a clear message (an error annotation,
// no stack trace, no JavaScript error text) or handle the value as data; no shell may run it (a
// marker file it would create stays absent); and no program may get it as an option of its own: a
// stand-in `docker` first on PATH records every argv it is given, and the injected option never
// appears as an argument by itself. deploy runs as a server-side dry run against the test bed's
// cluster, promote against a staging release that does not exist, so nothing changes anywhere.
// Not generated: a 1 MB value (a runner passes inputs as environment variables, and Linux refuses one
// over 128 KiB, so no workflow can give one) and invalid UTF-8 (a runner's inputs are UTF-8 strings;
// the files actions read are checked for it where they are read).
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RunResult } from '@kubeline/runner';
import { act, demoDir, repoRoot } from '../support/actions';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
const kubeconfig = readFileSync(kubeconfigPath, 'utf8');

const work = mkdtempSync(join(tmpdir(), 'kubeline-matrix-'));
const marker = join(work, 'ran');
const dockerLog = join(work, 'docker-argv');
const bin = join(work, 'bin');
// The stand-in docker: records its argv (one argument per line, then ---), answers inspect, fails the rest.
{
  mkdirSync(bin);
  writeFileSync(join(bin, 'docker'), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${dockerLog}'\necho --- >> '${dockerLog}'\ncase "$1" in inspect|image) echo '[]'; exit 0;; esac\necho "stand-in docker: not running $1" >&2\nexit 1\n`);
  chmodSync(join(bin, 'docker'), 0o755);
}
// The workspace the actions run in: a copy of the example app, so that what a value makes there stays out of the repository.
const workspace = join(work, 'workspace');
cpSync(join(repoRoot, 'examples', 'demo'), join(workspace, 'examples', 'demo'), { recursive: true });
const manifest = join(work, 'app.yaml');
writeFileSync(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: matrix }\ndata: { a: "1" }\n`);

/** Valid inputs for each action, so that the input under test is the one that decides. */
const BASE: Record<string, Record<string, string>> = {
  'build-test-image': { context: demoDir },
  'run-tests': { image: 'local/busybox:1', run: 'true' },
  'push-image': { context: demoDir, repositories: 'registry.example.com/acme/app' },
  'render-and-validate-manifests': { path: 'examples/demo/deploy', environment: 'staging', 'output-dir': join(work, 'out') },
  deploy: { manifests: manifest, release: 'matrix', namespace: 'default', kubeconfig, 'dry-run': 'true' },
  promote: { mode: 'registry', 'from-namespace': 'no-such-staging', 'from-release': 'matrix', 'to-images': 'registry.example.com/acme/app:production', kubeconfig },
};
const INJECTED = '--kubeline-injected-option';
const CASES: Record<string, string> = {
  empty: '',
  whitespace: '  \t ',
  newline: 'first\nsecond',
  'shell metacharacters': `x$(touch ${marker})\`touch ${marker}\`;touch ${marker}|touch ${marker}`,
  'option injection': INJECTED,
  'path traversal': '../../../../../../etc/passwd',
};

const actions = readdirSync(join(repoRoot, 'actions')).filter((a) => existsSync(join(repoRoot, 'actions', a, 'action.yml')));
const rows = actions.flatMap((action) => {
  const inputs = Object.keys((parse(readFileSync(join(repoRoot, 'actions', action, 'action.yml'), 'utf8')) as { inputs?: Record<string, unknown> }).inputs ?? {});
  return inputs.flatMap((input) => Object.entries(CASES).map(([name, value]) => ({ action, input, name, value })));
});

/** What a run must look like, whatever the value. */
function judge(r: RunResult): string[] {
  const problems: string[] = [];
  if (/\n\s+at .+\(.+:\d+:\d+\)/.test(r.log) || /\bat file:\/\//.test(r.log)) problems.push('a stack trace in the log');
  if (/\b(TypeError|ReferenceError|RangeError|SyntaxError)\b|is not a function|Cannot read propert/.test(r.log)) problems.push('a JavaScript error in the log');
  if (r.conclusion === 'failure' && !r.annotations.some((a) => a.level === 'error' && a.message.length > 10)) problems.push('failed without an error message');
  return problems;
}

test('every action.yml has its inputs generated into the matrix', () => {
  expect(actions.sort()).toEqual(['build-test-image', 'deploy', 'promote', 'push-image', 'render-and-validate-manifests', 'run-tests']);
  expect(rows.length).toBeGreaterThan(actions.length * 10 * Object.keys(CASES).length);
});

test('every input, every bad value: a clear message or data, never a command, never an option', async () => {
  const failures: string[] = [];
  const queue = [...rows];
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      const inputs = { ...BASE[row.action], [row.input]: row.value };
      const r = await act(row.action, inputs, { workspace, env: { PATH: `${bin}:${process.env.PATH}`, DOCKER_HOST: 'unix:///nonexistent/docker.sock'} });
      for (const p of judge(r)) failures.push(`${row.action} ${row.input} (${row.name}): ${p}: ${r.annotations.find((a) => a.level === 'error')?.message ?? r.log.slice(-300)}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  expect(failures).toEqual([]);
  expect(existsSync(marker)).toBe(false);
  // The injected option reached docker, if at all, only joined to a flag (`--cache-from=--…`), never as an option of its own.
  // After `--` come the image and the container's command (run-tests' `shell` and `run`: a command by design).
  const calls = existsSync(dockerLog) ? readFileSync(dockerLog, 'utf8').split('---\n').map((c) => c.split('\n').filter(Boolean)) : [];
  const asOptions = calls.flatMap((argv) => (argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv)).filter((a) => a === INJECTED || a.startsWith(`${INJECTED}=`));
  expect(asOptions).toEqual([]);
  expect(calls.length).toBeGreaterThan(100); // docker was really called with the values
});
