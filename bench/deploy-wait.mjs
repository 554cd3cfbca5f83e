#!/usr/bin/env node
// Benchmark of deploy's wait (packages/kube/src/wait.ts) on the test bed's control plane — it
// reports, it is not a test. Section `deploy-wait` of bench/run.mjs (`npm run bench -- deploy-wait`:
// figures into bench/results.json), or alone, printing only:
//   eval "$(scripts/cluster env)" && PATH=$PWD/node_modules/.bin:$PATH node bench/deploy-wait.mjs [--rounds N] [--sizes 1,10,50]
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
//      Target (issue 4): median < 250 ms.
//  (b) N Deployments (N = 1, 10, 50; slow-2s, one replica each) applied at once, then waited for:
//      waitForAll over all of them against `kubectl rollout status` run per Deployment in sequence
//      (what Azure/k8s-deploy does). Wall time from the apply; each variant in its own fresh
//      namespace, the two variants one after the other, their order alternating by size. In each run
//      an independent watch (as in (a)) records when the last of the N Deployments completes: the
//      slowest. Target: total ≈ the slowest (total − slowest < 250 ms, the latency of (a)); kubectl's
//      total − slowest is shown beside (its per-Deployment process and request costs, in sequence).
//
// kubectl here is the one the machine happens to carry (/usr/bin/kubectl, a vendor's v1.32 build):
// fine for a comparison in a bench, never a dependency of the project. waitForAll and KubeClient are
// bundled from the TypeScript source (packages/kube/src/index.ts) with ncc, as the actions are, into
// the cache folder, once per source hash (bench/lib.mjs importFromSource). Namespaces are named bench-wait-*, and deleted at the end (the
// cluster is shared).
import { execFileSync, spawn } from 'node:child_process';
import https from 'node:https';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterApi, ensureCluster, importFromSource, KUBECTL, median, percentile, round, sourceHash, summarize, table } from './lib.mjs';

export const DEPLOY_WAIT_TARGET = { latencyMs: 250, overSlowestMs: 250 };
/** Exit non-zero (bench/run.mjs) beyond this: 2× the target. */
export const DEPLOY_WAIT_WIDE = { latencyMs: 500 };

const now = () => performance.timeOrigin + performance.now();
const round1 = (x) => round(x, 1);

