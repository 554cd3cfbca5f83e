/** The one git wrapper: argument arrays through the toolkit's run, the token only in the environment, failures told apart. */
import { ConfigurationError, ExternalError, isTransientMessage, log, run, type RunResult } from '@kubeline/toolkit';
import type { Remote } from './repository';

/** `Name <email>` as git records it. */
export interface Identity {
  name: string;
  email: string;
}

/** The push lost a race: the branch moved since the clone. Worth re-applying the edit on the new tip. */
export class PushRace extends ExternalError {}

/** The network or the server failed on the way (5xx, reset, timeout): worth another attempt as is. */
export class TransientGitError extends ExternalError {}

/** Whether a git failure is worth another attempt. */
export const isRetryableGitError = (err: unknown): boolean => err instanceof PushRace || err instanceof TransientGitError;

const AUTH_FAILED = /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|HTTP Basic: Access denied|Invalid username or password|Permission to \S+ denied|Write access to repository not granted/i;
const NOT_FOUND = /repository '.*' not found|does not appear to be a git repository|returned error: 404|Repository not found|Could not read from remote repository/i;
const NO_BRANCH = /Remote branch \S+ not found|couldn't find remote ref/i;
// `[rejected] (fetch first)` from the client; `failed to update ref`/`cannot lock ref` when two pushes reach the server at once.
const RACE_REASON = /fetch first|non-fast-forward|stale info|failed to update ref|cannot lock ref|incorrect old value|failed to lock/i;

/** What the remote said (its `remote:` lines), else git's own lines without hints. */
export function remoteMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd());
  const remote = lines.filter((l) => l.startsWith('remote:')).map((l) => l.slice('remote:'.length).trim());
  const own = lines.filter((l) => l && !/^(hint:|To )/.test(l));
  return (remote.some(Boolean) ? remote : own).slice(-25).join('\n');
}

/** `git push --porcelain`'s line for our ref when the push of it was refused: `[rejected] (fetch first)`. */
export function rejectedRef(stdout: string): string | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('!\t'));
  return line?.split('\t')[2]?.trim();
}

/**
 * Turns a failed git command into the error a user can act on. `what` names the operation
 * (`clone`, `fetch`, `push`) and `remote` the repository.
 */
export function classifyGitFailure(what: string, result: RunResult, remote: Remote, branch: string, hadToken: boolean): Error {
  const text = `${result.stderr}\n${result.stdout}`;
  const said = remoteMessage(result.stderr);
  const rejected = what === 'push' ? rejectedRef(result.stdout) : undefined;
  if (rejected) {
    if (/^\[rejected\]/.test(rejected) || (/^\[remote rejected\]/.test(rejected) && RACE_REASON.test(rejected))) {
      return new PushRace(`push to ${branch} of ${remote.display} lost a race (${rejected}): the branch moved since the clone`);
    }
    return new ExternalError(
      `${remote.display} refused the push to ${branch} (${rejected}); this is the remote's rule (a pre-receive hook or branch protection), not a race, so it was not retried. ` +
        'Use push: pull-request for a protected branch, or let the token push there. The remote said:',
      said,
    );
  }
  if (AUTH_FAILED.test(text)) {
    return new ConfigurationError(
      hadToken
        ? `the git server refused the token for ${remote.display} (${what}); give a token that may ${what === 'push' ? 'push to' : 'read'} it (contents: write for a GitHub App or fine-grained token).`
        : `${remote.display} asks for credentials (${what}); give token (contents: write).`,
      'token',
    );
  }
  if (NO_BRANCH.test(text)) return new ConfigurationError(`"${branch}" is not a branch of ${remote.display}; create it or fix branch.`, 'branch');
  if (NOT_FOUND.test(text)) return new ConfigurationError(`${remote.display} is not a git repository that can be reached (${what}); check the URL or path, and that the token can see it.`, 'repository');
  if (isTransientMessage(text)) return new TransientGitError(`git ${what} of ${remote.display} failed on the way`, said);
  return new ExternalError(`git ${what} of ${remote.display} failed (exit code ${result.exitCode})`, said);
}

/**
 * The environment that carries the credential: an http.<url>.extraHeader through GIT_CONFIG_*
 * (never argv, never .git/config), credential helpers off so nothing is read or stored, no prompts.
 */
