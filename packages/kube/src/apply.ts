/** Server-side apply of a bundle: order (namespaces, CRDs, install order), ownership stamps, outcomes, dry run. */
import { clone, describeObject, installRank, isRecord, type KubeObject, objectRef, type ObjectRef, refKey, splitApiVersion } from '@kubeline/k8s';
import { ConfigurationError, ExternalError, errorMessage, log, sleep } from '@kubeline/toolkit';
import { isForbidden, MissingResourceTypeError } from './api-errors';
import type { KubeClient } from './client';
import { objectDiff } from './diff';
import { FIELD_MANAGER, isCrd, isNamespace, MANAGED_BY, MANAGED_BY_LABEL, RELEASE_ANNOTATION, SERVER_FIELDS } from './ownership';

/** What an apply did to one object (in a dry run: would do). */
export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/** One object of the bundle, applied. */
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

/** How `applyBundle` applies: where, with which ownership, for real or as a dry run. */
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
  /** One line per object and phase; default the job log. */
  log?: (line: string) => void;
}

/** What `applyBundle` did. */
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

/** One object the server refused, and its error. */
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
  /** The release the live object belongs to (its kubeline.dev/release annotation). */
  release?: string;
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
  const metadata = (isRecord(object.metadata) ? object.metadata : {}) as { resourceVersion?: string; generation?: number; annotations?: Record<string, string> };
  return { resourceVersion: metadata.resourceVersion, generation: metadata.generation, release: metadata.annotations?.[RELEASE_ANNOTATION], ...managerEntry(object) };
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


/**
 * Applies a bundle with server-side apply under the field manager `kubeline` (`force` only with
 * `forceConflicts`): Namespaces first, then CustomResourceDefinitions (each waited for until
 * Established, then discovery refreshed), then the rest in install order, objects of one kind in
 * parallel. Each object's outcome is created, configured or unchanged. In a dry run every object
 * goes through the server's dry run and comes back with a diff of live against desired; nothing
 * changes. A failure stops before the next kind and throws ApplyError with what was applied.
 */
export async function applyBundle(client: KubeClient, objects: readonly KubeObject[], options: ApplyOptions): Promise<ApplyResult> {
  const info = options.log ?? log.info;
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
      await createNamespace(client, ns, options.release);
    }
    result.createdNamespaces.push(ns);
    info(`${dryRun ? 'would create' : 'created'} namespace ${ns} (create-namespace)`);
  }

  const befores = dryRun ? new Map<string, Before | null>() : await liveState(client, plans.filter((p) => !p.newType));
  // Another release's object is not taken over silently: its own next deploy would change or prune it.
  if (options.release && !options.forceConflicts) {
    const owned = plans.flatMap((p) => {
      const other = befores.get(refKey(p.ref))?.release;
      return other && other !== options.release ? [`${describeObject(p.ref)} belongs to release "${other}"`] : [];
    });
    if (owned.length) {
      throw new ConfigurationError(
        `${owned.length === 1 ? 'an object' : `${owned.length} objects`} of the bundle belong to another release (the ${RELEASE_ANNOTATION} annotation):\n  - ${owned.join('\n  - ')}\nDeploying them as release "${options.release}" would take them over, and the other release would change or prune them on its next deploy. Deploy them with that release, drop them from this bundle, or set force-conflicts: true to take them over.`,
        'release',
      );
    }
  }

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
        info(`${dryRun ? `would be ${applied.outcome}` : applied.outcome}: ${describeObject(plan.ref)}${applied.note ? ` (${applied.note})` : ''}`);
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
    await Promise.all(crdPlans.map((p) => waitEstablished(client, p.ref.name, options.crdTimeoutMs ?? 60_000, info)));
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

/** The release whose deploy created a namespace (`create-namespace`): deploy's delete mode removes the namespace with that release. */
export const CREATED_FOR_ANNOTATION = 'kubeline.dev/created-for-release';

/** Creates a namespace for `create-namespace`: labelled managed-by kubeline, in no release (never pruned), annotated with the release it was created for. */
export async function createNamespace(client: KubeClient, name: string, release?: string): Promise<void> {
  const annotations = release ? { annotations: { [CREATED_FOR_ANNOTATION]: release } } : {};
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY }, ...annotations } }, { fieldManager: FIELD_MANAGER });
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
async function waitEstablished(client: KubeClient, name: string, timeoutMs: number, info: (line: string) => void = log.info): Promise<void> {
  const ref = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name };
  const deadline = Date.now() + timeoutMs;
  let conditions: Array<{ type?: string; status?: string; reason?: string; message?: string }> = [];
  for (let polls = 0; ; polls++) {
    const crd = await client.get(ref);
    conditions = ((crd?.status as { conditions?: typeof conditions } | undefined)?.conditions ?? []);
    const established = conditions.find((c) => c.type === 'Established');
    const names = conditions.find((c) => c.type === 'NamesAccepted');
    if (established?.status === 'True') {
      if (polls > 0) info(`CustomResourceDefinition ${name} is Established`);
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
