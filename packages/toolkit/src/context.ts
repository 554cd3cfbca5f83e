/** The run context (event, commit, repository, run URL) read from the runner's environment. */
import { readFileSync } from 'node:fs';

/** What the actions need to know about the run that started them. */
export interface RunContext {
  eventName: string;
  /** The commit the workflow runs on (for pull requests: the merge commit). */
  sha: string;
  /** The commit a person would call "this PR": the head of the pull request, else `sha`. */
  commitSha: string;
  ref: string;
  /** Pull request number, when the event is a pull request. */
  prNumber?: number;
  /** The PR's head branch, when the event is a pull request. */
  headRef?: string;
  /** The PR's base branch, when the event is a pull request. */
  baseRef?: string;
  defaultBranch?: string;
  /** owner/name */
  repository: string;
  serverUrl: string;
  runUrl: string;
  /** The commit's date when the event carries it (push), else now. */
  commitDate: Date;
  repoLicense?: string;
  repoDescription?: string;
}

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Reads the run context from the runner's environment and event file, as
 * @actions/github's `context` does. Read here rather than imported: that
 * package loads Octokit at start-up (about 30 ms and 140 kB per bundle) for
 * what is two variables and a JSON file.
 */
export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  let payload: Payload = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as Payload;
    } catch {
      payload = {};
    }
  }
  return fromPayload({
    eventName: env.GITHUB_EVENT_NAME ?? '',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    repository: env.GITHUB_REPOSITORY ?? '',
    runId: env.GITHUB_RUN_ID ? Number(env.GITHUB_RUN_ID) : undefined,
    payload,
  });
}

function fromPayload(raw: {
  eventName: string;
  sha: string;
  ref: string;
  serverUrl: string;
  repository: string;
  runId?: number;
  payload: Payload;
}): RunContext {
  const pr = raw.payload.pull_request as Payload | undefined;
  const repo = (raw.payload.repository ?? {}) as Payload;
  const headCommitDate = raw.payload.head_commit?.timestamp as string | undefined;
  const repository = raw.repository || repo.full_name || '';
  return {
    eventName: raw.eventName,
    sha: raw.sha,
    commitSha: (pr?.head?.sha as string | undefined) ?? raw.sha,
    ref: raw.ref,
    prNumber: pr ? Number(pr.number ?? raw.payload.number) : undefined,
    headRef: pr?.head?.ref,
    baseRef: pr?.base?.ref,
    defaultBranch: repo.default_branch,
    repository,
    serverUrl: raw.serverUrl,
    runUrl: repository && raw.runId ? `${raw.serverUrl}/${repository}/actions/runs/${raw.runId}` : '',
    commitDate: headCommitDate ? new Date(headCommitDate) : new Date(),
    repoLicense: repo.license?.spdx_id,
    repoDescription: repo.description ?? undefined,
  };
}
