#!/usr/bin/env node
// A corpus of Kubernetes manifests for render-and-validate-manifests: the cross-check against
// kubeconform (test/integration/kubeconform.test.ts) and the throughput benchmark (bench/manifests.mjs).
//
//   node test/support/corpus.mjs DIR [--objects N] [--seed S] [--invalid-rate R]
//
// Writes DIR/objects/** (YAML and a few JSON files) and DIR/manifest.json (what is where, and every
// mistake seeded, with its file, document, object and lines). The same seed gives the same bytes; the
// same seed with another --invalid-rate gives the same objects with other mistakes in them (mistakes
// draw from their own random stream), so a valid-only and a 5 %-invalid corpus differ only there.
//
// What is in it (default 12,000 objects):
//   - the example chart examples/demo/deploy/chart/demo rendered by a real `helm template` six times
//     (default values, staging, production, NodePort with a digest, another registry and tag, extra
//     pod labels), then copied under other release names (text renames, as many as needed);
//   - hand-shaped apps per team namespace: Deployments (init containers, env/envFrom, volumes,
//     probes, quantities, security contexts, affinity, tolerations, spread constraints, some with
//     YAML anchors), Services, ConfigMaps with multi-line data, Secrets (data and stringData),
//     Ingresses, StatefulSets with volumeClaimTemplates, DaemonSets, CronJobs, Jobs, HPAs
//     (autoscaling/v2), PDBs, ServiceAccounts, Roles, RoleBindings, NetworkPolicies, PVCs;
//   - four CRDs (apiextensions.k8s.io/v1 with openAPIV3Schema, one with a deprecated served version)
//     and their custom resources;
//   - laid out as files of 10-30 objects, single-object files (kustomize-base style, some in the
//     `kubectl create --dry-run -o yaml` shape), three big multi-document files, four `kind: List`
//     files (the `kubectl get -o yaml` shape, with status and managedFields) and a few JSON files.
//
// Mistakes (--invalid-rate, default 0.05 of the objects, one per object; CRDs are left alone so their
// custom resources keep a schema). Those kubeconform -strict can catch with the built-in schemas
// (`kubeconform: true` in manifest.json, except in custom resources): unknown fields at the top level and deep in the pod spec,
// wrong types (string for integer, number or boolean for string, map for list, list for map, a number
// in a list of strings), missing required fields (container name, selector, port, roleRef, ...), bad
// int-or-string and quantity types, null where an object or string is required (a stray `-`, an empty
// templated value), duplicate keys and YAML syntax errors. And, fewer, those it cannot
// (`kubeconform: false`: its schemas have no enums, formats or name rules, and it has no schema for
// custom resources or removed APIs): removed apiVersions, quantity syntax, invalid names and labels,
// Secret data that is not base64, and enum, unknown-field, type and required-field mistakes in
// custom resources.
//
// helm comes from PATH, $KUBELINE_HELM, or the test bed's bin folder (scripts/testbed tools builds it).

import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHART = join(root, 'examples', 'demo', 'deploy', 'chart', 'demo');
const OBJECTS = 'objects';

/**
 * Writes the corpus into `dir` (created; an existing objects/ folder is replaced) and returns what
 * manifest.json holds.
 */
export function generateCorpus(dir, { objects = 12_000, seed = 1, invalidRate = 0.05, helm = findHelm() } = {}) {
  if (!Number.isInteger(objects) || objects < 100) throw new Error(`corpus: objects must be a whole number ≥ 100, got ${objects}`);
  if (!(invalidRate >= 0 && invalidRate <= 0.5)) throw new Error(`corpus: invalid-rate must be between 0 and 0.5, got ${invalidRate}`);
  if (!helm) throw new Error('corpus: helm not found (PATH, $KUBELINE_HELM, .testbed/bin): run `scripts/testbed tools` or install helm.');
  const r = rng(`${seed}`);
  const docs = layout(r, objects, renderChart(helm));
  const mistakes = invalidRate > 0 ? seedMistakes(rng(`${seed}/mistakes`), docs, Math.round(objects * invalidRate)) : [];
  const files = write(dir, docs, mistakes);
  const byKind = {};
  const bySection = {};
  for (const d of docs) {
    for (const o of d.items ?? [d.object ?? { kind: d.kind }]) byKind[o.kind] = (byKind[o.kind] ?? 0) + 1;
    bySection[d.section] = (bySection[d.section] ?? 0) + (d.items?.length ?? 1);
  }
  const manifest = {
    generator: 'test/support/corpus.mjs',
    seed: String(seed),
    invalidRate,
    objects: Object.values(byKind).reduce((a, b) => a + b, 0),
    root: OBJECTS,
    files: files.count,
    bytes: files.bytes,
    bySection,
    byKind: Object.fromEntries(Object.entries(byKind).sort(([a], [b]) => (a < b ? -1 : 1))),
    helm: { chart: 'examples/demo/deploy/chart/demo', renders: HELM_VARIANTS.length, releases: docs.filter((d) => d.section === 'helm' && d.kind === 'Deployment').length },
    crdFiles: files.crdFiles,
    mistakes,
    mistakeCounts: countBy(mistakes, (m) => `${m.kubeconform ? 'kubeconform' : 'beyond'}:${m.category}`),
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  return manifest;
}

export function findHelm() {
  if (process.env.KUBELINE_HELM) return process.env.KUBELINE_HELM;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), join(process.env.KUBELINE_TESTBED_DIR || join(root, '.testbed'), 'bin')];
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, 'helm'), constants.X_OK);
      return join(d, 'helm');
    } catch {
      // not here
    }
  }
  return undefined;
}

// ── random ────────────────────────────────────────────────────────────────────

/** mulberry32 seeded from a string: small, fast, the same numbers everywhere. */
export function rng(seed) {
  let a = 2166136261;
  for (let i = 0; i < seed.length; i++) a = Math.imul(a ^ seed.charCodeAt(i), 16777619);
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    hex: (n) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join(''),
    alnum: (n) => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(next() * 36)]).join(''),
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
    some: (xs, lo, hi) => r.shuffle([...xs]).slice(0, r.int(lo, Math.min(hi, xs.length))),
  };
  return r;
}

// ── helm ──────────────────────────────────────────────────────────────────────

const HELM_VARIANTS = [
  [],
  ['--values', 'values-staging.yaml'],
  ['--values', 'values-production.yaml'],
  ['--set', 'replicaCount=4', '--set', 'service.type=NodePort', '--set', `image.digest=sha256:${'5e'.repeat(32)}`],
  ['--values', 'values-production.yaml', '--set', 'image.repository=ghcr.io/acme/shop/demo', '--set', 'image.tag=v1.4.2', '--set', 'appVersion=1.4.2'],
  ['--set', 'podLabels.team=payments', '--set', 'podLabels.tier=backend', '--set', 'resources.limits.cpu=500m', '--set', 'service.port=8080'],
];

