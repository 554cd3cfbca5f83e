#!/usr/bin/env node
// Benchmark of deploy's wait (packages/kube/src/wait.ts) on the test bed's control plane — it
// reports, it is not a test. `eval "$(scripts/cluster env)" && node bench/deploy-wait.mjs [--rounds N]`
//
//  (a) Latency: from the moment the last Deployment is available in the cluster to waitForAll
//      returning, against `kubectl rollout status` in the same run, on the same Deployment. Each round
//      applies one Deployment (image slow-2s: Ready 2 s after its container starts), then starts
//      waitForAll and `kubectl rollout status` (started right after the apply, so its process start
//      is behind it before the rollout completes) while a third, independent watch on the same
//      Deployment records when the event that completes the rollout (kubectl's rule: observed,
//      updated = replicas = available) arrives. "Available" is that arrival; both latencies are
//      measured from it on this machine's monotonic clock. Beside it, the same latency measured
//      from the Available condition's lastTransitionTime: the API writes whole seconds, so that
//      figure is the real one plus 0–1 s of truncation, shown only as a cross-check.
//  (b) N Deployments (N = 1, 10, 50; slow-2s, one replica each) applied at once, then waited for:
//      waitForAll over all of them against `kubectl rollout status` run per Deployment in sequence
//      (what Azure/k8s-deploy does). Wall time from the apply; each variant in its own fresh
//      namespace, the two variants one after the other, their order alternating by round.
//
// kubectl here is the one the machine happens to carry (/usr/bin/kubectl, a vendor's v1.32 build):
// fine for a comparison in a bench, never a dependency of the project. waitForAll is bundled from
// the TypeScript source with ncc (as the actions are) into the cache folder, once per source hash.
// Namespaces are named bench-wait-*, and deleted at the end (the cluster is shared).
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { median, percentile, round, table } from './lib.mjs';

const root = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, sizes: { type: 'string', default: '1,10,50' } } });
const ROUNDS = Number(args.rounds);
const SIZES = args.sizes.split(',').map(Number);
const KUBECTL = '/usr/bin/kubectl';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) {
  console.error('deploy-wait bench: the test cluster is not up: `eval "$(scripts/cluster up)"`, then again.');
  process.exit(2);
}
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const server = new URL(kc.getCurrentCluster().server);
const now = () => performance.timeOrigin + performance.now();

// ── waitForAll, bundled from source ─────────────────────────────────────────────────────────────

async function loadWait() {
  const src = join(root, 'packages', 'kube', 'src');
  const hash = createHash('sha256');
  for (const f of readdirSync(src).sort()) hash.update(f).update(readFileSync(join(src, f)));
  hash.update(readFileSync(join(root, 'packages', 'toolkit', 'src', 'retry.ts')));
  const dir = join(process.env.KUBELINE_BENCH_CACHE ?? join(homedir(), '.cache', 'kubeline', 'bench'), `kube-wait-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(join(dir, 'index.js'))) {
    console.error('[bench] bundling packages/kube/src/wait.ts with ncc (once per source; cached)');
    const tmp = `${dir}.tmp-${process.pid}`;
    const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
    execFileSync(process.execPath, [ncc, 'build', join(src, 'wait.ts'), '-o', tmp, '--minify', '--no-source-map-register', '--quiet'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return import(pathToFileURL(join(dir, 'index.js')).href);
}

// ── the API ─────────────────────────────────────────────────────────────────────────────────────

async function send(method, path, body, contentType = 'application/json') {
  const opts = { method, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) opts.headers['content-type'] = contentType;
  return new Promise((resolveP, reject) => {
    const req = https.request({ ...opts, hostname: server.hostname, port: server.port, path }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch {}
        resolveP({ status: res.statusCode, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function applyDeployment(ns, name, image) {
  const labels = { app: name };
  const obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } } },
  };
  const r = await send('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/${name}?fieldManager=kubeline-bench&force=true`, obj, 'application/apply-patch+yaml');
  if (r.status !== 200 && r.status !== 201) throw new Error(`apply ${name}: HTTP ${r.status}: ${r.body?.message}`);
  return r.body;
}

const namespaces = [];
async function namespace() {
  const name = `bench-wait-${randomBytes(3).toString('hex')}`;
  const r = await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201) throw new Error(`create namespace: HTTP ${r.status}: ${r.body?.message}`);
  namespaces.push(name);
  return name;
}

