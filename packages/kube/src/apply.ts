import * as core from '@actions/core';
import { clone, describeObject, installRank, isRecord, type KubeObject, objectRef, type ObjectRef, parseYamlStream, refKey, splitApiVersion } from '@kubeline/k8s';
import { ConfigurationError, ExternalError, errorMessage } from '@kubeline/toolkit';
import { dump } from 'js-yaml';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { isForbidden, type KubeClient, MissingResourceTypeError } from './client';

/** The field manager of every apply, and the name of the owner in managedFields. */
export const FIELD_MANAGER = 'kubeline';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'kubeline';
/** The release an applied object belongs to: prune only ever deletes objects that carry it. */
export const RELEASE_ANNOTATION = 'kubeline.dev/release';

// ---------------------------------------------------------------------------------------------
// Reading the bundle

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * The objects of a file or a folder of rendered YAML (the `manifests` output of
 * render-and-validate-manifests fits directly): `.yaml`, `.yml` and `.json` files, a folder read
 * recursively in path order, `kind: List` documents expanded. YAML is read as Kubernetes reads it
 * (YAML 1.1 scalars).
 */
export async function readManifests(path: string, input = 'manifests'): Promise<KubeObject[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ConfigurationError(`${path} does not exist.`, input);
  }
  const files: string[] = [];
  if (info.isDirectory()) {
    const walk = async (dir: string): Promise<void> => {
      const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(full);
      }
    };
    await walk(path);
    if (files.length === 0) throw new ConfigurationError(`the folder ${path} has no .yaml, .yml or .json files.`, input);
  } else files.push(path);

  const objects: KubeObject[] = [];
  for (const file of files) {
    const name = info.isDirectory() ? join(relative(process.cwd(), path) || path, relative(path, file)) : file;
    for (const doc of parseYamlStream(await readFile(file, 'utf8'))) {
      if (doc.error) throw new ConfigurationError(`${name}:${doc.error.line}:${doc.error.column}: ${doc.error.message}`, input);
      if (doc.value === undefined) continue;
      if (!isRecord(doc.value)) throw new ConfigurationError(`${name}:${doc.firstLine + 1}: the document is not a Kubernetes object (a mapping with apiVersion and kind).`, input);
      const value = doc.value as KubeObject;
      if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
        for (const item of value.items) if (isRecord(item)) objects.push(item as KubeObject);
      } else objects.push(value);
    }
  }
  return objects;
}

// ---------------------------------------------------------------------------------------------
// Order

const isCrd = (o: { apiVersion: string; kind: string }): boolean => o.kind === 'CustomResourceDefinition' && splitApiVersion(o.apiVersion).group === 'apiextensions.k8s.io';
const isNamespace = (o: { apiVersion: string; kind: string }): boolean => o.kind === 'Namespace' && o.apiVersion === 'v1';

// ---------------------------------------------------------------------------------------------
// Diff

/** Fields the server owns: left out of a diff so it shows only what the manifest changes. */
const SERVER_FIELDS = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

