// The secrets sweep (issue 13): each action that takes a secret is run with a registry password, a
// token and a kubeconfig holding a client key, on the test bed, and everything it could leave
// behind is searched for those values and their base64 forms: its output before masking, the
// summary, GITHUB_OUTPUT/STATE/ENV/PATH, RUNNER_TEMP after the post step, files written under
// $HOME/.docker, $HOME/.kube and /tmp during the run, the argv of every process on the machine
// sampled every 20 ms while it ran, and (deploy) the release records in the cluster.
// render-and-validate-manifests takes no secret, so it has no sweep of its own.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import type { Leftovers, RunResult } from '@kubeline/runner';
import { connect, KubeClient } from '../../packages/kube/src/index';
import { act, demoDir, testbed, uniqueName } from '../support/actions';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
const bed = testbed();
let client: KubeClient;
beforeAll(async () => {
  const connection = await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} });
  client = new KubeClient(connection.kubeConfig);
});
const namespaces: string[] = [];
afterAll(async () => {
  for (const ns of namespaces) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
});

/** A secret and the forms it could be found in: as given, base64, and docker's `user:password` auth. */
function forms(secret: string, user?: string): string[] {
  const out = [secret, Buffer.from(secret).toString('base64').replace(/=+$/, '')];
  if (user) out.push(Buffer.from(`${user}:${secret}`).toString('base64').replace(/=+$/, ''));
  return out;
}
/** The kubeconfig's client key: its base64 data as written, and a line of the PEM it decodes to. */
function clientKeyForms(): string[] {
  const data = String(parse(kubeconfig).users[0].user['client-key-data']);
  const pem = Buffer.from(data, 'base64').toString();
  return [data, pem.split('\n').find((l) => l.length > 40 && !l.startsWith('-----'))!];
}

/** Samples the argv of every process on the machine until stopped. */
function argvSampler(): { stop: () => string[] } {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        seen.add(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
      } catch {
        // gone already
      }
    }
  }, 20);
  return { stop: () => (clearInterval(timer), [...seen]) };
}

/** Files under `dir` written since `since` (depth-limited), with their contents. */
function writtenSince(dir: string, since: number, depth = 4): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const walk = (d: string, level: number) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      try {
        if (e.isDirectory() && level < depth) walk(path, level + 1);
        else if (e.isFile() && statSync(path).mtimeMs >= since && statSync(path).size < 50_000_000) out.push({ path, text: readFileSync(path).toString('latin1') });
      } catch {
        // removed meanwhile
      }
    }
  };
  walk(dir, 0);
  return out;
}

/** Runs an action with the sweep around it; fails naming every place a secret form was found. */
async function sweep(action: string, inputs: Record<string, string>, secrets: string[], options: { env?: Record<string, string> } = {}): Promise<RunResult> {
  const since = Date.now() - 1000;
  let left: Leftovers | undefined;
  const sampler = argvSampler();
  let argv: string[] = [];
  let r: RunResult;
  try {
    r = await act(action, inputs, { env: options.env, inspect: (l) => (left = l) });
  } finally {
    argv = sampler.stop();
  }
  const places: Array<[string, string]> = [
    // `::add-mask::<value>` is how an action asks the runner to mask a value: the runner consumes it, it is never shown.
    ['the log (unmasked)', left!.rawLog.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')],
    ['the summary', r.summary],
    ...Object.entries(left!.files).map(([k, v]) => [k, v] as [string, string]),
    ...left!.runnerTemp.map((f) => [`RUNNER_TEMP ${f.path}`, f.content.toString('latin1')] as [string, string]),
    ...[join(homedir(), '.docker'), join(homedir(), '.kube'), tmpdir()].flatMap((d) => writtenSince(d, since).map((f) => [f.path, f.text] as [string, string])),
    ...argv.map((a) => ['a process argv', a] as [string, string]),
  ];
  const found = places.flatMap(([where, text]) => secrets.filter((s) => text.includes(s)).map((s) => `${where} holds ${s.slice(0, 6)}…`));
  expect(found).toEqual([]);
  return r;
}

test('build-test-image: a BuildKit secret leaves no trace', async () => {
  const secret = `tok-${randomBytes(16).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-sweep-ctx-'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${bed.busybox} AS test\nRUN --mount=type=secret,id=token test -s /run/secrets/token\nCMD ["true"]\n`);
  const r = await sweep('build-test-image', { context: dir, image: `kubeline-test/${uniqueName('sweep')}:1`, secrets: `token=${secret}`, 'no-cache': 'true' }, forms(secret));
  expect(r.conclusion).toBe('success');
});

