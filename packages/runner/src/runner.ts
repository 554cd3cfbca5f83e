/** Runs an action bundle the way the GitHub runner does: INPUT_* variables, file commands, event payload, post step, cancel. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface ActionManifest {
  name: string;
  inputs: Record<string, { description?: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description?: string }>;
  runs: { using: string; main: string; post?: string };
}

export interface RunRequest {
  /** Folder holding action.yml (actions/<name>). */
  actionDir: string;
  inputs: Record<string, string>;
  workspace: string;
  eventName?: string;
  /** Event payload to use instead of one made from the local git checkout. */
  eventPath?: string;
  /** Extra environment for the action (e.g. DOCKER_HOST). */
  env?: Record<string, string>;
  /** Where the action's log lines go (already masked and rendered). */
  log?: (line: string) => void;
  showDebug?: boolean;
  /** Cancels the main step as GitHub cancels a job (SIGINT) when a line it prints matches; the post step still runs. */
  cancelWhen?: (line: string) => boolean;
  /** Sees what the steps left before the runner removes it: their output unmasked, the runner files, RUNNER_TEMP. */
  inspect?: (left: Leftovers) => void;
}

/** What a run leaves for the next steps of a job (RunRequest.inspect). */
export interface Leftovers {
  /** Every line the steps printed, before masking. */
  rawLog: string;
  /** GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY, as written. */
  files: Record<string, string>;
  /** The files still in RUNNER_TEMP after the post step. */
  runnerTemp: Array<{ path: string; content: Buffer }>;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  file?: string;
  line?: number;
  title?: string;
}

export interface RunResult {
  action: string;
  conclusion: 'success' | 'failure';
  exitCode: number;
  outputs: Record<string, string>;
  summary: string;
  annotations: Annotation[];
  /** Everything the steps printed, masked. */
  log: string;
  postExitCode?: number;
}

export function readManifest(actionDir: string): ActionManifest {
  const file = join(actionDir, 'action.yml');
  if (!existsSync(file)) throw new Error(`no action at ${actionDir} (missing action.yml)`);
  const doc = parseYaml(readFileSync(file, 'utf8')) as ActionManifest;
  return { ...doc, inputs: doc.inputs ?? {}, outputs: doc.outputs ?? {} };
}

/**
 * Runs an action's bundle the way the GitHub runner does: INPUT_* variables
 * (defaults from action.yml), the GITHUB_OUTPUT/STEP_SUMMARY/ENV/STATE files,
 * an event payload, then the post step with the saved state. Workflow
 * commands in the output are interpreted: masks, groups, annotations.
 */
