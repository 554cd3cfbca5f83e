// Validation that agrees with the API server (issue 14). The corpus is real published manifests
// (test/corpus/published/MANIFEST.json: release YAML, CRDs, custom resources and examples of policy
// engines, CI systems, service meshes, Gateway API, operators…). Every object (a document, or an item
// of a `<Kind>List`) is validated by render-and-validate-manifests and sent to the test bed's
// kube-apiserver as a server-side dry run with strict field validation, with the corpus's CRDs
// installed. The API server is the truth:
// - a false positive (we reject, the server accepts) fails the test;
// - every false negative (the server rejects, we accept) is listed with what would catch it;
// - duplicate keys count as real errors, as kubeconform -strict counts them, even though the API
//   server's JSON reading keeps the last of them (strict field validation reports them too when it is
//   sent the YAML, which is what this test does for documents our reader refuses);
// - every document read is accounted for: validated as an object, or reported by name.
// Objects go to one namespace of this test's own (kl-corpus-…); CRDs it installs carry its label and
// are deleted at the end, the namespace too.
import { connect, KubeClient, type ResourceInfo } from '@kubeline/kube';
import { isRecord, type KubeObject, objectRef } from '@kubeline/k8s';
import { CommandLineTools, DEFAULT_POLICY, type Finding, type PipelineSettings, renderAndValidate } from '@kubeline/manifests';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { uniqueName } from '../support/actions';
import { CORPUS_DIR, corpusUnits, type CorpusFile, type CorpusUnit, restoreCorpus } from '../support/published-corpus';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');

const LABEL = 'kubeline.dev/test';
const LABEL_VALUE = 'published-corpus';
const FIELD_MANAGER = 'kubeline-published-corpus';
const quiet = { saveState: () => {}, getState: () => '', setSecret: () => {} };

interface ServerVerdict {
  accepted: boolean;
  message?: string;
  /** Rejected for what the test bed lacks (a missing ServiceAccount, PriorityClass…), not for the manifest. */
  environment?: boolean;
  warnings: string[];
}

/** What the API server refuses that is about the cluster, not the manifest. */
const ENVIRONMENT = [/serviceaccount "[^"]*" not found/i, /no PriorityClass with name/i, /RuntimeClass "[^"]*" not found/i, /namespaces? "[^"]*" not found/i, /not configured on this cluster|not configured for dual-stack/i];

/** The API server's field warnings that we give too, by the rule that gives them. */
const WARNINGS: Array<[RegExp, string]> = [
  [/volumes\[\d+\]\.\w+: deprecated in v1\.\d+/, 'k8s/deprecated-volume'],
  [/duplicate port definition/, 'k8s/duplicate-port'],
  [/seccomp\.security\.alpha\.kubernetes\.io\/[^:]*\]?: non-functional/, 'k8s/deprecated-field'],
];

/** Kinds of policy engines: their patterns and samples look like pod specs and are not. */
const POLICY_GROUPS = new Set(['kyverno.io', 'policies.kyverno.io', 'templates.gatekeeper.sh', 'mutations.gatekeeper.sh', 'constraints.gatekeeper.sh']);

/** For each false negative, the check that would have caught it, by the API server's message. */
const CATCHERS: Array<[RegExp, string]> = [
  [/x-kubernetes-validations|Invalid value: "object": .*|failed rule:/i, 'a CRD CEL rule (x-kubernetes-validations): needs a CEL evaluator'],
  [/duplicate field|duplicated mapping key/i, 'duplicate keys (yaml reader)'],
  [/volumeMounts\[\d+\]\.name: Not found/i, 'k8s rule: volumeMount must name a volume of the pod'],
  [/protocol: Unsupported value/i, 'k8s rule: port protocol is TCP, UDP or SCTP (case matters)'],
  [/spec\.selector: Required value/i, 'k8s rule: selector required'],
  [/subjects\[\d+\]\.namespace: Required value/i, 'k8s rule: ServiceAccount subject needs a namespace'],
  [/metadata\.name: Invalid value/i, 'k8s rule: object name syntax for the kind'],
  [/Unsupported value/i, 'schema enum the OpenAPI document leaves out (validation in code)'],
  [/Required value/i, 'a required field checked in code, not in the schema'],
  [/Duplicate value/i, 'uniqueness checked in code (names, ports, keys)'],
  [/Invalid value/i, 'a value rule checked in code'],
  [/Forbidden/i, 'a combination of fields forbidden in code'],
  [/no matches for kind|could not find the requested resource|the server could not find/i, 'the kind is not served (CRD missing or invalid)'],
];