/** The chart rendered once per variant, under a placeholder release name that copies replace. */
function renderChart(helm) {
  return HELM_VARIANTS.map((args, i) => {
    const release = `hzq${i}x`;
    const out = execFileSync(helm, ['template', release, CHART, '--kube-version', '1.37.0', ...args.map((a) => (a.startsWith('values-') ? join(CHART, a) : a))], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const docs = out.split(/^---\n/m).map((t) => t.trim()).filter(Boolean).map((t) => `${t}\n`);
    return { release, docs: docs.map((text) => ({ text, kind: /^kind: (\S+)$/m.exec(text)[1] })) };
  });
}

// ── names ─────────────────────────────────────────────────────────────────────

const TEAMS = ['payments', 'checkout', 'catalog', 'search', 'identity', 'billing', 'media', 'ledger', 'notify', 'orders', 'shipping', 'platform'];
const APPS = ['api', 'web', 'worker', 'gateway', 'indexer', 'scheduler', 'exporter', 'consumer', 'frontend', 'auth', 'cache', 'sync', 'reporter', 'ingest', 'router'];
const PUBLIC_IMAGES = ['nginx:1.27.3', 'redis:7.4.1-alpine', 'postgres:16.4', 'busybox:1.36.1', 'envoyproxy/envoy:v1.31.2', 'bitnami/kafka:3.8.0', 'grafana/agent:v0.43.3', 'python:3.12-slim', 'memcached:1.6.31'];

// ── layout ────────────────────────────────────────────────────────────────────

/**
 * Every document of the corpus, in file order: { file, section, kind, object | text | items, json? }.
 * Exactly `total` objects (List items count one each).
 */
function layout(r, total, chart) {
  const docs = [];
  let count = 0;
  const ctx = { r, seq: 0, crds: CRDS };
  const add = (file, section, doc) => {
    docs.push({ file, section, ...doc });
    count += doc.items?.length ?? 1;
  };
  const nsOf = (team) => `${team}-prod`;

  // Namespaces in one file, CRDs one per file.
  for (const team of TEAMS) add('00-namespaces.yaml', 'namespaces', obj(namespace(team, nsOf(team))));
  for (const crd of CRDS) add(`crds/${crd.plural}.${crd.group}.yaml`, 'crds', obj(crdObject(crd)));

  const quota = (share) => Math.max(2, Math.round(total * share));
  // Helm releases: two objects each; half one file per release, half grouped 10-30 objects per file.
  {
    const want = quota(0.15) & ~1;
    let n = 0;
    let batch = 0;
    let inBatch = 0;
    let batchSize = r.int(10, 30);
    while (n < want) {
      const variant = chart[ctx.seq % chart.length];
      const release = `${r.pick(TEAMS)}-${r.pick(APPS)}-r${(ctx.seq++).toString(36)}`;
      const own = r.chance(0.5);
      if (!own && inBatch >= batchSize) {
        batch++;
        inBatch = 0;
        batchSize = r.int(10, 30);
      }
      const file = own ? `helm/${release}.yaml` : `helm/rendered-${String(batch).padStart(3, '0')}.yaml`;
      for (const d of variant.docs) {
        if (n >= want) break;
        add(file, 'helm', { kind: d.kind, text: d.text.replaceAll(variant.release, release), helm: true });
        n++;
        if (!own) inBatch++;
      }
    }
  }

  const section = (name, share, place) => {
    const want = name === 'bundles' ? total - count : quota(share);
    if (want <= 0) return;
    const goal = count + want;
    let unitNo = 0;
    while (count < goal) {
      const team = r.pick(TEAMS);
      const objects = appUnit({ ...ctx, team, ns: nsOf(team) });
      ctx.seq++;
      place(objects.slice(0, goal - count), team, unitNo++);
    }
  };

  // `kind: List` files: what `kubectl get deploy,svc,cm -o yaml` writes, status and managedFields included.
  const lists = [];
  const perList = Math.ceil(quota(0.015) / 4);
  section('lists', 0.015, (objects, team) => {
    if (!lists.length || (lists.length < 4 && lists.at(-1).items.length >= perList)) lists.push({ team, items: [] });
    lists.at(-1).items.push(...objects.map((o) => asExported(r, o)));
    count += objects.length; // the List documents are added whole below
  });
  for (const [i, l] of lists.entries()) docs.push({ file: `lists/${l.team}-export-${i}.yaml`, section: 'lists', kind: 'List', items: l.items });

  // Three big all-in-one files.
  let big = 0;
  const bigWant = quota(0.12);
  section('big', 0.12, (objects) => {
    for (const o of objects) {
      add(`big/all-in-one-${Math.min(2, Math.floor((big * 3) / bigWant))}.yaml`, 'big', obj(o));
      big++;
    }
  });

  // One object per file, as in a kustomize base; some in the `kubectl create --dry-run -o yaml` shape.
  section('split', 0.05, (objects, team) => {
    const app = objects[0].metadata.name;
    const dryRun = r.chance(0.3);
    for (const o of objects) add(`split/${team}/${app}/${o.kind.toLowerCase()}-${o.metadata.name}.yaml`, 'split', obj(dryRun ? asDryRun(o) : o));
  });

  section('json', 0.005, (objects, team) => {
    for (const o of objects) add(`json/${team}-${o.kind.toLowerCase()}-${o.metadata.name}.json`, 'json', { ...obj(o), json: true });
  });

  // The rest: files of 10-30 objects, whole apps per file.
  let file;
  let inFile = 0;
  let fileSize = 0;
  section('bundles', 0, (objects, team) => {
    if (!file || inFile >= fileSize) {
      file = `teams/${team}/${objects[0].metadata.name}.yaml`;
      inFile = 0;
      fileSize = r.int(10, 30);
    }
    for (const o of objects) add(file, 'bundles', obj(o));
    inFile += objects.length;
  });
  if (count !== total) throw new Error(`corpus: laid out ${count} objects, wanted ${total}`);
  return docs;
}

const obj = (object) => ({ kind: object.kind, object });

// ── objects ───────────────────────────────────────────────────────────────────

function namespace(team, name) {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, team, 'pod-security.kubernetes.io/enforce': 'restricted' } } };
}

const labelsFor = (app, team, r) => {
  const l = { 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': team };
  if (r.chance(0.6)) l['app.kubernetes.io/version'] = r.pick(['1.4.2', 'v2.0.0-rc.1', '2024.11.3', 'sha-3f2a9c1']);
  if (r.chance(0.5)) l['app.kubernetes.io/managed-by'] = r.pick(['kustomize', 'argocd', 'Helm']);
  if (r.chance(0.3)) l.environment = r.pick(['production', 'staging']);
  return l;
};

/** One app: a workload and what usually comes with it. */
function appUnit(ctx) {
  const { r, team, ns } = ctx;
  const app = `${team}-${r.pick(APPS)}-${ctx.seq.toString(36)}`;
  const labels = labelsFor(app, team, r);
  const selector = { 'app.kubernetes.io/name': app };
  const meta = (name, extra = {}) => ({ name, namespace: ns, labels: { ...labels }, ...extra });
  const image = r.chance(0.25) ? r.pick(PUBLIC_IMAGES) : `registry.example.com/${team}/${app.replace(/-[0-9a-z]+$/, '')}${r.chance(0.4) ? `@sha256:${r.hex(64)}` : `:${r.pick(['1.4.2', 'v2.0.0', '2024.11.3', 'sha-3f2a9c1'])}`}`;
  const port = r.pick([8080, 8000, 3000, 9000, 5000]);
  const out = [];
  const kind = r.next() < 0.8 ? 'Deployment' : r.next() < 0.8 ? 'StatefulSet' : 'DaemonSet';
  const sa = r.chance(0.6) ? app : undefined;
  const config = r.chance(0.7) ? `${app}-config` : undefined;
  const secret = r.chance(0.5) ? `${app}-secrets` : undefined;

  if (sa) {
    const o = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(sa) };
    if (r.chance(0.4)) o.metadata.annotations = { 'eks.amazonaws.com/role-arn': `arn:aws:iam::1234567890:role/${app}` };
    if (r.chance(0.5)) o.automountServiceAccountToken = false;
    if (r.chance(0.2)) o.imagePullSecrets = [{ name: 'registry-credentials' }];
    out.push(o);
  }
  if (config) out.push(configMap(r, meta(config), app, port));
  if (secret) out.push(secretObject(r, meta(secret)));

  const template = podTemplate(r, { app, labels: selector, image, port, sa, config, secret, longRunning: true, team });
  const workload = { apiVersion: 'apps/v1', kind, metadata: meta(app), spec: {} };
  // Some hand-written files share the labels through a YAML anchor (stringify writes &a1 / *a1).
  const sharedSelector = r.chance(0.2) ? selector : { ...selector };
  if (kind !== 'DaemonSet') workload.spec.replicas = r.int(1, 6);
  if (kind === 'StatefulSet') workload.spec.serviceName = app;
  workload.spec.selector = { matchLabels: sharedSelector };
  if (kind === 'Deployment') {
    if (r.chance(0.5)) workload.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: r.pick(['25%', 1, '50%']), maxUnavailable: r.pick([0, '25%', 1]) } };
    if (r.chance(0.4)) workload.spec.revisionHistoryLimit = r.int(2, 10);
    if (r.chance(0.2)) workload.spec.progressDeadlineSeconds = 600;
  }
  if (kind === 'DaemonSet') workload.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: r.pick([1, '10%']) } };
  if (kind === 'StatefulSet') {
    if (r.chance(0.5)) workload.spec.podManagementPolicy = r.pick(['OrderedReady', 'Parallel']);
    if (r.chance(0.5)) workload.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    if (r.chance(0.3)) workload.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Retain', whenScaled: 'Delete' };
  }
  template.metadata.labels = sharedSelector === selector && r.chance(0.5) ? selector : { ...selector, ...(r.chance(0.4) ? { 'app.kubernetes.io/version': '1.4.2' } : {}) };
  workload.spec.template = template;
  if (kind === 'StatefulSet') {
    workload.spec.volumeClaimTemplates = [
      {
        metadata: { name: 'data', ...(r.chance(0.3) ? { labels: { ...selector } } : {}) },
        spec: { accessModes: ['ReadWriteOnce'], ...(r.chance(0.7) ? { storageClassName: r.pick(['gp3', 'standard-rwo', 'fast-ssd']) } : {}), resources: { requests: { storage: r.pick(['1Gi', '10Gi', '50Gi', '200Gi']) } } },
      },
    ];
    template.spec.containers[0].volumeMounts = [...(template.spec.containers[0].volumeMounts ?? []), { name: 'data', mountPath: '/var/lib/data' }];
  }
  out.push(workload);

  if (r.chance(0.9)) {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: meta(app), spec: {} };
    if (kind === 'StatefulSet' || r.chance(0.05)) svc.spec.clusterIP = 'None';
    else if (r.chance(0.15)) svc.spec.type = r.pick(['NodePort', 'LoadBalancer']);
    else if (r.chance(0.5)) svc.spec.type = 'ClusterIP';
    svc.spec.selector = { ...selector };
    svc.spec.ports = [{ name: 'http', port: r.pick([80, 8080, port]), targetPort: r.chance(0.5) ? 'http' : port, protocol: 'TCP' }];
    if (svc.spec.type === 'NodePort') svc.spec.ports[0].nodePort = r.int(30000, 32767);
    if (r.chance(0.3)) svc.spec.ports.push({ name: 'metrics', port: 9090, targetPort: 9090 });
    if (r.chance(0.1)) svc.spec.sessionAffinity = 'ClientIP';
    if (r.chance(0.1)) svc.spec.internalTrafficPolicy = 'Local';
    out.push(svc);
    if (r.chance(0.35) && kind !== 'DaemonSet') out.push(ingress(r, meta(app, { annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m', 'cert-manager.io/cluster-issuer': 'letsencrypt' } }), app, team));
  }
  if (kind === 'Deployment' && r.chance(0.4)) out.push(hpa(r, meta(app), app));
  if (kind !== 'DaemonSet' && r.chance(0.4)) {
    out.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(app), spec: { ...(r.chance(0.5) ? { minAvailable: r.pick([1, '50%']) } : { maxUnavailable: r.pick([1, '25%']) }), selector: { matchLabels: { ...selector } } } });
  }
  if (sa && r.chance(0.5)) {
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(app),
      rules: [
        { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'], ...(r.chance(0.3) && config ? { resourceNames: [config] } : {}) },
        ...(r.chance(0.4) ? [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }] : []),
      ],
    });
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(app),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: app },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    });
  }
  if (r.chance(0.4)) out.push(networkPolicy(r, meta(app), selector, port, team));
  if (r.chance(0.15)) out.push(cronJob(r, meta(`${app}-cleanup`), { app, image, sa, config, secret, team }));
  if (r.chance(0.08)) out.push(job(r, meta(`${app}-migrate-${r.alnum(5)}`), { app, image, sa, config, secret, team }));
  if (kind === 'Deployment' && r.chance(0.1)) {
    out.push({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta(`${app}-cache`), spec: { accessModes: [r.pick(['ReadWriteOnce', 'ReadWriteMany'])], resources: { requests: { storage: r.pick(['5Gi', '20Gi']) } }, storageClassName: 'standard-rwo' } });
  }
  if (r.chance(0.25)) for (const crd of r.some(CRDS, 1, 2)) out.push(crd.example(r, meta(`${app}${crd.suffix}`), { app, selector, secret }));
  return out;
}

