/** promote's gitops mode: clone the environment repository, write the proven digest, commit, push directly (racing safely) or as a pull request. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { ConfigurationError, log, table, withRetries } from '@kubeline/toolkit';
import { checkDigest, editFile, type EditOutcome, type FieldChange, type FileChange } from './edits';
import { Git, type Identity, isRetryableGitError, TransientGitError } from './git';
import { githubPullRequests, type PullRequests } from './pull-request';
import { checkBranchName, githubRepositoryOf, parseRepository, type Remote } from './repository';

/** What to promote, and where. */
export interface PromoteOptions {
  /** The environment repository: https URL, http on loopback, ssh, file:// or a local path. */
  repository: string;
  /** The branch Flux or Argo CD watches. */
  branch: string;
  /** For http(s): sent as a header through the environment, never argv or disk. */
  token?: string;
  /** The file to change, relative to the repository root. */
  file: string;
  change: FileChange;
  /** The digest proven in staging: sha256:… */
  digest: string;
  /** For the commit message and the pull request branch (default: the file). */
  environment?: string;
  /** The commit that was proven in staging, for the message. */
  stagingRevision?: string;
  /** The workflow run that promotes, for the message. */
  runUrl?: string;
  /** `Name <email>`; default `kubeline <kubeline@users.noreply.github.com>`. */
  author?: string;
  /** `Name <email>`; default the author. */
  committer?: string;
  /** `direct` pushes to `branch`; `pull-request` pushes `kubeline/promote-…` and opens (or updates) a pull request into `branch`. */
  push: 'direct' | 'pull-request';
  /** owner/name on GitHub, for pull requests; default from the repository URL. */
  githubRepository?: string;
  /** GitHub API base URL; default GITHUB_API_URL, else https://api.github.com. */
  githubApiUrl?: string;
  /** Attempts after the first on a lost race or a transient failure (default 5). */
  retries?: number;
}

/** What promote hands on to the job summary and outputs. */
export interface PromoteResult {
  /** false: the file already had the digest; nothing was committed. */
  changed: boolean;
  /** The commit that holds the digest: the new one, or the branch tip when nothing changed. */
  commit: string;
  /** The branch `commit` is on (the pull request's branch in pull-request mode). */
  branch: string;
  pullRequestUrl?: string;
  repository: string;
  file: string;
  digest: string;
  /** Each field changed, with its value before and after. */
  changes: FieldChange[];
  /** Attempts it took (more than 1 after a lost race). */
  attempts: number;
}

/** Seams for tests and callers: another pull request API, a hook before each push, the sleep between attempts. */
export interface PromoteDeps {
  pullRequests?: PullRequests;
  /** Runs after the commit and before each push, with the clone's folder and the attempt (from 0). */
  beforePush?: (dir: string, attempt: number) => Promise<void> | void;
  sleep?: (ms: number) => Promise<void>;
  /** Where the clone goes; default RUNNER_TEMP, else the OS temp folder. */
  tempDir?: string;
}

const DEFAULT_IDENTITY = 'kubeline <kubeline@users.noreply.github.com>';

/** `Name <email>` → its parts; the option named when it does not read. */
export function parseIdentity(value: string, input: string): Identity {
  const match = /^\s*([^<>]*[^<>\s])\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(value);
  if (!match) throw new ConfigurationError(`"${value}" is not "Name <email>".`, input);
  return { name: match[1], email: match[2] };
}

