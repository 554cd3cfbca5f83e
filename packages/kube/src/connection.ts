/** The way to the cluster: the kubeconfig input, KUBECONFIG or the pod's service account, checked before any request. */
import { KubeConfig } from '@kubernetes/client-node';
import { isRecord, parseYamlStream } from '@kubeline/k8s';
import { ConfigurationError, errorMessage, isExecutableFile, log, stepState, which } from '@kubeline/toolkit';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** Where the service account of a pod is mounted. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** GITHUB_STATE key of the kubeconfig file written from the input, for the post step. */
export const KUBECONFIG_STATE = 'kubeline-kubeconfig';

/** Where the credentials came from: the `kubeconfig` input, KUBECONFIG, or the pod's service account. */
export type KubeconfigSource = 'input' | 'KUBECONFIG' | 'in-cluster';

/** What `connect` reads, and the step state and masking it uses (a test passes its own). */
export interface ConnectOptions {
  /** The `kubeconfig` input: kubeconfig YAML or base64 of it; empty to fall back to KUBECONFIG, then in-cluster. */
  kubeconfig?: string;
  /** The `context` input: a context of the kubeconfig; empty for its current-context. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** The service account folder for in-cluster credentials (a test points it elsewhere). */
  serviceAccountDir?: string;
  /** Where the input's kubeconfig is written: RUNNER_TEMP, else the OS temp folder; never the workspace. */
  tempDir?: string;
  saveState?: (name: string, value: string) => void;
  getState?: (name: string) => string;
  setSecret?: (value: string) => void;
}

/** An authenticated way to the cluster, and what it is, for the log. */
export interface Connection {
  kubeConfig: KubeConfig;
  source: KubeconfigSource;
  context: string;
  server: string;
  /** The kubeconfig's user name (the server may know the identity under another name). */
  user: string;
  /** The context's namespace, if it sets one. */
  namespace?: string;
  /** The file written from the `kubeconfig` input (0600, removed by the post step). */
  kubeconfigPath?: string;
  /** The exec credential plugin that provides the user's credentials, resolved on PATH. */
  execPlugin?: string;
}

/** How to get the usual exec credential plugins, by command name. */
const PLUGIN_HINTS: Record<string, string> = {
  aws: 'EKS uses the AWS CLI v2 (`aws eks get-token`): it is on GitHub-hosted runners; elsewhere install it (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) and give it credentials with aws-actions/configure-aws-credentials.',
  'aws-iam-authenticator':
    'EKS: install aws-iam-authenticator (https://github.com/kubernetes-sigs/aws-iam-authenticator/releases), or write the kubeconfig with `aws eks update-kubeconfig`, which uses the AWS CLI instead.',
  'gke-gcloud-auth-plugin':
    'GKE: install it with google-github-actions/setup-gcloud (`install_components: gke-gcloud-auth-plugin`) or `gcloud components install gke-gcloud-auth-plugin`; or use google-github-actions/get-gke-credentials.',
  gcloud: 'GKE: install the Google Cloud CLI with google-github-actions/setup-gcloud and authenticate with google-github-actions/auth.',
  kubelogin: 'AKS with Microsoft Entra ID: install kubelogin with azure/use-kubelogin (or `az aks install-cli`) and log in with azure/login.',
  az: 'AKS: install the Azure CLI and log in with azure/login.',
  doctl: 'DigitalOcean: install doctl with digitalocean/action-doctl.',
};

/** The kubeconfig text of the input: YAML as is, or decoded from base64 (also wrapped over lines). */
export function decodeKubeconfigInput(value: string): string {
  const trimmed = value.trim();
  // YAML has a `key:` somewhere; base64 never has a colon.
  if (trimmed.includes(':')) return value;
  const compact = trimmed.replace(/\s+/g, '');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact) && compact.length >= 16) {
    const decoded = Buffer.from(compact, 'base64').toString('utf8');
    if (/^\s*(apiVersion|kind|clusters|contexts|users|current-context|preferences)\s*:/m.test(decoded) || /^\s*\{[\s\S]*"clusters"\s*:/.test(decoded)) return decoded;
    if (!/[/.]/.test(trimmed)) throw new ConfigurationError('looks like base64 but does not decode to a kubeconfig (base64 of the whole kubeconfig file is expected).', 'kubeconfig');
  }
  if (!trimmed.includes('\n')) {
    throw new ConfigurationError(
      "is neither kubeconfig YAML nor base64 of it (a file path? Put the file's content in a secret and pass that, or set KUBECONFIG to the path).",
      'kubeconfig',
    );
  }
  return value;
}

type Raw = Record<string, unknown>;