/** An object as a diff shows it: without status and the server's bookkeeping. */
export function normalizeForDiff(object: KubeObject | undefined): KubeObject | undefined {
  if (!object) return undefined;
  const copy = clone(object);
  delete copy.status;
  if (isRecord(copy.metadata)) {
    for (const field of SERVER_FIELDS) delete copy.metadata[field];
    if (isRecord(copy.metadata.annotations) && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Secret values never reach a diff (it goes to the job summary and a PR comment): each changed
 * value shows as `***` before and after, as `kubectl diff` does, so a change is still visible.
 */
export function redactSecrets(before: KubeObject | undefined, after: KubeObject | undefined): [KubeObject | undefined, KubeObject | undefined] {
  const isSecret = (o?: KubeObject) => o?.kind === 'Secret' && o.apiVersion === 'v1';
  if (!isSecret(before) && !isSecret(after)) return [before, after];
  const b = before ? clone(before) : undefined;
  const a = after ? clone(after) : undefined;
  for (const field of ['data', 'stringData']) {
    const bv = b && isRecord(b[field]) ? (b[field] as Record<string, unknown>) : undefined;
    const av = a && isRecord(a[field]) ? (a[field] as Record<string, unknown>) : undefined;
    for (const key of new Set([...Object.keys(bv ?? {}), ...Object.keys(av ?? {})])) {
      const changed = bv?.[key] !== av?.[key];
      if (bv && key in bv) bv[key] = changed ? '*** (before)' : '***';
      if (av && key in av) av[key] = changed ? '*** (after)' : '***';
    }
  }
  for (const o of [b, a]) {
    const annotations = o && isRecord(o.metadata) && isRecord(o.metadata.annotations) ? o.metadata.annotations : undefined;
    if (annotations && LAST_APPLIED in annotations) annotations[LAST_APPLIED] = '***';
  }
  return [b, a];
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

type Op = ['=' | '-' | '+', string];

/** Beyond this many differences a diff shows the whole object replaced: no quadratic blow-up. */
const MAX_EDIT_DISTANCE = 2000;

/** Myers' O((N+M)D) line diff (the algorithm of GNU diff and git), after trimming the common ends. */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const same = (lines: readonly string[]): Op[] => lines.map((l) => ['=', l]);
  return [...same(a.slice(0, start)), ...middle(a.slice(start, endA), b.slice(start, endB)), ...same(a.slice(endA))];
}

function middle(A: readonly string[], B: readonly string[]): Op[] {
  const N = A.length;
  const M = B.length;
  const replaceAll = (): Op[] => [...A.map((l): Op => ['-', l]), ...B.map((l): Op => ['+', l])];
  if (N === 0 || M === 0) return replaceAll();
  const max = Math.min(N + M, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < N && y < M && A[x] === B[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= N && y >= M) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return replaceAll();
  const ops: Op[] = [];
  let x = N;
  let y = M;
  for (let d = found; d >= 0; d--) {
    const w = trace[d];
    const get = (k: number) => w[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && get(k - 1) < get(k + 1)) ? k + 1 : k - 1;
    const prevX = get(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push(['=', A[x - 1]]);
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) ops.push(['+', B[y - 1]]);
      else ops.push(['-', A[x - 1]]);
    }
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}

/** A unified diff (`---`, `+++`, `@@` hunks with `context` lines around changes); '' when equal. */
export function unifiedDiff(before: string, after: string, labels: { from: string; to: string }, context = 3): string {
  if (before === after) return '';
  const ops = diffLines(splitLines(before), splitLines(after));
  const changes: number[] = [];
  ops.forEach(([t], i) => t !== '=' && changes.push(i));
  if (changes.length === 0) return '';
  // Line numbers (0-based) of each op in a and b.
  const aAt: number[] = [];
  const bAt: number[] = [];
  let ai = 0;
  let bi = 0;
  for (const [t] of ops) {
    aAt.push(ai);
    bAt.push(bi);
    if (t !== '+') ai++;
    if (t !== '-') bi++;
  }
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  for (let h = 0; h < changes.length; ) {
    const start = Math.max(0, changes[h] - context);
    let end = Math.min(ops.length, changes[h] + context + 1);
    let j = h + 1;
    while (j < changes.length && changes[j] - context <= end) {
      end = Math.min(ops.length, changes[j] + context + 1);
      j++;
    }
    const slice = ops.slice(start, end);
    const aCount = slice.filter(([t]) => t !== '+').length;
    const bCount = slice.filter(([t]) => t !== '-').length;
    const aStart = aAt[start] + (aCount ? 1 : 0);
    const bStart = bAt[start] + (bCount ? 1 : 0);
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const [t, line] of slice) out.push(`${t === '=' ? ' ' : t}${line}`);
    h = j;
  }
  return out.join('\n') + '\n';
}

const toYaml = (o: KubeObject | undefined): string => (o ? dump(o, { noRefs: true, lineWidth: -1 }) : '');

/** `apps/v1 Deployment web -n shop`-like label of an object in a diff header. */
function diffLabel(ref: ObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}${ref.namespace ? `/${ref.namespace}` : ''}/${ref.name}`;
}

/** The diff of one object, live against desired, without server fields, status or secret values. */
export function objectDiff(ref: ObjectRef, live: KubeObject | undefined, desired: KubeObject | undefined): string {
  const [before, after] = redactSecrets(normalizeForDiff(live), normalizeForDiff(desired));
  return unifiedDiff(toYaml(before), toYaml(after), {
    from: before ? `live/${diffLabel(ref)}` : '/dev/null',
    to: after ? `desired/${diffLabel(ref)}` : '/dev/null',
  });
}

// ---------------------------------------------------------------------------------------------
// Apply

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface AppliedObject {
  ref: ObjectRef;
  outcome: ApplyOutcome;
  /** What the server answered (in a dry run: what it would store). */
  object: KubeObject;
  /** Live against desired, in a dry run. */
  diff?: string;
  /** Something to know about this object (not checked by the server in a dry run, and why). */
  note?: string;
}

export interface ApplyOptions {
  /** The target namespace: namespaced objects without one go there (the `namespace` input, else the context's). */
  namespace: string;
  /** Create missing namespaces the objects go to (`create-namespace`); otherwise a missing one is an error. */
  createNamespace?: boolean;
  /** Take over fields another field manager owns (`force-conflicts`). */
  forceConflicts?: boolean;
  /** Server-side dry run of every object (dryRun=All) and a diff against the live one; nothing changes. */
  dryRun?: boolean;
  /** The release the objects belong to: stamps the managed-by label and the release annotation. */
  release?: string;
  /** How long a CRD of the bundle may take to become Established; default 60 s. */
  crdTimeoutMs?: number;
  /** Objects of one kind applied at once; default 8. */
  concurrency?: number;
  /** One line per object and phase; default core.info. */
  log?: (line: string) => void;
}

export interface ApplyResult {
  /** In apply order: namespaces, CRDs, then the rest by kind. */
  objects: AppliedObject[];
  /**
   * The objects as they were sent (namespaces set, ownership stamped), in apply order: what the
   * release record should hold, so a rollback re-applies exactly this.
   */
  bundle: KubeObject[];
  /** Namespaces created because of `create-namespace` (not part of the release: never pruned). */
  createdNamespaces: string[];
  /** Dry run only: every object's diff, concatenated (empty when nothing would change). */
  diff: string;
  dryRun: boolean;
}

export interface ApplyFailure {
  ref: ObjectRef;
  error: Error;
}

/** Some objects failed to apply; those applied before are in `applied` (the rollback needs them). */
export class ApplyError extends ExternalError {
  constructor(
    message: string,
    readonly applied: AppliedObject[],
    readonly failures: ApplyFailure[],
  ) {
    super(message);
  }
}

/**
 * The object as it is sent: in the target namespace when namespaced and without one, without a
 * namespace when cluster-scoped, without the server's bookkeeping and status, and stamped as ours
 * (the managed-by label and the release annotation) when a release is given.
 */
export function prepareObject(object: KubeObject, options: { namespaced: boolean; namespace: string; release?: string }): KubeObject {
  const copy = clone(object);
  delete copy.status;
  const metadata = (isRecord(copy.metadata) ? copy.metadata : (copy.metadata = {})) as Record<string, unknown>;
  for (const field of SERVER_FIELDS) delete metadata[field];
  if (options.namespaced) metadata.namespace ??= options.namespace;
  else delete metadata.namespace;
  if (options.release) {
    metadata.labels = { ...(isRecord(metadata.labels) ? metadata.labels : {}), [MANAGED_BY_LABEL]: MANAGED_BY };
    metadata.annotations = { ...(isRecord(metadata.annotations) ? metadata.annotations : {}), [RELEASE_ANNOTATION]: options.release };
  }
  return copy;
}

/** Every problem with the bundle's objects as one ConfigurationError: what is missing, duplicates. */
export function checkObjects(objects: readonly KubeObject[]): void {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  objects.forEach((object, i) => {
    const ref = objectRef(object);
    const at = `object ${i + 1}${ref.kind ? ` (${describeObject(ref)})` : ''}`;
    if (!ref.apiVersion) problems.push(`${at} has no apiVersion`);
    if (!ref.kind) problems.push(`${at} has no kind`);
    const metadata = isRecord(object.metadata) ? object.metadata : {};
    if (!ref.name || ref.name.endsWith('*')) {
      problems.push(
        typeof metadata.generateName === 'string'
          ? `${at} has generateName but no name: server-side apply needs a fixed name`
          : `${at} has no metadata.name`,
      );
    }
    if (ref.apiVersion && ref.kind && ref.name) {
      const key = refKey(ref);
      if (seen.has(key)) problems.push(`${describeObject(ref)} is in the bundle twice (objects ${(seen.get(key) ?? 0) + 1} and ${i + 1})`);
      seen.set(key, i);
    }
  });
  if (problems.length) throw new ConfigurationError(`the bundle cannot be applied:\n  - ${problems.slice(0, 20).join('\n  - ')}${problems.length > 20 ? `\n  - … and ${problems.length - 20} more` : ''}`, 'manifests');
}

interface BundleCrd {
  group: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  versions: string[];
}

function bundleCrds(objects: readonly KubeObject[]): Map<string, BundleCrd> {
  const out = new Map<string, BundleCrd>();
  for (const o of objects) {
    if (!isCrd(objectRef(o)) || !isRecord(o.spec)) continue;
    const spec = o.spec as { group?: string; names?: { kind?: string; plural?: string }; scope?: string; versions?: Array<{ name?: string }> };
    if (!spec.group || !spec.names?.kind) continue;
    out.set(`${spec.group}/${spec.names.kind}`, {
      group: spec.group,
      kind: spec.names.kind,
      plural: spec.names.plural ?? `${spec.names.kind.toLowerCase()}s`,
      namespaced: spec.scope !== 'Cluster',
      versions: (spec.versions ?? []).map((v) => v.name ?? ''),
    });
  }
  return out;
}

interface Plan {
  ref: ObjectRef;
  body: KubeObject;
  namespaced: boolean;
  /** The kind's CRD is in the bundle and the server does not serve the kind yet. */
  newType: boolean;
}

/** What apply outcome detection needs of an object before the apply. */
interface Before {
  resourceVersion?: string;
  generation?: number;
  /** kubeline's Apply entry in managedFields (fields and time), as JSON. */
  entry: string;
  /** That entry's time (ms; the API keeps whole seconds). */
  entryTime?: number;
}

function managerEntry(object: KubeObject): { entry: string; entryTime?: number } {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const entries = Array.isArray(metadata.managedFields) ? metadata.managedFields : [];
  const mine = entries.find((e) => isRecord(e) && e.manager === FIELD_MANAGER && e.operation === 'Apply' && !e.subresource);
  if (!mine) return { entry: '' };
  const time = Date.parse(String(mine.time ?? ''));
  return { entry: JSON.stringify([mine.apiVersion, mine.time, mine.fieldsV1]), entryTime: Number.isNaN(time) ? undefined : time };
}

function beforeOf(object: KubeObject): Before {
  const metadata = (isRecord(object.metadata) ? object.metadata : {}) as { resourceVersion?: string; generation?: number };
  return { resourceVersion: metadata.resourceVersion, generation: metadata.generation, ...managerEntry(object) };
}

/**
 * created / configured / unchanged from what was there before and what the server answered. An
 * apply that changes nothing writes nothing (same resourceVersion). When the resourceVersion did
 * change, someone wrote: kubeline if its managedFields entry changed (the server updates its time
 * whenever kubeline changes a value it owns) or the generation moved (spec); a controller writing
 * status changes neither. The entry's time has whole seconds: when it is this very second
 * (`serverNow`, the server's Date) an unchanged entry proves nothing, and a kind without a
 * generation then counts as configured.
 */
export function applyOutcome(created: boolean, before: Before | null | undefined, after: KubeObject, serverNow?: number): ApplyOutcome {
  if (created || before === null) return 'created';
  if (before === undefined) return 'configured';
  const now = beforeOf(after);
  if (now.resourceVersion === before.resourceVersion) return 'unchanged';
  if (now.entry !== before.entry) return 'configured';
  if (now.generation !== undefined && before.generation !== undefined) return now.generation !== before.generation ? 'configured' : 'unchanged';
  const sameSecond = serverNow === undefined || now.entryTime === undefined || serverNow - now.entryTime < 2000;
  return sameSecond ? 'configured' : 'unchanged';
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function failureMessage(failures: ApplyFailure[]): string {
  if (failures.length === 1) return failures[0].error.message;
  const shown = failures.slice(0, 10).map((f) => `- ${f.error.message.replace(/\n/g, '\n  ')}`);
  return `${failures.length} objects failed to apply:\n${shown.join('\n')}${failures.length > 10 ? `\n- … and ${failures.length - 10} more` : ''}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Applies a bundle with server-side apply under the field manager `kubeline` (`force` only with
 * `forceConflicts`): Namespaces first, then CustomResourceDefinitions (each waited for until
 * Established, then discovery refreshed), then the rest in install order, objects of one kind in
 * parallel. Each object's outcome is created, configured or unchanged. In a dry run every object
 * goes through the server's dry run and comes back with a diff of live against desired; nothing
 * changes. A failure stops before the next kind and throws ApplyError with what was applied.
 */
export async function applyBundle(client: KubeClient, objects: readonly KubeObject[], options: ApplyOptions): Promise<ApplyResult> {
  const log = options.log ?? ((line: string) => core.info(line));
  const dryRun = options.dryRun ?? false;
  checkObjects(objects);
  const crds = bundleCrds(objects);

  // Scope of every object: discovery, or the bundle's own CRD for kinds not served yet.
  const plans: Plan[] = [];
  const missing: string[] = [];
  for (const object of objects) {
    const raw = objectRef(object);
    let namespaced: boolean;
    let newType = false;
    if (isNamespace(raw) || isCrd(raw)) namespaced = false;
    else {
      try {
        namespaced = (await client.resourceFor(raw.apiVersion, raw.kind)).namespaced;
      } catch (err) {
        const { group, version } = splitApiVersion(raw.apiVersion);
        const crd = crds.get(`${group}/${raw.kind}`);
        if (!(err instanceof MissingResourceTypeError)) throw err;
        if (!crd || !crd.versions.includes(version)) {
          missing.push(`${describeObject(raw)}: ${err.message}`);
          continue;
        }
        namespaced = crd.namespaced;
        newType = true;
      }
    }
    const body = prepareObject(object, { namespaced, namespace: options.namespace, release: options.release });
    plans.push({ ref: objectRef(body), body, namespaced, newType });
  }
  if (missing.length) throw new ConfigurationError(`the cluster cannot take ${missing.length === 1 ? 'an object' : `${missing.length} objects`} of the bundle:\n  - ${missing.join('\n  - ')}`, 'manifests');

  // Namespaces the objects go to that neither exist nor come with the bundle.
  const bundleNamespaces = new Set(plans.filter((p) => isNamespace(p.ref)).map((p) => p.ref.name));
  const wanted = [...new Set(plans.filter((p) => p.namespaced).map((p) => p.ref.namespace as string))].filter((ns) => !bundleNamespaces.has(ns));
  const absent: string[] = [];
  for (const ns of wanted) {
    try {
      const live = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      if (!live) absent.push(ns);
      else if ((live.status as { phase?: string } | undefined)?.phase === 'Terminating') {
        throw new ConfigurationError(`namespace "${ns}" is being deleted; wait until it is gone, or deploy to another one.`, 'namespace');
      }
    } catch (err) {
      // Without the right to read namespaces, the apply itself tells.
      if (!isForbidden(err)) throw err;
    }
  }
  if (absent.length && !options.createNamespace) {
    throw new ConfigurationError(
      `namespace${absent.length > 1 ? 's' : ''} ${absent.map((n) => `"${n}"`).join(', ')} ${absent.length > 1 ? 'do' : 'does'} not exist. Create ${absent.length > 1 ? 'them' : 'it'}, add a Namespace object to the bundle, or set create-namespace: true.`,
      'namespace',
    );
  }

  const result: ApplyResult = { objects: [], bundle: [], createdNamespaces: [], diff: '', dryRun };
  /** Namespaces that will exist only after a real apply: a dry run cannot check objects in them. */
  const pendingNamespaces = new Set<string>();
  for (const ns of absent) {
    if (dryRun) pendingNamespaces.add(ns);
    else {
      await createNamespace(client, ns);
    }
    result.createdNamespaces.push(ns);
    log(`${dryRun ? 'would create' : 'created'} namespace ${ns} (create-namespace)`);
  }

  const befores = dryRun ? new Map<string, Before | null>() : await liveState(client, plans.filter((p) => !p.newType));

  const applyOne = async (plan: Plan): Promise<AppliedObject> => {
    if (!dryRun) {
      const { object, created, date } = await client.apply(plan.body, { fieldManager: FIELD_MANAGER, force: options.forceConflicts });
      const before = plan.newType ? null : befores.get(refKey(plan.ref));
      return { ref: plan.ref, outcome: applyOutcome(created, before, object, date), object };
    }
    const unchecked = plan.newType
      ? 'not checked by the server: its CustomResourceDefinition is new in this bundle'
      : plan.namespaced && pendingNamespaces.has(plan.ref.namespace as string)
        ? `not checked by the server: namespace ${plan.ref.namespace} does not exist yet`
        : undefined;
    if (unchecked) return { ref: plan.ref, outcome: 'created', object: plan.body, diff: objectDiff(plan.ref, undefined, plan.body), note: unchecked };
    const live = await client.get(plan.ref);
    const { object } = await client.apply(plan.body, { fieldManager: FIELD_MANAGER, force: options.forceConflicts, dryRun: true });
    const diff = objectDiff(plan.ref, live, object);
    return { ref: plan.ref, outcome: !live ? 'created' : diff ? 'configured' : 'unchanged', object, diff };
  };

  const runPhase = async (phase: Plan[]): Promise<void> => {
    const failures: ApplyFailure[] = [];
    const done: AppliedObject[] = [];
    await forEachLimit(phase, options.concurrency ?? 8, async (plan) => {
      try {
        const applied = await applyOne(plan);
        done.push(applied);
        log(`${dryRun ? `would be ${applied.outcome}` : applied.outcome}: ${describeObject(plan.ref)}${applied.note ? ` (${applied.note})` : ''}`);
      } catch (err) {
        failures.push({ ref: plan.ref, error: namespaceHint(err, plan) });
      }
    });
    // Keep the bundle's order in the result, whatever order the parallel applies finished in.
    const order = new Map(phase.map((p, i) => [refKey(p.ref), i]));
    done.sort((a, b) => (order.get(refKey(a.ref)) ?? 0) - (order.get(refKey(b.ref)) ?? 0));
    result.objects.push(...done);
    const sent = new Set(done.map((d) => refKey(d.ref)));
    result.bundle.push(...phase.filter((p) => sent.has(refKey(p.ref))).map((p) => p.body));
    if (failures.length) throw new ApplyError(failureMessage(failures), [...result.objects], failures);
  };

  // Namespaces, then CRDs, then the rest in install order (one kind at a time, its objects in parallel).
  const namespaces = plans.filter((p) => isNamespace(p.ref));
  await runPhase(namespaces);
  if (dryRun) for (const applied of result.objects) if (applied.outcome === 'created' && isNamespace(applied.ref)) pendingNamespaces.add(applied.ref.name);

  const crdPlans = plans.filter((p) => isCrd(p.ref));
  await runPhase(crdPlans);
  if (!dryRun && crdPlans.length) {
    await Promise.all(crdPlans.map((p) => waitEstablished(client, p.ref.name, options.crdTimeoutMs ?? 60_000, log)));
    for (const crd of crds.values()) for (const v of crd.versions) client.forgetDiscovery(`${crd.group}/${v}`);
  }

  const rest = plans.filter((p) => !isNamespace(p.ref) && !isCrd(p.ref));
  const ranks = [...new Set(rest.map((p) => installRank(p.ref.kind)))].sort((a, b) => a - b);
  for (const rank of ranks) {
    const tier = rest.filter((p) => installRank(p.ref.kind) === rank);
    // Custom kinds share the last rank: keep each kind together, in bundle order.
    const kinds = [...new Set(tier.map((p) => `${p.ref.apiVersion} ${p.ref.kind}`))];
    for (const kind of kinds) await runPhase(tier.filter((p) => `${p.ref.apiVersion} ${p.ref.kind}` === kind));
  }

  if (dryRun) result.diff = result.objects.map((o) => o.diff ?? '').filter(Boolean).join('');
  return result;
}

/** Creates a namespace for `create-namespace`: labelled managed-by kubeline, but in no release (never pruned). */
export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } } }, { fieldManager: FIELD_MANAGER });
}