/** The file as a clean path inside the repository. */
export function repositoryPath(file: string): string {
  const clean = posix.normalize(file.trim().replace(/\\/g, '/')).replace(/^\.\//, '');
  if (!clean || clean === '.' || clean.startsWith('/') || clean === '..' || clean.startsWith('../') || /^[A-Za-z]:/.test(clean)) {
    throw new ConfigurationError(`"${file}" is not a path inside the repository; give it relative to the repository root, e.g. apps/demo/production/kustomization.yaml.`, 'repository-file');
  }
  return clean;
}

/** `kubeline/promote-<environment or file>-<12 hex of the digest>`. */
export function pullRequestBranch(environment: string | undefined, file: string, digest: string): string {
  const slug = (environment || file).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/\.+/g, '.').replace(/^[-.]+|[-.]+$/g, '') || 'env';
  return `kubeline/promote-${slug}-${digest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
}

function subjectOf(change: FileChange): string {
  if (change.kind === 'kustomize-image') return change.newName ?? change.name;
  if (change.kind === 'helm-value') return change.key;
  return change.repository;
}

/** The commit message: the digest, the staging revision and the run that promoted it. */
export function commitMessage(o: PromoteOptions, file: string): string {
  const lines = [`Promote ${subjectOf(o.change)} to ${o.environment || o.branch} (${o.digest.slice(0, 19)})`, '', `Image digest: ${o.digest}`, `File: ${file}`];
  if (o.stagingRevision) lines.push(`Staging revision: ${o.stagingRevision}`);
  if (o.runUrl) lines.push(`Run: ${o.runUrl}`);
  return lines.join('\n') + '\n';
}

/** Markdown for the job summary (and the pull request's body). */
export function promotionSummary(r: Pick<PromoteResult, 'changed' | 'repository' | 'branch' | 'file' | 'digest' | 'changes' | 'commit' | 'pullRequestUrl'>): string {
  const head = r.changed
    ? `Promoted \`${r.digest}\` in \`${r.file}\` of ${r.repository} (\`${r.branch}\`${r.commit ? `, commit \`${r.commit.slice(0, 12)}\`` : ''}).`
    : `\`${r.file}\` of ${r.repository} (\`${r.branch}\`) already has \`${r.digest}\`; nothing to commit.`;
  const rows = r.changes.map((c) => [c.field, c.before ?? '(none)', c.after ?? '(removed)']);
  return [head, r.pullRequestUrl ? `Pull request: ${r.pullRequestUrl}` : '', rows.length ? table(['Field', 'Before', 'After'], rows) : ''].filter(Boolean).join('\n\n') + '\n';
}

interface Checked {
  o: PromoteOptions;
  remote: Remote;
  file: string;
  author: Identity;
  committer: Identity;
}

function check(o: PromoteOptions): Checked {
  if (o.push !== 'direct' && o.push !== 'pull-request') throw new ConfigurationError(`"${String(o.push)}" is not a push mode; use direct or pull-request.`, 'push');
  checkDigest(o.digest);
  checkBranchName(o.branch);
  const remote = parseRepository(o.repository);
  if (o.push === 'pull-request' && !o.token) throw new ConfigurationError('pull-request mode calls the GitHub API; give token (contents: write, pull-requests: write).', 'token');
  const author = parseIdentity(o.author || DEFAULT_IDENTITY, 'author');
  return { o, remote, file: repositoryPath(o.file), author, committer: o.committer ? parseIdentity(o.committer, 'committer') : author };
}

/** The file in the clone, refusing one that is missing, a folder, or a link out of the repository. */
function readInClone(dir: string, file: string, c: Checked): string {
  const full = join(dir, ...file.split('/'));
  const missing = () => {
    let near = dirname(full);
    while (!existsSync(near) && near.startsWith(dir)) near = dirname(near);
    const entries = existsSync(near) ? readdirSync(near).filter((e) => e !== '.git').slice(0, 12) : [];
    const where = relative(dir, near).split(sep).join('/') || 'the top level';
    return new ConfigurationError(`"${file}" is not in ${c.remote.display} on branch "${c.o.branch}"; ${where} has ${entries.join(', ') || 'nothing'}. Fix the path (relative to the repository root) or the branch.`, 'repository-file');
  };
  if (!existsSync(full)) throw missing();
  const real = realpathSync(full);
  if (relative(realpathSync(dir), real).startsWith('..')) throw new ConfigurationError(`"${file}" is a link out of the repository; name the file itself.`, 'repository-file');
  if (!statSync(real).isFile()) throw new ConfigurationError(`"${file}" is a folder in ${c.remote.display}; name the YAML file in it.`, 'repository-file');
  return readFileSync(real, 'utf8');
}

/** Edits the file in the clone; writes it only when something changes. */
function editInClone(dir: string, c: Checked): EditOutcome {
  const before = readInClone(dir, c.file, c);
  const outcome = editFile(c.file, before, c.o.change, c.o.digest);
  for (const ch of outcome.changes) log.info(`${c.file}:${ch.line} ${ch.field}: ${ch.before ?? '(none)'} → ${ch.after ?? '(removed)'}`);
  if (outcome.changes.length) writeFileSync(realpathSync(join(dir, ...c.file.split('/'))), outcome.text);
  return outcome;
}

/**
 * Writes `options.digest` into `options.file` of the environment repository and pushes it.
 * Direct pushes that lose a race re-apply the edit on the branch's new tip (not a textual rebase:
 * two promotions touching neighbouring lines of one file would conflict there) and try again,
 * bounded by `retries`; a push the remote refuses for its own rules is not retried.
 * The clone lives in a temporary folder that is removed afterwards, on failure too.
 */
