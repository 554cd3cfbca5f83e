#!/usr/bin/env node
// Benchmark of deploy's apply (applyBundle, packages/kube/src/apply.ts) on the test bed's control
// plane against `kubectl apply --server-side` — it reports, it is not a test. Section `deploy-apply`
// of bench/run.mjs (`npm run bench -- deploy-apply`: figures into bench/results.json), or alone,
// printing only:
//   eval "$(scripts/cluster env)" && PATH=$PWD/node_modules/.bin:$PATH node bench/deploy-apply.mjs [--rounds N]
//
// The bundle: 500 objects for one namespace, written as one YAML file (no namespace in the objects,
// kinds in install order as kustomize and Helm render them): 110 ConfigMaps, 90 Secrets (data, base64),
// 60 ServiceAccounts, 60 Roles, 60 RoleBindings (each to its Role and a ServiceAccount), 70 Services
// (ClusterIP, two ports), 50 Deployments (probes, resources, env from ConfigMaps and Secrets, their
// ServiceAccount). The Deployments have replicas: 0: the test bed's one fake node takes 110 pods and
// is shared with the deploy tests, which a bench must not starve; what apply sends and the API server
// stores is the same object either way. A second file is the same bundle with 50 objects changed:
// 10 ConfigMaps and 10 Secrets (a value), 10 Deployments (the image tag: a new ReplicaSet),
// 10 Services (an annotation), 5 ServiceAccounts (an annotation), 5 Roles (a verb).
//
// Subjects, same bundle files, same cluster, same run:
//   ours     readManifests(file) → connect() (KUBECONFIG = the test bed's kubeconfig) → new KubeClient
//            → applyBundle(client, objects, { namespace }) → client.close(): what deploy's apply phase
//            does, field manager `kubeline`, default concurrency, without the release record, the lock
//            and the wait. Bundled with ncc from packages/kube/src/index.ts into the cache folder
//            (bench/lib.mjs importFromSource) and run in this process: no node start-up or bundle
//            load is in its figure (the start-up section measures those), a fresh client (fresh
//            connections, empty discovery cache) every time. Its per-object log lines are collected.
//            Requests: KubeClient's `requests` counter (retries included), by verb beside it.
//   kubectl  `kubectl apply --server-side -f <file> -n <ns> --cache-dir <fresh folder> -v=6`, the
//            machine's /usr/bin/kubectl (a vendor's v1.32 build: fine for a comparison in a bench,
//            never a dependency of the project). A fresh cache folder every run, so it does its
//            discovery (and OpenAPI fetch) as on a fresh CI runner, as ours does. Wall time is spawn to
//            exit, process start included (its cost alone, `kubectl version --client`, is measured in
//            the same loop and shown beside). Requests: its -v=6 log, one line per request —
//            v1.32 prints `round_trippers.go:NNN] GET https://… 200 OK in 2 milliseconds`; newer
//            ones print `"Response" verb="GET" url="https://…" status="200 OK"`; both are counted.
//            From the same log: its time before the first PATCH (klog's timestamps, from its first
//            line, written once the kubeconfig is loaded) and the sum of its requests' durations.
//   kubectl --validate=false, reference only: the same with client-side validation off. Not like-for-
//            like (it sends fieldValidation=Ignore, so the server skips the strict field checks that
//            ours and plain kubectl ask for, fieldValidation=Strict), but it shows where kubectl's time
//            goes: on this machine its default validation costs it far more CPU than its requests
//            take. Whether an upstream kubectl build costs the same is not measured here (this
//            machine has only the vendor's build, and the bench downloads nothing).
//
// Every round (--rounds, at least 3) takes a fresh namespace per subject (bench-apply-*) and runs,
// phase by phase, (a) the first apply (500 created), (b) the same file again (nothing changes),
// (c) the changed file (50 configured); the subjects' order rotates by phase and by round, so each
// takes each place in every phase about equally often (exactly, when --rounds is a multiple of 3).
// Checked on every run: ours reports 500 created / 500 unchanged / 50 configured and 450 unchanged;
// kubectl exits 0 having printed 500 `serverside-applied` lines; otherwise the run is a problem
// (non-zero exit of bench/run.mjs) and left out of the figures. Reported per phase: wall time median and p90, API
// requests (median, min–max). The namespaces are deleted at the end and waited for (up to 3 minutes).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { clusterApi, ensureCluster, importFromSource, KUBECTL, median, round, sourceHash, summarize, table } from './lib.mjs';

