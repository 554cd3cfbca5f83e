#!/usr/bin/env node
// The test bed's stand-in for kube-scheduler and the kubelet, started by `scripts/cluster up`.
//
// It registers one Node (Ready, InternalIP 127.0.0.1), binds every unbound pod that fits the node
// to it (pods/binding), and writes pod status through the status subresource as a kubelet would:
// containers created, started and Ready, Job pods Succeeded after about a second. No container
// ever runs: a pod's IP is only a string (from the documentation range 203.0.113.0/24, because
// Endpoints refuse loopback addresses) and nothing connects to it.
//
// The container image says how a container behaves, so tests can make things fail on demand:
//
//   image contains     the container
//   ---------------    -------------------------------------------------------------------------
//   (anything else)    runs and is Ready at once; in a Job pod it exits 0 after 1 s
//   slow-<N>s          runs, becomes Ready N seconds after it started (a Job pod's exits 0 then)
//   never-ready        runs, never Ready; a Warning `Unhealthy` event every 10 s
//   crash              exits 1 after 0.5 s, over and over: CrashLoopBackOff, restartCount grows,
//                      Warning `BackOff` events (restartPolicy Never: the pod Fails)
//   oom (a word)       as crash, killed for memory: lastState terminated OOMKilled, exit code 137
//   job-fail           exits 1 after 1 s: a Job pod (restartPolicy Never) Fails
//   pull-error,        is never pulled: ErrImagePull, then ImagePullBackOff, with Warning `Failed`
//   no-such-image      events; the pod stays Pending
//
// A pod whose nodeSelector or required node affinity the node does not match stays Pending with
// PodScheduled=False (Unschedulable) and a FailedScheduling event, as with kube-scheduler.
// Events are real core/v1 Events (source kubelet), repeated ones counted as the kubelet does.
// A deleted pod is finalized at once (deleted with gracePeriodSeconds 0), so ReplicaSet scale-down
// and namespace deletion finish.
//
// Two controllers the test bed does not run are stood in for too. As the node lifecycle controller,
// it removes the node.kubernetes.io/not-ready taint the API server puts on a new Node once the node
// is Ready (else DaemonSet pods that do not tolerate it are never created). As the pvc-protection
// controller, it removes the kubernetes.io/pvc-protection finalizer from a PersistentVolumeClaim
// being deleted once no running pod uses it (else the claim, and its namespace, stay Terminating).
//
// Every status is a function of the pod and the time since it started (status.startTime), so this
// process can be restarted at any time and carries on where the last one was.
//
// Usage: node scripts/fake-kubelet.mjs --server https://127.0.0.1:PORT --ca ca.crt --cert admin.crt
//          --key admin.key [--node kubeline-node] [--ready-file PATH]
// Node >= 22, node built-ins only.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    server: { type: 'string' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    node: { type: 'string', default: 'kubeline-node' },
    'ready-file': { type: 'string' },
  },
});
for (const name of ['server', 'ca', 'cert', 'key']) {
  if (!opts[name]) {
    console.error(`fake-kubelet: --${name} is required (usage in the header of ${import.meta.filename})`);
    process.exit(2);
  }
}

const NODE = opts.node;
const NODE_IP = '127.0.0.1';
const CREATE_MS = 300; // ContainerCreating before a container starts
const JOB_RUN_MS = 1000; // how long a Job's container runs before it exits
const CRASH_RUN_MS = 500; // how long a crashing container runs before it exits
const UNHEALTHY_EVERY_MS = 10_000; // a failing readiness probe's period
const HEARTBEAT_MS = 10_000;