export async function promoteByCommit(options: PromoteOptions, deps: PromoteDeps = {}): Promise<PromoteResult> {
  const c = check(options);
  const parent = mkdtempSync(join(deps.tempDir || process.env.RUNNER_TEMP || tmpdir(), 'kubeline-gitops-'));
  try {
    const git = new Git(c.remote, join(parent, 'repo'), options.token);
    return options.push === 'direct' ? await direct(git, parent, c, deps) : await pullRequest(git, parent, c, deps);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

function result(c: Checked, fields: Pick<PromoteResult, 'changed' | 'commit' | 'branch' | 'changes' | 'attempts' | 'pullRequestUrl'>): PromoteResult {
  return { ...fields, repository: c.remote.display, file: c.file, digest: c.o.digest };
}

async function direct(git: Git, parent: string, c: Checked, deps: PromoteDeps): Promise<PromoteResult> {
  const { branch } = c.o;
  let cloned = false;
  return withRetries(
    async (attempt) => {
      if (cloned) {
        log.info(`Re-applying the edit on the new tip of ${branch}`);
        await git.refresh(branch);
      } else {
        rmSync(git.dir, { recursive: true, force: true });
        log.info(`Cloning ${branch} of ${c.remote.display}`);
        await git.clone(branch, parent);
        cloned = true;
      }
      const edit = editInClone(git.dir, c);
      if (!edit.changes.length) {
        log.info(`${c.file} on ${branch} already has ${c.o.digest}; nothing to commit.`);
        return result(c, { changed: false, commit: await git.head(branch), branch, changes: [], attempts: attempt + 1 });
      }
      const commit = await git.commit(branch, c.file, commitMessage(c.o, c.file), c.author, c.committer);
      await deps.beforePush?.(git.dir, attempt);
      await git.push(branch);
      log.info(`Pushed ${commit.slice(0, 12)} to ${branch} of ${c.remote.display}`);
      return result(c, { changed: true, commit, branch, changes: edit.changes, attempts: attempt + 1 });
    },
    { retries: c.o.retries ?? 5, baseDelayMs: 500, maxDelayMs: 8000, what: `Promotion to ${branch}`, isRetryable: isRetryableGitError, sleep: deps.sleep },
  );
}

async function pullRequest(git: Git, parent: string, c: Checked, deps: PromoteDeps): Promise<PromoteResult> {
  const { branch: base, token } = c.o;
  const { owner, repo } = githubRepositoryOf(c.remote, c.o.githubRepository);
  const head = pullRequestBranch(c.o.environment, c.file, c.o.digest);
  const retry = { retries: c.o.retries ?? 5, baseDelayMs: 500, maxDelayMs: 8000, isRetryable: (e: unknown) => e instanceof TransientGitError, sleep: deps.sleep };
  await withRetries(() => (rmSync(git.dir, { recursive: true, force: true }), git.clone(base, parent)), { ...retry, what: `Cloning ${base}` });
  const edit = editInClone(git.dir, c);
  if (!edit.changes.length) {
    log.info(`${c.file} on ${base} already has ${c.o.digest}; no pull request needed.`);
    return result(c, { changed: false, commit: await git.head(base), branch: base, changes: [], attempts: 1 });
  }
  const commit = await git.commit(base, c.file, commitMessage(c.o, c.file), c.author, c.committer);
  let attempts = 0;
  // kubeline's own branch, rebuilt on the base's tip each time: forcing it replaces an older attempt.
  await withRetries(
    async (attempt) => {
      attempts = attempt + 1;
      await deps.beforePush?.(git.dir, attempt);
      await git.push(head, true);
    },
    { ...retry, what: `Pushing ${head}` },
  );
  log.info(`Pushed ${commit.slice(0, 12)} to ${head} of ${c.remote.display}`);
  const api = deps.pullRequests ?? githubPullRequests(token!, { baseUrl: c.o.githubApiUrl, sleep: deps.sleep });
  const title = commitMessage(c.o, c.file).split('\n')[0];
  const body = promotionSummary({ changed: true, repository: c.remote.display, branch: base, file: c.file, digest: c.o.digest, changes: edit.changes, commit }) + provenance(c.o);
  const pr = await api.openOrUpdate({ owner, repo, head, base, title, body });
  log.info(`${pr.created ? 'Opened' : 'Updated'} pull request ${pr.url}`);
  return result(c, { changed: true, commit, branch: head, changes: edit.changes, attempts, pullRequestUrl: pr.url });
}

function provenance(o: PromoteOptions): string {
  const lines = [o.stagingRevision && `Staging revision: \`${o.stagingRevision}\``, o.runUrl && `Run: ${o.runUrl}`].filter(Boolean);
  return lines.length ? `\n${lines.join('  \n')}\n` : '';
}