/**
 * The one document of a kubeconfig, read as client-go reads it (YAML 1.1), or why it is not YAML in
 * the words client-node's reader would use: `<reason> (<line>:<column>)`, several documents, none.
 */
function readKubeconfigYaml(text: string): { value: unknown } | { error: string } {
  const documents = parseYamlStream(text);
  const failed = documents.find((doc) => doc.error)?.error;
  if (failed) return { error: `${failed.message} (${failed.line}:${failed.column})` };
  if (documents.length > 1) return { error: 'expected a single document in the stream, but found more' };
  if (documents[0]?.value === undefined) return { error: 'expected a document, but the input is empty' };
  return { value: documents[0].value };
}

function named(list: unknown, what: string, where: string): Array<{ name: string; value: Raw }> {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new ConfigurationError(`${where}: \`${what}\` is not a list`);
  return list.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string' || !entry.name) throw new ConfigurationError(`${where}: ${what}[${i}] has no name`);
    const key = what === 'clusters' ? 'cluster' : what === 'users' ? 'user' : 'context';
    const value = entry[key];
    if (value !== undefined && value !== null && !isRecord(value)) throw new ConfigurationError(`${where}: ${what}[${i}] (${entry.name}) has no \`${key}\` mapping`);
    return { name: entry.name, value: (value as Raw) ?? {} };
  });
}

/**
 * Checks a kubeconfig before anything uses it: every problem named, in terms of the kubeconfig's own
 * fields, with where it came from (`where`: the input, KUBECONFIG). Returns the parsed document and
 * the context that will be used.
 */
export function checkKubeconfig(text: string, where: string, context?: string, baseDir?: string): { doc: Raw; context: string } {
  const read = readKubeconfigYaml(text);
  if ('error' in read) throw new ConfigurationError(`${where} is not valid YAML: ${read.error}`);
  const doc = read.value;
  if (!isRecord(doc)) throw new ConfigurationError(`${where} is not a kubeconfig (a YAML mapping with clusters, users and contexts)`);
  if (doc.kind !== undefined && doc.kind !== 'Config') throw new ConfigurationError(`${where} is a ${String(doc.kind)}, not a kubeconfig (kind: Config)`);
  const clusters = named(doc.clusters, 'clusters', where);
  const users = named(doc.users, 'users', where);
  const contexts = named(doc.contexts, 'contexts', where);
  if (clusters.length === 0) throw new ConfigurationError(`${where} has no clusters`);
  if (contexts.length === 0) throw new ConfigurationError(`${where} has no contexts`);
  const names = contexts.map((c) => c.name);
  const chosen = context || (typeof doc['current-context'] === 'string' ? doc['current-context'] : '');
  if (!chosen) throw new ConfigurationError(`${where} has no current-context: set the \`context\` input to one of: ${names.join(', ')}`);
  const ctx = contexts.find((c) => c.name === chosen);
  if (!ctx) {
    const message = `context "${chosen}" is not in the kubeconfig; it has: ${names.join(', ')}`;
    throw context ? new ConfigurationError(message, 'kube-context') : new ConfigurationError(`${where}: current-${message}`);
  }
  const cluster = clusters.find((c) => c.name === ctx.value.cluster);
  if (!cluster) throw new ConfigurationError(`${where}: context "${chosen}" names cluster "${String(ctx.value.cluster ?? '')}", which is not in its clusters (${clusters.map((c) => c.name).join(', ')})`);
  const server = cluster.value.server;
  if (typeof server !== 'string' || !/^https?:\/\/[^/\s]+/.test(server)) {
    throw new ConfigurationError(`${where}: cluster "${cluster.name}" has ${server ? `an invalid server "${String(server)}"` : 'no server'} (expected https://host[:port])`);
  }
  if (ctx.value.user !== undefined && ctx.value.user !== '' && !users.some((u) => u.name === ctx.value.user)) {
    throw new ConfigurationError(`${where}: context "${chosen}" names user "${String(ctx.value.user)}", which is not in its users (${users.map((u) => u.name).join(', ') || 'none'})`);
  }
  const user = users.find((u) => u.name === ctx.value.user)?.value ?? {};
  const files: Array<[string, unknown]> = [
    [`cluster "${cluster.name}" certificate-authority`, cluster.value['certificate-authority']],
    [`user "${String(ctx.value.user)}" client-certificate`, user['client-certificate']],
    [`user "${String(ctx.value.user)}" client-key`, user['client-key']],
    [`user "${String(ctx.value.user)}" tokenFile`, user.tokenFile],
  ];
  for (const [what, file] of files) {
    if (typeof file !== 'string' || !file) continue;
    const path = baseDir && !isAbsolute(file) ? resolve(baseDir, file) : file;
    if (!existsSync(path)) {
      throw new ConfigurationError(
        `${where}: ${what} refers to the file ${file}, which is not on this runner. Embed the data instead (\`kubectl config view --raw --flatten --minify\` writes a kubeconfig with it inline).`,
      );
    }
  }
  for (const [field, value] of [
    ['certificate-authority-data', cluster.value['certificate-authority-data']],
    ['client-certificate-data', user['client-certificate-data']],
    ['client-key-data', user['client-key-data']],
  ] as const) {
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(value) || !Buffer.from(value, 'base64').toString('utf8').includes('-----BEGIN')) {
      throw new ConfigurationError(`${where}: ${field} of ${field.startsWith('certificate') ? `cluster "${cluster.name}"` : `user "${String(ctx.value.user)}"`} is not base64 of a PEM block`);
    }
  }
  return { doc, context: chosen };
}