/** kubectl's rollout rule, for the independent observer. */
const complete = (d) => {
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= d.metadata.generation && (s.updatedReplicas ?? 0) >= d.spec.replicas && (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) && (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
};

/**
 * Runs the section; prints its tables and returns what goes into results.json under `deployWait`.
 * Problems that make the figures meaningless go to `problems`, the rest to `notes`.
 */
export async function deployWaitBench({ root, rounds = 5, sizes = [1, 10, 50], notes = [], problems = [] }) {
  if (!ensureCluster(root)) {
    problems.push('deploy-wait: the test cluster did not come up (scripts/cluster up failed)');
    return { skipped: true };
  }
  const api = await clusterApi(process.env.KUBELINE_KUBECONFIG);
  const { kc, send } = api;
  const bundled = await importFromSource(root, 'packages/kube/src/index.ts', 'kube');
  const { KubeClient, waitForAll } = bundled.module;
  const client = new KubeClient(kc);

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

  /**
   * A raw watch of the namespace's Deployments, independent of the code under test: resolves with
   * the arrival time of the event that completes the last of `names` (and that object).
   */
  function observeCompletion(ns, names, resourceVersion) {
    let req;
    const waiting = new Set(names);
    const done = new Promise(async (resolveP, reject) => {
      const only = names.length === 1 ? `&fieldSelector=${encodeURIComponent(`metadata.name=${names[0]}`)}` : '';
      const path = `/apis/apps/v1/namespaces/${ns}/deployments?watch=1&resourceVersion=${resourceVersion}${only}`;
      req = https.request(await api.requestOptions('GET', path), (res) => {
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
            if (event.type === 'ERROR' || !waiting.has(event.object.metadata.name) || !complete(event.object)) continue;
            waiting.delete(event.object.metadata.name);
            if (waiting.size === 0) return resolveP({ at, object: event.object });
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
      const child = spawn(KUBECTL, ['--kubeconfig', api.kubeconfigPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c) => (err += c));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolveP(now()) : reject(new Error(`kubectl ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
    });
  }

  // ── (a) latency ───────────────────────────────────────────────────────────────────────────────

  async function latency() {
    const ours = [];
    const theirs = [];
    const byCondition = [];
    for (let r = 0; r < rounds; r++) {
      const ns = await api.namespace('bench-wait');
      const applied = await applyDeployment(ns, 'web', `registry.example/slow-2s:${r}`);
      const observer = observeCompletion(ns, ['web'], applied.metadata.resourceVersion);
      const kubectlDone = kubectl(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=60s']);
      const result = await waitForAll(client, [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' }], { timeoutMs: 60_000 });
      const waitDone = now();
      if (result.outcome !== 'ready') throw new Error(`round ${r}: waitForAll: ${result.outcome}: ${result.targets[0].reason}`);
      const [{ at, object }, kubectlAt] = await Promise.all([observer.done, kubectlDone]);
      observer.stop();
      ours.push(waitDone - at);
      theirs.push(kubectlAt - at);
      const available = object.status.conditions.find((c) => c.type === 'Available');
      byCondition.push(waitDone - Date.parse(available.lastTransitionTime));
      console.error(`[bench] deploy-wait latency round ${r + 1}/${rounds}: waitForAll ${round1(waitDone - at)} ms, kubectl rollout status ${round1(kubectlAt - at)} ms after the completing event`);
    }
    return { ours, theirs, byCondition };
  }

  // ── (b) N together ────────────────────────────────────────────────────────────────────────────

  function together(n) {
    const names = Array.from({ length: n }, (_, i) => `d${i}`);
    // Each run: the apply, then an independent watch records when the last Deployment completes
    // (the slowest, by kubectl's rule), while the variant waits.
    const apply = async (tag) => {
      const ns = await api.namespace('bench-wait');
      const t0 = now();
      const applied = await Promise.all(names.map((name) => applyDeployment(ns, name, `registry.example/slow-2s:${tag}`)));
      const rv = String(Math.min(...applied.map((d) => Number(d.metadata.resourceVersion))));
      return { ns, t0, observer: observeCompletion(ns, names, rv) };
    };
    const slowestOf = async ({ observer, t0 }) => {
      const { at } = await observer.done;
      observer.stop();
      return at - t0;
    };
    const ourRun = async () => {
      const run = await apply('ours');
      const r = await waitForAll(client, names.map((name) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: run.ns, name })), { timeoutMs: 300_000, startedAt: run.t0 });
      const wall = now() - run.t0;
      if (r.outcome !== 'ready') throw new Error(`N=${n}: waitForAll: ${r.outcome}`);
      return { wall, slowest: await slowestOf(run), ownSlowest: Math.max(...r.targets.map((t) => t.durationMs)) };
    };
    const theirRun = async () => {
      const run = await apply('kubectl');
      for (const name of names) await kubectl(['rollout', 'status', `deployment/${name}`, '-n', run.ns, '--timeout=300s']);
      const wall = now() - run.t0;
      return { wall, slowest: await slowestOf(run) };
    };
    return { ourRun, theirRun };
  }

  // ── run ───────────────────────────────────────────────────────────────────────────────────────

  const out = { rounds, sizes, bundle: bundled.id };
  try {
    const version = await send('GET', '/version');
    out.apiServer = version.body.gitVersion;
    out.server = api.server.host;
    out.kubectl = `${KUBECTL} ${JSON.parse(execFileSync(KUBECTL, ['version', '--client', '-o', 'json'], { encoding: 'utf8' })).clientVersion.gitVersion}`;
    console.log(`\nDeploy wait — kube-apiserver ${out.apiServer} on ${out.server}; ${out.kubectl} (the machine's, for comparison only)\n`);

    const lat = await latency();
    out.latency = { waitForAll: summarize(lat.ours), kubectlRolloutStatus: summarize(lat.theirs), waitForAllFromLastTransitionTime: summarize(lat.byCondition) };
    out.latency.met = out.latency.waitForAll.median < DEPLOY_WAIT_TARGET.latencyMs;
    const stat = (xs) => [median(xs), percentile(xs, 90), Math.min(...xs), Math.max(...xs)].map((x) => `${round1(x)} ms`);
    console.log(`(a) latency from the completing Deployment event (as an independent watch receives it) to done, ${rounds} rounds`);
    console.log(`    (target for deploy: median < ${DEPLOY_WAIT_TARGET.latencyMs} ms; below 0 means waitForAll saw the event before the independent watch did)\n`);
    console.log(
      table(
        ['', 'median', 'p90', 'min', 'max', 'target'],
        [
          ['waitForAll returns', ...stat(lat.ours), `< ${DEPLOY_WAIT_TARGET.latencyMs} ms: ${out.latency.met ? 'met' : 'MISSED'}`],
          ['kubectl rollout status exits', ...stat(lat.theirs), ''],
          ['waitForAll, from Available.lastTransitionTime (whole seconds: +0–1 s)', ...stat(lat.byCondition), ''],
        ],
      ),
    );

    out.together = [];
    for (const n of sizes) {
      const { ourRun, theirRun } = together(n);
      // Alternate the order so that neither variant always runs on a warmer (or busier) cluster.
      const first = sizes.indexOf(n) % 2 === 0;
      const a = first ? await ourRun() : undefined;
      const b = await theirRun();
      const c = a ?? (await ourRun());
      console.error(`[bench] deploy-wait N=${n}: waitForAll ${round1(c.wall)} ms (slowest ${round1(c.slowest)} ms), kubectl sequence ${round1(b.wall)} ms (slowest ${round1(b.slowest)} ms)`);
      out.together.push({
        n,
        order: first ? 'ours first' : 'kubectl first',
        waitForAllMs: round(c.wall),
        slowestMs: round(c.slowest),
        slowestByWaitForAllMs: round(c.ownSlowest),
        overSlowestMs: round(c.wall - c.slowest),
        kubectlSequenceMs: round(b.wall),
        kubectlSlowestMs: round(b.slowest),
        kubectlOverSlowestMs: round(b.wall - b.slowest),
        kubectlOverOurs: round(b.wall / c.wall, 2),
        met: c.wall - c.slowest < DEPLOY_WAIT_TARGET.overSlowestMs,
      });
    }
    const s2 = (x) => `${(x / 1000).toFixed(2)} s`;
    console.log(`\n(b) N Deployments (slow-2s, 1 replica) applied at once, wall time from the apply until everything is known ready;`);
    console.log('    "slowest": when an independent watch saw the last Deployment complete (kubectl\'s rule), in the same variant\'s namespace\n');
    console.log(
      table(
        ['N', 'waitForAll (one watch)', 'slowest', 'total − slowest', 'kubectl rollout status × N in sequence', 'slowest', 'total − slowest', 'kubectl / ours', `target: ours total − slowest < ${DEPLOY_WAIT_TARGET.overSlowestMs} ms`],
        out.together.map((t) => [t.n, s2(t.waitForAllMs), s2(t.slowestMs), `${Math.round(t.overSlowestMs)} ms`, s2(t.kubectlSequenceMs), s2(t.kubectlSlowestMs), `${Math.round(t.kubectlOverSlowestMs)} ms`, `${t.kubectlOverOurs.toFixed(1)}×`, t.met ? 'met' : 'MISSED']),
      ),
    );
    if (out.latency.waitForAll.median > DEPLOY_WAIT_WIDE.latencyMs) problems.push(`deploy-wait: latency median ${out.latency.waitForAll.median} ms, over ${DEPLOY_WAIT_WIDE.latencyMs} ms (2× the target)`);
  } catch (err) {
    problems.push(`deploy-wait: ${err.stack ?? err}`);
    out.failed = String(err.message ?? err);
  } finally {
    await client.close();
    const left = await api.deleteNamespaces({ waitMs: 120_000 });
    if (left.length) notes.push(`deploy-wait: namespaces still terminating after 120 s: ${left.join(', ')}`);
    if (`kube-${sourceHash(root, 'packages/kube/src/index.ts')}` !== bundled.id) notes.push(`deploy-wait: packages/*/src changed while it ran: its figures are of the sources bundled at its start (${bundled.id})`);
  }
  return out;
}

// ── alone ───────────────────────────────────────────────────────────────────────────────────────

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, sizes: { type: 'string', default: '1,10,50' } } });
  if (!process.env.KUBELINE_KUBECONFIG) {
    console.error('deploy-wait bench: the test cluster is not up: `eval "$(scripts/cluster up)"`, then again (or `npm run bench -- deploy-wait`, which brings it up).');
    process.exit(2);
  }
  const notes = [];
  const problems = [];
  await deployWaitBench({ root: resolve(import.meta.dirname, '..'), rounds: Number(args.rounds), sizes: args.sizes.split(',').map(Number), notes, problems });
  for (const n of notes) console.log(`note: ${n}`);
  for (const p of problems) console.log(`problem: ${p}`);
  process.exitCode = problems.length ? 1 : 0;
}
