/** The one wrapper for outside programs: argument arrays, log groups, masking, the stderr tail; `which`. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ExternalError } from './errors';
import { log } from './report';

export interface RunOptions {
  /** Written to the program's standard input: the way secrets go in, never argv. */
  stdin?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Collapse the program's output under this log group title. */
  group?: string;
  /** Keep output out of the log (it is still captured). */
  silent?: boolean;
  /** Values to mask in everything the job prints. */
  secrets?: string[];
  /** Return a failed result instead of throwing. */
  allowFailure?: boolean;
  /** Called with each stderr line as it arrives (progress parsing). */
  onStderrLine?: (line: string) => void;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const TAIL_LINES = 25;

/** Last lines of a program's error output, for error messages. */
export function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs a program with an argument array (never through a shell), streams its
 * output (optionally in a log group) and keeps it for the caller. A non-zero
 * exit becomes an ExternalError carrying the tail of stderr.
 */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  for (const secret of options.secrets ?? []) if (secret) log.mask(secret);
  let stdout = '';
  let stderr = '';
  let partial = '';
  // Loaded on the first run, not at start: @actions/exec brings child_process, net and streams,
  // which an action does not need to read its inputs (about 10 ms of every start).
  const { exec } = await import('@actions/exec');
  const execute = async (): Promise<number> =>
    exec(command, [...args], {
      ignoreReturnCode: true,
      silent: options.silent ?? false,
      cwd: options.cwd,
      env: options.env ? withoutUndefined({ ...process.env, ...options.env }) : undefined,
      input: options.stdin === undefined ? undefined : Buffer.from(options.stdin),
      listeners: {
        stdout: (data: Buffer) => {
          stdout += data.toString();
        },
        stderr: (data: Buffer) => {
          const text = data.toString();
          stderr += text;
          if (options.onStderrLine) {
            const lines = (partial + text).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) options.onStderrLine(line);
          }
        },
      },
    });
  const exitCode = options.group ? await log.group(options.group, execute) : await execute();
  if (partial && options.onStderrLine) options.onStderrLine(partial);
  if (exitCode !== 0 && !options.allowFailure) {
    throw new ExternalError(`${command} ${args[0] ?? ''} exited with code ${exitCode}`, tail(stderr || stdout));
  }
  return { exitCode, stdout, stderr };
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** The first executable file named `command` on `path` (a PATH value), with Windows' extensions there. */
export function which(command: string, path = process.env.PATH ?? '', pathExt = process.env.PATHEXT): string | undefined {
  const exts = process.platform === 'win32' ? ['', ...(pathExt ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, command + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
