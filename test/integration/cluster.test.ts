// The test bed's Kubernetes control plane (scripts/cluster: a real kube-apiserver, etcd and
// kube-controller-manager, and scripts/fake-kubelet.mjs for the node) behaves as a cluster does for
// what deploy will rely on: a Deployment rolls out and becomes Available, one whose pods never get
// Ready runs into its progress deadline, Jobs complete or fail, a namespace is deleted with all in it.
// It talks to the API server as any client would: HTTPS with the kubeconfig's CA and client cert.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { uniqueName } from '../support/actions';

interface Cluster {
  server: URL;
  agent: https.Agent;
}

/** The cluster from KUBELINE_KUBECONFIG (scripts/cluster env); fails clearly when it is not up. */
function cluster(): Cluster {
  const path = process.env.KUBELINE_KUBECONFIG;
  if (!path) {
    throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
  }
  const kubeconfig = readFileSync(path, 'utf8');
  // scripts/cluster writes one cluster and one user with embedded certificates.
  const field = (name: string): string => {
    const m = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(kubeconfig);
    if (!m) throw new Error(`${path} has no ${name}: is it the kubeconfig scripts/cluster wrote?`);
    return m[1];
  };
  const data = (name: string): Buffer => Buffer.from(field(name), 'base64');
  return {
    server: new URL(field('server')),
    agent: new https.Agent({ ca: data('certificate-authority-data'), cert: data('client-certificate-data'), key: data('client-key-data') }),
  };
}

const kube = cluster();

/** A Kubernetes object or list as the API returns it: read loosely, asserted on by the tests. */
type Obj = any;

function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Obj }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        hostname: kube.server.hostname,
        port: kube.server.port,
        path,
        method,
        agent: kube.agent,
        headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      },
      (res) => {
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
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function create(path: string, object: Obj): Promise<Obj> {
  const r = await api('POST', path, object);
  if (r.status !== 201) throw new Error(`POST ${path}: HTTP ${r.status}: ${r.body?.message ?? r.body}`);
  return r.body;
}

async function get(path: string): Promise<Obj> {
  const r = await api('GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body?.message ?? r.body}`);
  return r.body;
}

/** Polls `path` until `done(object)` holds; fails after `seconds` with the last object's status. */
async function waitFor(path: string, what: string, done: (o: Obj) => boolean, seconds = 60): Promise<Obj> {
  const deadline = Date.now() + seconds * 1000;
  let last: Obj;
  for (;;) {
    last = await get(path);
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`${path}: not ${what} after ${seconds} s; status: ${JSON.stringify(last.status, null, 1)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const condition = (o: Obj, type: string): Obj => (o.status?.conditions ?? []).find((c: Obj) => c.type === type);

const namespace = uniqueName('cluster-test');
const ns = `/api/v1/namespaces/${namespace}`;

function deployment(name: string, image: string, replicas: number, extra: Obj = {}): Obj {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] } },
      ...extra,
    },
  };
}

function job(name: string, image: string): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image }] } } },
  };
}

const podsOf = async (selector: string): Promise<Obj[]> =>
  (await get(`${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)).items;

beforeAll(async () => {
  const version = await api('GET', '/version');
  if (version.status !== 200) throw new Error(`${kube.server}: /version answers ${version.status}: is the cluster up (scripts/cluster status)?`);
  await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
});

afterAll(async () => {
  // Left behind only when the last test failed before deleting it.
  await api('DELETE', ns).catch(() => undefined);
  kube.agent.destroy();
});

test('the node is Ready and RBAC is enforced: an unknown service account is forbidden', async () => {
  const node = await get('/api/v1/nodes/kubeline-node');
  expect(condition(node, 'Ready')?.status).toBe('True');
  expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });

  // Impersonating a service account with no role bindings: a real 403 from the RBAC authorizer.
  const r = await api('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: `system:serviceaccount:${namespace}:nobody`, resourceAttributes: { namespace, verb: 'create', group: 'apps', resource: 'deployments' } },
  });
  expect(r.status).toBe(201);
  expect(r.body.status.allowed).toBe(false);
});

