// Parsing what promote is given (repository, paths, identities) and telling git's failures apart, from git's real wording.
import { ConfigurationError, ExternalError } from '@kubeline/toolkit';
import { basicCredential, classifyGitFailure, gitEnvironment, PushRace, TransientGitError } from '../src/git';
import { commitMessage, parseIdentity, type PromoteOptions, pullRequestBranch, repositoryPath } from '../src/promote';
import { checkBranchName, githubRepositoryOf, parseRepository } from '../src/repository';

const DIGEST = 'sha256:' + '0123456789ab'.repeat(5) + 'cdef';

describe('repository', () => {
  test.each([
    ['https://github.com/acme/deploy.git', { url: 'https://github.com/acme/deploy.git', http: true }],
    ['http://127.0.0.1:8080/acme/deploy', { url: 'http://127.0.0.1:8080/acme/deploy', http: true }],
    ['git@github.com:acme/deploy.git', { url: 'git@github.com:acme/deploy.git', http: false }],
    ['file:///srv/git/deploy.git', { url: 'file:///srv/git/deploy.git', http: false }],
    ['env-repo', { url: 'file:///work/env-repo', http: false }],
  ])('%s', (value, expected) => expect(parseRepository(value, '/work')).toMatchObject(expected));

  test.each([
    ['https://x-access-token:ghs_secret@github.com/acme/deploy', /carries credentials; give it without them \(https:\/\/github.com\/acme\/deploy\)/],
    ['http://git.example.com/acme/deploy', /plain http, which would send the token unencrypted; use https/],
    ['ftp://example.com/deploy', /not a git transport/],
    ['', /is empty/],
    ['--upload-pack=evil', /not a repository URL or path/],
  ])('refused: %s', (value, message) => {
    expect(() => parseRepository(value, '/work')).toThrow(ConfigurationError);
    expect(() => parseRepository(value, '/work')).toThrow(message);
  });

  test('the credentials of a refused URL never reach the message', () => {
    expect(() => parseRepository('https://u:ghs_secret@github.com/a/b')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('ghs_secret') }));
  });

  test.each([
    ['https://github.com/acme/deploy.git', undefined, { owner: 'acme', repo: 'deploy' }],
    ['https://ghe.example.com/acme/deploy/', undefined, { owner: 'acme', repo: 'deploy' }],
    ['file:///srv/deploy.git', 'acme/deploy', { owner: 'acme', repo: 'deploy' }],
  ])('GitHub owner/name of %s', (url, explicit, expected) => expect(githubRepositoryOf(parseRepository(url), explicit)).toEqual(expected));

  test('pull requests need an owner/name', () => expect(() => githubRepositoryOf(parseRepository('file:///srv/deploy.git'))).toThrow(/input 'github-repository'/));

  test.each(['main', 'env/production', 'release-1.2'])('branch %s', (b) => expect(() => checkBranchName(b)).not.toThrow());
  test.each(['-f', 'a..b', 'a b', 'x.lock', 'a:b', 'end/', '@'])('bad branch %s', (b) => expect(() => checkBranchName(b)).toThrow(/input 'branch'/));
});

describe('paths, identities, names', () => {
  test.each([
    ['./apps/demo/kustomization.yaml', 'apps/demo/kustomization.yaml'],
    ['apps\\demo\\values.yaml', 'apps/demo/values.yaml'],
    ['apps/../values.yaml', 'values.yaml'],
  ])('file %s', (file, clean) => expect(repositoryPath(file)).toBe(clean));
  test.each(['/etc/passwd', '../outside.yaml', 'a/../../b', '.', 'C:/x.yaml'])('file %s is outside', (file) => expect(() => repositoryPath(file)).toThrow(/input 'repository-file'/));

  test('identities', () => {
    expect(parseIdentity('kubeline <kubeline@users.noreply.github.com>', 'author')).toEqual({ name: 'kubeline', email: 'kubeline@users.noreply.github.com' });
    expect(parseIdentity('Release Bot  <bot@example.com> ', 'author')).toEqual({ name: 'Release Bot', email: 'bot@example.com' });
    expect(() => parseIdentity('bot@example.com', 'committer')).toThrow(/input 'committer': "bot@example.com" is not "Name <email>"/);
  });

  test.each([
    ['production', 'x.yaml', 'kubeline/promote-production-0123456789ab'],
    [undefined, 'apps/Demo/values.yaml', 'kubeline/promote-apps-demo-values.yaml-0123456789ab'],
  ])('pull request branch for %s %s', (env, file, branch) => {
    expect(pullRequestBranch(env, file, DIGEST)).toBe(branch);
    expect(() => checkBranchName(branch)).not.toThrow();
  });

  test('the commit message names the digest, the staging revision and the run', () => {
    const o = { change: { kind: 'kustomize-image', name: 'ghcr.io/acme/app' }, digest: DIGEST, environment: 'production', branch: 'main', stagingRevision: 'f00dfeed', runUrl: 'https://github.com/acme/app/actions/runs/1' } as PromoteOptions;
    expect(commitMessage(o, 'apps/app/kustomization.yaml')).toBe(
      `Promote ghcr.io/acme/app to production (${DIGEST.slice(0, 19)})\n\nImage digest: ${DIGEST}\nFile: apps/app/kustomization.yaml\nStaging revision: f00dfeed\nRun: https://github.com/acme/app/actions/runs/1\n`,
    );
  });
});

