// promote's gitops mode against real git: bare repositories over file:// and over HTTP (git http-backend
// with Basic auth), racing pushes, a pre-receive hook, pull requests against a stand-in GitHub API, and
// the token kept out of argv, .git/config, leftover files and the log.
import { ConfigurationError, ExternalError, which } from '@kubeline/toolkit';
import { type PromoteDeps, type PromoteOptions, type PromoteResult, promoteByCommit } from '@kubeline/gitops';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { uniqueName } from '../support/actions';
import { createRepository, type GitHttpServer, gitIn, startGitHttpServer } from '../support/git-http';
import { startGitHubApi } from '../support/github-api';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const OLD = digest('a');
const NEW = digest('b');
const OTHER = digest('c');
const TOKEN = `ghs_${randomBytes(18).toString('hex')}`;
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');

const KUSTOMIZATION = 'apps/demo/production/kustomization.yaml';
const VALUES = 'charts/demo/values-production.yaml';
const FILES = {
  [KUSTOMIZATION]: `# production overlay of the demo app
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: ghcr.io/acme/app   # the web app
    newTag: "1.4.2"
  - {name: ghcr.io/acme/worker, digest: ${OLD}}
`,
  'apps/demo/production/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: demo}
spec:
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers:
        - {name: app, image: "ghcr.io/acme/app:1.0"}
        - {name: worker, image: ghcr.io/acme/worker}
`,
  [VALUES]: `image:
  repository: ghcr.io/acme/app
  digest: ${OLD}   # promoted by kubeline
`,
};

let root: string;
let server: GitHttpServer;
let temp: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kubeline-gitops-it-'));
  server = await startGitHttpServer({ root, token: TOKEN });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});
let printed: { text: () => string; stop: () => void };
beforeEach(() => {
  temp = mkdtempSync(join(root, 'runner-temp-'));
  printed = captureLog();
});
afterEach(() => {
  printed.stop();
  if (process.env.KUBELINE_TEST_LOG) process.stderr.write(printed.text());
  // The clone is removed after every promotion, failed ones too.
  expect(readdirSync(temp)).toEqual([]);
});

/** Everything the promotions of a test print (log lines, warnings, workflow commands), kept out of the test log. */
function captureLog(): { text: () => string; stop: () => void } {
  const original = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((text += chunk.toString()), true)) as typeof process.stdout.write;
  return { text: () => text, stop: () => (process.stdout.write = original) };
}

const noToken = (text: string) => !text.includes(TOKEN) && !text.includes(BASIC);

type Transport = 'file' | 'http';
const urlOf = (transport: Transport, bare: string) => (transport === 'file' ? pathToFileURL(bare).href : `${server.url}/${bare.slice(root.length + 1)}`);

function seed(transport: Transport = 'http'): { bare: string; repository: string } {
  const bare = createRepository(root, uniqueName('env'), FILES);
  return { bare, repository: urlOf(transport, bare) };
}

const options = (repository: string, over: Partial<PromoteOptions> = {}): PromoteOptions => ({
  repository,
  branch: 'main',
  token: TOKEN,
  file: KUSTOMIZATION,
  change: { kind: 'kustomize-image', name: 'ghcr.io/acme/app' },
  digest: NEW,
  environment: 'production',
  stagingRevision: '3f2c1d0e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e',
  runUrl: 'https://github.com/acme/demo/actions/runs/42',
  push: 'direct',
  ...over,
});

/** Someone else's commit straight to main of `bare`. */
function commitOutside(bare: string, path: string, text: string): void {
  const work = mkdtempSync(join(root, 'outside-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=someone', '-c', 'user.email=someone@example.com', ...args], { cwd: work, stdio: 'pipe' });
  try {
    git('clone', '--quiet', pathToFileURL(bare).href, '.');
    writeFileSync(join(work, path), text);
    git('commit', '--quiet', '-am', 'outside');
    git('push', '--quiet', 'origin', 'HEAD:main');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const promote = (o: PromoteOptions, deps: PromoteDeps = {}): Promise<PromoteResult> => promoteByCommit(o, { tempDir: temp, ...deps });
const show = (bare: string, path: string, ref = 'main') => gitIn(bare, 'show', `${ref}:${path}`);
const subjects = (bare: string, ref = 'main') => gitIn(bare, 'log', '--format=%s', ref).trim().split('\n');

describe.each<Transport>(['file', 'http'])('over %s', (transport) => {
  test('promotes the digest in one commit; promoting it again commits nothing', async () => {
    const { bare, repository } = seed(transport);
    const first = await promote(options(repository));
    expect(first).toMatchObject({ changed: true, branch: 'main', file: KUSTOMIZATION, digest: NEW, attempts: 1 });
    expect(first.changes).toEqual([
      { field: 'images[ghcr.io/acme/app].newTag', line: 8, before: '1.4.2' },
      { field: 'images[ghcr.io/acme/app].digest', line: 8, after: NEW },
    ]);
    expect(gitIn(bare, 'rev-parse', 'main').trim()).toBe(first.commit);
    expect(show(bare, KUSTOMIZATION)).toBe(FILES[KUSTOMIZATION].replace('newTag: "1.4.2"', `digest: "${NEW}"`));
    const message = gitIn(bare, 'log', '-1', '--format=%B', 'main');
    expect(message).toContain(`Image digest: ${NEW}`);
    expect(message).toContain('Staging revision: 3f2c1d0e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e');
    expect(message).toContain('Run: https://github.com/acme/demo/actions/runs/42');
    expect(gitIn(bare, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', 'main').trim()).toBe('kubeline <kubeline@users.noreply.github.com>|kubeline <kubeline@users.noreply.github.com>');

    const again = await promote(options(repository));
    expect(again).toMatchObject({ changed: false, commit: first.commit, changes: [] });
    expect(subjects(bare)).toHaveLength(2);
  });

  // Adjacent lines: a textual rebase of one commit onto the other would conflict; re-applying the edit does not.
  test('two promotions racing on one branch both land (adjacent lines of one file)', async () => {
    const { bare, repository } = seed(transport);
    // Both commit on the same tip before either pushes, so one push must lose.
    let waiting = 0;
    let release!: () => void;
    const bothReady = new Promise<void>((resolve) => (release = resolve));
    const barrier = async (_dir: string, attempt: number) => {
      if (attempt > 0) return;
      if (++waiting === 2) release();
      await bothReady;
    };
    const [app, worker] = await Promise.all([
      promote(options(repository), { beforePush: barrier }),
      promote(options(repository, { change: { kind: 'kustomize-image', name: 'ghcr.io/acme/worker' }, digest: OTHER, author: 'Worker Bot <worker@example.com>' }), { beforePush: barrier }),
    ]);
    expect([app.changed, worker.changed]).toEqual([true, true]);
    expect(Math.max(app.attempts, worker.attempts)).toBeGreaterThan(1);
    expect(printed.text()).toMatch(/Promotion to main failed \(push to main of .* lost a race .*\); retry 1\/5/);
    expect(subjects(bare)).toHaveLength(3);
    expect(gitIn(bare, 'log', '--format=%an', 'main').trim().split('\n').sort()).toEqual(['Worker Bot', 'kubeline', 'seed']);
    const file = show(bare, KUSTOMIZATION);
    expect(file).toContain(`  - name: ghcr.io/acme/app   # the web app\n    digest: "${NEW}"\n  - {name: ghcr.io/acme/worker, digest: ${OTHER}}\n`);
  });

  test('a commit that lands between the clone and the push: the edit is re-applied on it', async () => {
    const { bare, repository } = seed(transport);
    const outside = async (_dir: string, attempt: number) => {
      if (attempt === 0) commitOutside(bare, VALUES, FILES[VALUES].replace(OLD, OTHER));
    };
    const result = await promote(options(repository), { beforePush: outside });
    expect(result).toMatchObject({ changed: true, attempts: 2 });
    expect(printed.text()).toMatch(/lost a race \(\[rejected\] \(fetch first\)\)/);
    expect(subjects(bare)).toEqual([expect.stringMatching(/^Promote ghcr.io\/acme\/app to production/), 'outside', 'seed']);
    expect(show(bare, VALUES)).toContain(OTHER);
  });

  test('a push the pre-receive hook refuses fails at once with what the remote said', async () => {
    const { bare, repository } = seed(transport);
    writeFileSync(join(bare, 'hooks', 'pre-receive'), '#!/bin/sh\necho "GH006: Protected branch update failed for refs/heads/main." >&2\necho "Changes must be made through a pull request." >&2\nexit 1\n');
    chmodSync(join(bare, 'hooks', 'pre-receive'), 0o755);
    let pushes = 0;
    const err = await promote(options(repository), { beforePush: () => void pushes++ }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalError);
    expect((err as Error).message).toMatch(/refused the push to main \(\[remote rejected\] \(pre-receive hook declined\)\); this is the remote's rule .* not retried/);
    expect((err as Error).message).toContain('GH006: Protected branch update failed for refs/heads/main.\nChanges must be made through a pull request.');
    expect(pushes).toBe(1);
    expect(printed.text()).not.toMatch(/retry/i);
    expect(subjects(bare)).toEqual(['seed']);
  });
});

