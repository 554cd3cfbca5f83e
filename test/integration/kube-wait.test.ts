// Waiting for a rollout and explaining a failed one, against the test bed's real control plane
// (scripts/cluster: kube-apiserver, etcd, kube-controller-manager; scripts/fake-kubelet.mjs makes
// pods slow, never ready, crash, run out of memory or fail to pull, on demand, by their image).
// Every test works in its own namespace and deletes it afterwards; the cluster is shared.
import https from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import {
  type RolloutObject,
  type TargetResult,
  type WaitProgress,
  type WaitTarget,
  deploymentRollout,
  diagnose,
  diagnosisLines,
  diagnosisMarkdown,
  KubeClient,
  waitForAll,
} from '@kubeline/kube';
import { uniqueName } from '../support/actions';
import { startTcpProxy } from '../support/tcp-proxy';

function loadKubeconfig(): KubeConfig {
  const path = process.env.KUBELINE_KUBECONFIG;
  if (!path) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

const kc = loadKubeconfig();
const client = new KubeClient(kc);
afterAll(() => client.close());

/** The same credentials, another address (the TCP proxy in front of the API server). */
function clientVia(host: string): KubeClient {
  const other = new KubeConfig();
  other.loadFromString(kc.exportConfig());
  other.clusters = other.clusters.map((c) => ({ ...c, server: `https://${host}` }));
  return new KubeClient(other);
}

type Obj = any;

async function send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Obj }> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: https.RequestOptions = { method, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) opts.headers = { ...opts.headers, 'content-type': contentType };
  return new Promise((resolve, reject) => {
    const req = https.request({ ...opts, hostname: server.hostname, port: server.port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Obj = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const RESOURCES: Record<string, string> = {
  Deployment: '/apis/apps/v1/namespaces/NS/deployments',
  StatefulSet: '/apis/apps/v1/namespaces/NS/statefulsets',
  DaemonSet: '/apis/apps/v1/namespaces/NS/daemonsets',
  Job: '/apis/batch/v1/namespaces/NS/jobs',
  Service: '/api/v1/namespaces/NS/services',
  PersistentVolumeClaim: '/api/v1/namespaces/NS/persistentvolumeclaims',
  CustomResourceDefinition: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
};

/** Server-side apply, as deploy will do it. */
async function apply(obj: Obj, path?: string): Promise<Obj> {
  const collection = path ?? RESOURCES[obj.kind].replace('NS', obj.metadata.namespace);
  const r = await send('PATCH', `${collection}/${obj.metadata.name}?fieldManager=kubeline-test&force=true`, obj, 'application/apply-patch+yaml');
  if (r.status !== 200 && r.status !== 201) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: HTTP ${r.status}: ${r.body?.message ?? r.body}`);
  return r.body;
}

const namespaces: string[] = [];
const clusterScoped: string[] = [];

async function namespace(): Promise<string> {
  const name = uniqueName('wait');
  const r = await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201) throw new Error(`create namespace ${name}: HTTP ${r.status}: ${r.body?.message}`);
  namespaces.push(name);
  return name;
}

afterEach(async () => {
  // Deleting a namespace deletes everything in it; no need to wait for it to go.
  await Promise.all(namespaces.splice(0).map((ns) => send('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined)));
  await Promise.all(clusterScoped.splice(0).map((path) => send('DELETE', path).catch(() => undefined)));
});

function deployment(ns: string, name: string, image: string, replicas = 1, spec: Obj = {}): Obj {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } }, ...spec },
  };
}

function job(ns: string, name: string, image: string): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image }] } } },
  };
}

const service = (ns: string, name: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});

const targetOf = (o: Obj): WaitTarget => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
const result = (targets: TargetResult[], name: string): TargetResult => targets.find((t) => t.target.name === name)!;

test('three Deployments (one slow), a Job and a Service waited for together take as long as the slowest, not the sum', async () => {
  const ns = await namespace();
  const objects = [
    deployment(ns, 'web', 'registry.example/web:1', 2),
    deployment(ns, 'api', 'registry.example/api:1', 2),
    deployment(ns, 'slow', 'registry.example/slow-3s:1', 1),
    job(ns, 'migrate', 'registry.example/migrate:1'),
    service(ns, 'web'),
  ];
  const startedAt = Date.now();
  await Promise.all(objects.map((o) => apply(o)));
  const progress: WaitProgress[] = [];
  const r = await waitForAll(client, objects.map(targetOf), { startedAt, timeoutMs: 60_000, onProgress: (p) => progress.push(p), progressIntervalMs: 1000 });
  const total = Date.now() - startedAt;

  expect(r.outcome).toBe('ready');
  expect(r.targets.map((t) => [t.target.kind, t.target.name, t.state])).toEqual([
    ['Deployment', 'web', 'ready'],
    ['Deployment', 'api', 'ready'],
    ['Deployment', 'slow', 'ready'],
    ['Job', 'migrate', 'ready'],
    ['Service', 'web', 'ready'],
  ]);
  expect(result(r.targets, 'slow').reason).toBe('1 replica updated and available');
  expect(result(r.targets, 'migrate').reason).toBe('complete (1 pod succeeded)');
  // One watch per resource type and namespace: Deployments and Jobs (a Service has nothing to wait for).
  expect(r.stats.watches).toBe(2);

  const durations = r.targets.filter((t) => t.target.kind !== 'Service').map((t) => t.durationMs!);
  const slowest = Math.max(...durations);
  const sum = durations.reduce((a, b) => a + b, 0);
  expect(result(r.targets, 'slow').durationMs).toBe(slowest);
  expect(slowest).toBeGreaterThanOrEqual(3000);
  expect(total).toBeLessThan(slowest + 2000);
  expect(total).toBeLessThan(sum * 0.8);

  // Progress says what is still waiting, and why.
  expect(progress.length).toBeGreaterThanOrEqual(1);
  const slowWaits = progress.flatMap((p) => p.waiting.filter((w) => w.target.name === 'slow').map((w) => w.reason));
  expect(slowWaits).toContainEqual(expect.stringMatching(/^(0 of 1 updated replicas available|0 of 1 new replicas updated|waiting for the controller to observe generation 1 \(observed 0\))$/));
});

test('a Deployment that never gets ready fails at its progress deadline, and the diagnosis names the failing readiness probe', async () => {
  const ns = await namespace();
  const d = deployment(ns, 'stuck', 'registry.example/never-ready:1', 1, { progressDeadlineSeconds: 10 });
  const startedAt = Date.now();
  await apply(d);
  const r = await waitForAll(client, [targetOf(d)], { startedAt, timeoutMs: 60_000 });

  expect(r.outcome).toBe('failed');
  const [stuck] = r.targets;
  expect(stuck.state).toBe('failed');
  expect(stuck.reason).toMatch(/^ProgressDeadlineExceeded: ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
  expect(stuck.durationMs).toBeGreaterThanOrEqual(10_000);

  const [diagnosis] = await diagnose(client, r.targets.filter((t) => t.state !== 'ready'));
  expect(diagnosis.causes).toContain('container app: running but not ready');
  expect(diagnosis.causes).toContainEqual(expect.stringMatching(/^probe failing: Readiness probe failed: HTTP probe failed with statuscode: 503 \((once|\d+ times)\)$/));
  expect(diagnosis.pods).toEqual([
    expect.objectContaining({ name: expect.stringMatching(/^stuck-[a-z0-9]+-[a-z0-9]+$/), phase: 'Running', ready: false, containers: [expect.objectContaining({ name: 'app', state: 'running, not ready', restarts: 0 })] }),
  ]);
  // The Deployment's, the ReplicaSet's and the pod's events, deduplicated, warnings first.
  expect(diagnosis.events[0]).toMatchObject({ type: 'Warning', reason: 'Unhealthy', objects: [expect.stringMatching(/^Pod\/stuck-/)] });
  expect(diagnosis.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['ScalingReplicaSet', 'SuccessfulCreate', 'Scheduled', 'Started']));
  // There is no kubelet to read logs from: said, not thrown.
  expect(diagnosis.logs).toMatchObject({ container: 'app', previous: false, unavailable: expect.stringMatching(/127\.0\.0\.1:10250.*connection refused/) });

  const markdown = diagnosisMarkdown([diagnosis]);
  expect(markdown).toContain(`#### ❌ Deployment \`stuck\` in \`${ns}\`: failed`);
  expect(markdown).toMatch(/\| stuck-[a-z0-9]+-[a-z0-9]+ \| Running \| app \| running, not ready \| 0 \|/);
  expect(markdown).toContain('Readiness probe failed: HTTP probe failed with statuscode: 503');
  expect(markdown).toMatch(/Logs of `stuck-[^`]+\/app` unavailable: /);
  const lines = diagnosisLines([diagnosis]);
  expect(lines[0]).toBe(`Deployment stuck in ${ns}: failed: ${stuck.reason}`);
  expect(lines).toContainEqual(expect.stringMatching(/^ {2}stuck-[a-z0-9-]+\/app: logs unavailable: HTTP 500: .*connection refused/));
});

test('crash loops, running out of memory and an image that cannot be pulled: the timeout names each, the diagnosis explains each', async () => {
  const ns = await namespace();
  const objects = [
    deployment(ns, 'crash', 'registry.example/crash:1'),
    deployment(ns, 'oom', 'registry.example/oom:1'),
    deployment(ns, 'pull', 'registry.example/pull-error:1'),
  ];
  const startedAt = Date.now();
  await Promise.all(objects.map((o) => apply(o)));
  const r = await waitForAll(client, objects.map(targetOf), { startedAt, timeoutMs: 6000 });
  expect(r.outcome).toBe('timeout');
  expect(r.durationMs).toBeLessThan(6500);
  for (const t of r.targets) expect(t).toMatchObject({ state: 'progressing', reason: '0 of 1 updated replicas available' });

  const diagnoses = await diagnose(client, r.targets);
  const [crash, oom, pull] = diagnoses;
  expect(crash.causes[0]).toMatch(/^container app: (CrashLoopBackOff|restarting), restarted (once|\d+ times), last exit code 1 \(Error\)$/);
  expect(crash.pods[0].containers[0]).toMatchObject({ restarts: expect.any(Number), lastTermination: { reason: 'Error', exitCode: 1 } });
  expect(crash.pods[0].containers[0].restarts).toBeGreaterThanOrEqual(1);
  expect(crash.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'BackOff', message: expect.stringMatching(/^Back-off restarting failed container app in pod crash-/) }));
  expect(crash.logs).toMatchObject({ container: 'app', previous: true, unavailable: expect.stringMatching(/connection refused/) });

  expect(oom.causes).toContainEqual(expect.stringMatching(/last exit code 137 \(OOMKilled\)$/));
  expect(oom.causes).toContain('container app: killed for running out of memory (OOMKilled, exit code 137): raise resources.limits.memory or lower its use');

  expect(pull.causes[0]).toMatch(/^container app: (ImagePullBackOff|ErrImagePull): .*registry\.example\/pull-error:1.*not found/);
  expect(pull.pods[0]).toMatchObject({ phase: 'Pending', containers: [expect.objectContaining({ state: expect.stringMatching(/^waiting: (ImagePullBackOff|ErrImagePull)$/) })] });
  expect(pull.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'Failed', message: expect.stringMatching(/^Failed to pull image "registry\.example\/pull-error:1"/) }));
  expect(pull.logs).toBeUndefined(); // the container never started: no logs to ask for

  const markdown = diagnosisMarkdown(diagnoses);
  expect(markdown).toContain('#### ⏳ Deployment `crash`');
  expect(markdown).toMatch(/\| crash-[a-z0-9-]+ \| Running \| app \| (waiting: CrashLoopBackOff|running, not ready) \| \d+ \| Error, exit code 1 \|/);
  expect(markdown).toMatch(/\| OOMKilled, exit code 137 \|/);
});

test('a Job that fails fails the wait with its reason; the diagnosis shows its pod\'s exit code', async () => {
  const ns = await namespace();
  const objects = [job(ns, 'broken', 'registry.example/job-fail:1'), deployment(ns, 'slow', 'registry.example/slow-20s:1')];
  const startedAt = Date.now();
  await Promise.all(objects.map((o) => apply(o)));
  const r = await waitForAll(client, objects.map(targetOf), { startedAt, timeoutMs: 60_000 });
  // It stops at the first failure: the slow Deployment is still waiting.
  expect(r.outcome).toBe('failed');
  expect(r.durationMs).toBeLessThan(10_000);
  expect(result(r.targets, 'broken')).toMatchObject({ state: 'failed', reason: 'BackoffLimitExceeded: Job has reached the specified backoff limit' });
  expect(result(r.targets, 'slow').state).toBe('progressing');

  const [d] = await diagnose(client, [result(r.targets, 'broken')]);
  expect(d.pods).toEqual([expect.objectContaining({ phase: 'Failed', containers: [expect.objectContaining({ name: 'job', state: 'terminated: Error (exit code 1)' })] })]);
  expect(d.causes).toEqual(['container job: Error (exit code 1)', 'BackoffLimitExceeded: Job has reached the specified backoff limit']);
  expect(d.logs).toMatchObject({ container: 'job', previous: false, unavailable: expect.any(String) });
});

test('a StatefulSet and a DaemonSet roll out, and roll out again on a new image', async () => {
  const ns = await namespace();
  const labels = { app: 'db' };
  const sts = (image: string): Obj => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: ns },
    spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'db', image }] } } },
  });
  const ds = (image: string): Obj => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: ns },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        // The test bed's node keeps the node.kubernetes.io/not-ready:NoSchedule taint (no node
        // lifecycle controller removes it), which DaemonSet pods do not tolerate by default.
        spec: { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }], containers: [{ name: 'agent', image }] },
      },
    },
  });

  let startedAt = Date.now();
  await Promise.all([apply(sts('registry.example/db:1')), apply(ds('registry.example/agent:1'))]);
  let r = await waitForAll(client, [targetOf(sts('')), targetOf(ds(''))], { startedAt, timeoutMs: 60_000 });
  expect(r.outcome).toBe('ready');
  expect(r.targets.map((t) => t.reason)).toEqual(['2 pods updated and ready', '1 pod updated and available']);

  startedAt = Date.now();
  await Promise.all([apply(sts('registry.example/slow-2s:2')), apply(ds('registry.example/slow-2s:2'))]);
  r = await waitForAll(client, [targetOf(sts('')), targetOf(ds(''))], { startedAt, timeoutMs: 60_000 });
  expect(r.outcome).toBe('ready');
  // The StatefulSet replaces its pods one at a time: about twice the DaemonSet's one pod.
  expect(result(r.targets, 'db').durationMs).toBeGreaterThanOrEqual(4000);
  expect(result(r.targets, 'agent').durationMs).toBeGreaterThanOrEqual(2000);
  expect(result(r.targets, 'db').object?.status).toMatchObject({ readyReplicas: 2, updatedReplicas: 2 });
});

test('a timeout shorter than the rollout returns on time with what is still waiting and why; a PVC with no provisioner says so', async () => {
  const ns = await namespace();
  const d = deployment(ns, 'slow', 'registry.example/slow-5s:1');
  const pvc = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
  await Promise.all([apply(d), apply(pvc)]);
  // The test bed runs no pvc-protection controller: without this the claim's finalizer would keep
  // it, and so its namespace, forever.
  const unprotect = send('PATCH', `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
  const r = await waitForAll(client, [targetOf(d), targetOf(pvc)], { timeoutMs: 2000 });
  expect((await unprotect).status).toBe(200);
  expect(r.outcome).toBe('timeout');
  expect(r.durationMs).toBeGreaterThanOrEqual(2000);
  expect(r.durationMs).toBeLessThan(2500);
  expect(r.targets).toEqual([
    expect.objectContaining({ state: 'progressing', reason: '0 of 1 updated replicas available' }),
    expect.objectContaining({
      state: 'progressing',
      reason: 'Pending: not bound to a volume — no volume provisioner has taken it and no PersistentVolume matches (storageClassName: unset, and no default StorageClass took it); it stays Pending until one does',
    }),
  ]);
});

test('a ProgressDeadlineExceeded left from the failed rollout does not fail the rollback to the previous image', async () => {
  const ns = await namespace();
  const good = deployment(ns, 'web', 'registry.example/slow-1s:1', 1, { progressDeadlineSeconds: 10 });
  const bad = deployment(ns, 'web', 'registry.example/never-ready:2', 1, { progressDeadlineSeconds: 10 });
  const target = [targetOf(good)];

  let startedAt = Date.now();
  await apply(good);
  expect((await waitForAll(client, target, { startedAt, timeoutMs: 60_000 })).outcome).toBe('ready');
  startedAt = Date.now();
  await apply(bad);
  const failed = await waitForAll(client, target, { startedAt, timeoutMs: 60_000 });
  expect(failed.outcome).toBe('failed');
  expect(failed.targets[0].reason).toMatch(/^ProgressDeadlineExceeded/);

  // Record every version of the Deployment from here on, as `kubectl rollout status` would see them.
  const seen: RolloutObject[] = [];
  const rv = failed.targets[0].object!.metadata!.resourceVersion!;
  const recorder = await new Watch(kc).watch(
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    { resourceVersion: rv, fieldSelector: 'metadata.name=web' },
    (type, obj) => type === 'MODIFIED' && seen.push(obj),
    () => undefined,
  );
  try {
    // Roll back (the old ReplicaSet is reused) once the wait has listed: its watch sees every version after.
    startedAt = Date.now();
    let applied: Promise<unknown> | undefined;
    const r = await waitForAll(client, target, { startedAt, timeoutMs: 60_000, onProgress: () => (applied ??= apply(good)) });
    await applied;
    expect(r.outcome).toBe('ready');
    expect(r.targets[0].reason).toBe('1 replica updated and available');
    // kubectl's rule fails on a version the controller wrote while rolling back: observedGeneration
    // current, the old ProgressDeadlineExceeded still there.
    const generation = r.targets[0].object!.metadata!.generation!;
    const stale = seen.filter((o) => o.metadata?.generation === generation && o.status?.observedGeneration === generation && deploymentRollout(o).state === 'failed');
    expect(stale.length).toBeGreaterThanOrEqual(1);
    expect(deploymentRollout(stale[0], { startedAt }).state).toBe('progressing');
  } finally {
    recorder.abort();
  }
});

test('an AbortSignal stops the wait promptly and leaves no connection open', async () => {
  const ns = await namespace();
  const server = new URL(kc.getCurrentCluster()!.server);
  const proxy = await startTcpProxy(server.hostname, Number(server.port));
  const viaProxy = clientVia(proxy.host);
  try {
    const d = deployment(ns, 'stuck', 'registry.example/never-ready:1');
    await apply(d);
    const controller = new AbortController();
    let abortedAt = 0;
    const waiting = waitForAll(viaProxy, [targetOf(d)], {
      timeoutMs: 60_000,
      signal: controller.signal,
      onProgress: () =>
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 1000),
    });
    const r = await waiting;
    const returnedIn = Date.now() - abortedAt;
    expect(r.outcome).toBe('cancelled');
    expect(returnedIn).toBeLessThan(100);
    expect(r.targets[0]).toMatchObject({ state: 'progressing', reason: '0 of 1 updated replicas available' });
    // The watch is cancelled on the server at once (its HTTP/2 stream is reset); the idle
    // connection closes when undici's keep-alive timeout (4 s) runs out.
    for (let i = 0; i < 60 && proxy.open > 0; i++) await new Promise((res) => setTimeout(res, 100));
    expect(proxy.open).toBe(0);

    // Aborted before it starts: returns at once, reads nothing.
    const before = proxy.accepted;
    const r2 = await waitForAll(viaProxy, [targetOf(d)], { signal: AbortSignal.abort() });
    expect(r2.outcome).toBe('cancelled');
    expect(proxy.accepted).toBe(before);
  } finally {
    await viaProxy.close();
    await proxy.close();
  }
});

test('watches cut mid-wait resume from their last resourceVersion and the wait still completes', async () => {
  const ns = await namespace();
  const server = new URL(kc.getCurrentCluster()!.server);
  const proxy = await startTcpProxy(server.hostname, Number(server.port));
  const viaProxy = clientVia(proxy.host);
  try {
    const objects = [deployment(ns, 'slow', 'registry.example/slow-5s:1', 2), job(ns, 'migrate', 'registry.example/slow-3s:1')];
    const startedAt = Date.now();
    await Promise.all(objects.map((o) => apply(o)));
    const log: string[] = [];
    const cuts: number[] = [];
    let scheduled = false;
    const r = await waitForAll(viaProxy, objects.map(targetOf), {
      startedAt,
      timeoutMs: 60_000,
      log: (l) => log.push(l),
      onProgress: () => {
        if (scheduled) return;
        scheduled = true;
        // Once the watches are up: cut everything at 1.5 s, then refuse new connections for a
        // second at 3 s (the reconnects back off), then let them through.
        setTimeout(() => cuts.push(proxy.cutAll()), 1500);
        setTimeout(() => {
          proxy.refuse(true);
          cuts.push(proxy.cutAll());
          setTimeout(() => proxy.refuse(false), 1000);
        }, 3000);
      },
    });
    expect(r.outcome).toBe('ready');
    expect(r.targets.map((t) => t.reason)).toEqual(['2 replicas updated and available', 'complete (1 pod succeeded)']);
    expect(cuts[0]).toBeGreaterThanOrEqual(2); // both watches were open and cut
    expect(r.stats.reconnects).toBeGreaterThanOrEqual(4);
    expect(log).toContainEqual(expect.stringMatching(/^watch deployments in wait-[0-9a-f]+ dropped \(.+\); resuming from resourceVersion \d+/));
    // Resumed, not restarted from scratch: no second list.
    expect(r.stats.relists).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(result(r.targets, 'slow').durationMs! + 2000);
  } finally {
    await viaProxy.close();
    await proxy.close();
  }
});

test('a CRD is waited for until Established, and a custom resource by its Ready condition', async () => {
  const ns = await namespace();
  const group = `${ns}.kubeline.test`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  clusterScoped.push(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
  await apply(crd);
  const established = await waitForAll(client, [targetOf(crd)], { timeoutMs: 30_000 });
  expect(established.targets[0]).toMatchObject({ state: 'ready', reason: 'Established' });
  expect(established.targets[0].target.namespace).toBeUndefined(); // cluster-scoped

  const widgets = `/apis/${group}/v1/namespaces/${ns}/widgets`;
  const widget = (name: string): Obj => ({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name, namespace: ns }, spec: { size: 1 } });
  // Discovery of a new group can lag the Established condition by a moment.
  for (let i = 0; i < 50; i++) {
    if ((await send('GET', widgets)).status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  await apply(widget('plain'), widgets);
  await apply(widget('db'), widgets);
  const setReady = (status: string, reason: string) =>
    send('PATCH', `${widgets}/db/status`, { status: { conditions: [{ type: 'Ready', status, reason, message: reason === 'Provisioning' ? 'creating volume' : '' }] } }, 'application/merge-patch+json');
  await setReady('False', 'Provisioning');

  const progress: string[] = [];
  const r = await waitForAll(client, [targetOf(widget('plain')), targetOf(widget('db'))], {
    timeoutMs: 30_000,
    onProgress: (p) => {
      progress.push(...p.waiting.map((w) => `${w.target.name}: ${w.reason}`));
      void setReady('True', 'Reconciled');
    },
  });
  expect(r.outcome).toBe('ready');
  expect(progress).toEqual(['db: Ready=False: Provisioning: creating volume']);
  expect(r.targets.map((t) => t.reason)).toEqual(['no Ready or Available condition: nothing to wait for', 'Ready']);
});
