// Runs GitHub Actions workflow files with a real workflow engine: nektos/act (built from its Go
// module by scripts/testbed, KUBELINE_ACT), its jobs on this host (`-P ubuntu-latest=-self-hosted`),
// as a self-hosted runner runs them. `uses: kubeline/kubeline/...@v0` — actions and reusable
// workflows — resolve to this checkout (`--local-repository`). Remote actions cannot be fetched
// here (no network), so the few third-party ones the workflows use are replaced by test-only
// stand-ins in test/support/stand-ins/: actions/checkout (the workspace is already the checked-out
// repository) and codeql-action/upload-sarif (checks the SARIF file it is given, uploads nothing).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './actions';

/** The pinned third-party actions the workflows use, and their stand-ins. */
export const STAND_INS: Record<string, string> = {
  'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1': join(repoRoot, 'test', 'support', 'stand-ins', 'checkout'),
  'github/codeql-action@8aad20d150bbac5944a9f9d289da16a4b0d87c1e': join(repoRoot, 'test', 'support', 'stand-ins', 'codeql-action'),
};

export interface WorkflowRun {
  exitCode: number;
  /** Everything act printed. */
  log: string;
  /** `::set-output::`/GITHUB_OUTPUT values act reported, by job (act's `[<workflow>/<job>]` prefix), last one wins. */
  outputs: Record<string, Record<string, string>>;
  /** Jobs act said succeeded or failed. */
  succeeded: string[];
  failed: string[];
  durationMs: number;
}

export interface WorkflowOptions {
  /** The repository whose workflow runs (a git repository: act reads its HEAD and remote). */
  workspace: string;
  /** The workflow file, relative to `workspace`. */
  workflow: string;
  event: string;
  /** The event payload (GITHUB_EVENT_PATH). */
  payload?: Record<string, unknown>;
  secrets?: Record<string, string>;
  /** Environment of every step (the test bed's DOCKER_HOST and so on). */
  env?: Record<string, string>;
  /** Configuration variables (`vars.*`). */
  vars?: Record<string, string>;
  /** Only this job (and what it needs). */
  job?: string;
  timeoutMs?: number;
}

/** The act binary the test bed built. */
export function actBinary(): string {
  const act = process.env.KUBELINE_ACT;
  if (!act) throw new Error('KUBELINE_ACT is not set: run `eval "$(scripts/testbed env)"` (scripts/testbed up builds act), then the tests again.');
  return act;
}

let published: string | undefined;
/**
 * What `kubeline/kubeline@v0` is for act: this checkout as a release has it — action.yml files,
 * their dist/ bundles and the reusable workflows — copied once per test process. (act copies a
 * local repository whole with tar for every step; this checkout's test-bed state would be copied
 * too, and files growing meanwhile break the copy.)
 */
export function kubelineRelease(): string {
  if (published) return published;
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-release-'));
  for (const part of ['actions', 'dist', '.github', 'action.yml', 'LICENSE']) {
    try {
      cpSync(join(repoRoot, part), join(dir, part), { recursive: true, filter: (src) => !/\/(src|test)(\/|$)/.test(src.slice(repoRoot.length)) || src.includes('/dist/') });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  published = dir;
  return dir;
}

/** A dotenv line act reads back as the same value (one line: values with newlines must be encoded by the caller). */
function dotenv(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => {
      if (v.includes('\n')) throw new Error(`${k}: a value with a newline cannot go through act's env/secret files; base64 it`);
      return `${k}=${JSON.stringify(v)}`;
    })
    .join('\n');
}

/** Runs one workflow file under act; resolves when act exits. */
export async function runWorkflow(options: WorkflowOptions): Promise<WorkflowRun> {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-act-'));
  try {
    const secrets = join(dir, 'secrets');
    const env = join(dir, 'env');
    const event = join(dir, 'event.json');
    writeFileSync(secrets, dotenv(options.secrets ?? {}), { mode: 0o600 });
    writeFileSync(env, dotenv(options.env ?? {}));
    writeFileSync(join(dir, 'vars'), dotenv(options.vars ?? {}));
    writeFileSync(event, JSON.stringify(options.payload ?? {}));
    const args = [
      options.event,
      '-W', options.workflow,
      '-P', 'ubuntu-latest=-self-hosted',
      '--secret-file', secrets,
      '--env-file', env,
      '--var-file', join(dir, 'vars'),
      '--input-file', join(dir, 'none'),
      '--eventpath', event,
      '--no-cache-server',
      '--action-offline-mode',
      '--local-repository', `kubeline/kubeline@v0=${kubelineRelease()}`,
      ...Object.entries(STAND_INS).flatMap(([ref, path]) => ['--local-repository', `${ref}=${path}`]),
      ...(options.job ? ['--job', options.job] : []),
    ];
    const started = Date.now();
    const { code, log } = await new Promise<{ code: number; log: string }>((resolve, reject) => {
      const child = spawn(actBinary(), args, { cwd: options.workspace, env: { ...process.env, HOME: process.env.HOME ?? '/root' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const keep = (d: Buffer) => {
        out += d.toString();
        if (process.env.KUBELINE_TEST_LOG) process.stderr.write(d);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15 * 60_000);
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c ?? 1, log: out });
      });
    });
    const outputs: WorkflowRun['outputs'] = {};
    const succeeded: string[] = [];
    const failed: string[] = [];
    for (const line of log.split('\n')) {
      const job = /^\[([^\]]+)\]/.exec(line)?.[1];
      if (!job) continue;
      const out = /⚙ {2}::set-output:: ([\w-]+)=(.*)$/.exec(line);
      if (out) (outputs[job] ??= {})[out[1]] = out[2];
      if (/🏁 {2}Job succeeded/.test(line)) succeeded.push(job);
      if (/🏁 {2}Job failed/.test(line)) failed.push(job);
    }
    // act prints a secret file it cannot read whole: keep secret values out of the log in any case.
    let shown = log;
    for (const value of Object.values(options.secrets ?? {})) if (value.length >= 4) shown = shown.split(value).join('***');
    return { exitCode: code, log: shown, outputs, succeeded, failed, durationMs: Date.now() - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A caller repository: `files` written into a fresh git repository with one commit on main. */
export function callerRepository(files: Record<string, string>, copy: Array<{ from: string; to: string }> = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-caller-'));
  return initRepository(dir, files, copy);
}

function initRepository(dir: string, files: Record<string, string>, copy: Array<{ from: string; to: string }>): string {
  for (const c of copy) cpSync(c.from, join(dir, c.to), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], { stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('remote', 'add', 'origin', 'https://github.com/acme/app.git');
  git('add', '-A');
  git('commit', '-q', '-m', 'app');
  return dir;
}

/** A file's text. */
export const read = (path: string): string => readFileSync(path, 'utf8');

/** act's `[1m32.5s]`, `[7.8s]`, `[170ms]` → ms. */
function durationMs(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([\d.]+)(ms|µs|s|m|h)/g)) ms += Number(n) * ({ ms: 1, µs: 0.001, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit];
  return ms;
}

/** The time the workflow's kubeline action steps took (main and post), summed as if run one by one. */
export function actionStepsMs(run: WorkflowRun): number {
  let total = 0;
  for (const m of run.log.matchAll(/(?:✅|❌) {2}(?:Success|Failure) - (?:Main|Post) kubeline\/kubeline\/actions\/[\w-]+@v0 \[([^\]]+)\]/g)) total += durationMs(m[1]);
  return total;
}