function configMap(r, metadata, app, port) {
  const data = {};
  const shapes = r.some(['yaml', 'properties', 'nginx', 'json', 'env', 'script'], 1, 3);
  for (const shape of shapes) {
    if (shape === 'yaml') data['application.yaml'] = `server:\n  port: ${port}\n  shutdown: graceful\nlogging:\n  level: ${r.pick(['info', 'debug', 'warn'])}\n  format: json\nfeatures:\n  - checkout-v2\n  - ${r.alnum(6)}\n`;
    if (shape === 'properties') data['app.properties'] = `server.port=${port}\nspring.datasource.url=jdbc:postgresql://db:5432/${app.replace(/-/g, '_')}\ncache.ttl=${r.int(30, 3600)}s\n`;
    if (shape === 'nginx') data['nginx.conf'] = `server {\n    listen 8080;\n    location / {\n        proxy_pass http://127.0.0.1:${port};\n        proxy_set_header Host $host;\n    }\n    location /healthz { return 200 "ok"; }\n}\n`;
    if (shape === 'json') data['settings.json'] = JSON.stringify({ app, retries: r.int(1, 5), timeoutMs: r.int(100, 5000), regions: ['eu-west-1', 'us-east-1'] }, null, 2);
    if (shape === 'env') Object.assign(data, { LOG_LEVEL: r.pick(['info', 'debug']), HTTP_PORT: String(port), FEATURE_FLAGS: 'on', MAX_CONNECTIONS: String(r.int(10, 500)), ENABLE_TRACING: 'true' });
    if (shape === 'script') data['entrypoint.sh'] = `#!/bin/sh\nset -eu\nexec /app/server --port "${port}" "$@"\n`;
  }
  const o = { apiVersion: 'v1', kind: 'ConfigMap', metadata, data };
  if (r.chance(0.05)) o.binaryData = { 'logo.png': Buffer.from(r.hex(48), 'hex').toString('base64') };
  if (r.chance(0.05)) o.immutable = true;
  return o;
}

function secretObject(r, metadata) {
  const b64 = (s) => Buffer.from(s).toString('base64');
  const shape = r.pick(['opaque', 'opaque', 'string', 'tls', 'docker']);
  if (shape === 'tls') {
    return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(`-----BEGIN CERTIFICATE-----\n${r.alnum(64)}\n-----END CERTIFICATE-----\n`), 'tls.key': b64(`-----BEGIN PRIVATE KEY-----\n${r.alnum(64)}\n-----END PRIVATE KEY-----\n`) } };
  }
  if (shape === 'docker') {
    return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(JSON.stringify({ auths: { 'registry.example.com': { auth: b64(`ci:${r.alnum(20)}`) } } })) } };
  }
  if (shape === 'string') return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', stringData: { DATABASE_URL: `postgres://app:${r.alnum(16)}@db:5432/app`, API_TOKEN: r.alnum(32) } };
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', data: { username: b64('app'), password: b64(r.alnum(r.int(12, 40))), ...(r.chance(0.3) ? { 'config.json': b64(JSON.stringify({ key: r.alnum(10) })) } : {}) } };
}

function resources(r) {
  const res = { requests: { cpu: r.pick(['50m', '100m', '250m', '0.5', '1', 2]), memory: r.pick(['64Mi', '128Mi', '256Mi', '512M', '1Gi', '1.5Gi']) } };
  if (r.chance(0.8)) res.limits = { memory: r.pick(['256Mi', '512Mi', '1Gi', '2Gi']), ...(r.chance(0.3) ? { cpu: r.pick(['500m', '1', '2']) } : {}) };
  if (r.chance(0.1)) res.requests['ephemeral-storage'] = '1Gi';
  return res;
}

function probe(r, port) {
  const p = r.pick([
    () => ({ httpGet: { path: r.pick(['/healthz', '/ready', '/livez']), port: r.chance(0.5) ? 'http' : port, ...(r.chance(0.2) ? { scheme: 'HTTP' } : {}) } }),
    () => ({ tcpSocket: { port } }),
    () => ({ exec: { command: ['/bin/sh', '-c', 'test -f /tmp/healthy'] } }),
    () => ({ grpc: { port, ...(r.chance(0.5) ? { service: 'health' } : {}) } }),
  ])();
  if (r.chance(0.6)) p.initialDelaySeconds = r.int(0, 30);
  if (r.chance(0.7)) p.periodSeconds = r.pick([5, 10, 15, 30]);
  if (r.chance(0.4)) p.timeoutSeconds = r.int(1, 5);
  if (r.chance(0.3)) p.failureThreshold = r.int(2, 6);
  return p;
}

