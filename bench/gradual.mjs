#!/usr/bin/env node
// Benchmark of a canary rollout's per-step overhead (packages/kube/src/gradual) on the test bed's
// control plane — it reports, it is not a test. Section `gradual` of bench/run.mjs
// (`npm run bench -- gradual`: figures into bench/results.json), or alone, printing only:
//   eval "$(scripts/cluster env)" && node bench/gradual.mjs [--rounds N]
//
// What is measured (issue 10's target: per-step overhead under 1 s beyond the pods' own start time):
//  - kubeline: deploy() with strategy canary, traffic by replicas, steps 20,40,60,80,100,
//    step-duration 0 and no check command, on a 10-replica Deployment whose previous release is
//    live. A step's cycle is the time between two consecutive "step N … ready after" log lines:
//    from the end of one step (its checks passed) to the next weight applied and every new and
//    stable pod Ready, with everything kubeline does in between (the record written before and
//    after, the apply of both Deployments, the wait, one round of pod and event checks). The first
//    step (which also includes the plan and the rest of the bundle) is left out.
//  - raw, the pods' own start time, in the same run on the same cluster: the same split done by
//    hand — two server-side apply PATCHes setting the canary and stable replicas — and a watch until
//    both Deployments are complete by kubectl's rollout rule. This is what the controllers and the
//    (fake) kubelet take, and what no tool can avoid.
//  Overhead = median kubeline cycle − median raw cycle. Target < 1000 ms.
// deploy and KubeClient are bundled from the TypeScript source with ncc (bench/lib.mjs
// importFromSource). Namespaces are named bench-gradual-*, deleted at the end (the cluster is shared).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterApi, ensureCluster, importFromSource, median, round, table } from './lib.mjs';

export const GRADUAL_TARGET = { stepOverheadMs: 1000 };

const now = () => performance.timeOrigin + performance.now();
const STEPS = [20, 40, 60, 80, 100];
const REPLICAS = 10;

const deployment = (name, image, replicas, labels = { app: 'web' }) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'web', image }] } } },
});
const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } };
const image = (c) => `ghcr.io/acme/web@sha256:${c.repeat(64)}`;

/** kubectl's rollout rule. */
const complete = (d) => {
  const s = d?.status ?? {};
  return d && (s.observedGeneration ?? 0) >= d.metadata.generation && (s.updatedReplicas ?? 0) >= d.spec.replicas && (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) && (s.readyReplicas ?? 0) >= d.spec.replicas;
};