export async function runLocalAction(req: RunRequest): Promise<RunResult> {
  const manifest = readManifest(req.actionDir);
  const actionName = basename(req.actionDir);
  const unknown = Object.keys(req.inputs).filter((k) => !(k in manifest.inputs));
  if (unknown.length) {
    throw new Error(`${actionName} has no input ${unknown.map((u) => `'${u}'`).join(', ')}. Its inputs: ${Object.keys(manifest.inputs).join(', ')}.`);
  }
  const temp = mkdtempSync(join(tmpdir(), `kubeline-run-${actionName}-`));
  try {
    const files = {
      GITHUB_OUTPUT: join(temp, 'output'),
      GITHUB_STEP_SUMMARY: join(temp, 'summary.md'),
      GITHUB_ENV: join(temp, 'env'),
      GITHUB_STATE: join(temp, 'state'),
      GITHUB_PATH: join(temp, 'path'),
    };
    for (const f of Object.values(files)) writeFileSync(f, '');
    const runnerTemp = join(temp, 'runner-temp');
    mkdirSync(runnerTemp);
    const git = gitFacts(req.workspace);
    const eventPath = req.eventPath ?? join(temp, 'event.json');
    if (!req.eventPath) writeFileSync(eventPath, JSON.stringify(localEvent(git), null, 2));
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...files,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_EVENT_NAME: req.eventName ?? 'push',
      GITHUB_SHA: git.sha,
      GITHUB_REF: git.ref,
      GITHUB_REPOSITORY: process.env.GITHUB_REPOSITORY ?? git.repository,
      GITHUB_WORKSPACE: req.workspace,
      GITHUB_SERVER_URL: process.env.GITHUB_SERVER_URL ?? 'https://github.com',
      GITHUB_RUN_ID: process.env.GITHUB_RUN_ID ?? String(Date.now() % 1_000_000_000),
      GITHUB_ACTION: actionName,
      RUNNER_TEMP: runnerTemp,
      ...req.env,
    };
    for (const key of Object.keys(env)) if (key.startsWith('INPUT_')) delete env[key];
    for (const [name, spec] of Object.entries(manifest.inputs)) {
      const value = req.inputs[name] ?? spec.default ?? '';
      env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(value);
    }
    const masks: string[] = [];
    const annotations: Annotation[] = [];
    const logLines: string[] = [];
    const rawLines: string[] = [];
    const emit = (line: string): void => {
      logLines.push(line);
      req.log?.(line);
    };
    const script = (rel: string): string => resolve(req.actionDir, rel);
    const exitCode = await runStep(script(manifest.runs.main), env, req.workspace, masks, annotations, emit, req.showDebug, req.cancelWhen, rawLines);
    let postExitCode: number | undefined;
    if (manifest.runs.post) {
      const state = parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8'));
      const postEnv = { ...env };
      for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v;
      emit(`Post ${actionName}`);
      postExitCode = await runStep(script(manifest.runs.post), postEnv, req.workspace, masks, annotations, emit, req.showDebug, undefined, rawLines);
    }
    if (req.inspect) {
      const runnerFiles = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(f, 'utf8')]));
      const left: Leftovers['runnerTemp'] = [];
      for (const entry of readdirSync(runnerTemp, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const path = join(entry.parentPath, entry.name);
        left.push({ path, content: readFileSync(path) });
      }
      req.inspect({ rawLog: rawLines.join('\n'), files: runnerFiles, runnerTemp: left });
    }
    const outputs = parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8'));
    return {
      action: actionName,
      conclusion: exitCode === 0 ? 'success' : 'failure',
      exitCode,
      outputs,
      summary: mask(readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'), masks),
      annotations,
      log: logLines.join('\n'),
      postExitCode,
    };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

async function runStep(
  script: string,
  env: Record<string, string>,
  cwd: string,
  masks: string[],
  annotations: Annotation[],
  emit: (line: string) => void,
  showDebug = false,
  cancelWhen?: (line: string) => boolean,
  rawLines?: string[],
): Promise<number> {
  const child = spawn(process.execPath, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let cancelled = false;
  const handle = (line: string): void => {
    rawLines?.push(line);
    if (cancelWhen && !cancelled && cancelWhen(line)) {
      cancelled = true;
      child.kill('SIGINT');
    }
    const cmd = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!cmd) return emit(mask(line, masks));
    const [, name, props = '', raw] = cmd;
    const message = unescapeData(raw);
    switch (name) {
      case 'add-mask':
        if (message) masks.push(message);
        return;
      case 'debug':
        if (showDebug) emit(mask(`[debug] ${message}`, masks));
        return;
      case 'group':
        return emit(mask(`▸ ${message}`, masks));
      case 'endgroup':
        return;
      case 'error':
      case 'warning':
      case 'notice': {
        const p = parseProps(props);
        const a: Annotation = {
          level: name,
          message: mask(message, masks),
          file: p.file,
          line: p.line ? Number(p.line) : undefined,
          title: p.title,
        };
        annotations.push(a);
        const where = a.file ? `${a.file}${a.line ? `:${a.line}` : ''}: ` : '';
        return emit(`${name === 'error' ? 'Error' : name === 'warning' ? 'Warning' : 'Notice'}: ${where}${a.message}`);
      }
      default:
        return emit(mask(line, masks));
    }
  };
  const pump = (stream: NodeJS.ReadableStream): Promise<void> =>
    new Promise((done) => {
      let buf = '';
      stream.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        lines.forEach(handle);
      });
      stream.on('end', () => {
        if (buf) handle(buf);
        done();
      });
    });
  const [code] = await Promise.all([
    new Promise<number>((done) => child.on('close', (c) => done(c ?? 1))),
    pump(child.stdout!),
    pump(child.stderr!),
  ]);
  return code;
}

function mask(text: string, masks: string[]): string {
  let out = text;
  for (const m of masks) if (m) out = out.split(m).join('***');
  return out;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function parseProps(props: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of props.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1).replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%0A/g, '\n').replace(/%25/g, '%');
  }
  return out;
}

/** Reads `name=value` and `name<<DELIM … DELIM` entries (GITHUB_OUTPUT, GITHUB_STATE). */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      while (++i < lines.length && lines[i] !== delim) value.push(lines[i]);
      out[name] = value.join('\n');
    } else if (line.includes('=')) {
      const eq = line.indexOf('=');
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

interface GitFacts {
  sha: string;
  ref: string;
  repository: string;
  timestamp: string;
  branch: string;
}

function gitFacts(workspace: string): GitFacts {
  const git = (args: string[]): string => {
    try {
      return execGit(args, workspace);
    } catch {
      return '';
    }
  };
  const sha = git(['rev-parse', 'HEAD']) || '0'.repeat(40);
  const branch = git(['symbolic-ref', '--short', 'HEAD']) || 'main';
  const timestamp = git(['log', '-1', '--format=%cI']) || new Date().toISOString();
  const top = git(['rev-parse', '--show-toplevel']) || workspace;
  return { sha, ref: `refs/heads/${branch}`, branch, timestamp, repository: `local/${basename(top)}` };
}

function localEvent(git: GitFacts): Record<string, unknown> {
  return {
    ref: git.ref,
    after: git.sha,
    head_commit: { id: git.sha, timestamp: git.timestamp },
    repository: { full_name: git.repository, default_branch: git.branch },
  };
}

export function repoRootFrom(file: string): string {
  let dir = dirname(file);
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'actions')) && existsSync(join(dir, 'dist'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the Kubeline checkout (a folder with actions/ and dist/) above ' + file);
}

function execGit(args: string[], cwd: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}