/** kubectl's rollout rule, for the independent observer. */
const complete = (d) => {
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= d.metadata.generation && (s.updatedReplicas ?? 0) >= d.spec.replicas && (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) && (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
};

/** A raw watch of the namespace's Deployments: resolves with the arrival time of the event that completes `name`. */
function observeCompletion(ns, name, resourceVersion) {
  let req;
  const done = new Promise(async (resolveP, reject) => {
    const opts = { method: 'GET', headers: { accept: 'application/json' } };
    await kc.applyToHTTPSOptions(opts);
    const path = `/apis/apps/v1/namespaces/${ns}/deployments?watch=1&resourceVersion=${resourceVersion}&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
    req = https.request({ ...opts, hostname: server.hostname, port: server.port, path }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const at = now();
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const event = JSON.parse(line);
          if (event.type !== 'ERROR' && complete(event.object)) return resolveP({ at, object: event.object });
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
  return { done, stop: () => req?.destroy() };
}

function kubectl(args) {
  return new Promise((resolveP, reject) => {
    const child = spawn(KUBECTL, ['--kubeconfig', kubeconfigPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveP(now()) : reject(new Error(`kubectl ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
}

// ── (a) latency ─────────────────────────────────────────────────────────────────────────────────

async function latency(waitForAll) {
  const ours = [];
  const theirs = [];
  const byCondition = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ns = await namespace();
    const applied = await applyDeployment(ns, 'web', `registry.example/slow-2s:${round}`);
    const observer = observeCompletion(ns, 'web', applied.metadata.resourceVersion);
    const kubectlDone = kubectl(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s']);
    const result = await waitForAll(kc, [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' }], { timeoutMs: 60_000 });
    const waitDone = now();
    if (result.outcome !== 'ready') throw new Error(`round ${round}: waitForAll: ${result.outcome}: ${result.targets[0].reason}`);
    const [{ at, object }, kubectlAt] = await Promise.all([observer.done, kubectlDone]);
    observer.stop();
    ours.push(waitDone - at);
    theirs.push(kubectlAt - at);
    const available = object.status.conditions.find((c) => c.type === 'Available');
    byCondition.push(waitDone - Date.parse(available.lastTransitionTime));
    console.error(`[bench] latency round ${round + 1}/${ROUNDS}: waitForAll ${round1(waitDone - at)} ms, kubectl rollout status ${round1(kubectlAt - at)} ms after the completing event`);
  }
  return { ours, theirs, byCondition };
}

const round1 = (x) => round(x, 1);

// ── (b) N together ──────────────────────────────────────────────────────────────────────────────

async function together(waitForAll, n) {
  const names = Array.from({ length: n }, (_, i) => `d${i}`);
  const apply = async (tag) => {
    const ns = await namespace();
    const t0 = now();
    await Promise.all(names.map((name) => applyDeployment(ns, name, `registry.example/slow-2s:${tag}`)));
    return { ns, t0 };
  };
  const ourRun = async () => {
    const { ns, t0 } = await apply('ours');
    const r = await waitForAll(kc, names.map((name) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name })), { timeoutMs: 300_000, startedAt: t0 });
    if (r.outcome !== 'ready') throw new Error(`N=${n}: waitForAll: ${r.outcome}`);
    return { wall: now() - t0, slowest: Math.max(...r.targets.map((t) => t.durationMs)) };
  };
  const theirRun = async () => {
    const { ns, t0 } = await apply('kubectl');
    for (const name of names) await kubectl(['rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=300s']);
    return { wall: now() - t0 };
  };
  return { ourRun, theirRun };
}

// ── run ─────────────────────────────────────────────────────────────────────────────────────────

const { waitForAll } = await loadWait();
try {
  const version = await send('GET', '/version');
  console.log(`deploy wait — kube-apiserver ${version.body.gitVersion} on ${server.host}; ${KUBECTL} ${JSON.parse(execFileSync(KUBECTL, ['version', '--client', '-o', 'json'], { encoding: 'utf8' })).clientVersion.gitVersion}\n`);

  const lat = await latency(waitForAll);
  console.log(`(a) latency from the completing Deployment event (as an independent watch receives it) to done, ${ROUNDS} rounds`);
  console.log('    (target for deploy: < 250 ms; below 0 means waitForAll saw the event before the independent watch did)\n');
  console.log(
    table(
      ['', 'median', 'p90', 'min', 'max'],
      [
        ['waitForAll returns', ...[median, (x) => percentile(x, 90), (x) => Math.min(...x), (x) => Math.max(...x)].map((f) => `${round1(f(lat.ours))} ms`)],
        ['kubectl rollout status exits', ...[median, (x) => percentile(x, 90), (x) => Math.min(...x), (x) => Math.max(...x)].map((f) => `${round1(f(lat.theirs))} ms`)],
        ['waitForAll, from Available.lastTransitionTime (whole seconds: +0–1 s)', ...[median, (x) => percentile(x, 90), (x) => Math.min(...x), (x) => Math.max(...x)].map((f) => `${round1(f(lat.byCondition))} ms`)],
      ],
    ),
  );

  const rows = [];
  for (const n of SIZES) {
    const { ourRun, theirRun } = await together(waitForAll, n);
    // Alternate the order so that neither variant always runs on a warmer (or busier) cluster.
    const first = SIZES.indexOf(n) % 2 === 0;
    const a = first ? await ourRun() : undefined;
    const b = await theirRun();
    const c = a ?? (await ourRun());
    console.error(`[bench] N=${n}: waitForAll ${round1(c.wall)} ms (slowest ${round1(c.slowest)} ms), kubectl sequence ${round1(b.wall)} ms`);
    rows.push([n, `${(c.wall / 1000).toFixed(2)} s`, `${(c.slowest / 1000).toFixed(2)} s`, `${(b.wall / 1000).toFixed(2)} s`, `${(b.wall / c.wall).toFixed(1)}×`]);
  }
  console.log(`\n(b) N Deployments (slow-2s, 1 replica) applied at once, wall time from the apply until everything is known ready\n`);
  console.log(table(['N', 'waitForAll (one watch)', 'slowest Deployment', 'kubectl rollout status × N in sequence', 'kubectl / ours'], rows));
} finally {
  await Promise.all(namespaces.map((ns) => send('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined)));
}