/** Where an executable is, looked up as the OS would (PATH, and PATHEXT on Windows). */
export function findExecutable(command: string, env: NodeJS.ProcessEnv, baseDir?: string): string | undefined {
  if (command.includes('/') || command.includes('\\')) {
    // client-go: a command with a path separator is relative to the kubeconfig's folder.
    const path = isAbsolute(command) ? command : resolve(baseDir ?? process.cwd(), command);
    const exts = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
    return exts.map((e) => path + e).find(isExecutableFile);
  }
  return which(command, env.PATH ?? '', env.PATHEXT);
}

/** A missing exec credential plugin, found before any request: which one, and how to install it. */
export function execPluginError(command: string, user: string, installHint?: string): ConfigurationError {
  const base = command.split(/[\\/]/).pop() ?? command;
  const hint =
    PLUGIN_HINTS[base] ??
    (installHint?.trim() || 'Install it on the runner (before this step), or use a kubeconfig whose user has a token or client certificate.');
  return new ConfigurationError(`kubeconfig user "${user}" gets its credentials from the exec plugin \`${command}\`, which is not on this runner's PATH. ${hint}`);
}

/** Values of a kubeconfig that must never show in a log. */
function secretsOf(doc: Raw): string[] {
  const out: string[] = [];
  for (const entry of Array.isArray(doc.users) ? doc.users : []) {
    const user = isRecord(entry) && isRecord(entry.user) ? entry.user : {};
    for (const key of ['token', 'password', 'client-key-data', 'client-certificate-data']) if (typeof user[key] === 'string') out.push(user[key] as string);
    const exec = isRecord(user.exec) ? user.exec : {};
    for (const e of Array.isArray(exec.env) ? exec.env : []) if (isRecord(e) && typeof e.value === 'string' && e.value.length >= 8) out.push(e.value);
  }
  return out;
}

/**
 * Connects to the cluster: the `kubeconfig` input (YAML or base64; masked; written 0600 under
 * RUNNER_TEMP, never the workspace, and its path saved to the state for `cleanupKubeconfig` in the
 * post step), else KUBECONFIG, else the pod's service account. `context` selects a context. The
 * kubeconfig is checked (clusters, contexts, users, files it refers to) and an exec credential
 * plugin must be on PATH, all before any request.
 */
export async function connect(options: ConnectOptions = {}): Promise<Connection> {
  const env = options.env ?? process.env;
  const saveState = options.saveState ?? stepState.save;
  const getState = options.getState ?? stepState.get;
  const setSecret = options.setSecret ?? log.mask;
  const input = options.kubeconfig?.trim() ? options.kubeconfig : '';

  let text: string;
  let where: string;
  let source: KubeconfigSource;
  let file: string | undefined;
  let written: string | undefined;

  if (input) {
    setSecret(input.trim());
    text = decodeKubeconfigInput(input);
    if (text !== input) setSecret(text.trim());
    where = "input 'kubeconfig'";
    source = 'input';
  } else if (env.KUBECONFIG?.trim()) {
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
    const present = files.filter((f) => existsSync(f));
    if (present.length === 0) throw new ConfigurationError(`KUBECONFIG names ${files.join(', ')}, which ${files.length === 1 ? 'does' : 'do'} not exist on this runner.`);
    if (present.length > 1) return connectMerged(present, options, env);
    file = present[0];
    text = readFileSync(file, 'utf8');
    where = `the kubeconfig ${file} (KUBECONFIG)`;
    source = 'KUBECONFIG';
  } else {
    return connectInCluster(options, env);
  }

  const { doc, context } = checkKubeconfig(text, where, options.context, file ? dirname(file) : undefined);
  for (const secret of secretsOf(doc)) setSecret(secret);

  if (source === 'input') {
    // The post step connects again (to release the lock): it reuses the file the main step wrote.
    const previous = getState(KUBECONFIG_STATE);
    if (previous && existsSync(previous) && readFileSync(previous, 'utf8') === text) written = previous;
    else {
      written = writeKubeconfig(text, options.tempDir ?? kubeconfigTempDir(env));
      saveState(KUBECONFIG_STATE, written);
    }
    file = written;
  }

  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new ConfigurationError(`${where} cannot be read: ${errorMessage(err)}`);
  }
  if (file && source !== 'input') kc.makePathsAbsolute(dirname(file));
  kc.setCurrentContext(context);
  return finish(kc, source, env, file ? dirname(file) : undefined, written);
}