const PHASES = [
  { key: 'create', label: '(a) first apply (create)', file: 'bundle.yaml', expect: { created: 500 } },
  { key: 'noop', label: '(b) again, no change', file: 'bundle.yaml', expect: { unchanged: 500 } },
  { key: 'change', label: '(c) 50 objects changed', file: 'bundle-changed.yaml', expect: { configured: 50, unchanged: 450 } },
];
const SUBJECTS = ['ours', 'kubectl', 'kubectl-novalidate'];
const LABEL = { ours: 'ours (applyBundle)', kubectl: 'kubectl apply --server-side', 'kubectl-novalidate': '  same, --validate=false (reference)' };
const COUNTS = { ConfigMap: 110, Secret: 90, ServiceAccount: 60, Role: 60, RoleBinding: 60, Service: 70, Deployment: 50 };
const CHANGED = { ConfigMap: 10, Secret: 10, Deployment: 10, Service: 10, ServiceAccount: 5, Role: 5 };

// ── the bundle ────────────────────────────────────────────────────────────────────────────────────

const pad = (i) => String(i).padStart(3, '0');
const b64 = (s) => Buffer.from(s).toString('base64');

/** The 500 objects; `changed` applies the 50 changes. Deterministic. */
export function bundle(changed = false) {
  const objects = [];
  const labels = (app) => ({ 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': 'bench-shop', tier: 'backend' });
  const isChanged = (kind, i) => changed && i < CHANGED[kind];
  for (let i = 0; i < COUNTS.ServiceAccount; i++) {
    const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `sa-${pad(i)}`, labels: labels(`app-${pad(i)}`) }, automountServiceAccountToken: false };
    if (isChanged('ServiceAccount', i)) sa.metadata.annotations = { 'bench.kubeline.dev/owner': 'team-b' };
    objects.push(sa);
  }
  for (let i = 0; i < COUNTS.Secret; i++) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `secret-${pad(i)}`, labels: labels(`app-${pad(i % COUNTS.Deployment)}`) },
      type: 'Opaque',
      data: {
        username: b64(`user-${i}`),
        password: b64(isChanged('Secret', i) ? `rotated-${i}-${'y'.repeat(24)}` : `initial-${i}-${'x'.repeat(24)}`),
        'api-key': b64(`key-${i}-0123456789abcdef0123456789abcdef`),
      },
    });
  }
  for (let i = 0; i < COUNTS.ConfigMap; i++) {
    const properties = Array.from({ length: 12 }, (_, k) => `setting.${k}=value-${i}-${k}`).join('\n') + '\n';
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `config-${pad(i)}`, labels: labels(`app-${pad(i % COUNTS.Deployment)}`) },
      data: { 'app.properties': properties, LOG_LEVEL: isChanged('ConfigMap', i) ? 'debug' : 'info', FEATURE_FLAGS: 'search,checkout,recommendations', TIMEOUT_SECONDS: '30' },
    });
  }
  for (let i = 0; i < COUNTS.Role; i++) {
    const deployVerbs = isChanged('Role', i) ? ['get', 'list', 'watch'] : ['get', 'list'];
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: `role-${pad(i)}`, labels: labels(`app-${pad(i)}`) },
      rules: [
        { apiGroups: [''], resources: ['configmaps', 'secrets'], resourceNames: [`config-${pad(i)}`, `secret-${pad(i)}`], verbs: ['get', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: deployVerbs },
      ],
    });
  }
  for (let i = 0; i < COUNTS.RoleBinding; i++) {
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `rb-${pad(i)}`, labels: labels(`app-${pad(i)}`) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `role-${pad(i % COUNTS.Role)}` },
      subjects: [{ kind: 'ServiceAccount', name: `sa-${pad(i % COUNTS.ServiceAccount)}` }],
    });
  }
  for (let i = 0; i < COUNTS.Service; i++) {
    const app = `app-${pad(i % COUNTS.Deployment)}`;
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${pad(i)}`, labels: labels(app) },
      spec: {
        type: 'ClusterIP',
        selector: { 'app.kubernetes.io/name': app },
        ports: [
          { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
        ],
      },
    };
    if (isChanged('Service', i)) svc.metadata.annotations = { 'bench.kubeline.dev/scrape': 'true' };
    objects.push(svc);
  }
  for (let i = 0; i < COUNTS.Deployment; i++) {
    const app = `app-${pad(i)}`;
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, labels: labels(app) },
      spec: {
        replicas: 0,
        revisionHistoryLimit: 3,
        selector: { matchLabels: { 'app.kubernetes.io/name': app } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
        template: {
          metadata: { labels: labels(app), annotations: { 'prometheus.io/port': '9090' } },
          spec: {
            serviceAccountName: `sa-${pad(i % COUNTS.ServiceAccount)}`,
            containers: [
              {
                name: 'app',
                image: `registry.example/shop/${app}:${isChanged('Deployment', i) ? '1.4.3' : '1.4.2'}`,
                ports: [
                  { name: 'http', containerPort: 8080 },
                  { name: 'metrics', containerPort: 9090 },
                ],
                envFrom: [{ configMapRef: { name: `config-${pad(i)}` } }],
                env: [
                  { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `secret-${pad(i)}`, key: 'password' } } },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                ],
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 10 },
              },
            ],
          },
        },
      },
    });
  }
  return objects;
}

const toYaml = (objects) => objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');

// ── kubectl's -v=6 log ────────────────────────────────────────────────────────────────────────────

const VERBS = 'GET|HEAD|POST|PUT|PATCH|DELETE';
const LOG_FORMATS = [
  // v1.32: I1122 02:19:18.778170 9598 round_trippers.go:560] GET https://127.0.0.1:31037/openapi/v3?timeout=32s 200 OK in 2 milliseconds
  { name: 'round_trippers "VERB URL STATUS in N milliseconds"', re: new RegExp(`round_trippers\\.go:\\d+\\] (${VERBS}) https?://\\S+ \\d{3}`) },
  // v1.33+: … "Response" verb="GET" url="https://…" status="200 OK" milliseconds=2
  { name: '"Response" verb=… url=…', re: new RegExp(`"Response" verb="(${VERBS})" url="https?://`) },
];