test('a Deployment rolls out: its pods are bound, Running and Ready, and it becomes Available', async () => {
  await create(`/apis/apps/v1/namespaces/${namespace}/deployments`, deployment('web', 'registry.example/web:1', 2));
  const d = await waitFor(
    `/apis/apps/v1/namespaces/${namespace}/deployments/web`,
    'Available with 2 ready replicas',
    (o) => o.status?.observedGeneration === o.metadata.generation && o.status?.readyReplicas === 2 && o.status?.updatedReplicas === 2 && condition(o, 'Available')?.status === 'True',
  );
  expect(condition(d, 'Progressing')?.reason).toBe('NewReplicaSetAvailable');

  const pods = await podsOf('app=web');
  expect(pods).toHaveLength(2);
  for (const pod of pods) {
    expect(pod.spec.nodeName).toBe('kubeline-node');
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'app', ready: true, started: true, state: { running: {} } });
  }
  const events = (await get(`${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${pods[0].metadata.name}`)}`)).items;
  expect(events.map((e: Obj) => e.reason)).toEqual(expect.arrayContaining(['Scheduled', 'Pulled', 'Created', 'Started']));
});

test('a Deployment whose pods never get Ready is never Available and exceeds its progress deadline', async () => {
  await create(
    `/apis/apps/v1/namespaces/${namespace}/deployments`,
    deployment('stuck', 'registry.example/never-ready:1', 1, { progressDeadlineSeconds: 10 }),
  );
  const d = await waitFor(
    `/apis/apps/v1/namespaces/${namespace}/deployments/stuck`,
    'past its progress deadline',
    (o) => condition(o, 'Progressing')?.reason === 'ProgressDeadlineExceeded',
  );
  expect(condition(d, 'Progressing').status).toBe('False');
  expect(condition(d, 'Available').status).toBe('False');
  expect(d.status.readyReplicas ?? 0).toBe(0);

  const [pod] = await podsOf('app=stuck');
  expect(pod.status.phase).toBe('Running');
  expect(pod.status.containerStatuses[0]).toMatchObject({ ready: false, started: true, state: { running: {} } });
  expect(condition(pod, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
  const events = (await get(`${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${pod.metadata.name}`)}`)).items;
  expect(events).toContainEqual(
    expect.objectContaining({ type: 'Warning', reason: 'Unhealthy', message: expect.stringMatching(/^Readiness probe failed/), source: { component: 'kubelet', host: 'kubeline-node' } }),
  );
});

test('a Job completes; a Job whose pod exits 1 fails', async () => {
  await create(`/apis/batch/v1/namespaces/${namespace}/jobs`, job('migrate', 'registry.example/migrate:1'));
  await create(`/apis/batch/v1/namespaces/${namespace}/jobs`, job('broken', 'registry.example/job-fail:1'));
  const done = await waitFor(`/apis/batch/v1/namespaces/${namespace}/jobs/migrate`, 'Complete', (o) => condition(o, 'Complete')?.status === 'True');
  expect(done.status.succeeded).toBe(1);
  const failed = await waitFor(`/apis/batch/v1/namespaces/${namespace}/jobs/broken`, 'Failed', (o) => condition(o, 'Failed')?.status === 'True');
  expect(condition(failed, 'Failed').reason).toBe('BackoffLimitExceeded');
  const [pod] = await podsOf('job-name=broken');
  expect(pod.status.phase).toBe('Failed');
  expect(pod.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
});

test('deleting the namespace removes it and everything in it', async () => {
  const r = await api('DELETE', ns);
  expect(r.status).toBe(200);
  await waitFor(
    '/api/v1/namespaces',
    `without ${namespace}`,
    (list) => !list.items.some((n: Obj) => n.metadata.name === namespace),
    120,
  );
  expect((await api('GET', `${ns}/pods`)).body.items ?? []).toEqual([]);
});
