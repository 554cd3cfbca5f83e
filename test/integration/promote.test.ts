// promote through the local runner against the test bed's real control plane, registries and git:
// the digest proven in staging deployed to production (a rendered bundle, and a render of the
// example app with the digest injected), refused when staging failed, rolled back, never ran it,
// has no record, or restarted during the soak; the production lock held; a registry retag that
// mounts instead of uploading (also through 503s); a GitOps commit and its idempotent repeat; bad
// input; and a cancelled promotion that leaves nothing half-done.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { connect, KubeClient, microTime } from '../../packages/kube/src/index';
import { act, demoDir, expectNoStackTrace, firstError, registryDigest, testbed, uniqueName } from '../support/actions';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { createRepository, gitIn, startGitHttpServer } from '../support/git-http';
import { startGitHubApi } from '../support/github-api';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
const bed = testbed();
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const work = mkdtempSync(join(tmpdir(), 'kubeline-promote-it-'));
let client: KubeClient;
beforeAll(async () => {
  const connection = await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} });
  client = new KubeClient(connection.kubeConfig);
});

const namespaces: string[] = [];
const ns = (prefix: string): string => {
  const name = uniqueName(prefix);
  namespaces.push(name);
  return name;
};
afterAll(async () => {
  for (const name of namespaces) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** The example app rendered by render-and-validate-manifests, once per environment and image. */
const rendered = new Map<string, string>();
async function render(environment: string, image: string, namespace: string): Promise<string> {
  const key = `${environment} ${image}`;
  if (!rendered.has(key)) {
    const r = await act('render-and-validate-manifests', { path: 'examples/demo/deploy', environment, images: `demo=${image}`, 'output-dir': mkdtempSync(join(work, 'render-')), 'fail-on': 'error' });
    expect(r.conclusion).toBe('success');
    rendered.set(key, readFileSync(r.outputs.manifests, 'utf8'));
  }
  // The overlays name their namespace; each test deploys into its own.
  const file = join(mkdtempSync(join(work, 'bundle-')), 'manifests.yaml');
  writeFileSync(file, rendered.get(key)!.replaceAll(`namespace: demo-${environment}`, `namespace: ${namespace}`));
  return file;
}

const deploy = (inputs: Record<string, string>) => act('deploy', { kubeconfig, release: 'demo', 'create-namespace': 'true', ...inputs });

/** The example app deployed to a staging namespace with `image`; the deploy's result. */
async function stage(namespace: string, image: string, inputs: Record<string, string> = {}) {
  const r = await deploy({ manifests: await render('staging', image, namespace), namespace, ...inputs });
  expectNoStackTrace(r);
  return r;
}

const promote = (inputs: Record<string, string>, options: Parameters<typeof act>[2] = {}) => act('promote', { kubeconfig, ...inputs }, options);

async function liveImage(namespace: string, name = 'demo'): Promise<string | undefined> {
  const d = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name })) as any;
  return d?.spec.template.spec.containers[0].image;
}

/** The release records of `release` in `namespace`: revision → status and proof. */
async function records(namespace: string, release = 'demo'): Promise<Record<string, { status: string; proof?: any }>> {
  const secrets = (await client.list('v1', 'Secret', { namespace, labelSelector: `kubeline.dev/release=${release}` })) as any[];
  return Object.fromEntries(
    secrets.map((s) => {
      const proof = s.metadata.annotations?.['kubeline.dev/proof'];
      return [s.metadata.labels['kubeline.dev/revision'], { status: s.metadata.labels['kubeline.dev/status'], ...(proof ? { proof: JSON.parse(proof) } : {}) }];
    }),
  );
}

const leases = async (namespace: string) => ((await client.list('coordination.k8s.io/v1', 'Lease', { namespace })) as any[]).map((l) => l.metadata.name);

// One healthy staging that most cases promote from.
const A = `ghcr.io/acme/demo@${digest('a')}`;
let staging: string;
beforeAll(async () => {
  staging = ns('promote-staging');
  const r = await stage(staging, A);
  expect(r.outputs.status).toBe('deployed');
});

