// A stand-in for the GitHub REST endpoints kubeline calls, on 127.0.0.1: pull requests (list, create,
// update: promote's gitops mode) and issue comments (list, create, update: pr.yml's diff comment).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stand-in received, body parsed. */
export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: Record<string, unknown>;
  authorization?: string;
}

export interface PullRequest {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  html_url: string;
}

/** A comment on an issue or pull request. */
export interface IssueComment {
  id: number;
  issue: number;
  body: string;
}

export interface GitHubApiStandIn {
  /** The base URL to give Octokit (`baseUrl`). */
  url: string;
  requests: ApiRequest[];
  pulls: PullRequest[];
  comments: IssueComment[];
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/**
 * `GET/POST /repos/:owner/:repo/pulls` and `PATCH /repos/:owner/:repo/pulls/:number`, answering
 * as GitHub does (401 Bad credentials without `token`, 422 for a second open pull request of one head).
 */
export async function startGitHubApi(options: { token: string; owner: string; repo: string }): Promise<GitHubApiStandIn> {
  const requests: ApiRequest[] = [];
  const pulls: PullRequest[] = [];
  const comments: IssueComment[] = [];
  let base = '';
  const view = (p: PullRequest) => ({ ...p, head: { ref: p.head, label: `${options.owner}:${p.head}` }, base: { ref: p.base } });
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body, authorization: req.headers.authorization });
      if (!/^(token|bearer) /i.test(req.headers.authorization ?? '') || req.headers.authorization!.split(' ')[1] !== options.token) {
        return json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      }
      const issues = `/repos/${options.owner}/${options.repo}/issues/`;
      if (url.pathname.startsWith(issues)) {
        const onIssue = /^(\d+)\/comments$/.exec(url.pathname.slice(issues.length));
        const edit = /^comments\/(\d+)$/.exec(url.pathname.slice(issues.length));
        if (onIssue && req.method === 'GET') return json(res, 200, comments.filter((c) => String(c.issue) === onIssue[1]));
        if (onIssue && req.method === 'POST') {
          const comment = { id: comments.length + 1000, issue: Number(onIssue[1]), body: String(body?.body ?? '') };
          comments.push(comment);
          return json(res, 201, comment);
        }
        const comment = edit ? comments.find((c) => String(c.id) === edit[1]) : undefined;
        if (comment && req.method === 'PATCH') {
          comment.body = String(body?.body ?? comment.body);
          return json(res, 200, comment);
        }
        return json(res, 404, { message: 'Not Found' });
      }
      const prefix = `/repos/${options.owner}/${options.repo}/pulls`;
      if (!url.pathname.startsWith(prefix)) return json(res, 404, { message: 'Not Found' });
      const rest = url.pathname.slice(prefix.length);
      if (req.method === 'GET' && rest === '') {
        const head = url.searchParams.get('head');
        const state = url.searchParams.get('state') ?? 'open';
        return json(res, 200, pulls.filter((p) => (!head || `${options.owner}:${p.head}` === head) && (state === 'all' || p.state === state)).map(view));
      }
      if (req.method === 'POST' && rest === '') {
        const b = body as { head: string; base: string; title: string; body: string };
        if (pulls.some((p) => p.head === b.head && p.state === 'open')) {
          return json(res, 422, { message: 'Validation Failed', errors: [{ message: `A pull request already exists for ${options.owner}:${b.head}.` }] });
        }
        const number = pulls.length + 1;
        const pr: PullRequest = { number, head: b.head, base: b.base, title: b.title, body: b.body, state: 'open', html_url: `${base}/${options.owner}/${options.repo}/pull/${number}` };
        pulls.push(pr);
        return json(res, 201, view(pr));
      }
      const number = /^\/(\d+)$/.exec(rest)?.[1];
      const pr = pulls.find((p) => String(p.number) === number);
      if (req.method === 'PATCH' && pr) {
        Object.assign(pr, { title: body?.title ?? pr.title, body: body?.body ?? pr.body });
        return json(res, 200, view(pr));
      }
      return json(res, 404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: base, requests, pulls, comments, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