/** Requests in kubectl's -v=6 log, by verb, and which log format matched. */
export function kubectlRequests(log) {
  const byVerb = {};
  const formats = new Set();
  let total = 0;
  let sumMs = 0;
  let firstAt;
  let firstPatchAt;
  for (const line of log.split('\n')) {
    const at = klogTime(line);
    if (at !== undefined && firstAt === undefined) firstAt = at;
    for (const f of LOG_FORMATS) {
      const m = f.re.exec(line);
      if (!m) continue;
      byVerb[m[1]] = (byVerb[m[1]] ?? 0) + 1;
      formats.add(f.name);
      total++;
      const took = / in (\d+) milliseconds/.exec(line) ?? / milliseconds=(\d+)/.exec(line);
      if (took) sumMs += Number(took[1]);
      if (m[1] === 'PATCH' && firstPatchAt === undefined) firstPatchAt = at;
      break;
    }
  }
  let beforeFirstPatchMs;
  if (firstAt !== undefined && firstPatchAt !== undefined) beforeFirstPatchMs = (firstPatchAt - firstAt + 86_400_000) % 86_400_000;
  return { total, byVerb, formats: [...formats], sumMs, beforeFirstPatchMs };
}

/** A klog line's time of day in ms (`I1122 02:19:18.778170 …`), or undefined. */
function klogTime(line) {
  const m = /^[IWEF]\d{4} (\d\d):(\d\d):(\d\d\.\d+)/.exec(line);
  return m ? (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 : undefined;
}

// ── the section ───────────────────────────────────────────────────────────────────────────────────

/**
 * Runs the section; prints its tables and returns what goes into results.json under `deployApply`.
 * Problems that make the figures meaningless go to `problems`, the rest to `notes`.
 */
export async function deployApplyBench({ root, rounds = 5, notes = [], problems = [] }) {
  rounds = Math.max(3, rounds);
  if (!ensureCluster(root)) {
    problems.push('deploy-apply: the test cluster did not come up (scripts/cluster up failed)');
    return { skipped: true };
  }
  const api = await clusterApi(process.env.KUBELINE_KUBECONFIG);
  const bundled = await importFromSource(root, 'packages/kube/src/index.ts', 'kube');
  const kube = bundled.module;
  const work = mkdtempSync(join(os.tmpdir(), 'kubeline-bench-apply-'));
  const files = {};
  for (const [name, objects] of [['bundle.yaml', bundle(false)], ['bundle-changed.yaml', bundle(true)]]) {
    files[name] = join(work, name);
    writeFileSync(files[name], toYaml(objects));
  }

  const ours = async (ns, phase) => {
    const lines = [];
    const byVerb = {};
    const t0 = performance.now();
    const objects = await kube.readManifests(files[phase.file]);
    const connection = await kube.connect({ env: { KUBECONFIG: api.kubeconfigPath }, saveState: () => {}, getState: () => '', setSecret: () => {} });
    const client = new kube.KubeClient(connection.kubeConfig, { user: connection.user, defaultNamespace: ns });
    // Requests by verb, beside the client's own counter (which is the figure).
    if (typeof client.send === 'function') {
      const send = client.send.bind(client);
      client.send = (o) => {
        byVerb[o.method] = (byVerb[o.method] ?? 0) + 1;
        return send(o);
      };
    }
    let result;
    try {
      result = await kube.applyBundle(client, objects, { namespace: ns, log: (line) => lines.push(line) });
    } finally {
      await client.close();
    }
    const ms = performance.now() - t0;
    const outcomes = {};
    for (const o of result.objects) outcomes[o.outcome] = (outcomes[o.outcome] ?? 0) + 1;
    const wrong = Object.entries({ created: 0, configured: 0, unchanged: 0, ...phase.expect }).filter(([k, v]) => (outcomes[k] ?? 0) !== v);
    return { ms, requests: client.requests, byVerb, outcomes, check: wrong.length ? `outcomes ${JSON.stringify(outcomes)}, expected ${JSON.stringify(phase.expect)}` : undefined };
  };

  const kubectl = (ns, phase, extra = []) =>
    new Promise((resolveP) => {
      const cacheDir = mkdtempSync(join(work, 'kubectl-cache-'));
      const args = ['--kubeconfig', api.kubeconfigPath, 'apply', '--server-side', ...extra, '-f', files[phase.file], '-n', ns, '--cache-dir', cacheDir, '-v=6'];
      const t0 = performance.now();
      const child = spawn(KUBECTL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('error', (err) => resolveP({ ms: NaN, check: `kubectl did not start: ${err.message}` }));
      child.on('close', (code) => {
        const ms = performance.now() - t0;
        rmSync(cacheDir, { recursive: true, force: true });
        const applied = stdout.split('\n').filter((l) => / serverside-applied$/.test(l)).length;
        const req = kubectlRequests(stderr);
        const errors = stderr.split('\n').filter((l) => /^(error|Error)/.test(l)).slice(0, 3).join(' | ');
        const check = code !== 0 ? `exit ${code}: ${errors || stderr.slice(-300)}` : applied !== 500 ? `${applied} "serverside-applied" lines, expected 500` : req.total === 0 ? 'no request lines in its -v=6 log (unknown format)' : undefined;
        resolveP({ ms, requests: req.total, byVerb: req.byVerb, formats: req.formats, beforeFirstPatchMs: req.beforeFirstPatchMs, requestsSumMs: req.sumMs, applied, check });
      });
    });

  /** kubectl's process start alone, for reference beside its figures. */
  const kubectlStart = () => {
    const t0 = performance.now();
    execFileSync(KUBECTL, ['version', '--client', '-o', 'json'], { stdio: ['ignore', 'ignore', 'ignore'] });
    return performance.now() - t0;
  };

  const out = { rounds, objects: 500, kinds: COUNTS, changed: CHANGED, bundle: bundled.id };
  const runs = Object.fromEntries(SUBJECTS.map((s) => [s, {}]));
  for (const s of SUBJECTS) for (const p of PHASES) runs[s][p.key] = [];
  const starts = [];
  const formats = new Set();
  try {
    const version = await api.send('GET', '/version');
    out.apiServer = version.body.gitVersion;
    out.server = api.server.host;
    out.kubectl = `${KUBECTL} ${JSON.parse(execFileSync(KUBECTL, ['version', '--client', '-o', 'json'], { encoding: 'utf8' })).clientVersion.gitVersion}`;
    console.log(`\nDeploy apply — 500 objects, kube-apiserver ${out.apiServer} on ${out.server}; ${out.kubectl} (the machine's, for comparison only)\n`);
    for (let r = 0; r < rounds; r++) {
      const ns = {};
      for (const s of SUBJECTS) ns[s] = await api.namespace('bench-apply');
      for (const [i, phase] of PHASES.entries()) {
        const line = [];
        const k = (r + i) % SUBJECTS.length;
        for (const s of [...SUBJECTS.slice(k), ...SUBJECTS.slice(0, k)]) {
          const x = s === 'ours' ? await ours(ns[s], phase) : await kubectl(ns[s], phase, s === 'kubectl-novalidate' ? ['--validate=false'] : []);
          for (const f of x.formats ?? []) formats.add(f);
          runs[s][phase.key].push(x);
          if (x.check) problems.push(`deploy-apply: round ${r + 1}, ${phase.label}, ${LABEL[s]}: ${x.check}`);
          line.push(`${s} ${round(x.ms)} ms / ${x.requests} requests${x.check ? ' (CHECK FAILED)' : ''}`);
        }
        console.error(`[bench] deploy-apply round ${r + 1}/${rounds} ${phase.label}: ${line.join(', ')}`);
      }
      starts.push(kubectlStart());
    }
  } catch (err) {
    problems.push(`deploy-apply: ${err.stack ?? err}`);
    out.failed = String(err.message ?? err);
  } finally {
    console.error('[bench] deploy-apply: deleting its namespaces and waiting until they are gone');
    const left = await api.deleteNamespaces({ waitMs: 180_000 });
    if (left.length) notes.push(`deploy-apply: namespaces still terminating after 3 minutes: ${left.join(', ')}`);
    rmSync(work, { recursive: true, force: true });
    if (`kube-${sourceHash(root, 'packages/kube/src/index.ts')}` !== bundled.id) notes.push(`deploy-apply: packages/*/src changed while it ran: its figures are of the sources bundled at its start (${bundled.id})`);
  }
  if (out.failed) return out;

  const verbs = (xs) => {
    const all = {};
    for (const x of xs) for (const [v, n] of Object.entries(x.byVerb ?? {})) (all[v] ??= []).push(n);
    return Object.fromEntries(Object.entries(all).map(([v, ns]) => [v, median(ns)]));
  };
  out.kubectlLogFormats = [...formats];
  out.kubectlStartMs = summarize(starts);
  out.phases = PHASES.map((p) => {
    const entry = { phase: p.key, label: p.label };
    for (const s of SUBJECTS) {
      const xs = runs[s][p.key].filter((x) => !x.check);
      entry[s] = xs.length
        ? {
            wallMs: summarize(xs.map((x) => x.ms)),
            requests: { median: median(xs.map((x) => x.requests)), min: Math.min(...xs.map((x) => x.requests)), max: Math.max(...xs.map((x) => x.requests)), byVerb: verbs(xs) },
            ...(s === 'ours' ? {} : { beforeFirstPatchMs: summarize(xs.map((x) => x.beforeFirstPatchMs).filter(Number.isFinite)), requestsSumMs: summarize(xs.map((x) => x.requestsSumMs)) }),
            runs: xs.length,
          }
        : { runs: 0 };
      if (s !== 'ours' && xs.length && entry.ours.runs) entry[s].overOurs = round(entry[s].wallMs.median / entry.ours.wallMs.median, 2);
    }
    return entry;
  });

  const ms = (x) => `${Math.round(x)} ms`;
  const reqs = (r) => (r.min === r.max ? `${r.median}` : `${r.median} (${r.min}–${r.max})`);
  const byVerb = (r) => Object.entries(r.byVerb).sort().map(([v, n]) => `${v} ${n}`).join(', ');
  const rows = [];
  for (const p of out.phases) {
    for (const s of SUBJECTS) {
      const x = p[s];
      if (!x.runs) {
        rows.push([p.label, LABEL[s], 'no valid run', '', '', '', '', '']);
        continue;
      }
      rows.push([
        s === 'ours' ? p.label : '',
        LABEL[s],
        ms(x.wallMs.median),
        ms(x.wallMs.p90),
        reqs(x.requests),
        byVerb(x.requests),
        x.beforeFirstPatchMs ? `${ms(x.beforeFirstPatchMs.median)} + ${ms(x.requestsSumMs.median)}` : '',
        x.overOurs ? `${x.overOurs.toFixed(1)}×` : '',
      ]);
    }
  }
  console.log(`500 objects into a fresh namespace per subject, ${rounds} interleaved rounds; wall time and API requests per apply\n`);
  console.log(table(['phase', 'subject', 'median', 'p90', 'API requests', 'by verb (median)', 'before 1st PATCH + Σ requests', '÷ ours'], rows));
  console.log(`\n  kubectl's figures include its process start: \`kubectl version --client\` alone takes ${ms(out.kubectlStartMs.median)} (median, same loop).`);
  console.log('  Ours runs in this process (no node start-up or bundle load: see the start-up section); a fresh client each time (new connections, no discovery cache); kubectl gets a fresh --cache-dir each time.');
  console.log(`  kubectl requests counted from its -v=6 log (${out.kubectlLogFormats.join('; ') || 'no format matched'}); ours from KubeClient.requests.`);
  console.log('  "before 1st PATCH + Σ requests": from kubectl\'s log, its time from loading the kubeconfig to its first PATCH (discovery, OpenAPI, reading and');
  console.log('  validating the file) and the summed durations of its requests (one at a time); the rest of its wall time is its own work between them.');
  console.log('  --validate=false is a reference, not like-for-like: it sends fieldValidation=Ignore, while ours and plain kubectl send Strict.');
  return out;
}

// ── alone ─────────────────────────────────────────────────────────────────────────────────────────

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
  if (!process.env.KUBELINE_KUBECONFIG) {
    console.error('deploy-apply bench: the test cluster is not up: `eval "$(scripts/cluster up)"`, then again (or `npm run bench -- deploy-apply`, which brings it up).');
    process.exit(2);
  }
  const notes = [];
  const problems = [];
  await deployApplyBench({ root: resolve(import.meta.dirname, '..'), rounds: Number(args.rounds), notes, problems });
  for (const n of notes) console.log(`note: ${n}`);
  for (const p of problems) console.log(`problem: ${p}`);
  process.exitCode = problems.length ? 1 : 0;
}