describe('over HTTP with a token', () => {
  test('a Helm values key, with the token only in a header: not in argv, .git/config, the clone or the log', async () => {
    const { bare, repository } = seed('http');
    // A git on PATH that records its arguments before running the real one.
    const shim = mkdtempSync(join(root, 'shim-'));
    const argvLog = join(shim, 'argv.log');
    writeFileSync(join(shim, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${which('git')}' "$@"\n`);
    chmodSync(join(shim, 'git'), 0o755);
    const seen: string[] = [];
    const inspect = (dir: string) => {
      seen.push(readFileSync(join(dir, '.git', 'config'), 'utf8'));
      const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
      for (const f of walk(dir)) seen.push(readFileSync(f).toString('latin1'));
    };
    const path = process.env.PATH;
    process.env.PATH = `${shim}:${path}`;
    const result = await promote(options(repository, { file: VALUES, change: { kind: 'helm-value', key: 'image.digest' } }), { beforePush: inspect }).finally(() => {
      process.env.PATH = path;
    });

    expect(result).toMatchObject({ changed: true, changes: [{ field: 'image.digest', line: 3, before: OLD, after: NEW }] });
    expect(show(bare, VALUES)).toBe(FILES[VALUES].replace(OLD, NEW));
    expect(seen[0]).toContain(`url = ${repository}`);
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.every(noToken)).toBe(true);
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toMatch(/^clone .*\n(.*\n)*push /);
    expect(noToken(argv)).toBe(true);
    // Masked for the runner, never printed.
    const text = printed.text();
    expect(text).toContain(`::add-mask::${TOKEN}`);
    expect(noToken(text.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n'))).toBe(true);
    // The server saw the header, and no URL carried the token.
    expect(server.requests.filter((r) => r.url.includes(bare.slice(root.length))).every((r) => r.authorization === `Basic ${BASIC}` && noToken(r.url))).toBe(true);
  });

  test('a bad token is refused (401): the message names the repository and the token input, never the token', async () => {
    const { bare, repository } = seed('http');
    const wrong = `ghs_${randomBytes(18).toString('hex')}`;
    const err = await promote(options(repository, { token: wrong })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(`input 'token': the git server refused the token for ${repository} (clone); give a token that may read it (contents: write for a GitHub App or fine-grained token).`);
    expect(server.requests.some((r) => r.status === 401 && r.url.includes(bare.slice(root.length)))).toBe(true);
    const none = await promote(options(repository, { token: undefined })).catch((e: unknown) => e);
    expect((none as Error).message).toMatch(/^input 'token': .* asks for credentials \(clone\); give token/);
  });

  test('mistakes in the options name the input and the fix', async () => {
    const { repository } = seed('http');
    const cases: Array<[Partial<PromoteOptions>, RegExp]> = [
      [{ file: 'apps/demo/staging/kustomization.yaml' }, /^input 'repository-file': "apps\/demo\/staging\/kustomization.yaml" is not in .* on branch "main"; apps\/demo has production\. Fix the path/],
      [{ branch: 'production' }, /^input 'branch': "production" is not a branch of /],
      [{ change: { kind: 'kustomize-image', name: 'ghcr.io/acme/ap' } }, /no images: entry named "ghcr.io\/acme\/ap"; the names there are "ghcr.io\/acme\/app", "ghcr.io\/acme\/worker"/],
      [{ repository: `${server.url}/missing.git` }, /^input 'repository': .*missing.git is not a git repository that can be reached/],
    ];
    for (const [over, message] of cases) {
      const err = await promote(options(repository, over)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).stack ?? '').not.toContain(TOKEN);
    }
  });

  test('pull-request mode pushes kubeline/promote-… and opens a pull request, then updates it', async () => {
    const { bare, repository } = seed('http');
    const api = await startGitHubApi({ token: TOKEN, owner: 'env', repo: bare.slice(root.length + 1).replace(/\.git$/, '') });
    try {
      const o = options(repository, { push: 'pull-request', githubRepository: `env/${bare.slice(root.length + 1).replace(/\.git$/, '')}`, githubApiUrl: api.url });
      const first = await promote(o);
      const head = `kubeline/promote-production-${'b'.repeat(12)}`;
      expect(first).toMatchObject({ changed: true, branch: head, pullRequestUrl: `${api.url}/env/${o.githubRepository!.split('/')[1]}/pull/1` });
      expect(gitIn(bare, 'rev-parse', head).trim()).toBe(first.commit);
      expect(subjects(bare)).toEqual(['seed']);
      expect(show(bare, KUSTOMIZATION, head)).toContain(`digest: "${NEW}"`);

      const create = api.requests.find((r) => r.method === 'POST');
      expect(create?.authorization).toBe(`token ${TOKEN}`);
      expect(create?.body).toMatchObject({ head, base: 'main', title: expect.stringContaining(NEW.slice(0, 19)), body: expect.stringContaining(NEW) });
      expect(create?.body?.body).toContain('https://github.com/acme/demo/actions/runs/42');
      expect(api.requests[0]).toMatchObject({ method: 'GET', query: { head: `env:${head}`, base: 'main', state: 'open' } });

      const second = await promote({ ...o, runUrl: 'https://github.com/acme/demo/actions/runs/43' });
      expect(second.pullRequestUrl).toBe(first.pullRequestUrl);
      expect(api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
      expect(api.pulls).toHaveLength(1);
      expect(api.pulls[0].body).toContain('runs/43');
    } finally {
      await api.close();
    }
    // An API that refuses the token: the user's error, without the token.
    const refusing = await startGitHubApi({ token: 'another', owner: 'env', repo: 'x' });
    const err = await promote(options(repository, { push: 'pull-request', githubRepository: 'env/x', githubApiUrl: refusing.url, digest: OTHER }))
      .catch((e: unknown) => e)
      .finally(() => refusing.close());
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe("input 'token': GitHub refused the token (401 Bad credentials) for env/x; give a valid token.");
  });
});

test('a local path works as the repository', async () => {
  const { bare } = seed('file');
  const result = await promote(options(bare, { token: undefined, file: 'apps/demo/production/deployment.yaml', change: { kind: 'container-image', repository: 'ghcr.io/acme/worker' } }));
  expect(result.changes).toEqual([{ field: 'Deployment demo container "worker" image', line: 11, before: 'ghcr.io/acme/worker', after: `ghcr.io/acme/worker@${NEW}` }]);
  expect(show(bare, 'apps/demo/production/deployment.yaml')).toContain(`- {name: worker, image: ghcr.io/acme/worker@${NEW}}\n`);
});

const kustomize = which('kustomize');
(kustomize ? test : test.skip)('kustomize renders the promoted overlay with the digest alone (no stale tag)', async () => {
  const { bare } = seed('file');
  await promote(options(pathToFileURL(bare).href));
  const work = mkdtempSync(join(root, 'render-'));
  try {
    execFileSync('git', ['clone', '--quiet', pathToFileURL(bare).href, work]);
    const out = execFileSync(kustomize!, ['build', join(work, 'apps/demo/production')], { encoding: 'utf8' });
    expect(out).toContain(`image: ghcr.io/acme/app@${NEW}\n`);
    expect(out).toContain(`image: ghcr.io/acme/worker@${OLD}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