export async function gradualBench({ root, rounds = 3, notes = [], problems = [] }) {
  if (!ensureCluster(root)) {
    problems.push('gradual: the test cluster did not come up (scripts/cluster up failed)');
    return { skipped: true };
  }
  const { send } = await clusterApi(process.env.KUBELINE_KUBECONFIG);
  const { module: kube } = await importFromSource(root, 'packages/kube/src/index.ts', 'kube');
  const connection = await kube.connect({ env: { ...process.env, KUBECONFIG: process.env.KUBELINE_KUBECONFIG }, saveState: () => {}, setSecret: () => {} });
  const namespaces = [];
  const kubelineCycles = [];
  const rawCycles = [];
  const settings = (ns, file, strategy) => ({
    manifests: file, release: 'web', namespace: ns, createNamespace: true, kubeconfig: '', context: '', timeoutMs: 120_000, dryRun: false,
    forceConflicts: false, prune: true, rollbackOnFailure: true, firstReleaseFailure: 'keep', history: 10, lockTimeoutMs: 60_000,
    gradual: { strategy, steps: STEPS, stepDurationMs: 0, traffic: 'replicas', check: '', checkIntervalMs: 10_000, resume: false, abort: false, keepPreviousMs: 0 },
    delete: false,
  });
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-bench-gradual-'));
  const bundleFile = (name, img) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment('web', img, REPLICAS), service] }));
    return file;
  };

  async function waitComplete(ns, names) {
    for (;;) {
      const live = await Promise.all(names.map((n) => send('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${n}`).then((r) => r.body)));
      if (live.every(complete)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const ssa = async (ns, obj) => {
    const r = await send('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/${obj.metadata.name}?fieldManager=kubeline-bench&force=true`, obj, 'application/apply-patch+yaml');
    if (r.status !== 200 && r.status !== 201) throw new Error(`apply ${obj.metadata.name}: HTTP ${r.status}: ${r.body?.message}`);
  };

  try {
    for (let round_ = 0; round_ < rounds; round_++) {
      // kubeline: a first release, then a canary to a new image.
      const ns = `bench-gradual-${process.pid}-${round_}`;
      namespaces.push(ns);
      const client = new kube.KubeClient(connection.kubeConfig, { defaultNamespace: ns });
      const quiet = { log: () => {}, saveState: () => {} };
      const first = await kube.deploy(settings(ns, bundleFile(`a${round_}`, image('a')), 'rolling'), { client, connection }, quiet);
      if (first.status !== 'deployed') throw new Error(`first release: ${first.failure}`);
      const marks = [];
      const outcome = await kube.deploy(settings(ns, bundleFile(`b${round_}`, image('b')), 'canary'), { client, connection }, {
        saveState: () => {},
        log: (line) => {
          if (/^step \d+ of \d+ .*: ready after/.test(line)) marks.push(now());
        },
      });
      if (outcome.status !== 'deployed') throw new Error(`canary: ${outcome.status}: ${outcome.failure}`);
      for (let i = 1; i < marks.length; i++) kubelineCycles.push(marks[i] - marks[i - 1]);

      // raw: the same splits by hand, in a namespace of its own.
      const rawNs = `bench-gradual-raw-${process.pid}-${round_}`;
      namespaces.push(rawNs);
      await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: rawNs } });
      await ssa(rawNs, deployment('web', image('a'), REPLICAS));
      await waitComplete(rawNs, ['web']);
      const canaryLabels = { app: 'web', 'kubeline.dev/track': 'canary' };
      for (const [i, weight] of STEPS.slice(0, -1).entries()) {
        const canary = Math.max(1, Math.ceil((REPLICAS * weight) / 100));
        const started = now();
        await Promise.all([ssa(rawNs, { ...deployment('web-canary', image('b'), canary, canaryLabels) }), ssa(rawNs, deployment('web', image('a'), REPLICAS - canary))]);
        await waitComplete(rawNs, ['web', 'web-canary']);
        if (i > 0) rawCycles.push(now() - started);
      }
    }
  } catch (err) {
    problems.push(`gradual: ${err.message ?? err}`);
  } finally {
    for (const ns of namespaces) await send('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  }
  const kubeline = median(kubelineCycles);
  const raw = median(rawCycles);
  const overhead = kubeline - raw;
  console.log('\nGradual delivery: a canary step (traffic by replicas, 10 replicas, step-duration 0, no check)');
  console.log(
    table(
      ['', 'median per step', 'steps measured'],
      [
        ['kubeline (end of a step → next weight applied and Ready)', `${round(kubeline, 0)} ms`, String(kubelineCycles.length)],
        ['raw: 2 SSA patches + watch until both complete (the pods\' own start)', `${round(raw, 0)} ms`, String(rawCycles.length)],
        ['overhead (target < 1000 ms)', `${round(overhead, 0)} ms`, ''],
      ],
    ),
  );
  if (!(overhead < GRADUAL_TARGET.stepOverheadMs)) problems.push(`gradual: per-step overhead ${round(overhead, 0)} ms is over the target of ${GRADUAL_TARGET.stepOverheadMs} ms`);
  return { stepMs: round(kubeline, 1), rawStepMs: round(raw, 1), overheadMs: round(overhead, 1), kubelineSteps: kubelineCycles.map((x) => round(x, 1)), rawSteps: rawCycles.map((x) => round(x, 1)), target: GRADUAL_TARGET };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
  const problems = [];
  await gradualBench({ root: resolve(fileURLToPath(import.meta.url), '..', '..'), rounds: Number(values.rounds), problems });
  if (problems.length) console.log(problems.join('\n'));
  process.exitCode = problems.length ? 1 : 0;
}