describe('mode deploy', () => {
  test('a rendered production bundle: production runs exactly the staging digest, and its release record carries the proof', async () => {
    const production = ns('promote-prod');
    const r = await promote({ 'from-namespace': staging, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', A, production), 'create-namespace': 'true' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.outputs.status).toBe('promoted');
    expect(r.outputs.images).toBe(A);
    expect(r.outputs.revision).toBe('1');
    const proof = JSON.parse(r.outputs.proof);
    expect(proof.images).toEqual([A]);
    expect(proof.staging).toMatchObject({ namespace: staging, release: 'demo', revision: 1, status: 'deployed' });
    expect(proof.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['deployed', 'available']));

    expect(await liveImage(production)).toBe(A);
    const d = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: production, name: 'demo' })) as any;
    expect(d.status.availableReplicas).toBe(3);
    // `kubectl get secret -o yaml` on production names the staging run the release came from.
    expect(await records(production)).toEqual({ '1': { status: 'deployed', proof: expect.objectContaining({ images: [A], staging: expect.objectContaining({ namespace: staging, release: 'demo', revision: 1 }) }) } });
    expect(r.summary).toContain(`**Proof:** staging release \`demo\` in \`${staging}\`, revision 1 (deployed)`);
    expect(r.summary).toMatch(new RegExp(`${escape(A)} \\| demo in ${production} \\| deploy: deployed, revision 1`));
  });

  test('path: the production overlay is rendered with the staging digest put in for its placeholder image', async () => {
    const production = ns('promote-render');
    // A workspace of its own, with the example's deploy folder whose production overlay names the test namespace.
    const workspace = mkdtempSync(join(work, 'workspace-'));
    cpSync(join(demoDir, 'deploy'), join(workspace, 'deploy'), { recursive: true });
    const overlay = join(workspace, 'deploy', 'overlays', 'production', 'kustomization.yaml');
    writeFileSync(overlay, readFileSync(overlay, 'utf8').replace('namespace: demo-production', `namespace: ${production}`));

    const r = await promote(
      { 'from-namespace': staging, 'from-release': 'demo', release: 'demo', namespace: production, path: 'deploy', environment: 'production', 'create-namespace': 'true' },
      { workspace },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.outputs.status).toBe('promoted');
    expect(r.log).toContain(`image demo → ${A} (proven in staging)`);
    expect(await liveImage(production)).toBe(A);
    const d = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: production, name: 'demo' })) as any;
    expect(d.spec.replicas).toBe(3); // the production overlay, not staging's bundle
    expect(d.spec.template.spec.containers[0].resources.limits.memory).toBe('128Mi');
    expect((await records(production))['1']).toMatchObject({ status: 'deployed', proof: { staging: { namespace: staging, revision: 1 } } });
  });

  test('a given bundle with an image staging never ran is refused, and nothing is deployed', async () => {
    const production = ns('promote-stranger');
    const other = `ghcr.io/acme/demo@${digest('9')}`;
    const r = await promote({ 'from-namespace': staging, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', other, production), 'create-namespace': 'true' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs.status).toBe('refused');
    expect(firstError(r)).toMatch(new RegExp(`^promote: .*runs images that were not proven in staging: Deployment .*demo container demo: ${escape(other)}\\. Proven: ${escape(A)}`));
    expect(await records(production)).toEqual({});
    expect(await liveImage(production)).toBeUndefined();
  });
});