const log = (...args) => console.error(new Date().toISOString(), ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z'); // RFC 3339, seconds
const hash = (...parts) => createHash('sha256').update(parts.join('/')).digest('hex');

// ---------------------------------------------------------------------------------------------
// The API server

const server = new URL(opts.server);
const agent = new https.Agent({
  ca: readFileSync(opts.ca),
  cert: readFileSync(opts.cert),
  key: readFileSync(opts.key),
  keepAlive: true,
});

/** One request; resolves with the status code and the parsed JSON body (or the text). */
function api(method, path, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        hostname: server.hostname,
        port: server.port,
        path,
        method,
        agent,
        headers: {
          accept: 'application/json',
          'user-agent': `kubeline-fake-kubelet/${NODE}`,
          ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const mergePatch = (path, body) => api('PATCH', path, body, 'application/merge-patch+json');
const describe = (r) => (typeof r.body === 'object' && r.body?.message ? r.body.message : String(r.body).slice(0, 200));

/**
 * Watches `path` from `resourceVersion`, calling onEvent(type, object) for every change, resuming
 * from the last version seen when the connection drops or the server ends it. Resolves when the
 * version is too old (410 Gone): the caller lists again.
 */
async function watch(path, resourceVersion, onEvent) {
  let rv = resourceVersion;
  for (;;) {
    const outcome = await new Promise((resolve) => {
      const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${encodeURIComponent(rv)}`;
      const req = https.request(
        { hostname: server.hostname, port: server.port, path: `${path}?${query}`, agent, headers: { accept: 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            log(`watch ${path}: HTTP ${res.statusCode}`);
            resolve(res.statusCode === 410 ? 'gone' : 'error');
            return;
          }
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            buffer += chunk;
            let newline;
            while ((newline = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, newline).trim();
              buffer = buffer.slice(newline + 1);
              if (!line) continue;
              let event;
              try {
                event = JSON.parse(line);
              } catch {
                log(`watch ${path}: not JSON: ${line.slice(0, 200)}`);
                continue;
              }
              if (event.type === 'ERROR') {
                // 410: the version we resume from has been compacted away
                log(`watch ${path}: ${event.object?.message ?? 'error'}`);
                req.destroy();
                resolve(event.object?.code === 410 ? 'gone' : 'error');
                return;
              }
              rv = event.object?.metadata?.resourceVersion ?? rv;
              if (event.type !== 'BOOKMARK') onEvent(event.type, event.object);
            }
          });
          res.on('end', () => resolve('ended'));
          res.on('error', () => resolve('error'));
          res.on('aborted', () => resolve('error'));
        },
      );
      req.setTimeout(330_000, () => req.destroy(new Error('watch idle')));
      req.on('error', (e) => {
        log(`watch ${path}: ${e.message}`);
        resolve('error');
      });
      req.end();
    });
    if (outcome === 'gone') return;
    if (outcome === 'error') await sleep(1000);
  }
}

/** Lists everything under `path` (all pages); returns the items and the list's resourceVersion. */
async function list(path) {
  const items = [];
  let next = '';
  for (;;) {
    const r = await api('GET', `${path}?limit=500${next ? `&continue=${encodeURIComponent(next)}` : ''}`);
    if (r.status === 410 && next) {
      // the page token expired: start over
      items.length = 0;
      next = '';
      continue;
    }
    if (r.status !== 200) throw new Error(`list ${path}: HTTP ${r.status}: ${describe(r)}`);
    items.push(...r.body.items);
    next = r.body.metadata?.continue ?? '';
    if (!next) return { items, resourceVersion: r.body.metadata.resourceVersion };
  }
}

// ---------------------------------------------------------------------------------------------
// The Node

const bootTime = Date.now();
const nodeLabels = {
  'kubernetes.io/hostname': NODE,
  'kubernetes.io/os': 'linux',
  'kubernetes.io/arch': 'amd64',
  'beta.kubernetes.io/os': 'linux',
  'beta.kubernetes.io/arch': 'amd64',
};
let kubeletVersion = 'v0.0.0';

function nodeStatus() {
  const resources = { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  const condition = (type, status, reason, message) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: iso(Date.now()),
    lastTransitionTime: iso(bootTime),
  });
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: NODE_IP },
      { type: 'Hostname', address: NODE },
    ],
    nodeInfo: {
      machineID: hash('machine', NODE).slice(0, 32),
      systemUUID: hash('system', NODE).slice(0, 32),
      bootID: hash('boot', NODE, bootTime).slice(0, 32),
      kernelVersion: 'fake',
      osImage: 'Kubeline fake kubelet',
      containerRuntimeVersion: 'fake://1.0.0',
      kubeletVersion,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

async function registerNode() {
  const r = await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: nodeLabels } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`registering node ${NODE}: HTTP ${r.status}: ${describe(r)}`);
  if (r.status === 201) log(`registered node ${NODE}`);
}

/** Posts the node's status (Ready, addresses, capacity); registers the node again if it was deleted. */
async function heartbeat() {
  let r = await mergePatch(`/api/v1/nodes/${NODE}/status`, { status: nodeStatus() });
  if (r.status === 404) {
    await registerNode();
    r = await mergePatch(`/api/v1/nodes/${NODE}/status`, { status: nodeStatus() });
  }
  if (r.status !== 200) throw new Error(`node ${NODE} status: HTTP ${r.status}: ${describe(r)}`);
  await untaint(r.body);
}

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

/**
 * The API server taints a new Node not-ready (NoSchedule); the node lifecycle controller removes
 * the taint once the node reports Ready. The node is Ready from its first heartbeat: remove it then.
 * The resourceVersion makes a concurrent change of the node a 409, tried again at the next heartbeat.
 */
async function untaint(node) {
  const taints = node.spec?.taints ?? [];
  const kept = taints.filter((t) => t.key !== NOT_READY_TAINT);
  if (kept.length === taints.length) return;
  const r = await mergePatch(`/api/v1/nodes/${NODE}`, { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints: kept.length ? kept : null } });
  if (r.status === 200) log(`node ${NODE}: removed the ${NOT_READY_TAINT} taint (the node is Ready)`);
  else if (r.status !== 409) throw new Error(`node ${NODE} taints: HTTP ${r.status}: ${describe(r)}`);
}

// ---------------------------------------------------------------------------------------------
// Scheduling: does the pod fit the node? (nodeSelector and required node affinity)

function matchesExpression(expr, value, present) {
  switch (expr.operator) {
    case 'In':
      return present && (expr.values ?? []).includes(value);
    case 'NotIn':
      return !present || !(expr.values ?? []).includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'Gt':
      return present && Number(value) > Number(expr.values?.[0]);
    case 'Lt':
      return present && Number(value) < Number(expr.values?.[0]);
    default:
      return false;
  }
}

function fitsNode(pod) {
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (nodeLabels[k] !== v) return false;
  }
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return true;
  const fields = { 'metadata.name': NODE };
  return terms.some(
    (term) =>
      (term.matchExpressions ?? []).every((e) => matchesExpression(e, nodeLabels[e.key], e.key in nodeLabels)) &&
      (term.matchFields ?? []).every((e) => matchesExpression(e, fields[e.key], e.key in fields)),
  );
}

// ---------------------------------------------------------------------------------------------
// What a container does, from its image

/** @returns {{ pull: boolean, runMs: number, exitCode: number, oom: boolean, readyAfterMs: number }} */
function behaviour(image, isJobPod) {
  const slow = /slow-(\d+)s/.exec(image);
  const b = { pull: true, runMs: Infinity, exitCode: 0, oom: false, readyAfterMs: 0 };
  if (/pull-error|no-such-image/.test(image)) return { ...b, pull: false };
  if (/never-ready/.test(image)) return { ...b, readyAfterMs: Infinity };
  if (/crash/.test(image)) return { ...b, runMs: CRASH_RUN_MS, exitCode: 1, readyAfterMs: Infinity };
  if (/(^|[^a-z0-9])oom([^a-z0-9]|$)/.test(image)) return { ...b, runMs: CRASH_RUN_MS, exitCode: 137, oom: true, readyAfterMs: Infinity };
  if (/job-fail/.test(image)) return { ...b, runMs: JOB_RUN_MS, exitCode: 1 };
  if (slow) {
    const ms = Number(slow[1]) * 1000;
    return isJobPod ? { ...b, runMs: ms } : { ...b, readyAfterMs: ms };
  }
  return isJobPod ? { ...b, runMs: JOB_RUN_MS } : b;
}

/** The kubelet's restart back-off, shortened for tests: 1 s, 2 s, 4 s … at most 20 s. */
const backoffMs = (restart) => Math.min(1000 * 2 ** restart, 20_000);

const pullError = (image) =>
  `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;

/**
 * One container `t` ms after its pod started: its status, the events it has produced so far
 * (each with a `key`: an event is recorded once per key, repeats of a key are counted), and
 * the time at which this changes next.
 */
function simulateContainer(container, b, t, pod, start) {
  const { name, image } = container;
  const podRef = `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
  const restartPolicy = pod.spec.restartPolicy ?? 'Always';
  const containerID = (run) => `containerd://${hash(pod.metadata.uid, name, run)}`;
  const imageID = imageIDOf(image);
  const status = { name, image, imageID: '', containerID: undefined, started: false, ready: false, restartCount: 0, state: {}, lastState: {} };
  const events = [];
  const event = (key, type, reason, message) => events.push({ key, type, reason, message, container: name });

  if (t < CREATE_MS) {
    return { status: { ...status, state: { waiting: { reason: 'ContainerCreating' } } }, events, next: CREATE_MS, readySince: 0 };
  }

  if (!b.pull) {
    // Each pull attempt fails: ErrImagePull for a second, then ImagePullBackOff until the next
    // attempt, one back-off later (attempts at 0, 2, 5, 10, 19 … s).
    const nextAttempt = (k, at) => at + 1000 + backoffMs(k);
    let attempt = 0;
    let at = CREATE_MS;
    while (nextAttempt(attempt, at) <= t) at = nextAttempt(attempt++, at);
    const err = pullError(image);
    for (let i = 0; i <= attempt; i++) {
      event(`pulling`, 'Normal', 'Pulling', `Pulling image "${image}"`);
      event(`pull-failed`, 'Warning', 'Failed', `Failed to pull image "${image}": ${err}`);
      event(`err-pull`, 'Warning', 'Failed', 'Error: ErrImagePull');
      if (i < attempt || t >= at + 1000) {
        event(`backoff`, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
        event(`err-backoff`, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      }
    }
    const inBackOff = t >= at + 1000;
    const waiting = inBackOff
      ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: ${err}` }
      : { reason: 'ErrImagePull', message: err };
    return {
      status: { ...status, state: { waiting } },
      events,
      next: inBackOff ? nextAttempt(attempt, at) : at + 1000,
      readySince: CREATE_MS,
    };
  }

  // Runs of the container: run i starts at runStart, ends (if it exits) runMs later, then either
  // the pod's restartPolicy restarts it after a back-off or it stays terminated.
  let run = 0;
  let runStart = CREATE_MS;
  let last = {};
  for (;;) {
    event('pulled', 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
    event(`created`, 'Normal', 'Created', `Created container: ${name}`);
    event(`started`, 'Normal', 'Started', `Started container ${name}`);
    const runEnd = runStart + b.runMs;
    const base = { ...status, imageID, containerID: containerID(run), started: true, restartCount: run, lastState: last };
    if (t < runEnd) {
      const readyAt = runStart + b.readyAfterMs;
      const ready = t >= readyAt;
      let next = Math.min(runEnd, ready ? Infinity : readyAt);
      if (b.readyAfterMs === Infinity && b.runMs === Infinity) {
        // a failing readiness probe: one more Unhealthy event every period
        for (let p = runStart; p <= t; p += UNHEALTHY_EVERY_MS) {
          event('unhealthy', 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503');
        }
        next = t + UNHEALTHY_EVERY_MS - ((t - runStart) % UNHEALTHY_EVERY_MS);
      }
      return {
        status: { ...base, ready, state: { running: { startedAt: iso(start + runStart) } } },
        events,
        next,
        readySince: ready ? readyAt : runStart,
      };
    }
    const terminated = {
      exitCode: b.exitCode,
      reason: b.oom ? 'OOMKilled' : b.exitCode === 0 ? 'Completed' : 'Error',
      startedAt: iso(start + runStart),
      finishedAt: iso(start + runEnd),
      containerID: containerID(run),
    };
    const restarts = restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && b.exitCode !== 0);
    if (!restarts) {
      return { status: { ...base, state: { terminated } }, events, next: Infinity, readySince: runEnd, done: true };
    }
    const backOffEnd = runEnd + backoffMs(run);
    event('backoff', 'Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${podRef}`);
    if (t < backOffEnd) {
      const waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(backoffMs(run) / 1000)}s restarting failed container=${name} pod=${podRef}`,
      };
      return {
        status: { ...base, restartCount: run, state: { waiting }, lastState: { terminated } },
        events,
        next: backOffEnd,
        readySince: runEnd,
      };
    }
    last = { terminated };
    run += 1;
    runStart = backOffEnd;
  }
}

// ---------------------------------------------------------------------------------------------
// Pods

const isJobPod = (pod) => (pod.metadata.ownerReferences ?? []).some((o) => o.kind === 'Job');
/** A made-up digest for an image reference (or its own digest): what the runtime "pulled". */
const imageIDOf = (image) => (image.includes('@') ? image : `${image.replace(/:[^/:]*$/, '')}@sha256:${hash('image', image)}`);

/** Pod IPs from a documentation range: never routed, never contacted, accepted by Endpoints. */
const podIPs = new Map(); // uid → ip
function podIP(pod) {
  if (pod.spec.hostNetwork) return NODE_IP;
  const uid = pod.metadata.uid;
  if (!podIPs.has(uid)) {
    const used = new Set(podIPs.values());
    const known = pod.status?.podIP;
    let ip = known && !used.has(known) ? known : undefined;
    for (let i = 1; !ip && i < 508; i++) {
      const candidate = i < 255 ? `203.0.113.${i}` : `198.51.100.${i - 254}`;
      if (!used.has(candidate)) ip = candidate;
    }
    podIPs.set(uid, ip ?? '203.0.113.254');
  }
  return podIPs.get(uid);
}

/** The pod's whole status `now` (it started at `start`), the events so far, and when it changes next. */
function simulatePod(pod, start, now) {
  const t = now - start;
  const job = isJobPod(pod);
  const containers = pod.spec.containers.map((c) => simulateContainer(c, behaviour(c.image, job), t, pod, start));
  const statuses = containers.map((c) => c.status);
  const created = t >= CREATE_MS;
  const allDone = containers.every((c) => c.done);
  const ready = !allDone && statuses.every((s) => s.ready);
  const readyChanged = start + Math.max(...containers.map((c) => c.readySince));

  let phase = 'Pending';
  if (allDone) phase = statuses.every((s) => s.state.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
  else if (statuses.some((s) => s.started)) phase = 'Running';

  const notReady = statuses.filter((s) => !s.ready).map((s) => s.name);
  const readiness = (type) => ({
    type,
    status: ready ? 'True' : 'False',
    ...(ready ? {} : allDone ? { reason: 'PodCompleted' } : { reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]` }),
    lastProbeTime: null,
    lastTransitionTime: iso(readyChanged),
  });
  const condition = (type, status, at) => ({ type, status, lastProbeTime: null, lastTransitionTime: iso(at) });
  const ip = podIP(pod);
  const status = {
    phase,
    conditions: [
      condition('PodReadyToStartContainers', created ? 'True' : 'False', start + (created ? CREATE_MS : 0)),
      condition('Initialized', 'True', start),
      readiness('Ready'),
      readiness('ContainersReady'),
      condition('PodScheduled', 'True', start),
    ],
    hostIP: NODE_IP,
    hostIPs: [{ ip: NODE_IP }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: iso(start),
    containerStatuses: statuses,
    // init containers have all run to completion by the time the pod starts
    ...(pod.spec.initContainers?.length
      ? {
          initContainerStatuses: pod.spec.initContainers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: imageIDOf(c.image),
            containerID: `containerd://${hash(pod.metadata.uid, c.name, 'init')}`,
            ready: true,
            started: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: iso(start), finishedAt: iso(start), containerID: `containerd://${hash(pod.metadata.uid, c.name, 'init')}` } },
          })),
        }
      : {}),
  };
  return {
    status,
    events: containers.flatMap((c) => c.events),
    next: start + Math.min(...containers.map((c) => c.next)),
  };
}

// ---------------------------------------------------------------------------------------------
// Events, counted like the kubelet's event recorder does for repeats

const recorded = new Map(); // pod uid → Map(key → { name, count, first })

async function recordEvent(pod, e, component = 'kubelet') {
  const { namespace, name, uid } = pod.metadata;
  const keys = recorded.get(uid) ?? new Map();
  recorded.set(uid, keys);
  const key = `${e.container ?? ''}/${e.key}/${e.message}`;
  const seen = keys.get(key);
  const now = new Date().toISOString();
  if (seen) {
    seen.count += 1;
    const r = await mergePatch(`/api/v1/namespaces/${namespace}/events/${seen.name}`, { count: seen.count, lastTimestamp: now });
    if (r.status === 200) return;
    keys.delete(key); // gone (events expire): record it anew
  }
  const event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace,
      name,
      uid,
      ...(e.container ? { fieldPath: `spec.containers{${e.container}}` } : {}),
    },
    reason: e.reason,
    message: e.message,
    type: e.type,
    source: component === 'kubelet' ? { component, host: NODE } : { component },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    reportingComponent: component,
    reportingInstance: component === 'kubelet' ? NODE : '',
  };
  const r = await api('POST', `/api/v1/namespaces/${namespace}/events`, event);
  if (r.status === 201) keys.set(key, { name: event.metadata.name, count: 1 });
  else if (r.status !== 403 && r.status !== 404) log(`event ${e.reason} for ${namespace}/${name}: HTTP ${r.status}: ${describe(r)}`);
}