/** A 404 for a missing namespace, said the way a user fixes it. */
function namespaceHint(err: unknown, plan: Plan): Error {
  const e = err as { status?: number; apiStatus?: { details?: { kind?: string; name?: string } } };
  if (e?.status === 404 && e.apiStatus?.details?.kind === 'namespaces') {
    return new ConfigurationError(
      `${describeObject(plan.ref)}: namespace "${e.apiStatus.details.name}" does not exist. Create it, add a Namespace object to the bundle, or set create-namespace: true.`,
      'namespace',
    );
  }
  return err instanceof Error ? err : new Error(errorMessage(err));
}

/**
 * What the objects look like before the apply (resourceVersion, generation, kubeline's managed
 * fields): one metadata-only list per kind and namespace (a GET for a single object). Without the
 * right to read, the outcome falls back to created (201) or configured.
 */
async function liveState(client: KubeClient, plans: Plan[]): Promise<Map<string, Before | null>> {
  const out = new Map<string, Before | null>();
  const groups = new Map<string, Plan[]>();
  for (const p of plans) {
    const key = `${p.ref.apiVersion}|${p.ref.kind}|${p.ref.namespace ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  await forEachLimit([...groups.values()], 8, async (group) => {
    const { apiVersion, kind, namespace } = group[0].ref;
    try {
      if (group.length === 1) {
        const { path, target } = await client.objectPath(group[0].ref, 'get');
        const r = await client.request({ method: 'GET', path, target, allow: [404], accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json' });
        out.set(refKey(group[0].ref), r.status === 404 ? null : beforeOf(r.body));
        return;
      }
      const items = await client.list(apiVersion, kind, { namespace, metadataOnly: true });
      const byName = new Map(items.map((i) => [String((i.metadata as { name?: string } | undefined)?.name), i]));
      for (const p of group) {
        const item = byName.get(p.ref.name);
        out.set(refKey(p.ref), item ? beforeOf(item) : null);
      }
    } catch (err) {
      if (!isForbidden(err)) throw err;
    }
  });
  return out;
}

/** Waits until a CRD is Established (its API served); fails when its names are not accepted or time runs out. */
export async function waitEstablished(client: KubeClient, name: string, timeoutMs: number, log: (line: string) => void = core.info): Promise<void> {
  const ref = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name };
  const deadline = Date.now() + timeoutMs;
  let conditions: Array<{ type?: string; status?: string; reason?: string; message?: string }> = [];
  for (let polls = 0; ; polls++) {
    const crd = await client.get(ref);
    conditions = ((crd?.status as { conditions?: typeof conditions } | undefined)?.conditions ?? []);
    const established = conditions.find((c) => c.type === 'Established');
    const names = conditions.find((c) => c.type === 'NamesAccepted');
    if (established?.status === 'True') {
      if (polls > 0) log(`CustomResourceDefinition ${name} is Established`);
      return;
    }
    if (names?.status === 'False') throw new ExternalError(`CustomResourceDefinition ${name}: its names are not accepted (${names.reason}): ${names.message}`);
    if (Date.now() > deadline) {
      throw new ExternalError(
        `CustomResourceDefinition ${name} is not Established after ${Math.round(timeoutMs / 1000)} s; conditions: ${conditions.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`).join(', ') || 'none yet'}`,
      );
    }
    await sleep(Math.min(1000, 100 * 2 ** Math.min(polls, 4)));
  }
}
