/** The one wrapper for the GitHub pull request API (through @actions/github's Octokit): open, or update the open one. */
import { getOctokit } from '@actions/github';
import { ConfigurationError, ExternalError, isTransientStatus, networkErrorCode, parseRetryAfter, withRetries } from '@kubeline/toolkit';

/** A pull request from `head` into `base` of `owner/repo`. */
export interface PullRequestSpec {
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
}

/** The pull request promote opened or updated. */
export interface PullRequestOutcome {
  url: string;
  number: number;
  /** false: an open pull request for `head` was updated. */
  created: boolean;
}

/** What promote needs from the pull request API; tests may pass another. */
export interface PullRequests {
  openOrUpdate(spec: PullRequestSpec): Promise<PullRequestOutcome>;
}

interface HttpError {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | undefined>; data?: { message?: string; errors?: Array<{ message?: string }> } };
}

const isHttpError = (err: unknown): err is HttpError => typeof (err as HttpError)?.status === 'number';

function said(err: HttpError): string {
  const data = err.response?.data;
  return [data?.message ?? err.message, ...(data?.errors ?? []).map((e) => e.message).filter(Boolean)].join('; ');
}

// A 403 with no requests left is GitHub's rate limit, which passes.
const rateLimited = (err: HttpError) => (err.status === 403 || err.status === 429) && err.response?.headers?.['x-ratelimit-remaining'] === '0';

/** The user's error for a refusal, or the error as it is (retried when transient). */
function explain(err: unknown, spec: PullRequestSpec): unknown {
  if (!isHttpError(err) || rateLimited(err) || isTransientStatus(err.status)) return err;
  const where = `${spec.owner}/${spec.repo}`;
  if (err.status === 401) return new ConfigurationError(`GitHub refused the token (401 ${said(err)}) for ${where}; give a valid token.`, 'token');
  if (err.status === 403) return new ConfigurationError(`the token may not open pull requests in ${where} (403 ${said(err)}); it needs pull-requests: write.`, 'token');
  if (err.status === 404) return new ConfigurationError(`GitHub has no repository ${where} that the token can see (404); check github-repository and the token's access.`, 'github-repository');
  return new ExternalError(`GitHub refused the pull request ${spec.head} → ${spec.base} in ${where} (${err.status})`, said(err));
}

/**
 * Pull requests through Octokit at `baseUrl` (default GITHUB_API_URL, else api.github.com).
 * Each call is retried on 5xx, 429, rate limits and broken connections.
 */
export function githubPullRequests(token: string, options: { baseUrl?: string; retries?: number; sleep?: (ms: number) => Promise<void> } = {}): PullRequests {
  const baseUrl = options.baseUrl || process.env.GITHUB_API_URL || 'https://api.github.com';
  const octokit = getOctokit(token, { baseUrl });
  const call = <T>(what: string, spec: PullRequestSpec, fn: () => Promise<T>): Promise<T> =>
    withRetries(
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw explain(err, spec);
        }
      },
      {
        retries: options.retries ?? 4,
        baseDelayMs: 1000,
        maxDelayMs: 15_000,
        what,
        sleep: options.sleep,
        isRetryable: (err) => networkErrorCode(err) !== undefined || (isHttpError(err) && (isTransientStatus(err.status) || rateLimited(err))),
        retryAfterMs: (err) => (isHttpError(err) ? parseRetryAfter(err.response?.headers?.['retry-after']) : undefined),
      },
    );

  const findOpen = async (spec: PullRequestSpec) => {
    const { data } = await call('listing pull requests', spec, () =>
      octokit.rest.pulls.list({ owner: spec.owner, repo: spec.repo, head: `${spec.owner}:${spec.head}`, base: spec.base, state: 'open', per_page: 1 }),
    );
    return data[0];
  };

  const update = async (spec: PullRequestSpec, number: number): Promise<PullRequestOutcome> => {
    const { data } = await call('updating the pull request', spec, () =>
      octokit.rest.pulls.update({ owner: spec.owner, repo: spec.repo, pull_number: number, title: spec.title, body: spec.body }),
    );
    return { url: data.html_url, number: data.number, created: false };
  };

  return {
    async openOrUpdate(spec) {
      const open = await findOpen(spec);
      if (open) return update(spec, open.number);
      try {
        const { data } = await call('opening the pull request', spec, () =>
          octokit.rest.pulls.create({ owner: spec.owner, repo: spec.repo, head: spec.head, base: spec.base, title: spec.title, body: spec.body }),
        );
        return { url: data.html_url, number: data.number, created: true };
      } catch (err) {
        // Another run opened it between the list and the create.
        const again = err instanceof ExternalError && /already exists/i.test(err.message) ? await findOpen(spec) : undefined;
        if (again) return update(spec, again.number);
        throw err;
      }
    },
  };
}