// ---------------------------------------------------------------------------------------------
// Reconciling pods

/**
 * What we know of each pod we act on, by uid: the latest pod, when it started, the status and
 * how many of each event we wrote, a timer for its next change, and whether a reconcile runs.
 */
const pods = new Map();

function entry(pod) {
  let e = pods.get(pod.metadata.uid);
  if (!e) {
    e = {
      pod,
      start: undefined,
      sentStatus: '',
      sentEvents: new Map(), // container/key → count
      // a pod that already has a status was started by an earlier fake kubelet: it wrote the events so far
      resumed: Boolean(pod.spec.nodeName && pod.status?.startTime),
      timer: undefined,
      busy: false,
      again: false,
    };
    pods.set(pod.metadata.uid, e);
  }
  e.pod = pod;
  return e;
}

function forget(uid) {
  const e = pods.get(uid);
  if (e?.timer) clearTimeout(e.timer);
  pods.delete(uid);
  podIPs.delete(uid);
  recorded.delete(uid);
}

function onPodEvent(type, pod) {
  if (type === 'DELETED') {
    forget(pod.metadata.uid);
    return;
  }
  const node = pod.spec.nodeName;
  if (node && node !== NODE) return; // another node's pod: not ours
  if (!node && pod.spec.schedulerName && pod.spec.schedulerName !== 'default-scheduler') return;
  kick(entry(pod));
}