describe('git failures, in git 2.39 wording', () => {
  const remote = parseRepository('https://git.example.com/acme/deploy.git');
  const fail = (stderr: string, stdout = '') => ({ exitCode: 1, stderr, stdout });
  const cases: Array<[string, string, ReturnType<typeof fail>, new (...a: never[]) => Error, RegExp]> = [
    ['a lost race', 'push', fail('error: failed to push some refs\nhint: Updates were rejected', '!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone\n'), PushRace, /lost a race \(\[rejected\] \(fetch first\)\)/],
    ['a race on the server', 'push', fail('', '!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)\n'), PushRace, /lost a race/],
    [
      'a pre-receive hook',
      'push',
      fail('remote: GH006: Protected branch update failed for refs/heads/main.        \nerror: failed to push some refs', '!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n'),
      ExternalError,
      /refused the push to main \(\[remote rejected\] \(pre-receive hook declined\)\); this is the remote's rule .*not a race, so it was not retried.*\nGH006: Protected branch update failed for refs\/heads\/main\.$/s,
    ],
    ['a refused token', 'clone', fail("fatal: could not read Username for 'https://git.example.com': terminal prompts disabled"), ConfigurationError, /input 'token': the git server refused the token for https:\/\/git.example.com\/acme\/deploy.git \(clone\)/],
    ['a 403', 'push', fail("remote: Permission to acme/deploy.git denied to bot.\nfatal: unable to access 'https://git.example.com/acme/deploy.git/': The requested URL returned error: 403"), ConfigurationError, /input 'token'/],
    ['a missing branch', 'clone', fail('warning: Could not find remote branch prod to clone.\nfatal: Remote branch prod not found in upstream origin'), ConfigurationError, /input 'branch': "main" is not a branch/],
    ['a missing repository', 'clone', fail("fatal: repository 'https://git.example.com/acme/deploy.git/' not found"), ConfigurationError, /input 'repository'/],
    ['a 502', 'fetch', fail("fatal: unable to access 'https://git.example.com/acme/deploy.git/': The requested URL returned error: 502"), TransientGitError, /failed on the way/],
    ['a reset', 'push', fail('error: RPC failed; curl 56 Recv failure: Connection reset by peer'), TransientGitError, /failed on the way/],
    ['anything else', 'commit', fail('fatal: something odd'), ExternalError, /git commit of .* failed \(exit code 1\)\nfatal: something odd/],
  ];
  test.each(cases)('%s', (_, what, result, type, message) => {
    const err = classifyGitFailure(what, result, remote, 'main', true);
    expect(err).toBeInstanceOf(type);
    expect(err.message).toMatch(message);
  });
});

test('the token goes into a header in the environment, and credential helpers are off', () => {
  const env = gitEnvironment(parseRepository('https://git.example.com/acme/deploy'), 'ghs_TOKEN');
  expect(env).toMatchObject({
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'credential.helper',
    GIT_CONFIG_VALUE_0: '',
    GIT_CONFIG_KEY_1: 'http.https://git.example.com/acme/deploy.extraHeader',
    GIT_CONFIG_VALUE_1: `Authorization: Basic ${basicCredential('ghs_TOKEN')}`,
  });
  expect(Buffer.from(basicCredential('ghs_TOKEN'), 'base64').toString()).toBe('x-access-token:ghs_TOKEN');
  expect(JSON.stringify(env)).not.toContain('ghs_TOKEN');
  // Never sent over ssh or file, where it means nothing.
  expect(gitEnvironment(parseRepository('file:///srv/deploy.git'), 'ghs_TOKEN').GIT_CONFIG_COUNT).toBe('1');
});