describe('refusals', () => {
  test('staging\'s latest revision failed and was rolled back: refused, naming what staging runs; production untouched', async () => {
    const failing = ns('promote-failing');
    const good = `ghcr.io/acme/demo@${digest('b')}`;
    const bad = `ghcr.io/acme/never-ready@${digest('c')}`;
    expect((await stage(failing, good)).outputs.status).toBe('deployed');
    const rolled = await stage(failing, bad, { timeout: '10s' });
    expect(rolled.outputs.status).toBe('rolled-back');

    // Production has a release of its own: it must stay as it is.
    const production = ns('promote-untouched');
    const before = `ghcr.io/acme/demo@${digest('d')}`;
    expect((await deploy({ manifests: await render('production', before, production), namespace: production })).outputs.status).toBe('deployed');

    const r = await promote({ 'from-namespace': failing, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', bad, production) });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs.status).toBe('refused');
    expect(r.outputs.proof).toBe('');
    expect(firstError(r)).toMatch(new RegExp(`^promote: staging's latest revision 2 of release demo in namespace ${failing} is rolled-back: its images \\(${escape(bad)}\\) never proved healthy there\\. Staging runs revision 1 \\(${escape(good)}\\)`));
    expect(r.summary).toContain('**Refused:**');

    // Named explicitly, the failed digest is refused too.
    const named = await promote({ 'from-namespace': failing, 'from-release': 'demo', release: 'demo', namespace: production, images: `demo=${bad}`, manifests: await render('production', bad, production) });
    expect(named.outputs.status).toBe('refused');
    expect(firstError(named)).toMatch(new RegExp(`${escape(bad)} never proved healthy in staging .*revision 2 ran them and is rolled-back\\. Staging runs revision 1`));

    expect(await liveImage(production)).toBe(before);
    expect(await records(production)).toEqual({ '1': { status: 'deployed' } });
  });

  test('images with a digest staging never ran: refused; with require-proven: false, promoted with a warning', async () => {
    const production = ns('promote-unproven');
    const never = `ghcr.io/acme/demo@${digest('e')}`;
    const inputs = { 'from-namespace': staging, 'from-release': 'demo', release: 'demo', namespace: production, images: `demo=${never}`, manifests: await render('production', never, production), 'create-namespace': 'true' };
    const refused = await promote(inputs);
    expectNoStackTrace(refused);
    expect(refused.outputs.status).toBe('refused');
    expect(firstError(refused)).toMatch(new RegExp(`${escape(never)} never proved healthy in staging \\(release demo in namespace ${staging}\\): no revision ran exactly these digests\\. Staging runs revision 1 \\(${escape(A)}\\)`));
    expect(await liveImage(production)).toBeUndefined();

    const r = await promote({ ...inputs, 'require-proven': 'false' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.outputs.status).toBe('promoted');
    expect(r.annotations).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'warning', message: expect.stringContaining(`require-proven is false: promoting ${never}`) })]));
    expect(JSON.parse(r.outputs.proof).staging).toMatchObject({ status: 'unproven', revision: 0 });
    expect(await liveImage(production)).toBe(never);
  });

  test('no staging record: refused, naming from-namespace and from-release', async () => {
    const nowhere = uniqueName('promote-nowhere');
    const r = await promote({ 'from-namespace': nowhere, 'from-release': 'web', release: 'web', namespace: ns('promote-prod'), manifests: await render('production', A, 'x') });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs.status).toBe('refused');
    expect(firstError(r)).toBe(
      `promote: staging has no record of release web in namespace ${nowhere}: deploy it there first (deploy with release: web, namespace: ${nowhere}), or check from-namespace and from-release.`,
    );
  });
});