/** Runs reconcile for one pod, never twice at once; a change during a run runs it again after. */
function kick(e) {
  if (e.busy) {
    e.again = true;
    return;
  }
  e.busy = true;
  reconcile(e)
    .catch((err) => {
      log(`pod ${e.pod.metadata.namespace}/${e.pod.metadata.name}: ${err.message}`);
      schedule(e, Date.now() + 1000); // the API server may be restarting: try again
    })
    .finally(() => {
      e.busy = false;
      if (e.again) {
        e.again = false;
        kick(e);
      }
    });
}

function schedule(e, at) {
  if (e.timer) clearTimeout(e.timer);
  e.timer = undefined;
  if (!Number.isFinite(at) || !pods.has(e.pod.metadata.uid)) return;
  e.timer = setTimeout(() => {
    e.timer = undefined;
    kick(e);
  }, Math.max(0, at - Date.now()) + 5);
}

async function reconcile(e) {
  const pod = e.pod;
  const { namespace, name, uid } = pod.metadata;
  const path = `/api/v1/namespaces/${namespace}/pods/${name}`;

  if (pod.metadata.deletionTimestamp) {
    // The containers "stop" at once; deleting with grace 0 removes the pod (after its finalizers).
    if (e.finalizing || !pod.spec.nodeName) return;
    e.finalizing = true;
    if (e.timer) clearTimeout(e.timer);
    for (const c of pod.spec.containers) {
      await recordEvent(pod, { key: 'killing', type: 'Normal', reason: 'Killing', message: `Stopping container ${c.name}`, container: c.name });
    }
    const r = await api('DELETE', path, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } });
    if (r.status !== 200 && r.status !== 404 && r.status !== 409) {
      e.finalizing = false;
      throw new Error(`deleting: HTTP ${r.status}: ${describe(r)}`);
    }
    return;
  }

  if (!pod.spec.nodeName) {
    await bind(e);
    return;
  }

  const now = Date.now();
  e.start ??= pod.status?.startTime ? Date.parse(pod.status.startTime) : now;
  const { status, events, next } = simulatePod(pod, e.start, now);
  const json = JSON.stringify(status);
  if (json !== e.sentStatus) {
    const r = await mergePatch(`${path}/status`, { status });
    if (r.status === 404) return;
    if (r.status !== 200) throw new Error(`status: HTTP ${r.status}: ${describe(r)}`);
    if (!e.sentStatus || JSON.parse(e.sentStatus).phase !== status.phase) log(`pod ${namespace}/${name}: ${status.phase}${status.phase === 'Running' ? (status.conditions[2].status === 'True' ? ', Ready' : ', not Ready') : ''}`);
    e.sentStatus = json;
  }
  // Events: each key as often as the simulation has produced it so far.
  const counts = new Map();
  for (const ev of events) {
    const k = `${ev.container}/${ev.key}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    if (e.resumed) e.sentEvents.set(k, counts.get(k));
    if (counts.get(k) > (e.sentEvents.get(k) ?? 0)) {
      e.sentEvents.set(k, counts.get(k));
      await recordEvent(pod, ev);
    }
  }
  e.resumed = false;
  schedule(e, next);
}

async function bind(e) {
  const pod = e.pod;
  const { namespace, name, uid } = pod.metadata;
  if (!fitsNode(pod)) {
    if (e.unschedulable) return;
    e.unschedulable = true;
    const message = `0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`;
    await mergePatch(`/api/v1/namespaces/${namespace}/pods/${name}/status`, {
      status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: iso(Date.now()) }] },
    });
    await recordEvent(pod, { key: 'failed-scheduling', type: 'Warning', reason: 'FailedScheduling', message }, 'default-scheduler');
    return;
  }
  const r = await api('POST', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, namespace, uid },
    target: { apiVersion: 'v1', kind: 'Node', name: NODE },
  });
  if (r.status === 201) {
    await recordEvent(pod, { key: 'scheduled', type: 'Normal', reason: 'Scheduled', message: `Successfully assigned ${namespace}/${name} to ${NODE}` }, 'default-scheduler');
  } else if (r.status !== 409 && r.status !== 404) {
    throw new Error(`binding: HTTP ${r.status}: ${describe(r)}`);
  }
  // the watch brings the bound pod back: reconcile runs again then
}

// ---------------------------------------------------------------------------------------------
// PersistentVolumeClaims being deleted: the pvc-protection controller's part

const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
const IN_USE_RECHECK_MS = 1000;
const releasing = new Map(); // claim uid → the latest claim, while a release is pending

/** A pod that has not finished and mounts the claim (directly, or as its generic ephemeral volume). */
const usesClaim = (pod, claim) =>
  pod.status?.phase !== 'Succeeded' &&
  pod.status?.phase !== 'Failed' &&
  (pod.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim || (v.ephemeral && `${pod.metadata.name}-${v.name}` === claim));

function onClaimEvent(type, claim) {
  const { uid } = claim.metadata;
  if (type === 'DELETED' || !claim.metadata.deletionTimestamp || !(claim.metadata.finalizers ?? []).includes(PVC_PROTECTION)) {
    releasing.delete(uid);
    return;
  }
  const pending = releasing.has(uid);
  releasing.set(uid, claim);
  if (!pending) void release(uid);
}

/** Removes the finalizer once no pod uses the claim; while one does, looks again every second. */
async function release(uid) {
  for (let claim; (claim = releasing.get(uid)); ) {
    const { namespace, name } = claim.metadata;
    try {
      const inUse = (await list(`/api/v1/namespaces/${namespace}/pods`)).items.some((pod) => usesClaim(pod, name));
      if (!inUse) {
        // A JSON patch that tests the entry it removes: a finalizer list changed meanwhile is a 422,
        // and the watch brings the claim as it is now.
        const at = claim.metadata.finalizers.indexOf(PVC_PROTECTION);
        const path = `/metadata/finalizers/${at}`;
        const r = await api('PATCH', `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`, [{ op: 'test', path, value: PVC_PROTECTION }, { op: 'remove', path }], 'application/json-patch+json');
        if (r.status === 200) log(`claim ${namespace}/${name}: removed the ${PVC_PROTECTION} finalizer (no pod uses it)`);
        else if (r.status !== 404 && r.status !== 409 && r.status !== 422) throw new Error(`HTTP ${r.status}: ${describe(r)}`);
        if (releasing.get(uid) === claim) releasing.delete(uid);
        continue; // else a newer version of the claim came meanwhile: look at that one
      }
    } catch (err) {
      log(`claim ${namespace}/${name}: ${err.message}`);
    }
    await sleep(IN_USE_RECHECK_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// Main

/**
 * Lists `path` and hands every item to onEvent as ADDED, then onListed(items), then watches from the
 * list's resourceVersion; lists again when that version is gone (410) and after errors.
 */
async function informer(path, onEvent, onListed = () => {}) {
  for (;;) {
    try {
      const { items, resourceVersion } = await list(path);
      for (const item of items) onEvent('ADDED', item);
      onListed(items);
      await watch(path, resourceVersion, onEvent);
      log(`watch ${path} expired (410): listing again`);
    } catch (err) {
      log(`${path}: ${err.message}`);
      await sleep(1000);
    }
  }
}

async function main() {
  for (let attempt = 1; ; attempt++) {
    try {
      const v = await api('GET', '/version');
      if (v.status === 200) kubeletVersion = v.body.gitVersion;
      await registerNode();
      await heartbeat();
      break;
    } catch (err) {
      if (attempt >= 30) throw err;
      log(`waiting for the API server: ${err.message}`);
      await sleep(1000);
    }
  }
  setInterval(() => heartbeat().catch((err) => log(`heartbeat: ${err.message}`)), HEARTBEAT_MS);
  log(`node ${NODE} Ready (${kubeletVersion}); watching pods and claims`);
  let synced = false;
  informer('/api/v1/pods', onPodEvent, (items) => {
    const live = new Set(items.map((p) => p.metadata.uid));
    for (const uid of pods.keys()) if (!live.has(uid)) forget(uid);
    if (synced) return;
    synced = true;
    if (opts['ready-file']) writeFileSync(opts['ready-file'], `${process.pid}\n`);
  });
  informer('/api/v1/persistentvolumeclaims', onClaimEvent);
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
main().catch((err) => {
  log(`fake-kubelet: ${err.message}`);
  process.exit(1);
});