function envVars(r, { config, secret, team }) {
  const env = [];
  const pool = [
    () => ({ name: 'LOG_LEVEL', value: r.pick(['info', 'debug', 'warn']) }),
    () => ({ name: 'PORT', value: r.pick(['8080', '3000']) }),
    () => ({ name: 'ENABLE_METRICS', value: r.pick(['true', 'false', 'yes']) }),
    () => ({ name: 'TEAM', value: team }),
    () => ({ name: 'JAVA_OPTS', value: '-XX:MaxRAMPercentage=75 -XX:+UseG1GC' }),
    () => ({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }),
    () => ({ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }),
    () => ({ name: 'MEMORY_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } }),
    ...(secret ? [() => ({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password', ...(r.chance(0.3) ? { optional: false } : {}) } } })] : []),
    ...(config ? [() => ({ name: 'CONFIG_LEVEL', valueFrom: { configMapKeyRef: { name: config, key: 'LOG_LEVEL', optional: true } } })] : []),
  ];
  const seen = new Set();
  for (let i = r.int(1, 7); i > 0; i--) {
    const e = r.pick(pool)();
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    env.push(e);
  }
  return env;
}

function podTemplate(r, { app, labels, image, port, sa, config, secret, longRunning, team, restartPolicy }) {
  const c = { name: app.replace(/^[a-z]+-/, '').replace(/-[0-9a-z]+$/, '') || 'app', image };
  if (r.chance(0.6)) c.imagePullPolicy = r.pick(['IfNotPresent', 'Always']);
  if (r.chance(0.3)) c.command = r.pick([['/app/server'], ['python', '-m', 'app'], ['node', 'dist/main.js']]);
  if (r.chance(0.5)) c.args = r.pick([['--port', String(port)], ['--config=/etc/app/application.yaml', '--log-level=info'], ['serve', '--metrics-addr=:9090']]);
  if (longRunning) {
    c.ports = [{ name: 'http', containerPort: port, protocol: 'TCP' }];
    if (r.chance(0.3)) c.ports.push({ name: 'metrics', containerPort: 9090 });
  }
  if (r.chance(0.85)) c.env = envVars(r, { config, secret, team });
  if (r.chance(0.3)) c.envFrom = [...(config ? [{ configMapRef: { name: config } }] : []), ...(secret ? [{ secretRef: { name: secret, optional: r.chance(0.5) }, ...(r.chance(0.3) ? { prefix: 'APP_' } : {}) }] : [])];
  if (c.envFrom?.length === 0) delete c.envFrom;
  if (r.chance(0.9)) c.resources = resources(r);
  if (longRunning && r.chance(0.7)) {
    c.readinessProbe = probe(r, port);
    c.livenessProbe = probe(r, port);
    if (r.chance(0.2)) c.startupProbe = { ...probe(r, port), failureThreshold: 30 };
  }
  if (r.chance(0.6)) {
    c.securityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: r.chance(0.7), capabilities: { drop: ['ALL'], ...(r.chance(0.1) ? { add: ['NET_BIND_SERVICE'] } : {}) } };
    if (r.chance(0.4)) c.securityContext.runAsNonRoot = true;
  }
  if (longRunning && r.chance(0.15)) c.lifecycle = { preStop: r.chance(0.5) ? { exec: { command: ['/bin/sh', '-c', 'sleep 10'] } } : { sleep: { seconds: 5 } } };
  if (r.chance(0.1)) c.terminationMessagePolicy = 'FallbackToLogsOnError';

  const volumes = [];
  const mounts = [];
  if (r.chance(0.5)) {
    volumes.push({ name: 'tmp', emptyDir: r.chance(0.3) ? { medium: 'Memory', sizeLimit: '64Mi' } : {} });
    mounts.push({ name: 'tmp', mountPath: '/tmp' });
  }
  if (config && r.chance(0.6)) {
    volumes.push({ name: 'config', configMap: { name: config, ...(r.chance(0.4) ? { defaultMode: r.pick([0o644, 0o444, 0o755]) } : {}), ...(r.chance(0.3) ? { items: [{ key: 'application.yaml', path: 'application.yaml' }] } : {}) } });
    mounts.push({ name: 'config', mountPath: '/etc/app', readOnly: true });
  }
  if (secret && r.chance(0.4)) {
    volumes.push({ name: 'secrets', secret: { secretName: secret, defaultMode: 0o400, ...(r.chance(0.3) ? { optional: true } : {}) } });
    mounts.push({ name: 'secrets', mountPath: '/var/run/secrets/app', readOnly: true });
  }
  if (r.chance(0.15)) {
    volumes.push({ name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600, audience: 'vault' } }, { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }] } });
    mounts.push({ name: 'token', mountPath: '/var/run/secrets/tokens', readOnly: true });
  }
  if (mounts.length) c.volumeMounts = mounts;

  const spec = {};
  if (sa) spec.serviceAccountName = sa;
  if (r.chance(0.3)) spec.automountServiceAccountToken = false;
  if (r.chance(0.6)) spec.securityContext = { runAsNonRoot: true, runAsUser: r.pick([1000, 10001, 65532]), ...(r.chance(0.5) ? { runAsGroup: 1000, fsGroup: 1000 } : {}), seccompProfile: { type: 'RuntimeDefault' } };
  if (r.chance(0.25)) {
    spec.initContainers = [
      r.chance(0.5)
        ? { name: 'wait-for-db', image: 'busybox:1.36.1', command: ['sh', '-c', 'until nc -z db 5432; do echo waiting; sleep 2; done'], resources: { requests: { cpu: '10m', memory: '16Mi' } } }
        : { name: 'migrate', image, args: ['migrate', 'up'], ...(c.env ? { env: c.env.slice(0, 2).map((e) => ({ ...e })) } : {}) },
    ];
    if (r.chance(0.2)) spec.initContainers.push({ name: 'log-shipper', image: 'grafana/agent:v0.43.3', restartPolicy: 'Always', resources: { requests: { cpu: '20m', memory: '32Mi' } } });
  }
  spec.containers = [c];
  if (r.chance(0.15)) spec.containers.push({ name: 'proxy', image: 'envoyproxy/envoy:v1.31.2', args: ['-c', '/etc/envoy/envoy.yaml'], ports: [{ containerPort: 9901, name: 'admin' }], resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } } });
  if (volumes.length) spec.volumes = volumes;
  if (r.chance(0.3)) {
    spec.affinity = {};
    if (r.chance(0.7)) spec.affinity.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { ...labels } }, topologyKey: 'kubernetes.io/hostname' } }] };
    if (r.chance(0.5)) spec.affinity.nodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] }] } };
    if (!Object.keys(spec.affinity).length) spec.affinity.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: [app] }] }, topologyKey: 'topology.kubernetes.io/zone' }] };
  }
  if (r.chance(0.25)) spec.tolerations = [{ key: 'dedicated', operator: 'Equal', value: team, effect: 'NoSchedule' }, ...(r.chance(0.4) ? [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] : [])];
  if (r.chance(0.25)) spec.nodeSelector = { 'kubernetes.io/os': 'linux', ...(r.chance(0.5) ? { 'node.kubernetes.io/instance-type': r.pick(['m6i.large', 'c6g.xlarge']) } : {}) };
  if (r.chance(0.2)) spec.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: r.pick(['ScheduleAnyway', 'DoNotSchedule']), labelSelector: { matchLabels: { ...labels } } }];
  if (r.chance(0.3)) spec.terminationGracePeriodSeconds = r.pick([30, 60, 120]);
  if (r.chance(0.1)) spec.priorityClassName = 'high-priority';
  if (r.chance(0.2)) spec.imagePullSecrets = [{ name: 'registry-credentials' }];
  if (r.chance(0.05)) spec.dnsPolicy = 'ClusterFirst';
  if (restartPolicy) spec.restartPolicy = restartPolicy;
  const metadata = { labels: { ...labels } };
  if (r.chance(0.3)) metadata.annotations = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', ...(config ? { 'checksum/config': r.hex(64) } : {}) };
  return { metadata, spec };
}

function ingress(r, metadata, app, team) {
  const host = `${app}.${team}.example.com`;
  const o = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata, spec: {} };
  if (r.chance(0.8)) o.spec.ingressClassName = r.pick(['nginx', 'traefik']);
  if (r.chance(0.6)) o.spec.tls = [{ hosts: [host], secretName: `${app}-tls` }];
  o.spec.rules = [
    {
      host,
      http: {
        paths: [
          { path: '/', pathType: r.pick(['Prefix', 'ImplementationSpecific']), backend: { service: { name: app, port: r.chance(0.5) ? { number: 80 } : { name: 'http' } } } },
          ...(r.chance(0.3) ? [{ path: '/api/v1/exact', pathType: 'Exact', backend: { service: { name: app, port: { number: 8080 } } } }] : []),
        ],
      },
    },
  ];
  return o;
}

function hpa(r, metadata, app) {
  const o = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata,
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app },
      minReplicas: r.int(1, 3),
      maxReplicas: r.int(4, 30),
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: r.pick([60, 70, 80]) } } }],
    },
  };
  if (r.chance(0.4)) o.spec.metrics.push({ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: r.pick(['512Mi', '1Gi']) } } });
  if (r.chance(0.3)) o.spec.behavior = { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] }, scaleUp: { selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }] } };
  return o;
}

function networkPolicy(r, metadata, selector, port, team) {
  const o = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec: { podSelector: { matchLabels: { ...selector } }, policyTypes: ['Ingress'] } };
  o.spec.ingress = [
    {
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': team } } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
      ports: [{ protocol: 'TCP', port }],
    },
  ];
  if (r.chance(0.4)) {
    o.spec.policyTypes.push('Egress');
    o.spec.egress = [
      { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] } }], ports: [{ protocol: 'TCP', port: 5432 }] },
    ];
  }
  return o;
}