describe('soak', () => {
  let soaking: string;
  test('right after the staging deploy, promote waits out the rest of the soak, then promotes', async () => {
    soaking = ns('promote-soak');
    const image = `ghcr.io/acme/demo@${digest('f')}`;
    expect((await stage(soaking, image)).outputs.status).toBe('deployed');
    const production = ns('promote-soaked');
    const r = await promote({ 'from-namespace': soaking, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', image, production), 'create-namespace': 'true', soak: '3s' });
    expectNoStackTrace(r);
    expect(r.outputs.status).toBe('promoted');
    expect(r.log).toMatch(/staging revision 1 has been healthy for [\d.]+m?s; soaking [\d.]+m?s more \(soak 3s\)/);
    expect(JSON.parse(r.outputs.proof).checks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'soak', detail: expect.stringMatching(/with no restarts \(soak 3s\)/) })]));
    expect(await liveImage(production)).toBe(image);
  });

  test('a pod that restarted after staging became healthy: refused, naming the pod', async () => {
    // As the kubelet reports a container that exited and was restarted.
    const [pod] = (await client.list('v1', 'Pod', { namespace: soaking, labelSelector: 'app.kubernetes.io/name=demo' })) as any[];
    const statuses = pod.status.containerStatuses.map((c: any) => ({
      ...c,
      restartCount: 1,
      lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: pod.status.startTime, finishedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } },
    }));
    await client.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${soaking}/pods/${pod.metadata.name}/status`,
      body: { status: { containerStatuses: statuses } },
      contentType: 'application/merge-patch+json',
    });
    const production = ns('promote-unstable');
    const r = await promote({ 'from-namespace': soaking, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', `ghcr.io/acme/demo@${digest('f')}`, production), 'create-namespace': 'true', soak: '1s' });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs.status).toBe('refused');
    expect(firstError(r)).toMatch(new RegExp(`staging revision 1 is not stable: pod ${soaking}/${pod.metadata.name} restarted \\(1 restarts, last at .*\\) within the soak of 1s\\. Nothing was promoted\\.`));
    expect(await records(production)).toEqual({});
  });
});

describe('mode deploy, gradually', () => {
  test('the example app goes 10 → 25 → 50 → 100 % in production: paused at 25 % by one job, resumed to 100 % by another', async () => {
    const production = ns('promote-canary');
    const first = await promote({ 'from-namespace': staging, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', A, production), 'create-namespace': 'true', strategy: 'canary' });
    expect(first.outputs.status).toBe('promoted');
    // A new version proven in its own staging, then rolled out gradually.
    const B = `ghcr.io/acme/demo@${digest('9')}`;
    const stagingB = ns('promote-staging-b');
    expect((await stage(stagingB, B)).outputs.status).toBe('deployed');
    const gradual = { strategy: 'canary', 'step-duration': '1s', 'check-interval': '1s' };
    const paused = await promote({ 'from-namespace': stagingB, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', B, production), ...gradual, 'pause-at': '25' });
    expectNoStackTrace(paused);
    expect(paused.conclusion).toBe('success');
    expect(paused.outputs.status).toBe('paused');
    expect(paused.summary).toMatch(/paused at 25 %/);
    // 3 production replicas at 25 %: 1 canary pod beside 2 stable ones.
    const canary = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: production, name: 'demo-canary' })) as any;
    expect([canary.spec.template.spec.containers[0].image, canary.status.readyReplicas]).toEqual([B, 1]);
    const stable = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: production, name: 'demo' })) as any;
    expect([stable.spec.template.spec.containers[0].image, stable.spec.replicas]).toEqual([A, 2]);

    const resumed = await promote({ 'from-namespace': stagingB, release: 'demo', namespace: production, ...gradual, resume: 'true' });
    expectNoStackTrace(resumed);
    expect(resumed.conclusion).toBe('success');
    expect(resumed.outputs.status).toBe('promoted');
    expect(resumed.outputs.revision).toBe('2');
    expect(await liveImage(production)).toBe(B);
    expect(await liveImage(production, 'demo-canary')).toBeUndefined();
    const record = (await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: production, name: 'kubeline.release.demo.v2' })) as any;
    expect(JSON.parse(record.metadata.annotations['kubeline.dev/rollout']).history.map((h: any) => [h.weight, h.result])).toEqual([
      [10, 'passed'],
      [25, 'paused'],
      [50, 'passed'],
      [100, 'passed'],
    ]);
    // The proof of the staging run is in the production record the canary finished.
    expect((await records(production))['2']).toMatchObject({ status: 'deployed', proof: { images: [B], staging: { namespace: stagingB, revision: 1 } } });
  });
});

test('the production lock held by another run: a clear failure naming the holder, nothing half-promoted', async () => {
  const production = ns('promote-locked');
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: production } });
  const now = microTime(new Date());
  await client.create({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'kubeline-demo', namespace: production, annotations: { 'kubeline.dev/run-url': 'https://github.com/acme/demo/actions/runs/4242' } },
    spec: { holderIdentity: '4242-1-a1b2c3', leaseDurationSeconds: 60, acquireTime: now, renewTime: now },
  });
  const r = await promote({ 'from-namespace': staging, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', A, production), 'lock-timeout': '3s' });
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  expect(r.outputs.status).toBe('failed');
  expect(firstError(r)).toMatch(/^promote: release demo in namespace promote-locked-\w+ is locked by another deploy: 4242-1-a1b2c3 \(https:\/\/github.com\/acme\/demo\/actions\/runs\/4242\) since .*Waited 3 s \(lock-timeout\)/);
  expect(await records(production)).toEqual({});
  expect(await liveImage(production)).toBeUndefined();
  const lease = (await client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: production, name: 'kubeline-demo' })) as any;
  expect(lease.spec.holderIdentity).toBe('4242-1-a1b2c3');
});

describe('mode registry', () => {
  const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8' }).trim();
  const MANIFEST_TYPES = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
  let source: { repository: string; digest: string; manifestBytes: number; blobs: number };
  let local: string;
  let proxy: FaultProxy;

  beforeAll(async () => {
    // A small image, built from busybox with a file of its own and pushed by the test bed's docker.
    const context = mkdtempSync(join(work, 'image-'));
    writeFileSync(join(context, 'payload'), randomBytes(200_000));
    writeFileSync(join(context, 'Dockerfile'), `FROM ${bed.busybox}\nCOPY payload /payload\n`);
    const repository = uniqueName('promote-src');
    local = `${bed.registryNoAuth}/${repository}:staging`;
    docker('build', '-q', '-t', local, context);
    docker('push', local);
    const m = await fetch(`http://${bed.registryNoAuth}/v2/${repository}/manifests/staging`, { headers: { accept: MANIFEST_TYPES } });
    const bytes = Buffer.from(await m.arrayBuffer());
    const doc = JSON.parse(bytes.toString('utf8')) as { layers: unknown[] };
    source = { repository, digest: m.headers.get('docker-content-digest')!, manifestBytes: bytes.length, blobs: doc.layers.length + 1 };
    proxy = await startFaultProxy(bed.registryNoAuth);
  });
  afterAll(async () => {
    await proxy?.close();
    if (local) execFileSync('docker', ['rmi', '--force', local], { stdio: 'ignore' });
  });

  /** A Deployment running `image`, deployed to a new staging namespace as release `app`. */
  async function stageImage(image: string): Promise<string> {
    const namespace = ns('promote-reg');
    const file = join(mkdtempSync(join(work, 'app-')), 'app.yaml');
    writeFileSync(
      file,
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - {name: app, image: "${image}"}
`,
    );
    const r = await deploy({ manifests: file, release: 'app', namespace });
    expect(r.outputs.status).toBe('deployed');
    return namespace;
  }

  test('retag within one registry: the tag resolves to the staging digest and no layer is uploaded (mounted); to another registry, only the blobs', async () => {
    const from = await stageImage(`${bed.registryNoAuth}/${source.repository}@${source.digest}`);
    const prod = uniqueName('promote-prod');
    const same = `${bed.registryNoAuth}/${prod}:production`;
    const other = `${bed.registry}/${prod}:1.0.0`;
    const r = await promote({ mode: 'registry', 'from-namespace': from, 'from-release': 'app', 'to-images': `${same}\n${other}`, username: bed.user, password: bed.password });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.outputs.status).toBe('promoted');
    expect(r.outputs.retagged).toBe(`${same}\n${other}`);
    expect(r.outputs.images).toBe(`${bed.registryNoAuth}/${prod}@${source.digest}`);
    expect(JSON.parse(r.outputs.proof).staging).toMatchObject({ namespace: from, release: 'app', revision: 1 });
    expect(await registryDigest(bed.registryNoAuth, prod, 'production')).toBe(source.digest);
    expect(await registryDigest(bed.registry, prod, '1.0.0', bed)).toBe(source.digest);
    // Same registry: every blob mounted from the source repository, only the manifest sent.
    expect(r.log).toContain(`→ ${same}: ${source.blobs} blob(s) mounted, 0 copied, 0 already there; ${source.manifestBytes} bytes sent.`);
    // The other registry has none of them: copied by the registry API, no docker pull or push.
    expect(r.log).toMatch(new RegExp(`→ ${escape(other)}: 0 blob\\(s\\) mounted, ${source.blobs} copied`));
    expect(r.summary).toContain(`| ${same} | retagged: ${source.blobs} mounted, 0 copied, 0 present, ${source.manifestBytes} bytes sent |`);
  });

  test('503s from the registry during the retag are retried', async () => {
    const from = await stageImage(`${proxy.host}/${source.repository}@${source.digest}`);
    proxy.addFault({ method: 'PUT', path: /\/manifests\//, status: 503, times: 2 });
    const prod = uniqueName('promote-flaky');
    const r = await promote({ mode: 'registry', 'from-namespace': from, 'from-release': 'app', 'to-images': `${proxy.host}/${prod}:production` });
    expectNoStackTrace(r);
    expect(r.outputs.status).toBe('promoted');
    expect(await registryDigest(bed.registryNoAuth, prod, 'production')).toBe(source.digest);
    expect(proxy.requests.filter((q) => q.method === 'PUT' && /\/manifests\//.test(q.path) && q.faulted).length).toBe(2);
  });
});

describe('mode gitops', () => {
  const FILE = 'apps/demo/production/kustomization.yaml';
  const KUSTOMIZATION = `# production overlay of the demo app
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: ghcr.io/acme/demo   # the web app
    newTag: "1.0"
`;
  const root = mkdtempSync(join(work, 'git-'));

  test('the digest is committed to a bare repository over file://; a second identical promote is unchanged, with no commit', async () => {
    const bare = createRepository(root, uniqueName('env'), { [FILE]: KUSTOMIZATION });
    const inputs = { mode: 'gitops', 'from-namespace': staging, 'from-release': 'demo', repository: pathToFileURL(bare).href, 'repository-file': FILE, environment: 'production' };
    const r = await promote(inputs);
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.outputs.status).toBe('promoted');
    const tip = gitIn(bare, 'rev-parse', 'main').trim();
    expect(r.outputs.commit).toBe(tip);
    const file = gitIn(bare, 'show', `main:${FILE}`);
    expect(file).toMatch(new RegExp(`- name: ghcr.io/acme/demo   # the web app\\n    digest: "?${digest('a')}"?\\n`));
    expect(file).toContain('# production overlay of the demo app');
    expect(file).toContain('# the web app');
    const message = gitIn(bare, 'log', '-1', '--format=%B', 'main');
    expect(message).toContain(`Image digest: ${digest('a')}`);
    expect(message).toContain(`Staging revision: ${staging}/demo revision 1`);
    expect(gitIn(bare, 'rev-list', '--count', 'main').trim()).toBe('2');

    const again = await promote(inputs);
    expectNoStackTrace(again);
    expect(again.conclusion).toBe('success');
    expect(again.outputs.status).toBe('unchanged');
    expect(again.outputs.commit).toBe(tip);
    expect(gitIn(bare, 'rev-list', '--count', 'main').trim()).toBe('2');
    expect(again.summary).toContain('already there: no commit');
  });

  test('over HTTP with a token: committed, and the token is never in the log', async () => {
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    const server = await startGitHttpServer({ root, token });
    try {
      const bare = createRepository(root, uniqueName('env-http'), { [FILE]: KUSTOMIZATION });
      const r = await promote({ mode: 'gitops', 'from-namespace': staging, 'from-release': 'demo', repository: `${server.url}/${bare.slice(root.length + 1)}`, token, 'repository-file': FILE });
      expectNoStackTrace(r);
      expect(r.outputs.status).toBe('promoted');
      expect(gitIn(bare, 'show', `main:${FILE}`)).toMatch(new RegExp(`digest: "?${digest('a')}"?`));
      expect(r.log + r.summary).not.toContain(token);
      expect(server.requests.some((q) => q.method === 'POST' && q.url.endsWith('/git-receive-pack') && q.status === 200)).toBe(true);
    } finally {
      await server.close();
    }
  });

  // The bundle's Octokit goes through the one undici the bundler keeps (scripts/bundle.mjs).
  test('pull-request: true pushes a branch and opens a pull request through the GitHub API', async () => {
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    const server = await startGitHttpServer({ root, token });
    const name = uniqueName('env-pr');
    const api = await startGitHubApi({ token, owner: 'env', repo: name });
    try {
      const bare = createRepository(join(root, 'env'), name, { [FILE]: KUSTOMIZATION });
      const r = await promote(
        { mode: 'gitops', 'from-namespace': staging, 'from-release': 'demo', repository: `${server.url}/${bare.slice(root.length + 1)}`, token, 'repository-file': FILE, 'pull-request': 'true' },
        { env: { GITHUB_API_URL: api.url } },
      );
      expectNoStackTrace(r);
      expect(r.conclusion).toBe('success');
      expect(r.outputs['pull-request-url']).toBe(`${api.url}/env/${name}/pull/1`);
      expect(api.pulls).toHaveLength(1);
      expect(api.requests.find((q) => q.method === 'POST')?.authorization).toBe(`token ${token}`);
      expect(gitIn(bare, 'show', `${api.pulls[0].head}:${FILE}`)).toMatch(new RegExp(`digest: "?${digest('a')}"?`));
      expect(r.log + r.summary).not.toContain(token);
    } finally {
      await api.close();
      await server.close();
    }
  });
});