function connectMerged(files: string[], options: ConnectOptions, env: NodeJS.ProcessEnv): Connection {
  const kc = new KubeConfig();
  for (const [i, file] of files.entries()) {
    const text = readFileSync(file, 'utf8');
    // Each file on its own may lack contexts (kubectl merges them): check only that it parses.
    const read = readKubeconfigYaml(text);
    if ('error' in read) throw new ConfigurationError(`the kubeconfig ${file} (KUBECONFIG) is not valid YAML: ${read.error}`);
    const part = new KubeConfig();
    try {
      part.loadFromFile(file);
    } catch (err) {
      throw new ConfigurationError(`the kubeconfig ${file} (KUBECONFIG) cannot be read: ${errorMessage(err)}`);
    }
    if (i === 0) kc.loadFromString(part.exportConfig());
    else kc.mergeConfig(part, true);
  }
  const { doc, context } = checkKubeconfig(kc.exportConfig(), `the kubeconfigs ${files.join(delimiter)} (KUBECONFIG)`, options.context);
  for (const secret of secretsOf(doc)) (options.setSecret ?? log.mask)(secret);
  kc.setCurrentContext(context);
  return finish(kc, 'KUBECONFIG', env, undefined, undefined);
}

function connectInCluster(options: ConnectOptions, env: NodeJS.ProcessEnv): Connection {
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const token = join(dir, 'token');
  if (!host || !existsSync(token)) {
    throw new ConfigurationError(
      'no cluster to deploy to: set the `kubeconfig` input (from a secret), or KUBECONFIG (which azure/aks-set-context, google-github-actions/get-gke-credentials and `aws eks update-kubeconfig` set up), or run the job in a pod with a service account (self-hosted runner in the cluster).',
      'kubeconfig',
    );
  }
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const nsFile = join(dir, 'namespace');
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    // A token file provider reads the token again when the kubelet rotates it.
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: token } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account', namespace }],
    currentContext: 'in-cluster',
  });
  if (options.context) throw new ConfigurationError(`is "${options.context}", but the credentials are the pod's service account, which has no contexts. Leave it empty.`, 'kube-context');
  return finish(kc, 'in-cluster', env, undefined, undefined);
}

function finish(kc: KubeConfig, source: KubeconfigSource, env: NodeJS.ProcessEnv, baseDir: string | undefined, written: string | undefined): Connection {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const context = kc.getContextObject(kc.getCurrentContext());
  const connection: Connection = {
    kubeConfig: kc,
    source,
    context: kc.getCurrentContext(),
    server: cluster?.server ?? '',
    user: user?.name ?? '',
    namespace: context?.namespace || undefined,
    kubeconfigPath: written,
  };
  const exec = user?.exec as { command?: string; installHint?: string } | undefined;
  if (exec) {
    if (!exec.command) throw new ConfigurationError(`kubeconfig user "${user?.name}" has an exec section without a command`);
    const found = findExecutable(exec.command, env, baseDir);
    if (!found) throw execPluginError(exec.command, user?.name ?? '', exec.installHint);
    // client-node spawns the command as written: give it the path found (relative paths as client-go reads them).
    exec.command = found;
    connection.execPlugin = found;
  }
  return connection;
}

/** RUNNER_TEMP, unless it is inside the workspace; else the OS temp folder. */
function kubeconfigTempDir(env: NodeJS.ProcessEnv): string {
  const temp = env.RUNNER_TEMP;
  const workspace = env.GITHUB_WORKSPACE;
  if (temp && !(workspace && !relative(resolve(workspace), resolve(temp)).startsWith('..'))) return temp;
  return tmpdir();
}

function writeKubeconfig(text: string, dir: string): string {
  const folder = mkdtempSync(join(dir, 'kubeline-kubeconfig-'));
  const path = join(folder, 'config');
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  return path;
}

/** The post step's half: removes the kubeconfig the main step wrote from the input. True when it removed one. */
export function cleanupKubeconfig(getState: (name: string) => string = stepState.get): boolean {
  const path = getState(KUBECONFIG_STATE);
  if (!path || !existsSync(path)) return false;
  rmSync(dirname(path).includes('kubeline-kubeconfig-') ? dirname(path) : path, { recursive: true, force: true });
  return true;
}