function jobSpec(r, { app, image, sa, config, secret, team }) {
  const template = podTemplate(r, { app, labels: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/component': 'job' }, image, port: 8080, sa, config, secret, longRunning: false, team, restartPolicy: r.pick(['OnFailure', 'Never']) });
  const spec = { backoffLimit: r.int(0, 6), template };
  if (r.chance(0.4)) spec.ttlSecondsAfterFinished = r.pick([300, 3600, 86400]);
  if (r.chance(0.3)) spec.activeDeadlineSeconds = r.pick([600, 3600]);
  return spec;
}

function cronJob(r, metadata, a) {
  const spec = { schedule: r.pick(['*/15 * * * *', '0 3 * * *', '30 2 * * 0', '@hourly']), jobTemplate: { spec: jobSpec(r, a) } };
  if (r.chance(0.3)) spec.timeZone = r.pick(['Etc/UTC', 'Europe/Berlin']);
  if (r.chance(0.6)) spec.concurrencyPolicy = r.pick(['Forbid', 'Replace', 'Allow']);
  if (r.chance(0.5)) Object.assign(spec, { successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
  if (r.chance(0.2)) spec.startingDeadlineSeconds = 200;
  if (r.chance(0.1)) spec.suspend = false;
  return { apiVersion: 'batch/v1', kind: 'CronJob', metadata, spec };
}

function job(r, metadata, a) {
  const spec = jobSpec(r, a);
  if (r.chance(0.3)) Object.assign(spec, { completions: r.int(1, 5), parallelism: r.int(1, 3) });
  return { apiVersion: 'batch/v1', kind: 'Job', metadata, spec };
}

/** What `kubectl get -o yaml` adds: uid, resourceVersion, timestamps, managedFields, status. */
function asExported(r, o) {
  const x = structuredClone(o);
  const created = `2025-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}T${String(r.int(0, 23)).padStart(2, '0')}:14:07Z`;
  x.metadata = {
    ...x.metadata,
    uid: `${r.hex(8)}-${r.hex(4)}-${r.hex(4)}-${r.hex(4)}-${r.hex(12)}`,
    resourceVersion: String(r.int(1000, 99999999)),
    creationTimestamp: created,
    ...(x.spec && x.kind !== 'Service' ? { generation: r.int(1, 40) } : {}),
    managedFields: [{ apiVersion: x.apiVersion, fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app.kubernetes.io/name': {} } }, ...(x.spec ? { 'f:spec': {} } : {}) }, manager: 'kubectl-client-side-apply', operation: 'Update', time: created }],
  };
  if (x.kind === 'Deployment') x.status = { observedGeneration: x.metadata.generation, replicas: x.spec.replicas, readyReplicas: x.spec.replicas, availableReplicas: x.spec.replicas, updatedReplicas: x.spec.replicas, conditions: [{ type: 'Available', status: 'True', lastTransitionTime: created, lastUpdateTime: created, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }] };
  if (x.kind === 'Service') x.spec = { ...x.spec, clusterIP: x.spec.clusterIP ?? `10.96.${r.int(0, 255)}.${r.int(1, 254)}`, clusterIPs: [x.spec.clusterIP ?? '10.96.0.1'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' };
  if (x.kind === 'Service') x.status = { loadBalancer: {} };
  return x;
}

/** What `kubectl create … --dry-run=client -o yaml` writes: creationTimestamp null, empty status. */
function asDryRun(o) {
  const x = structuredClone(o);
  x.metadata = { ...x.metadata, creationTimestamp: null };
  if (['Deployment', 'Service', 'Job', 'CronJob'].includes(x.kind)) x.status = {}; // what kubectl create makes; a StatefulSet's status needs replicas
  return x;
}

// ── CRDs and custom resources ────────────────────────────────────────────────

const str = { type: 'string' };
const CRDS = [
  {
    group: 'certs.kubeline.example',
    kind: 'Certificate',
    plural: 'certificates',
    suffix: '-cert',
    versions: ['v1'],
    schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          required: ['secretName', 'issuerRef', 'dnsNames'],
          properties: {
            secretName: str,
            dnsNames: { type: 'array', minItems: 1, items: str },
            duration: { type: 'string', pattern: '^[0-9]+(h|m|s)$' },
            issuerRef: { type: 'object', required: ['name'], properties: { name: str, kind: { type: 'string', enum: ['Issuer', 'ClusterIssuer'] } } },
            usages: { type: 'array', items: { type: 'string', enum: ['digital signature', 'key encipherment', 'server auth', 'client auth'] } },
            privateKey: { type: 'object', properties: { algorithm: { type: 'string', enum: ['RSA', 'ECDSA', 'Ed25519'] }, size: { type: 'integer', minimum: 256, maximum: 8192 }, rotationPolicy: { type: 'string', enum: ['Never', 'Always'] } } },
          },
        },
        status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
    example: (r, metadata, { app }) => ({
      apiVersion: 'certs.kubeline.example/v1',
      kind: 'Certificate',
      metadata,
      spec: {
        secretName: `${app}-tls`,
        dnsNames: [`${app}.example.com`, ...(r.chance(0.5) ? [`www.${app}.example.com`] : [])],
        ...(r.chance(0.5) ? { duration: r.pick(['2160h', '720h']) } : {}),
        issuerRef: { name: 'letsencrypt', kind: r.pick(['Issuer', 'ClusterIssuer']) },
        ...(r.chance(0.5) ? { usages: ['digital signature', 'key encipherment', 'server auth'] } : {}),
        ...(r.chance(0.5) ? { privateKey: { algorithm: r.pick(['RSA', 'ECDSA']), size: r.pick([2048, 4096, 256]), rotationPolicy: 'Always' } } : {}),
      },
    }),
  },
  {
    group: 'monitoring.kubeline.example',
    kind: 'ServiceMonitor',
    plural: 'servicemonitors',
    suffix: '-monitor',
    versions: ['v1'],
    schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          required: ['selector', 'endpoints'],
          properties: {
            selector: { type: 'object', properties: { matchLabels: { type: 'object', additionalProperties: str } } },
            namespaceSelector: { type: 'object', properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: str } } },
            endpoints: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  port: str,
                  targetPort: { 'x-kubernetes-int-or-string': true },
                  path: str,
                  interval: { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$' },
                  scheme: { type: 'string', enum: ['http', 'https'] },
                  honorLabels: { type: 'boolean' },
                },
              },
            },
          },
        },
      },
    },
    example: (r, metadata, { selector }) => ({
      apiVersion: 'monitoring.kubeline.example/v1',
      kind: 'ServiceMonitor',
      metadata,
      spec: {
        selector: { matchLabels: { ...selector } },
        ...(r.chance(0.3) ? { namespaceSelector: { matchNames: [metadata.namespace] } } : {}),
        endpoints: [{ port: 'metrics', path: '/metrics', interval: r.pick(['30s', '1m', '15s']), ...(r.chance(0.3) ? { scheme: 'http', honorLabels: true } : {}), ...(r.chance(0.2) ? { targetPort: 9090 } : {}) }],
      },
    }),
  },
  {
    group: 'backup.kubeline.example',
    kind: 'Backup',
    plural: 'backups',
    suffix: '-backup',
    versions: ['v1beta1', 'v1'],
    deprecated: 'v1beta1',
    schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          required: ['target', 'schedule'],
          properties: {
            schedule: str,
            paused: { type: 'boolean' },
            target: { type: 'object', required: ['kind', 'name'], properties: { kind: { type: 'string', enum: ['Deployment', 'StatefulSet', 'PersistentVolumeClaim'] }, name: str } },
            retention: { type: 'object', properties: { keepLast: { type: 'integer', minimum: 1 }, keepDaily: { type: 'integer', minimum: 0 } } },
            storageLocation: str,
            ttl: { 'x-kubernetes-int-or-string': true },
          },
        },
      },
    },
    example: (r, metadata, { app }) => ({
      apiVersion: `backup.kubeline.example/${r.chance(0.1) ? 'v1beta1' : 'v1'}`,
      kind: 'Backup',
      metadata,
      spec: {
        schedule: r.pick(['0 1 * * *', '@daily']),
        target: { kind: r.pick(['Deployment', 'StatefulSet']), name: app },
        retention: { keepLast: r.int(1, 14), ...(r.chance(0.5) ? { keepDaily: 7 } : {}) },
        ...(r.chance(0.5) ? { storageLocation: 's3://backups/prod' } : {}),
        ...(r.chance(0.3) ? { ttl: r.pick(['720h', 86400]) } : {}),
        ...(r.chance(0.2) ? { paused: false } : {}),
      },
    }),
  },
  {
    group: 'flags.kubeline.example',
    kind: 'FeatureFlagSet',
    plural: 'featureflagsets',
    suffix: '-flags',
    versions: ['v1alpha1'],
    schema: {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            flags: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: { type: 'string', pattern: '^[a-z][a-z0-9-]*$', maxLength: 63 },
                  enabled: { type: 'boolean' },
                  rollout: { type: 'integer', minimum: 0, maximum: 100 },
                  variants: { type: 'object', additionalProperties: str },
                },
              },
            },
            defaults: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    },
    example: (r, metadata) => ({
      apiVersion: 'flags.kubeline.example/v1alpha1',
      kind: 'FeatureFlagSet',
      metadata,
      spec: {
        flags: [
          { name: 'checkout-v2', enabled: r.chance(0.5), rollout: r.int(0, 100) },
          ...(r.chance(0.5) ? [{ name: 'dark-mode', enabled: true, variants: { on: 'dark', off: 'light' } }] : []),
        ],
        ...(r.chance(0.4) ? { defaults: { anything: { goes: [1, 'two', true] } } } : {}),
      },
    }),
  },
];

