/** The environment repository as given (URL or local path): the URL git gets, how it is shown, its GitHub owner/name. */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigurationError } from '@kubeline/toolkit';

/** Where the environment repository lives. */
export interface Remote {
  /** What git is given: the URL, or a local path as `file://`. */
  url: string;
  /** How messages name it. */
  display: string;
  /** http(s): the only transports the token is sent on. */
  http: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/;

/**
 * Reads the `repository` option: `https://host/owner/repo(.git)`, `http://` on loopback only (the
 * token would travel in clear), `ssh://` or `git@host:owner/repo`, `file://`, or a local path.
 * A URL with a user or password in it is refused: git would write it to .git/config.
 */
export function parseRepository(value: string, workspace = process.env.GITHUB_WORKSPACE || process.cwd()): Remote {
  const given = value.trim();
  if (!given) throw new ConfigurationError('is empty; give the environment repository, e.g. https://github.com/acme/deploy.', 'repository');
  if (given.startsWith('-')) throw new ConfigurationError(`"${given}" is not a repository URL or path.`, 'repository');
  if (SCP_LIKE.test(given)) return { url: given, display: given, http: false };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new ConfigurationError(`"${given}" is not a valid URL.`, 'repository');
    }
    if (url.username || url.password) {
      throw new ConfigurationError(`the URL carries credentials; give it without them (${url.protocol}//${url.host}${url.pathname}) and pass the token as token.`, 'repository');
    }
    if (url.search || url.hash) throw new ConfigurationError(`"${given}" has a query or fragment; give the plain repository URL.`, 'repository');
    const protocol = url.protocol.slice(0, -1);
    if (protocol === 'http' && !LOOPBACK.has(url.hostname)) {
      throw new ConfigurationError(`"${given}" is plain http, which would send the token unencrypted; use https://.`, 'repository');
    }
    if (!['https', 'http', 'ssh', 'file', 'git'].includes(protocol)) {
      throw new ConfigurationError(`"${protocol}://" is not a git transport kubeline uses; use https://, ssh://, file:// or a local path.`, 'repository');
    }
    return { url: url.href, display: url.href, http: protocol === 'https' || protocol === 'http' };
  }
  // A local path; file:// so that git honours --depth (a plain path makes a full local clone).
  const path = isAbsolute(given) ? given : resolve(workspace, given);
  return { url: pathToFileURL(path).href, display: path, http: false };
}

/**
 * The GitHub `owner/name` for the pull request: the `github-repository` option, else the last two
 * path segments of an http(s) repository URL (github.com and GitHub Enterprise alike).
 */
export function githubRepositoryOf(remote: Remote, explicit?: string): { owner: string; repo: string } {
  const fromUrl = remote.http ? new URL(remote.url).pathname.replace(/\/+$/, '').replace(/\.git$/, '') : '';
  const value = explicit?.trim() || fromUrl.split('/').slice(-2).join('/');
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(value);
  if (!match) {
    throw new ConfigurationError(
      `pull requests need the repository's GitHub owner/name; ${remote.display} does not show one. Give github-repository (owner/name), or use push: direct.`,
      'github-repository',
    );
  }
  return { owner: match[1], repo: match[2] };
}

/** A branch name git accepts (checked again by git itself); the option named in the message. */
export function checkBranchName(branch: string, input = 'branch'): void {
  // The rules of `git check-ref-format` that a user can hit, without a process for it.
  const bad = !branch || branch.startsWith('-') || branch.startsWith('/') || branch.endsWith('/') || branch.endsWith('.lock') || branch.endsWith('.') ||
    /\.\.|@\{|\/\/|\/\.|[\x00-\x20\x7f~^:?*[\\]/.test(branch) || branch === '@';
  if (bad) throw new ConfigurationError(`"${branch}" is not a valid branch name.`, input);
}