function catcher(message: string): string {
  return CATCHERS.find(([re]) => re.test(message))?.[1] ?? 'no rule known';
}

describe('published manifests: our verdict against the API server (dry run, strict field validation)', () => {
  let files: CorpusFile[] = [];
  let units: CorpusUnit[] = [];
  let findings: Finding[] = [];
  let policyFindings: Finding[] = [];
  let objectsValidated = 0;
  let validateSeconds = 0;
  let installSeconds = 0;
  let dryRunSeconds = 0;
  const ours = new Map<string, Finding[]>();
  const server = new Map<string, ServerVerdict>();
  let client: KubeClient;
  let namespace = '';
  const installed: string[] = [];
  const crdProblems: string[] = [];
  let temp = '';

  beforeAll(async () => {
    files = restoreCorpus();
    units = corpusUnits(files);
    temp = mkdtempSync(join(tmpdir(), 'kubeline-published-'));

    // Our verdict: the action's pipeline over the corpus as one plain folder, with the default
    // policy; policy findings are opinions, not validity, so they are kept apart.
    const root = join(CORPUS_DIR, 'files');
    const settings: PipelineSettings = {
      render: { path: root, renderer: 'plain', environment: '', releaseName: 'release', namespace: '', valuesFiles: [], set: [], setString: [], kubernetesVersion: '1.37' },
      workspace: root,
      images: [],
      labels: [],
      annotations: [],
      namespace: '',
      crdFiles: [],
      unknownKinds: 'error',
      deprecatedApis: 'warning',
      policy: DEFAULT_POLICY,
      bundleFile: join(temp, 'manifests.yaml'),
    };
    const saved = process.env.GITHUB_WORKSPACE;
    process.env.GITHUB_WORKSPACE = root;
    try {
      const started = performance.now();
      const result = await renderAndValidate(settings, new CommandLineTools());
      validateSeconds = (performance.now() - started) / 1000;
      findings = result.findings.filter((f) => !f.rule.startsWith('policy/'));
      policyFindings = result.findings.filter((f) => f.rule.startsWith('policy/'));
      objectsValidated = result.objects.length;
    } finally {
      if (saved === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = saved;
    }
    assignFindings(units, findings, ours);

    // The server's verdict.
    const connection = await connect({ ...quiet, kubeconfig: readFileSync(kubeconfigPath!, 'utf8'), tempDir: temp });
    client = new KubeClient(connection.kubeConfig);
    namespace = uniqueName('kl-corpus');
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [LABEL]: LABEL_VALUE } } });
    let started = performance.now();
    await installCrds(client, units, installed, crdProblems);
    installSeconds = (performance.now() - started) / 1000;
    await createServiceAccounts(client, units, namespace);
    started = performance.now();
    await eachLimited(units, 8, async (unit) => server.set(unit.id, await dryRun(client, unit, namespace)));
    dryRunSeconds = (performance.now() - started) / 1000;
  });

  afterAll(async () => {
    if (client) {
      if (namespace) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace }).catch(() => undefined);
      await eachLimited(installed, 8, (name) => client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name }).catch(() => false));
      await client.close();
    }
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  test('the corpus: at least 2,000 objects from at least 15 projects, every document accounted for', () => {
    const projects = new Set(files.map((f) => f.repository));
    const lines = [
      `corpus: ${units.length} objects in ${files.length} files from ${projects.size} repositories; ${installed.length} CRDs installed by the test` +
        (crdProblems.length ? `; CRDs not installed: ${crdProblems.join('; ')}` : ''),
    ];
    console.log(lines.join('\n'));
    expect(units.length).toBeGreaterThanOrEqual(2000);
    expect(projects.size).toBeGreaterThanOrEqual(15);
    // Every object read is validated, or its document is reported by name (a YAML error at its file and line).
    const unreadable = units.filter((u) => !u.object);
    const unreported = unreadable.filter((u) => !(ours.get(u.id) ?? []).some((f) => f.rule.startsWith('yaml/')));
    expect(unreported.map((u) => u.id)).toEqual([]);
    expect(objectsValidated + unreadable.length).toBe(units.length);
  });

  test('no false positive: every object the API server accepts, we accept', () => {
    const falsePositives = units.filter((u) => rejected(u) && server.get(u.id)?.accepted);
    const text = falsePositives.map((u) => `${u.id} ${nameOf(u)}: ${errorsOf(u).map((f) => `${f.rule}: ${f.message}`).join(' | ').slice(0, 400)}`);
    console.log(`false positives (we reject, the API server accepts): ${falsePositives.length}${text.length ? `\n  ${text.join('\n  ')}` : ''}`);
    expect(text).toEqual([]);
  });

  test('report: false negatives, with what would catch them (printed, not asserted); the warnings the server gives', () => {
    const falseNegatives = units.filter((u) => !rejected(u) && server.get(u.id) && !server.get(u.id)!.accepted && !server.get(u.id)!.environment);
    const environment = units.filter((u) => server.get(u.id)?.environment);
    const agreeRejected = units.filter((u) => rejected(u) && server.get(u.id) && !server.get(u.id)!.accepted);
    const agreeAccepted = units.filter((u) => !rejected(u) && server.get(u.id)?.accepted);
    const byCatcher = new Map<string, string[]>();
    for (const u of falseNegatives) {
      const message = server.get(u.id)!.message ?? '';
      const key = catcher(message);
      byCatcher.set(key, [...(byCatcher.get(key) ?? []), `${u.id} ${nameOf(u)}: ${message.slice(0, 300)}`]);
    }
    const serverWarnings = units.flatMap((u) => (server.get(u.id)?.warnings ?? []).map((w) => ({ u, w })));
    const ourWarnings = new Set(findings.filter((f) => f.severity === 'warning').map((f) => f.rule));
    const lines = [
      `validator: ${validateSeconds.toFixed(2)} s for ${units.length} objects (${objectsValidated} validated); API server: CRDs installed in ${installSeconds.toFixed(1)} s, ${units.length} dry runs in ${dryRunSeconds.toFixed(1)} s`,
      `agree: ${agreeAccepted.length} accepted by both, ${agreeRejected.length} rejected by both`,
      `rejected by the server for the test bed, not the manifest: ${environment.length}` + environment.map((u) => `\n  ${u.id}: ${server.get(u.id)!.message?.slice(0, 200)}`).join(''),
      `false negatives (the server rejects, we accept): ${falseNegatives.length}`,
      ...[...byCatcher].sort(([, a], [, b]) => b.length - a.length).flatMap(([key, list]) => [`  ${list.length}  would be caught by: ${key}`, ...list.map((x) => `       ${x}`)]),
      `API server warnings: ${serverWarnings.length} on ${new Set(serverWarnings.map((x) => x.u.id)).size} objects; our warning rules: ${[...ourWarnings].sort().join(', ')}`,
      ...[...new Set(serverWarnings.map((x) => x.w.replace(/"[^"]*"|\d+/g, '…')))].map((w) => `  ${w}`),
    ];
    console.log(lines.join('\n'));
    expect(agreeAccepted.length + agreeRejected.length + falseNegatives.length + environment.length).toBeGreaterThan(0);
  });

  test('policies walk only real pod specs: nothing on the patterns and samples of policy engines', () => {
    // The checks of pod specs and containers (required-labels and service-selects-workload are about the object itself).
    const podChecks = policyFindings.filter((f) => !/^policy\/(required-labels|service-selects-workload|suppression-)/.test(f.rule));
    const onPolicies = podChecks.filter((f) => f.object && POLICY_GROUPS.has(f.object.apiVersion.split('/')[0]));
    console.log(`policy findings about pod specs: ${podChecks.length}, on policy-engine kinds: ${onPolicies.length}`);
    expect(onPolicies.map((f) => `${f.location?.file}:${f.location?.line} ${f.object!.kind} ${f.object!.name}: ${f.message}`)).toEqual([]);
  });

  test("the API server's field warnings that we give too (deprecated volume plugins, duplicate ports, seccomp annotations): the same, on the same objects", () => {
    const missed: string[] = [];
    const extra: string[] = [];
    let given = 0;
    // Warnings come with an accepted object only.
    for (const u of units.filter((x) => server.get(x.id)?.accepted)) {
      const theirs = (server.get(u.id)?.warnings ?? []).flatMap((w) => WARNINGS.filter(([re]) => re.test(w)).map(([, rule]) => ({ rule, w })));
      const mine = (ours.get(u.id) ?? []).filter((f) => f.severity === 'warning' && WARNINGS.some(([, rule]) => rule === f.rule));
      given += theirs.length;
      for (const rule of new Set([...theirs.map((t) => t.rule), ...mine.map((f) => f.rule)])) {
        const a = theirs.filter((t) => t.rule === rule);
        const b = mine.filter((f) => f.rule === rule);
        if (a.length > b.length) missed.push(`${u.id} ${nameOf(u)}: ${a.map((t) => t.w).join(' | ')}`);
        if (b.length > a.length) extra.push(`${u.id} ${nameOf(u)}: ${b.map((f) => f.message).join(' | ')}`);
      }
    }
    console.log(`field warnings of these kinds: ${given} from the API server; missed by us: ${missed.length}; ours the server does not give: ${extra.length}`);
    expect({ missed, extra }).toEqual({ missed: [], extra: [] });
  });

  const errorsOf = (u: CorpusUnit) => (ours.get(u.id) ?? []).filter((f) => f.severity === 'error' && f.rule !== 'bundle/duplicate-object');
  // The same object published twice (one release YAML per cloud provider) is one object twice for
  // the bundle, and fine for each dry run: that finding is about the bundle, not the document.
  const rejected = (u: CorpusUnit) => errorsOf(u).length > 0;
});

function nameOf(u: CorpusUnit): string {
  return u.object ? `${String(u.object.kind)} ${isRecord(u.object.metadata) ? String(u.object.metadata.name ?? u.object.metadata.generateName ?? '') : ''}` : '(unreadable)';
}

/** Our findings per object: by file, the document that holds the finding's line, and in a List the item it names. */
function assignFindings(units: readonly CorpusUnit[], findings: readonly Finding[], out: Map<string, Finding[]>): void {
  const byFile = new Map<string, CorpusUnit[]>();
  for (const u of units) byFile.set(u.file, [...(byFile.get(u.file) ?? []), u]);
  for (const f of findings) {
    const list = f.location ? byFile.get(f.location.file) : undefined;
    if (!list) continue;
    const line = f.location!.line - 1;
    const docs = [...new Set(list.map((u) => u.document))].sort((a, b) => a.firstLine - b.firstLine);
    const doc = docs.filter((d) => d.firstLine <= line).at(-1) ?? docs[0];
    let targets = list.filter((u) => u.document === doc);
    if (targets.length > 1 && f.object) {
      const named = targets.filter((u) => u.object && u.object.kind === f.object!.kind && objectRef(u.object).name === f.object!.name);
      if (named.length) targets = named;
    }
    for (const u of targets) out.set(u.id, [...(out.get(u.id) ?? []), f]);
  }
}

/** Installs every v1 CRD of the corpus (conversion webhooks dropped: nothing serves them here) and waits until they are Established. */
async function installCrds(client: KubeClient, units: readonly CorpusUnit[], installed: string[], problems: string[]): Promise<void> {
  // Only the CRDs whose kinds the corpus has objects of: the dry run of a CRD itself needs none installed.
  const used = new Set(units.map((u) => u.object && `${String(u.object.apiVersion).split('/')[0]}/${String(u.object.kind)}`));
  const crds = units
    .map((u) => u.object)
    .filter((o): o is KubeObject => !!o && o.kind === 'CustomResourceDefinition' && o.apiVersion === 'apiextensions.k8s.io/v1')
    .filter((o) => isRecord(o.spec) && isRecord(o.spec.names) && used.has(`${String(o.spec.group)}/${String(o.spec.names.kind)}`));
  await eachLimited(crds, 6, async (crd) => {
    const name = objectRef(crd).name;
    const live = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
    const labels = isRecord(live?.metadata) && isRecord(live.metadata.labels) ? live.metadata.labels : {};
    if (live && labels[LABEL] !== LABEL_VALUE) {
      problems.push(`${name} exists already (not ours): left as it is`);
      return;
    }
    const body = structuredClone(crd) as KubeObject & { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    delete body.status;
    const metadata = isRecord(crd.metadata) ? crd.metadata : {};
    body.metadata = { name, annotations: metadata.annotations, labels: { ...(isRecord(metadata.labels) ? metadata.labels : {}), [LABEL]: LABEL_VALUE } };
    body.spec.conversion = { strategy: 'None' };
    // Without descriptions (half of a CRD's bytes, and none of its validation): quicker to install.
    for (const version of Array.isArray(body.spec.versions) ? body.spec.versions : [])
      if (isRecord(version) && isRecord(version.schema)) withoutDescriptions(version.schema.openAPIV3Schema);
    try {
      // Created, not applied: server-side apply's managed fields cost seconds on a CRD of a few MB.
      if (live) await client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
      await client.create(body, { fieldManager: FIELD_MANAGER });
      installed.push(name);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message.slice(0, 200)}`);
    }
  });
  const deadline = Date.now() + 90_000;
  for (const name of installed) {
    for (;;) {
      const live = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
      const conditions = isRecord(live?.status) && Array.isArray(live.status.conditions) ? live.status.conditions : [];
      if (conditions.some((c) => isRecord(c) && c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} is not Established after 90 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.forgetDiscovery();
}

/** Removes the `description` of every schema node (not a property named so). */
function withoutDescriptions(schema: unknown): void {
  if (!isRecord(schema)) return;
  if (typeof schema.description === 'string') delete schema.description;
  for (const key of ['properties', 'patternProperties', 'definitions'] as const)
    if (isRecord(schema[key])) for (const sub of Object.values(schema[key])) withoutDescriptions(sub);
  for (const key of ['items', 'additionalProperties', 'not'] as const) withoutDescriptions(schema[key]);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) if (Array.isArray(schema[key])) for (const sub of schema[key]) withoutDescriptions(sub);
}

/** Pods name ServiceAccounts that a real install would have: give the test namespace those. */
async function createServiceAccounts(client: KubeClient, units: readonly CorpusUnit[], namespace: string): Promise<void> {
  const names = new Set<string>();
  for (const u of units) {
    const spec = u.object?.kind === 'Pod' && isRecord(u.object.spec) ? u.object.spec : undefined;
    const name = spec?.serviceAccountName ?? spec?.serviceAccount;
    if (typeof name === 'string' && name && name !== 'default') names.add(name);
  }
  for (const name of names) await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } }).catch(() => undefined);
}

const groupPath = (apiVersion: string) => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);

/**
 * One object as a server-side dry run with strict field validation, in the test's namespace. What our
 * reader could not read, and documents with duplicate keys, go as their YAML text, so the API server's
 * own YAML reading decides.
 */
async function dryRun(client: KubeClient, unit: CorpusUnit, namespace: string): Promise<ServerVerdict> {
  const duplicateKeys = unit.item === undefined && parseDocument(unit.document.text, { uniqueKeys: true }).errors.some((e) => e.code === 'DUPLICATE_KEY');
  const asText = !unit.object || duplicateKeys;
  const object = unit.object ?? (parseAllDocuments(unit.document.text, { uniqueKeys: false, version: '1.1' }) as ReturnType<typeof parseAllDocuments> & unknown[])[0]?.toJS();
  if (!isRecord(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') return { accepted: false, message: 'not an object with apiVersion and kind', warnings: [] };
  let info: ResourceInfo;
  try {
    info = await client.resourceFor(object.apiVersion, object.kind);
  } catch (err) {
    return { accepted: false, message: `no matches for kind: ${(err as Error).message.slice(0, 200)}`, warnings: [] };
  }
  let body: unknown;
  if (asText) {
    // The document's own text; a namespace it names is moved to the test's.
    body = info.namespaced ? unit.document.text.replace(/^(\s+namespace:\s*)\S+\s*$/m, `$1${namespace}`) : unit.document.text;
  } else {
    const copy = structuredClone(object);
    if (info.namespaced && isRecord(copy.metadata)) copy.metadata.namespace = namespace;
    body = copy;
  }
  const path = `${groupPath(object.apiVersion)}${info.namespaced ? `/namespaces/${namespace}` : ''}/${info.resource}`;
  const r = await client.request<{ kind?: string; reason?: string; message?: string }>({
    method: 'POST',
    path,
    query: { dryRun: 'All', fieldValidation: 'Strict', fieldManager: FIELD_MANAGER },
    body,
    contentType: asText ? 'application/yaml' : 'application/json',
    allow: [400, 403, 404, 409, 422, 500],
  });
  const warnings = (r.headers.warning ?? '').split(/,\s*(?=\d{3} )/).filter(Boolean).map((w) => w.replace(/^\d{3} \S+ "?|"$/g, ''));
  // AlreadyExists comes after validation: the object was valid.
  const accepted = r.status < 300 || (r.status === 409 && r.body.reason === 'AlreadyExists');
  let message = accepted ? undefined : (r.body.message ?? `HTTP ${r.status}`);
  if (duplicateKeys && accepted) message = 'duplicate keys (counted as an error, as kubeconform -strict counts it; the API server keeps the last)';
  const environment = !!message && !duplicateKeys && ENVIRONMENT.some((re) => re.test(message!));
  return { accepted: accepted && !duplicateKeys, message, environment, warnings };
}

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}
