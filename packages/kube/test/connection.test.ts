import { checkKubeconfig, cleanupKubeconfig, connect, decodeKubeconfigInput, execPluginError, findExecutable, KUBECONFIG_STATE } from '@kubeline/kube';
import { ConfigurationError } from '@kubeline/toolkit';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

function kubeconfig(user: string, extra = ''): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: ${CA}
users:
- name: deployer
  user:
${user}
contexts:
- name: prod
  context: {cluster: prod, user: deployer, namespace: shop}
- name: staging
  context: {cluster: prod, user: deployer}
current-context: prod
${extra}`;
}
const TOKEN_CONFIG = kubeconfig('    token: s3cr3t-token-value');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-conn-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function harness() {
  const state: Record<string, string> = {};
  const secrets: string[] = [];
  return {
    state,
    secrets,
    options: {
      tempDir: dir,
      env: { PATH: process.env.PATH },
      saveState: (k: string, v: string) => void (state[k] = v),
      getState: (k: string) => state[k] ?? '',
      setSecret: (v: string) => void secrets.push(v),
    },
  };
}

describe('decodeKubeconfigInput', () => {
  test.each([
    { name: 'plain YAML', value: TOKEN_CONFIG, expected: TOKEN_CONFIG },
    { name: 'base64', value: Buffer.from(TOKEN_CONFIG).toString('base64'), expected: TOKEN_CONFIG },
    { name: 'base64 wrapped at 76 columns', value: Buffer.from(TOKEN_CONFIG).toString('base64').replace(/.{76}/g, '$&\n'), expected: TOKEN_CONFIG },
    { name: 'JSON on one line', value: '{"apiVersion":"v1","kind":"Config"}', expected: '{"apiVersion":"v1","kind":"Config"}' },
    { name: 'base64 of JSON', value: Buffer.from('{"clusters":[],"users":[]}').toString('base64'), expected: '{"clusters":[],"users":[]}' },
  ])('$name', ({ value, expected }) => {
    expect(decodeKubeconfigInput(value)).toBe(expected);
  });

  test.each([
    { name: 'a file path', value: '/home/runner/.kube/config', message: /file path/ },
    { name: 'base64 of something else', value: Buffer.from('hello world, not a kubeconfig').toString('base64'), message: /does not decode to a kubeconfig/ },
  ])('$name is refused with a hint', ({ value, message }) => {
    expect(() => decodeKubeconfigInput(value)).toThrow(message);
    expect(() => decodeKubeconfigInput(value)).toThrow(/^input 'kubeconfig'/);
  });
});

describe('checkKubeconfig names what is wrong', () => {
  const where = "input 'kubeconfig'";
  test.each([
    { name: 'not YAML', text: 'clusters: [\n', message: /is not valid YAML/ },
    { name: 'not a mapping', text: '- a\n- b\n', message: /is not a kubeconfig/ },
    { name: 'another kind', text: 'kind: Deployment\n', message: /is a Deployment, not a kubeconfig/ },
    { name: 'no clusters', text: 'contexts: []\n', message: /has no clusters/ },
    { name: 'no current context', text: TOKEN_CONFIG.replace('current-context: prod', ''), message: /no current-context: set the `context` input to one of: prod, staging/ },
    { name: 'current context missing', text: TOKEN_CONFIG.replace('current-context: prod', 'current-context: dev'), message: /current-context "dev" is not in the kubeconfig; it has: prod, staging/ },
    { name: 'context names a missing cluster', text: TOKEN_CONFIG.replace('{cluster: prod, user: deployer, namespace: shop}', '{cluster: eu, user: deployer}'), message: /context "prod" names cluster "eu", which is not in its clusters \(prod\)/ },
    { name: 'context names a missing user', text: TOKEN_CONFIG.replace('{cluster: prod, user: deployer, namespace: shop}', '{cluster: prod, user: admin}'), message: /names user "admin", which is not in its users \(deployer\)/ },
    { name: 'server is not a URL', text: TOKEN_CONFIG.replace('https://10.0.0.1:6443', '10.0.0.1'), message: /cluster "prod" has an invalid server "10.0.0.1"/ },
    { name: 'a file on a laptop', text: kubeconfig('    client-certificate: /Users/me/.minikube/client.crt\n    client-key: /Users/me/.minikube/client.key'), message: /client-certificate refers to the file \/Users\/me\/.minikube\/client.crt, which is not on this runner.*--flatten/ },
    { name: 'broken certificate data', text: TOKEN_CONFIG.replace(CA, 'bm90IGEgY2VydA=='), message: /certificate-authority-data of cluster "prod" is not base64 of a PEM block/ },
  ])('$name', ({ text, message }) => {
    expect(() => checkKubeconfig(text, where)).toThrow(ConfigurationError);
    expect(() => checkKubeconfig(text, where)).toThrow(message);
  });

  test('an unknown `context` input lists the available ones and names the input', () => {
    expect(() => checkKubeconfig(TOKEN_CONFIG, where, 'dev')).toThrow("input 'kube-context': context \"dev\" is not in the kubeconfig; it has: prod, staging");
  });

  test('a valid one gives the context to use', () => {
    expect(checkKubeconfig(TOKEN_CONFIG, where).context).toBe('prod');
    expect(checkKubeconfig(TOKEN_CONFIG, where, 'staging').context).toBe('staging');
  });
});

describe('connect', () => {
  test('the input is masked, written 0600 outside the workspace, saved for the post step, then removed', async () => {
    const { state, secrets, options } = harness();
    const encoded = Buffer.from(TOKEN_CONFIG).toString('base64');
    const c = await connect({ ...options, kubeconfig: encoded });
    expect(c.source).toBe('input');
    expect(c.server).toBe('https://10.0.0.1:6443');
    expect(c.context).toBe('prod');
    expect(c.namespace).toBe('shop');
    expect(c.user).toBe('deployer');
    expect(secrets).toEqual(expect.arrayContaining([encoded, TOKEN_CONFIG.trim(), 's3cr3t-token-value']));
    const path = c.kubeconfigPath as string;
    expect(path.startsWith(dir)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(readFileSync(path, 'utf8')).toBe(TOKEN_CONFIG);
    expect(state[KUBECONFIG_STATE]).toBe(path);

    // The post step connects again: it reuses the same file instead of writing another.
    const again = await connect({ ...options, kubeconfig: encoded });
    expect(again.kubeconfigPath).toBe(path);

    expect(cleanupKubeconfig((k) => state[k] ?? '')).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(dirname(path))).toBe(false);
    expect(cleanupKubeconfig((k) => state[k] ?? '')).toBe(false);
  });

  test('RUNNER_TEMP is used, unless it is inside the workspace', async () => {
    const { options } = harness();
    const runnerTemp = join(dir, 'runner-temp');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(runnerTemp);
    const c = await connect({ ...options, tempDir: undefined, env: { RUNNER_TEMP: runnerTemp, GITHUB_WORKSPACE: join(dir, 'ws') }, kubeconfig: TOKEN_CONFIG });
    expect(c.kubeconfigPath?.startsWith(runnerTemp)).toBe(true);
    const d = await connect({ ...options, tempDir: undefined, env: { RUNNER_TEMP: join(dir, 'ws', 'tmp'), GITHUB_WORKSPACE: join(dir, 'ws') }, kubeconfig: TOKEN_CONFIG, getState: () => '' });
    expect(d.kubeconfigPath?.startsWith(join(dir, 'ws'))).toBe(false);
    rmSync(dirname(d.kubeconfigPath as string), { recursive: true });
  });

  test('the context input selects a context', async () => {
    const { options } = harness();
    const c = await connect({ ...options, kubeconfig: TOKEN_CONFIG, context: 'staging' });
    expect(c.context).toBe('staging');
    expect(c.namespace).toBeUndefined();
  });

  test('KUBECONFIG is used when the input is empty, relative files read from its folder; several files merge', async () => {
    const { options } = harness();
    writeFileSync(join(dir, 'ca.crt'), Buffer.from(CA, 'base64'));
    const first = join(dir, 'a.yaml');
    writeFileSync(first, TOKEN_CONFIG.replace(`certificate-authority-data: ${CA}`, 'certificate-authority: ca.crt'));
    const c = await connect({ ...options, env: { KUBECONFIG: first } });
    expect(c.source).toBe('KUBECONFIG');
    expect(c.kubeConfig.getCurrentCluster()?.caFile).toBe(join(dir, 'ca.crt'));

    const second = join(dir, 'b.yaml');
    writeFileSync(
      second,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: dev\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: dev\n  user: {token: abcdefgh12345}\ncontexts:\n- name: dev\n  context: {cluster: dev, user: dev}\n',
    );
    const merged = await connect({ ...options, env: { KUBECONFIG: `${first}:${second}` }, context: 'dev' });
    expect(merged.server).toBe('https://127.0.0.1:1');
    await expect(connect({ ...options, env: { KUBECONFIG: join(dir, 'nope') } })).rejects.toThrow(/KUBECONFIG names .*nope, which does not exist/);
  });

  test('in a pod: the service account (token file, CA, namespace), with no contexts to choose', async () => {
    const { options } = harness();
    writeFileSync(join(dir, 'token'), 'pod-token');
    writeFileSync(join(dir, 'ca.crt'), Buffer.from(CA, 'base64'));
    writeFileSync(join(dir, 'namespace'), 'ci\n');
    const c = await connect({ ...options, serviceAccountDir: dir, env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' } });
    expect(c).toMatchObject({ source: 'in-cluster', server: 'https://10.96.0.1:443', namespace: 'ci' });
    await expect(connect({ ...options, serviceAccountDir: dir, context: 'x', env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } })).rejects.toThrow(/input 'kube-context'/);
  });

  test('nothing to connect with says the three ways', async () => {
    const { options } = harness();
    await expect(connect({ ...options, serviceAccountDir: join(dir, 'none'), env: {} })).rejects.toThrow(/set the `kubeconfig` input .*KUBECONFIG.*service account/);
  });

  test('a missing exec plugin fails before any request, saying how to install it', async () => {
    const { options } = harness();
    const exec = (command: string) => kubeconfig(`    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: ${command}\n      args: [token]`);
    await expect(connect({ ...options, env: { PATH: dir }, kubeconfig: exec('gke-gcloud-auth-plugin') })).rejects.toThrow(
      /exec plugin `gke-gcloud-auth-plugin`, which is not on this runner's PATH\. GKE: .*install_components: gke-gcloud-auth-plugin/,
    );
    await expect(connect({ ...options, env: { PATH: dir }, kubeconfig: exec('aws') })).rejects.toThrow(/EKS uses the AWS CLI v2/);
    await expect(connect({ ...options, env: { PATH: dir }, kubeconfig: exec('kubelogin') })).rejects.toThrow(/AKS .*azure\/use-kubelogin/);

    // Found on PATH: resolved to its full path, which client-node then runs.
    const plugin = join(dir, 'kubelogin');
    writeFileSync(plugin, '#!/bin/sh\necho {}\n');
    chmodSync(plugin, 0o755);
    const c = await connect({ ...options, env: { PATH: dir }, kubeconfig: exec('kubelogin') });
    expect(c.execPlugin).toBe(plugin);
  });
});

describe('findExecutable and plugin hints', () => {
  test('finds on PATH, only executables', () => {
    const bin = join(dir, 'tool');
    writeFileSync(bin, '#!/bin/sh\n');
    expect(findExecutable('tool', { PATH: dir })).toBeUndefined();
    chmodSync(bin, 0o755);
    expect(findExecutable('tool', { PATH: `/nonexistent:${dir}` })).toBe(bin);
    expect(findExecutable('./tool', {}, dir)).toBe(bin);
  });

  test('unknown plugins fall back to the installHint of the kubeconfig', () => {
    expect(execPluginError('my-plugin', 'u', 'brew install my-plugin').message).toContain('brew install my-plugin');
    expect(execPluginError('/opt/bin/doctl', 'u').message).toContain('digitalocean/action-doctl');
  });
});