describe('bad input', () => {
  test.each([
    ['mode registry without to-images', { mode: 'registry', 'from-namespace': 'staging', 'from-release': 'demo' }, /^promote: input 'to-images': is required with mode: registry/],
    ['images without a digest', { mode: 'registry', 'from-namespace': 'staging', 'from-release': 'demo', images: 'demo=ghcr.io/acme/demo:1.0', 'to-images': 'r.example/prod/demo:1' }, /^promote: input 'images': "demo=ghcr.io\/acme\/demo:1.0" has no digest/],
    ['mode deploy with both path and manifests', { 'from-namespace': 'staging', release: 'demo', namespace: 'production', path: 'examples/demo/deploy', manifests: 'bundle.yaml' }, /^promote: input 'path': .*manifests.*give one/],
    ['an unknown mode', { mode: 'copy', 'from-namespace': 'staging', release: 'demo' }, /^promote: input 'mode': .*deploy.*registry.*gitops/],
    ['a soak that is not a duration', { 'from-namespace': 'staging', release: 'demo', manifests: 'x.yaml', soak: 'a while' }, /^promote: input 'soak': /],
  ])('%s: a clear error, no stack trace', async (_, inputs, message) => {
    const r = await promote(inputs);
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(firstError(r)).toMatch(message);
  });
});