export function gitEnvironment(remote: Remote, token?: string): Record<string, string | undefined> {
  const config: Array<[string, string]> = [['credential.helper', '']];
  if (token && remote.http) config.push([`http.${remote.url}.extraHeader`, `Authorization: Basic ${basicCredential(token)}`]);
  const env: Record<string, string | undefined> = {
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: undefined,
    SSH_ASKPASS: undefined,
    GIT_DIR: undefined,
    GIT_WORK_TREE: undefined,
    GIT_INDEX_FILE: undefined,
    // Messages are matched by their English wording.
    LC_ALL: 'C',
    LANGUAGE: undefined,
    GIT_CONFIG_COUNT: String(config.length),
  };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** `x-access-token:<token>` in base64, as GitHub takes a token over Basic auth. */
export const basicCredential = (token: string): string => Buffer.from(`x-access-token:${token}`).toString('base64');

interface GitCallOptions {
  cwd?: string;
  stdin?: string;
  env?: Record<string, string>;
}

/** A clone of the environment repository's branch in `dir`, and what promote does with it. */
export class Git {
  private readonly env: Record<string, string | undefined>;
  private readonly secrets: string[];

  constructor(
    private readonly remote: Remote,
    /** The clone's folder (created by clone). */
    readonly dir: string,
    private readonly token?: string,
  ) {
    this.env = gitEnvironment(remote, token);
    this.secrets = token ? [token, basicCredential(token)] : [];
    for (const secret of this.secrets) log.mask(secret);
  }

  private async git(args: string[], options: GitCallOptions = {}): Promise<RunResult> {
    log.debug(`git ${args.join(' ')}`);
    const env = options.env ? { ...this.env, ...options.env } : this.env;
    const result = await run('git', args, { cwd: options.cwd ?? this.dir, env, stdin: options.stdin, silent: true, allowFailure: true });
    return { ...result, stdout: this.redact(result.stdout), stderr: this.redact(result.stderr) };
  }

  /** Git never prints the token (it is a header); this keeps it that way if a server echoes it. */
  private redact(text: string): string {
    return this.secrets.reduce((t, s) => t.split(s).join('***'), text);
  }

  private async must(what: string, branch: string, args: string[], options: GitCallOptions = {}): Promise<RunResult> {
    const result = await this.git(args, options);
    if (result.exitCode !== 0) throw classifyGitFailure(what, result, this.remote, branch, !!this.token);
    return result;
  }

  /** A shallow, single-branch clone of `branch` into `dir`. */
  async clone(branch: string, parent: string): Promise<void> {
    await this.must('clone', branch, ['clone', '--quiet', '--depth=1', '--single-branch', '--no-tags', `--branch=${branch}`, '--', this.remote.url, this.dir], { cwd: parent });
  }

  /** Moves the clone to the branch's current tip, dropping the local commit. */
  async refresh(branch: string): Promise<void> {
    await this.must('fetch', branch, ['fetch', '--quiet', '--depth=1', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    await this.must('reset', branch, ['reset', '--quiet', '--hard', `refs/remotes/origin/${branch}`]);
  }

  /** Commits `file` with `message` as `author` and `committer`; returns the commit. */
  async commit(branch: string, file: string, message: string, author: Identity, committer: Identity): Promise<string> {
    await this.must('add', branch, ['add', '--', file]);
    const who = { GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email, GIT_COMMITTER_NAME: committer.name, GIT_COMMITTER_EMAIL: committer.email };
    await this.must('commit', branch, ['commit', '--quiet', '--file=-'], { env: who, stdin: message });
    return this.head(branch);
  }

  /** The commit checked out. */
  async head(branch: string): Promise<string> {
    return (await this.must('rev-parse', branch, ['rev-parse', 'HEAD'])).stdout.trim();
  }

  /** Pushes HEAD to `branch`; `force` for kubeline's own pull-request branches only. */
  async push(branch: string, force = false): Promise<void> {
    await this.must('push', branch, ['push', '--porcelain', ...(force ? ['--force'] : []), 'origin', `HEAD:refs/heads/${branch}`]);
  }
}
