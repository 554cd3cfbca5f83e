// A real git server over HTTP on 127.0.0.1 for tests: git http-backend as a CGI behind node:http, with Basic auth.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** One request the server answered. */
export interface GitHttpRequest {
  method: string;
  /** Path with query string, as received. */
  url: string;
  authorization?: string;
  status: number;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>`; repositories are `${url}/<name>.git`. */
  url: string;
  /** The folder of bare repositories (GIT_PROJECT_ROOT). */
  root: string;
  requests: GitHttpRequest[];
  close(): Promise<void>;
}

const backend = join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');

/**
 * Serves the bare repositories under `root` (fetch and push; `http.receivepack` is set by
 * `createRepository`). Every request needs Basic auth whose password is `token` (any user name,
 * as GitHub takes `x-access-token:<token>`); anything else gets 401.
 */
export async function startGitHttpServer(options: { root: string; token: string }): Promise<GitHttpServer> {
  const requests: GitHttpRequest[] = [];
  const server = http.createServer((req, res) => {
    const record: GitHttpRequest = { method: req.method ?? 'GET', url: req.url ?? '/', authorization: req.headers.authorization, status: 0 };
    requests.push(record);
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /i, ''), 'base64').toString().split(':');
    if (!/^Basic /i.test(req.headers.authorization ?? '') || password !== options.token) {
      record.status = 401;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="kubeline test git"', 'Content-Type': 'text/plain' }).end('unauthorized\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const cgi = spawn(backend, [], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: options.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method,
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        REMOTE_USER: user || 'git',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    const out: Buffer[] = [];
    cgi.stdout.on('data', (b: Buffer) => out.push(b));
    cgi.stderr.resume();
    cgi.on('close', () => {
      const all = Buffer.concat(out);
      const split = all.indexOf('\r\n\r\n') >= 0 ? all.indexOf('\r\n\r\n') : all.indexOf('\n\n');
      const sepLength = all.indexOf('\r\n\r\n') >= 0 ? 4 : 2;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of all.subarray(0, Math.max(split, 0)).toString().split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      record.status = status;
      res.writeHead(status, headers).end(split >= 0 ? all.subarray(split + sepLength) : all);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    root: options.root,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const git = (args: string[], cwd?: string): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', GIT_AUTHOR_NAME: 'seed', GIT_AUTHOR_EMAIL: 'seed@example.com', GIT_COMMITTER_NAME: 'seed', GIT_COMMITTER_EMAIL: 'seed@example.com' } });

/**
 * A bare repository `<root>/<name>.git` whose `branch` holds `files` in one commit, open to pushes
 * over HTTP. Returns its folder.
 */
export function createRepository(root: string, name: string, files: Record<string, string>, branch = 'main'): string {
  const bare = join(root, `${name}.git`);
  git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare]);
  git(['config', 'http.receivepack', 'true'], bare);
  const work = mkdtempSync(join(tmpdir(), 'kubeline-seed-'));
  try {
    git(['init', '--quiet', `--initial-branch=${branch}`, work]);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), text);
    }
    git(['add', '--all'], work);
    git(['commit', '--quiet', '-m', 'seed'], work);
    git(['push', '--quiet', bare, `HEAD:refs/heads/${branch}`], work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bare;
}

/** `git` in a bare repository, for assertions: `gitIn(bare, 'log', '--format=%s', 'main')`. */
export const gitIn = (bare: string, ...args: string[]): string => git(['--git-dir', bare, ...args]);