describe('cancelled mid-promote', () => {
  test('during a long soak: nothing promoted, no lock left, and the next promote proceeds', async () => {
    const production = ns('promote-cancel');
    const inputs = { 'from-namespace': staging, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', A, production), 'create-namespace': 'true' };
    const started = Date.now();
    const cancelled = await promote({ ...inputs, soak: '10m' }, { cancelWhen: (line) => /soaking .* more/.test(line) });
    expectNoStackTrace(cancelled);
    expect(cancelled.conclusion).toBe('failure');
    expect(cancelled.postExitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(firstError(cancelled)).toMatch(/cancelled while staging soaked; nothing was promoted/);
    expect(cancelled.outputs.status).toBe('failed');
    expect(await records(production)).toEqual({});
    expect(await leases(production)).toEqual([]);
    expect(await liveImage(production)).toBeUndefined();

    const next = await promote({ ...inputs, 'lock-timeout': '10s' });
    expect(next.outputs.status).toBe('promoted');
    expect(await liveImage(production)).toBe(A);
  });

  test('during the production wait: the release record says it failed, the lock is released, and the next promote proceeds', async () => {
    const slowStaging = ns('promote-slow');
    const slow = `ghcr.io/acme/slow-6s@${digest('7')}`;
    expect((await stage(slowStaging, slow)).outputs.status).toBe('deployed');
    const production = ns('promote-cancel-wait');
    const inputs = { 'from-namespace': slowStaging, 'from-release': 'demo', release: 'demo', namespace: production, manifests: await render('production', slow, production), 'create-namespace': 'true' };
    const cancelled = await promote(inputs, { cancelWhen: (line) => line.startsWith('waiting for') });
    expectNoStackTrace(cancelled);
    expect(cancelled.conclusion).toBe('failure');
    expect(cancelled.postExitCode).toBe(0);
    expect(cancelled.outputs.status).toBe('failed');
    expect(await records(production)).toEqual({ '1': { status: 'failed', proof: expect.objectContaining({ staging: expect.objectContaining({ namespace: slowStaging, revision: 1 }) }) } });
    expect(await leases(production)).not.toContain('kubeline-demo');

    const next = await promote({ ...inputs, 'lock-timeout': '10s' });
    expectNoStackTrace(next);
    expect(next.outputs.status).toBe('promoted');
    expect(next.outputs.revision).toBe('2');
    expect((await records(production))['2'].status).toBe('deployed');
  });
});