function crdObject(crd) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${crd.plural}.${crd.group}`, labels: { 'app.kubernetes.io/part-of': 'platform' } },
    spec: {
      group: crd.group,
      scope: 'Namespaced',
      names: { kind: crd.kind, listKind: `${crd.kind}List`, plural: crd.plural, singular: crd.kind.toLowerCase(), ...(crd.kind === 'Certificate' ? { shortNames: ['cert', 'certs'] } : {}) },
      versions: crd.versions.map((name) => ({
        name,
        served: true,
        storage: name === crd.versions.at(-1),
        ...(crd.deprecated === name ? { deprecated: true, deprecationWarning: `${crd.group}/${name} ${crd.kind} is deprecated; use ${crd.group}/${crd.versions.at(-1)}` } : {}),
        schema: { openAPIV3Schema: crd.schema },
        ...(name === crd.versions.at(-1) ? { subresources: { status: {} }, additionalPrinterColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }] } : {}),
      })),
    },
  };
}

// ── mistakes ──────────────────────────────────────────────────────────────────

const POD = { Deployment: ['spec', 'template', 'spec'], StatefulSet: ['spec', 'template', 'spec'], DaemonSet: ['spec', 'template', 'spec'], Job: ['spec', 'template', 'spec'], CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] };
const CUSTOM = new Set(CRDS.map((c) => c.kind));

const get = (o, path) => path.reduce((x, k) => (x == null ? undefined : x[k]), o);
const isMap = (x) => typeof x === 'object' && x !== null && !Array.isArray(x);
const fmt = (path) => path.reduce((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');
/** Renames a key in place, keeping its position (a typo is where the field was). */
function renameKey(map, from, to) {
  const entries = Object.entries(map);
  for (const k of Object.keys(map)) delete map[k];
  for (const [k, v] of entries) map[k === from ? to : k] = v;
}

/** Ways to make one mistake: [path, apply(object) → description] for an object, where they apply. */
const OBJECT_MISTAKES = [
  {
    category: 'unknown-field-top',
    kubeconform: true,
    options: (o) => {
      const out = [];
      for (const [key, typos] of [['spec', ['spce', 'sepc', 'Spec']], ['data', ['date', 'Data']], ['rules', ['rule']], ['subjects', ['subject']], ['stringData', ['stringdata']]]) {
        if (o[key] !== undefined) {
          const typo = typos[(o.metadata?.name?.length ?? 0) % typos.length];
          out.push([[typo], () => (renameKey(o, key, typo), `top-level "${key}" misspelled "${typo}"`)]);
        }
      }
      if (o.metadata?.labels) out.push([['labels'], () => ((o.labels = { ...o.metadata.labels }), 'labels at the top level instead of under metadata')]);
      return out;
    },
  },
  {
    category: 'unknown-field-deep',
    kubeconform: true,
    options: (o) => {
      const out = [];
      const pod = POD[o.kind];
      const typo = (path, key, to) => {
        const map = get(o, path);
        if (isMap(map) && map[key] !== undefined) out.push([[...path, to], () => (renameKey(map, key, to), `${fmt([...path, key])} misspelled "${to}"`)]);
      };
      if (pod) {
        const c = [...pod, 'containers', 0];
        typo(c, 'imagePullPolicy', 'imagePullpolicy');
        typo(c, 'resources', 'resource');
        typo(c, 'livenessProbe', 'livenessprobe');
        typo(c, 'volumeMounts', 'volumeMount');
        typo(c, 'env', 'environment');
        typo([...c, 'securityContext'], 'readOnlyRootFilesystem', 'readOnlyRootFileSystem');
        typo([...c, 'readinessProbe'], 'initialDelaySeconds', 'initialDelaySecond');
        typo([...c, 'readinessProbe', 'httpGet'], 'path', 'paht');
        typo(pod, 'nodeSelector', 'nodeselector');
        typo(pod, 'serviceAccountName', 'serviceAccountname');
        typo(pod, 'restartPolicy', 'restartpolicy');
        typo(pod, 'tolerations', 'toleration');
        typo([...pod, 'securityContext'], 'runAsNonRoot', 'runAsNonroot');
      }
      typo(['spec', 'ports', 0], 'targetPort', 'targetport');
      typo(['spec', 'rules', 0, 'http', 'paths', 0], 'pathType', 'pathtype');
      typo(['spec'], 'minReplicas', 'minReplica');
      typo(['spec'], 'minAvailable', 'minAvailible');
      typo(['spec', 'volumeClaimTemplates', 0, 'spec'], 'accessModes', 'accessMode');
      typo(['roleRef'], 'apiGroup', 'apigroup');
      return out;
    },
  },
  {
    category: 'wrong-type-string-for-integer',
    kubeconform: true,
    options: (o) => {
      const pod = POD[o.kind] ?? ['-'];
      const paths = [['spec', 'replicas'], [...pod, 'containers', 0, 'ports', 0, 'containerPort'], ['spec', 'ports', 0, 'port'], ['spec', 'maxReplicas'], ['spec', 'backoffLimit'], ['spec', 'successfulJobsHistoryLimit'], [...pod, 'containers', 0, 'readinessProbe', 'periodSeconds'], [...pod, 'terminationGracePeriodSeconds']];
      return paths.filter((p) => typeof get(o, p) === 'number').map((p) => [p, () => (setAt(o, p, String(get(o, p))), `${fmt(p)} quoted: "${get(o, p)}"`)]);
    },
  },
  {
    category: 'wrong-type-scalar-for-string',
    kubeconform: true,
    options: (o) => {
      const out = [];
      const pod = POD[o.kind];
      const env = pod && get(o, [...pod, 'containers', 0, 'env']);
      if (Array.isArray(env)) {
        env.forEach((e, i) => {
          if (typeof e?.value === 'string') out.push([[...pod, 'containers', 0, 'env', i, 'value'], () => ((e.value = /^\d+$/.test(e.value) ? Number(e.value) : true), `env ${e.name} value unquoted (${e.value})`)]);
        });
      }
      if (isMap(o.data) && o.kind === 'ConfigMap') {
        const k = Object.keys(o.data)[0];
        out.push([['data', k], () => ((o.data[k] = 8080), `ConfigMap data ${k} as a number`)]);
      }
      if (isMap(o.metadata?.labels) && o.metadata.labels['app.kubernetes.io/version']) out.push([['metadata', 'labels', 'app.kubernetes.io/version'], () => ((o.metadata.labels['app.kubernetes.io/version'] = 1.4), 'label value 1.4 (a number)')]);
      if (isMap(o.metadata?.annotations)) {
        const k = Object.keys(o.metadata.annotations)[0];
        out.push([['metadata', 'annotations', k], () => ((o.metadata.annotations[k] = true), `annotation ${k}: true (a boolean)`)]);
      }
      return out;
    },
  },
  {
    category: 'wrong-type-map-for-list',
    kubeconform: true,
    options: (o) => {
      const out = [];
      const pod = POD[o.kind];
      const firstOf = (path, what) => {
        const list = get(o, path);
        if (Array.isArray(list) && isMap(list[0])) out.push([path, () => (setAt(o, path, list[0]), `${fmt(path)} written as one mapping, without "- " (${what})`)]);
      };
      if (pod) {
        const c = [...pod, 'containers', 0];
        const env = get(o, [...c, 'env']);
        if (Array.isArray(env) && env.every((e) => typeof e.value === 'string')) out.push([[...c, 'env'], () => (setAt(o, [...c, 'env'], Object.fromEntries(env.map((e) => [e.name, e.value]))), 'env as a NAME: value mapping')]);
        firstOf([...c, 'ports'], 'container ports');
        firstOf([...pod, 'tolerations'], 'tolerations');
        firstOf([...pod, 'imagePullSecrets'], 'imagePullSecrets');
        const args = get(o, [...c, 'args']);
        if (Array.isArray(args) && args.length === 2 && args[0] === '--port') out.push([[...c, 'args'], () => (setAt(o, [...c, 'args'], { '--port': args[1] }), 'args as a mapping')]);
      }
      if (o.kind === 'Service') firstOf(['spec', 'ports'], 'Service ports');
      if (o.kind === 'Role') firstOf(['rules'], 'rules');
      if (o.kind === 'RoleBinding') firstOf(['subjects'], 'subjects');
      if (o.kind === 'Ingress') firstOf(['spec', 'tls'], 'tls');
      return out;
    },
  },
  {
    category: 'wrong-type-list-for-map',
    kubeconform: true,
    options: (o) => {
      const out = [];
      const pod = POD[o.kind];
      const asList = (path) => {
        const map = get(o, path);
        if (isMap(map) && Object.keys(map).length && Object.values(map).every((v) => typeof v === 'string' || typeof v === 'number'))
          out.push([path, () => (setAt(o, path, Object.entries(map).map(([k, v]) => `${k}=${v}`)), `${fmt(path)} written as a list of key=value`)]);
      };
      asList(['metadata', 'labels']);
      if (o.kind === 'ConfigMap') asList(['data']);
      if (o.kind === 'Service') asList(['spec', 'selector']);
      if (pod) {
        asList([...pod, 'nodeSelector']);
        asList([...pod, 'containers', 0, 'resources', 'limits']);
      }
      return out;
    },
  },
  {
    category: 'wrong-type-number-in-string-list',
    kubeconform: true,
    options: (o) => {
      const pod = POD[o.kind];
      if (!pod) return [];
      const args = get(o, [...pod, 'containers', 0, 'args']);
      if (Array.isArray(args) && args[0] === '--port') return [[[...pod, 'containers', 0, 'args', 1], () => ((args[1] = Number(args[1])), 'args port unquoted (a number in a list of strings)')]];
      const command = get(o, [...pod, 'initContainers', 0, 'command']);
      if (Array.isArray(command)) return [[[...pod, 'initContainers', 0, 'command'], () => (command.push(5432), 'init container command with a number item')]];
      return [];
    },
  },
  {
    category: 'missing-container-name',
    kubeconform: true,
    options: (o) => {
      const pod = POD[o.kind];
      if (!pod) return [];
      const out = [[[...pod, 'containers', 0], () => (delete get(o, [...pod, 'containers', 0]).name, 'first container has no name')]];
      if (get(o, [...pod, 'initContainers', 0])) out.push([[...pod, 'initContainers', 0], () => (delete get(o, [...pod, 'initContainers', 0]).name, 'init container has no name')]);
      return out;
    },
  },
  {
    category: 'missing-selector',
    kubeconform: true,
    options: (o) => (['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind) && o.spec?.selector ? [[['spec'], () => (delete o.spec.selector, `${o.kind} without spec.selector`)]] : []),
  },
  {
    category: 'missing-required-field',
    kubeconform: true,
    options: (o) => {
      const out = [];
      const pod = POD[o.kind];
      const drop = (path, key, what) => {
        const map = get(o, path);
        if (isMap(map) && map[key] !== undefined) out.push([path, () => (delete map[key], what)]);
      };
      if (o.kind === 'Service') drop(['spec', 'ports', 0], 'port', 'Service port without port');
      if (o.kind === 'Ingress') drop(['spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service'], 'name', 'Ingress backend service without name');
      if (o.kind === 'RoleBinding') drop([], 'roleRef', 'RoleBinding without roleRef');
      if (o.kind === 'Role') drop(['rules', 0], 'verbs', 'Role rule without verbs');
      if (o.kind === 'HorizontalPodAutoscaler') drop(['spec'], 'scaleTargetRef', 'HPA without scaleTargetRef');
      if (o.kind === 'CronJob') drop(['spec'], 'schedule', 'CronJob without schedule');
      if (pod) {
        drop([...pod, 'containers', 0, 'volumeMounts', 0], 'mountPath', 'volumeMount without mountPath');
        drop([...pod, 'volumes', 0], 'name', 'volume without name');
        drop([...pod, 'containers', 0, 'env', 0], 'name', 'env entry without name');
        drop([...pod, 'affinity', 'podAntiAffinity', 'preferredDuringSchedulingIgnoredDuringExecution', 0, 'podAffinityTerm'], 'topologyKey', 'podAffinityTerm without topologyKey');
      }
      return out;
    },
  },
  {
    category: 'bad-int-or-string',
    kubeconform: true,
    options: (o) => {
      const out = [];
      const pod = POD[o.kind];
      const put = (path, value, what) => {
        if (get(o, path) !== undefined) out.push([path, () => (setAt(o, path, value), what)]);
      };
      put(['spec', 'ports', 0, 'targetPort'], 8080.5, 'Service targetPort 8080.5');
      put(['spec', 'strategy', 'rollingUpdate', 'maxSurge'], 0.25, 'maxSurge 0.25 (meant 25%)');
      put(['spec', 'minAvailable'], 0.5, 'PDB minAvailable 0.5 (meant 50%)');
      put(['spec', 'maxUnavailable'], true, 'PDB maxUnavailable true');
      if (pod) put([...pod, 'containers', 0, 'readinessProbe', 'httpGet', 'port'], [8080], 'probe port as a list');
      return out;
    },
  },
  {
    category: 'bad-quantity-type',
    kubeconform: true,
    options: (o) => {
      const pod = POD[o.kind];
      const out = [];
      if (pod && get(o, [...pod, 'containers', 0, 'resources', 'requests', 'cpu']) !== undefined) out.push([[...pod, 'containers', 0, 'resources', 'requests', 'cpu'], () => (setAt(o, [...pod, 'containers', 0, 'resources', 'requests', 'cpu'], true), 'cpu request true')]);
      if (pod && get(o, [...pod, 'containers', 0, 'resources', 'limits', 'memory']) !== undefined) out.push([[...pod, 'containers', 0, 'resources', 'limits', 'memory'], () => (setAt(o, [...pod, 'containers', 0, 'resources', 'limits', 'memory'], { value: 512, unit: 'Mi' }), 'memory limit as a mapping')]);
      if (o.kind === 'PersistentVolumeClaim') out.push([['spec', 'resources', 'requests', 'storage'], () => (setAt(o, ['spec', 'resources', 'requests', 'storage'], ['5Gi']), 'storage request as a list')]);
      return out;
    },
  },
  {
    category: 'null-list-item',
    kubeconform: true,
    options: (o) => {
      const pod = POD[o.kind];
      if (!pod) return [];
      const containers = get(o, [...pod, 'containers']);
      const out = [[[...pod, 'containers', containers.length], () => (containers.push(null), 'a stray "-": null item in containers')]];
      const env = get(o, [...pod, 'containers', 0, 'env']);
      if (Array.isArray(env)) out.push([[...pod, 'containers', 0, 'env', env.length], () => (env.push(null), 'a stray "-": null item in env')]);
      const args = get(o, [...pod, 'containers', 0, 'args']);
      if (Array.isArray(args)) out.push([[...pod, 'containers', 0, 'args', args.length], () => (args.push(null), 'a stray "-": null item in args')]);
      return out;
    },
  },
  {
    category: 'null-map-value',
    kubeconform: true,
    options: (o) => {
      const out = [];
      const empty = (path, what) => {
        if (typeof get(o, path) === 'string') out.push([path, () => (setAt(o, path, null), what)]);
      };
      empty(['metadata', 'labels', 'app.kubernetes.io/version'], 'templated label value rendered empty');
      if (o.kind === 'ConfigMap' && isMap(o.data)) empty(['data', Object.keys(o.data)[0]], 'ConfigMap data value empty');
      if (o.kind === 'Service') empty(['spec', 'selector', 'app.kubernetes.io/name'], 'Service selector value empty');
      if (isMap(o.metadata?.annotations)) empty(['metadata', 'annotations', Object.keys(o.metadata.annotations)[0]], 'annotation value empty');
      return out;
    },
  },
  // Beyond kubeconform's reach.
  {
    category: 'removed-api',
    kubeconform: false,
    options: (o) => {
      const old = { Deployment: ['extensions/v1beta1', 'apps/v1beta2'], Ingress: ['extensions/v1beta1', 'networking.k8s.io/v1beta1'], PodDisruptionBudget: ['policy/v1beta1'], CronJob: ['batch/v1beta1'], HorizontalPodAutoscaler: ['autoscaling/v2beta2'] }[o.kind];
      if (!old) return [];
      const to = old[(o.metadata?.name?.length ?? 0) % old.length];
      return [[['apiVersion'], () => ((o.apiVersion = to), `${o.kind} as ${to} (removed)`)]];
    },
  },
  {
    category: 'bad-quantity-syntax',
    kubeconform: false,
    options: (o) => {
      const pod = POD[o.kind];
      if (!pod) return [];
      const out = [];
      for (const [path, value] of [[[...pod, 'containers', 0, 'resources', 'requests', 'memory'], '512MB'], [[...pod, 'containers', 0, 'resources', 'requests', 'cpu'], '1 core'], [[...pod, 'containers', 0, 'resources', 'limits', 'memory'], '1.5 Gi']]) {
        if (get(o, path) !== undefined) out.push([path, () => (setAt(o, path, value), `quantity "${value}"`)]);
      }
      return out;
    },
  },
  {
    category: 'invalid-name',
    kubeconform: false,
    options: (o) => (o.kind !== 'Namespace' && !o.kind.startsWith('Role') && o.metadata?.name ? [[['metadata', 'name'], () => ((o.metadata.name = o.metadata.name.replace(/-([a-z])/, (_, c) => `_${c.toUpperCase()}`)), `name "${o.metadata.name}" (uppercase, underscore)`)]] : []),
  },
  {
    category: 'invalid-label',
    kubeconform: false,
    options: (o) => (isMap(o.metadata?.labels) ? [[['metadata', 'labels', 'team owner'], () => ((o.metadata.labels['team owner'] = 'payments team'), 'label key and value with spaces')]] : []),
  },
  {
    category: 'secret-not-base64',
    kubeconform: false,
    options: (o) => (o.kind === 'Secret' && isMap(o.data) ? [[['data', Object.keys(o.data)[0]], () => ((o.data[Object.keys(o.data)[0]] = 'hunter2 not encoded!'), 'Secret data in plain text (not base64)')]] : []),
  },
  {
    category: 'custom-resource-schema',
    kubeconform: false,
    options: (o) => {
      if (!CUSTOM.has(o.kind)) return [];
      const s = o.spec;
      switch (o.kind) {
        case 'Certificate':
          return [
            [['spec', 'issuerRef', 'kind'], () => ((s.issuerRef.kind = 'ClusterIssuers'), 'issuerRef.kind not in the enum')],
            [['spec', 'dnsName'], () => (renameKey(s, 'dnsNames', 'dnsName'), 'spec.dnsNames misspelled')],
            [['spec'], () => (delete s.secretName, 'required spec.secretName missing')],
          ];
        case 'ServiceMonitor':
          return [
            [['spec', 'endpoints', 0, 'scheme'], () => ((s.endpoints[0].scheme = 'HTTP'), 'scheme "HTTP" not in the enum (case)')],
            [['spec', 'endpoints', 0, 'intervall'], () => (renameKey(s.endpoints[0], 'interval', 'intervall'), 'endpoint interval misspelled')],
          ];
        case 'Backup':
          return [
            [['spec', 'target', 'kind'], () => ((s.target.kind = 'Deploy'), 'target.kind not in the enum')],
            [['spec', 'retention', 'keepLast'], () => ((s.retention.keepLast = '7'), 'keepLast quoted')],
          ];
        case 'FeatureFlagSet':
          return [
            [['spec', 'flags', 0, 'rollout'], () => ((s.flags[0].rollout = '50%'), 'rollout "50%" for an integer')],
            [['spec', 'flags', 0, 'name'], () => ((s.flags[0].name = 'Checkout_V2'), 'flag name against its pattern')],
          ];
      }
      return [];
    },
  },
];

/** Mistakes made in the text of a document (YAML level): none for List items and JSON files. */
const TEXT_MISTAKES = [
  {
    category: 'yaml-duplicate-key',
    kubeconform: true,
    options: (lines) => {
      const out = [];
      const name = nameLine(lines);
      if (name >= 0) out.push([name, () => (lines.splice(name + 1, 0, lines[name]), 'metadata.name written twice')]);
      const image = lines.findIndex((l) => /^\s+(- )?image: \S/.test(l));
      if (image >= 0) {
        const indent = /^(\s+)(- )?/.exec(lines[image]);
        out.push([image, () => (lines.splice(image + 1, 0, `${indent[1]}${indent[2] ? '  ' : ''}image: ${lines[image].split('image: ')[1]}`), 'container image written twice')]);
      }
      const labels = lines.findIndex((l, i) => i > 0 && /^ {2}labels:$/.test(l) && /^ {4}\S/.test(lines[i + 1] ?? ''));
      if (labels >= 0) out.push([labels + 1, () => (lines.splice(labels + 2, 0, lines[labels + 1].replace(/: .*$/, ': copy')), 'a label key written twice')]);
      return out;
    },
  },
  {
    category: 'yaml-syntax',
    kubeconform: true,
    options: (lines) => {
      const name = nameLine(lines);
      if (name < 0) return [];
      const out = [
        [name, () => ((lines[name] = lines[name].replace(/name: "?([^"]*)"?$/, 'name: "$1')), 'unclosed quote in metadata.name')],
        [name, () => ((lines[name] = lines[name].replace(/^ {2}/, '\t')), 'tab indentation')],
      ];
      if (/^ {2}[a-z]/.test(lines[name + 1] ?? '')) out.push([name + 1, () => ((lines[name + 1] = lines[name + 1].slice(1)), 'a metadata key indented one space less')]);
      return out;
    },
  },
];

/** The `  name:` line right under the top-level `metadata:` line. */
function nameLine(lines) {
  const m = lines.findIndex((l) => l === 'metadata:');
  if (m < 0) return -1;
  for (let i = m + 1; i < lines.length && /^ {2}/.test(lines[i]); i++) if (/^ {2}name: \S/.test(lines[i])) return i;
  return -1;
}

function setAt(o, path, value) {
  get(o, path.slice(0, -1))[path.at(-1)] = value;
}

/**
 * Picks `count` objects and one mistake each, spreading the categories evenly (those kubeconform
 * can catch three times as often as the others): the categories take turns, each taking the next
 * object (in a shuffled order) it applies to. Marks the documents; write() records the lines.
 */
function seedMistakes(r, docs, count) {
  // Objects that can take a mistake: not CRDs (their custom resources need them), one per document
  // except in Lists (one per item).
  const targets = [];
  docs.forEach((d, di) => {
    if (d.section === 'crds') return;
    if (d.items) d.items.forEach((_, ii) => targets.push({ di, ii }));
    else targets.push({ di });
  });
  r.shuffle(targets);
  const used = new Set();
  let deck = r.shuffle([...OBJECT_MISTAKES, ...TEXT_MISTAKES].flatMap((c) => (c.kubeconform ? [c, c, c] : [c])).map((c) => ({ c, cursor: r.int(0, targets.length - 1), seen: 0 })));
  const mistakes = [];
  for (let turn = 0; mistakes.length < count && deck.length; turn++) {
    const entry = deck[turn % deck.length];
    const { c } = entry;
    const isText = TEXT_MISTAKES.includes(c);
    let placed = false;
    while (!placed && entry.seen < targets.length) {
      const t = targets[entry.cursor];
      entry.cursor = (entry.cursor + 1) % targets.length;
      entry.seen++;
      const key = `${t.di}/${t.ii ?? ''}`;
      const d = docs[t.di];
      const o = t.ii !== undefined ? d.items[t.ii] : d.object;
      if (used.has(key) || (isText && (d.items || d.json)) || (!isText && !o)) continue;
      const lines = isText ? (d.text ?? yamlText(o)).split('\n') : undefined;
      const options = isText ? c.options(lines) : c.options(o);
      if (!options.length) continue;
      const [path, apply] = r.pick(options);
      const ref = identity(o ?? d);
      const what = apply();
      if (isText) {
        d.text = lines.join('\n');
        delete d.object;
      }
      if (c.category.startsWith('null-')) d.nulls = true; // written as `key:` and a bare `-`, as templates leave them
      used.add(key);
      // A document takes one YAML-level mistake at most, and none beside an object-level one.
      if (isText || !d.items) used.add(`${t.di}/`);
      // kubeconform has no schema for custom resources (it skips them), but it parses their YAML.
      mistakes.push({ doc: t.di, item: t.ii, category: c.category, kubeconform: c.kubeconform && (isText || !CUSTOM.has(ref.kind)), kind: ref.kind, name: identity(o ?? d).name, namespace: ref.namespace, path: isText ? undefined : fmt(path), what });
      placed = true;
    }
    if (!placed) deck = deck.filter((e) => e !== entry); // nothing left it applies to
  }
  return mistakes;
}

function identity(x) {
  if (x.metadata) return { kind: x.kind, name: x.metadata.name ?? '', namespace: x.metadata.namespace };
  const text = x.text ?? '';
  return { kind: x.kind, name: /^ {2}name: "?([^"\n]*)"?$/m.exec(text)?.[1] ?? '', namespace: /^ {2}namespace: (\S+)$/m.exec(text)?.[1] };
}

// ── writing ───────────────────────────────────────────────────────────────────

const yamlText = (o) => stringify(o, { version: '1.1', lineWidth: 0 });

function write(dir, docs, mistakes) {
  const objectsDir = join(dir, OBJECTS);
  rmSync(objectsDir, { recursive: true, force: true });
  const byFile = new Map();
  docs.forEach((d, i) => {
    if (!byFile.has(d.file)) byFile.set(d.file, []);
    byFile.get(d.file).push(i);
  });
  const where = new Map(); // doc index → { file, doc, lines }
  let bytes = 0;
  for (const [file, indices] of byFile) {
    let text = '';
    let line = 1;
    indices.forEach((di, n) => {
      const d = docs[di];
      let body = d.json ? JSON.stringify(d.object, null, 2) + '\n' : d.text ?? (d.items ? yamlText({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: d.items }) : yamlText(d.object));
      if (d.nulls && !d.json) body = body.replace(/^(\s*)- null$/gm, '$1-').replace(/: null$/gm, ':');
      if (!body.endsWith('\n')) body += '\n';
      // Helm output starts every document with `---`; hand-written files only separate them.
      const sep = d.helm || n > 0 ? '---\n' : '';
      const start = line;
      text += sep + body;
      line += (sep + body).split('\n').length - 1;
      where.set(di, { file: `${OBJECTS}/${file}`, doc: n, lines: [start, line - 1] });
    });
    mkdirSync(dirname(join(objectsDir, file)), { recursive: true });
    writeFileSync(join(objectsDir, file), text);
    bytes += Buffer.byteLength(text);
  }
  for (const m of mistakes) {
    const w = where.get(m.doc);
    Object.assign(m, { file: w.file, doc: w.doc, lines: w.lines });
    if (m.item === undefined) delete m.item;
    if (m.path === undefined) delete m.path;
    if (m.namespace === undefined) delete m.namespace;
  }
  // Keys in a stable, readable order.
  mistakes.forEach((m, i) => {
    mistakes[i] = Object.fromEntries(['file', 'doc', 'item', 'lines', 'kind', 'namespace', 'name', 'category', 'kubeconform', 'path', 'what'].filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
  });
  mistakes.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.doc - b.doc || (a.item ?? 0) - (b.item ?? 0)));
  return { count: byFile.size, bytes, crdFiles: [...byFile.keys()].filter((f) => f.startsWith('crds/')).map((f) => `${OBJECTS}/${f}`) };
}

function countBy(xs, key) {
  const out = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// ── CLI ───────────────────────────────────────────────────────────────────────

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const opts = {};
  let dir;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split('=', 2);
    const value = () => inline ?? args[++i];
    if (flag === '--objects') opts.objects = Number(value());
    else if (flag === '--seed') opts.seed = value();
    else if (flag === '--invalid-rate') opts.invalidRate = Number(value());
    else if (!flag.startsWith('--') && !dir) dir = flag;
    else {
      console.error(`corpus: unknown argument ${args[i]}\nUsage: node test/support/corpus.mjs DIR [--objects N] [--seed S] [--invalid-rate R]`);
      process.exit(2);
    }
  }
  if (!dir) {
    console.error('Usage: node test/support/corpus.mjs DIR [--objects N] [--seed S] [--invalid-rate R]');
    process.exit(2);
  }
  try {
    const t0 = performance.now();
    const m = generateCorpus(resolve(dir), opts);
    console.log(`${m.objects} objects in ${m.files} files (${(m.bytes / 1e6).toFixed(1)} MB) under ${join(dir, m.root)}, ${m.mistakes.length} mistakes seeded (${m.mistakes.filter((x) => x.kubeconform).length} of kinds kubeconform can catch); ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`sections: ${Object.entries(m.bySection).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`kinds: ${Object.entries(m.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (m.mistakes.length) console.log(`mistakes: ${Object.entries(m.mistakeCounts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`details: ${join(dir, 'manifest.json')}`);
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
