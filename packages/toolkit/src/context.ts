import { context as ghContext } from '@actions/github';

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

/** Reads the run context from the runner's environment and event file. */
export function runContext(): RunContext {
  const c = ghContext;
  return fromPayload({
    eventName: c.eventName ?? '',
    sha: c.sha ?? '',
    ref: c.ref ?? '',
    serverUrl: c.serverUrl || 'https://github.com',
    repository: process.env.GITHUB_REPOSITORY ?? '',
    runId: c.runId,
    payload: (c.payload ?? {}) as Payload,
  });
}

export function fromPayload(raw: {
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
  return {
    eventName: raw.eventName,
    sha: raw.sha,
    commitSha: (pr?.head?.sha as string | undefined) ?? raw.sha,
    ref: raw.ref,
    prNumber: pr ? Number(pr.number ?? raw.payload.number) : undefined,
    headRef: pr?.head?.ref,
    defaultBranch: repo.default_branch,
    repository: raw.repository || repo.full_name || '',
    serverUrl: raw.serverUrl,
    runUrl: raw.repository && raw.runId ? `${raw.serverUrl}/${raw.repository}/actions/runs/${raw.runId}` : '',
    commitDate: headCommitDate ? new Date(headCommitDate) : new Date(),
    repoLicense: repo.license?.spdx_id,
    repoDescription: repo.description ?? undefined,
  };
}