test('run-tests: a secret passed in env reaches the tests only', async () => {
  const secret = `tok-${randomBytes(16).toString('hex')}`;
  const r = await sweep('run-tests', { image: bed.busybox, run: 'test ${#API_TOKEN} -eq 36', env: `API_TOKEN=${secret}` }, forms(secret));
  expect(r.conclusion).toBe('success');
});

test('push-image: the registry password leaves no trace', async () => {
  const r = await sweep(
    'push-image',
    { context: demoDir, repositories: `${bed.registry}/${uniqueName('sweep')}`, tags: 'type=raw,value=sweep', username: bed.user, password: bed.password },
    forms(bed.password, bed.user),
  );
  expect(r.conclusion).toBe('success');
});

test('deploy: the kubeconfig\'s client key and an image pull secret\'s password leave no trace, in the cluster\'s release records neither', async () => {
  const ns = uniqueName('sweep');
  namespaces.push(ns);
  const password = `pw-${randomBytes(16).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-sweep-'));
  writeFileSync(
    join(dir, 'app.yaml'),
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  replicas: 1\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec: { containers: [{ name: web, image: "ghcr.io/acme/web@sha256:${'6'.repeat(64)}" }] }\n`,
  );
  const secrets = [...clientKeyForms(), ...forms(password, 'puller')];
  const r = await sweep(
    'deploy',
    { kubeconfig, manifests: dir, release: 'web', namespace: ns, 'create-namespace': 'true', 'image-pull-secret': 'pull', registry: 'registry.example.com', 'registry-username': 'puller', 'registry-password': password },
    secrets,
  );
  expect(r.outputs.status).toBe('deployed');
  const record = (await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'kubeline.release.web.v1' })) as any;
  const stored = `${JSON.stringify(record.metadata)}${Buffer.from(record.data['release.json'], 'base64')}${gunzipSync(Buffer.from(record.data['bundle.json.gz'], 'base64'))}`;
  expect(secrets.filter((s) => stored.includes(s))).toEqual([]);
});

test('promote: the registry password of a retag and the kubeconfig\'s client key leave no trace', async () => {
  // Staging runs an image pushed to the test bed's registry; promote copies it to a production tag.
  const repository = `${bed.registry}/${uniqueName('sweep-promote')}`;
  const pushed = await act('push-image', { context: demoDir, repositories: repository, tags: 'type=raw,value=staging', username: bed.user, password: bed.password });
  expect(pushed.conclusion).toBe('success');
  const ns = uniqueName('sweep-staging');
  namespaces.push(ns);
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-sweep-'));
  writeFileSync(
    join(dir, 'app.yaml'),
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  replicas: 1\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec: { containers: [{ name: web, image: "${pushed.outputs['image-ref']}" }] }\n`,
  );
  expect((await act('deploy', { kubeconfig, manifests: dir, release: 'web', namespace: ns, 'create-namespace': 'true' })).outputs.status).toBe('deployed');
  const r = await sweep(
    'promote',
    { kubeconfig, mode: 'registry', 'from-namespace': ns, 'from-release': 'web', 'to-images': `${repository}:production`, username: bed.user, password: bed.password },
    [...forms(bed.password, bed.user), ...clientKeyForms()],
  );
  expect(r.outputs.status).toBe('promoted');
});
