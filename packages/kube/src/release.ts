/** Release records (one Secret per revision, the applied bundle gzipped inside) and prune of what a new release dropped. */
import { containerImages, describeObject, installRank, isRecord, type KubeObject, type ObjectRef, refKey } from '@kubeline/k8s';
import { ExternalError, errorMessage, log } from '@kubeline/toolkit';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MissingResourceTypeError } from './api-errors';
import type { KubeClient } from './client';
import { checkReleaseName } from './inputs';
import { FIELD_MANAGER, isCrd, isNamespace, MANAGED_BY, MANAGED_BY_LABEL, RELEASE_ANNOTATION } from './ownership';

/** The type of a release record Secret, and the labels that find and describe it. */
export const RELEASE_SECRET_TYPE = 'kubeline.dev/release';
export const RELEASE_LABEL = 'kubeline.dev/release';
export const REVISION_LABEL = 'kubeline.dev/revision';
export const STATUS_LABEL = 'kubeline.dev/status';
const NOTE_ANNOTATION = 'kubeline.dev/note';
/** promote's proof of a release's images, as JSON (also in release.json). */
export const PROOF_ANNOTATION = 'kubeline.dev/proof';
const UPDATED_ANNOTATION = 'kubeline.dev/updated';
/** A gradual rollout's state and history, as JSON (gradual/state.ts). */
export const ROLLOUT_ANNOTATION = 'kubeline.dev/rollout';

/**
 * - `pending`: applied, the rollout not settled yet (what a cancelled or crashed run leaves; it
 *   blocks nothing, unlike Helm's pending-upgrade, and its objects still count for prune);
 * - `deployed`: the live release, the one a rollback goes back to (the newest `deployed` one);
 * - `superseded`: was deployed, a later release replaced it;
 * - `failed`: the rollout failed and nothing was rolled back;
 * - `rolled-back`: the rollout failed and the previous release was brought back.
 */
export type ReleaseStatus = 'pending' | 'deployed' | 'failed' | 'superseded' | 'rolled-back';
/** Every release status, in the order of a release's life. */
export const RELEASE_STATUSES: readonly ReleaseStatus[] = ['pending', 'deployed', 'failed', 'superseded', 'rolled-back'];

/** One release revision, as its record Secret holds it (without the bundle, read with `bundle()`). */
export interface ReleaseRecord {
  release: string;
  namespace: string;
  revision: number;
  status: ReleaseStatus;
  /** When the revision was recorded (ISO 8601). */
  time: string;
  /** When its status last changed. */
  updated?: string;
  /** The applied objects. */
  objects: ObjectRef[];
  /** The container images of the applied bundle (by digest when the bundle pins them). */
  images: string[];
  commit?: string;
  runUrl?: string;
  note?: string;
  /**
   * For a promoted release: where its images were proven (the staging release, revision, commit,
   * run and checks), as promote wrote it. Also in the `kubeline.dev/proof` annotation, so
   * `kubectl get secret -o yaml` shows which staging run a release came from.
   */
  proof?: Record<string, unknown>;
  /** For a canary or blue-green release: where its rollout stands, and the history of its steps (JSON). */
  rollout?: Record<string, unknown>;
  /** `kubeline.release.<release>.v<revision>`. */
  secretName: string;
}

/** A revision to record (`ReleaseStore.record`). */
export interface NewRelease {
  /** The bundle as it was applied (namespaces set, ownership stamped): what a rollback re-applies. */
  objects: readonly KubeObject[];
  /** Default: every container image of the bundle. */
  images?: string[];
  commit?: string;
  runUrl?: string;
  /** Default `pending`: recorded before the wait, settled after. */
  status?: ReleaseStatus;
  note?: string;
  /** promote's proof (see ReleaseRecord.proof). */
  proof?: Record<string, unknown>;
  time?: Date;
}

/** A Secret holds at most 1 MiB; leave room for the rest of the object. */
const MAX_RECORD_BYTES = 1_000_000;


/** The name of a revision's record Secret. */
export const releaseSecretName = (release: string, revision: number): string => `kubeline.release.${release}.v${revision}`;

/** Every container image of the objects, sorted and unique. */
export function imagesOf(objects: readonly KubeObject[]): string[] {
  return containerImages(objects);
}

const refOnly = (o: KubeObject): ObjectRef => {
  const m = (isRecord(o.metadata) ? o.metadata : {}) as { name?: string; namespace?: string };
  return { apiVersion: String(o.apiVersion), kind: String(o.kind), ...(m.namespace ? { namespace: m.namespace } : {}), name: String(m.name) };
};

/** The record Secret of a revision: metadata in `release.json`, the bundle gzip-compressed in `bundle.json.gz`. */
export function encodeRelease(release: string, namespace: string, revision: number, input: NewRelease): KubeObject {
  const time = (input.time ?? new Date()).toISOString();
  const meta = {
    format: 1,
    release,
    revision,
    time,
    commit: input.commit,
    runUrl: input.runUrl,
    objects: input.objects.map(refOnly),
    images: input.images ?? imagesOf(input.objects),
    ...(input.proof ? { proof: input.proof } : {}),
  };
  const bundle = gzipSync(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: input.objects }), { level: 9 });
  const data = { 'release.json': Buffer.from(JSON.stringify(meta)).toString('base64'), 'bundle.json.gz': bundle.toString('base64') };
  const size = data['release.json'].length + data['bundle.json.gz'].length;
  if (size > MAX_RECORD_BYTES) {
    throw new ExternalError(
      `the release record of ${release} would be ${Math.round(size / 1024)} KiB (the bundle compressed): a Secret holds at most 1 MiB. Split the bundle into several releases.`,
    );
  }
  const annotations: Record<string, string> = { [UPDATED_ANNOTATION]: time };
  if (input.note) annotations[NOTE_ANNOTATION] = input.note;
  if (input.proof) annotations[PROOF_ANNOTATION] = JSON.stringify(input.proof);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: RELEASE_SECRET_TYPE,
    metadata: {
      name: releaseSecretName(release, revision),
      namespace,
      labels: {
        [RELEASE_LABEL]: release,
        [REVISION_LABEL]: String(revision),
        [STATUS_LABEL]: input.status ?? 'pending',
        [MANAGED_BY_LABEL]: MANAGED_BY,
      },
      annotations,
    },
    data,
  };
}

/** A record Secret read back; undefined when it is not one (or is damaged). */
export function decodeRelease(secret: KubeObject): ReleaseRecord | undefined {
  const metadata = (isRecord(secret.metadata) ? secret.metadata : {}) as {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  const data = (isRecord(secret.data) ? secret.data : {}) as Record<string, string>;
  try {
    const meta = JSON.parse(Buffer.from(data['release.json'] ?? '', 'base64').toString('utf8')) as {
      release: string;
      revision: number;
      time: string;
      commit?: string;
      runUrl?: string;
      objects: ObjectRef[];
      images: string[];
      proof?: Record<string, unknown>;
    };
    const status = metadata.labels?.[STATUS_LABEL] as ReleaseStatus;
    if (!RELEASE_STATUSES.includes(status) || !Number.isInteger(meta.revision)) return undefined;
    return {
      release: meta.release,
      namespace: metadata.namespace ?? '',
      revision: meta.revision,
      status,
      time: meta.time,
      updated: metadata.annotations?.[UPDATED_ANNOTATION],
      objects: meta.objects ?? [],
      images: meta.images ?? [],
      commit: meta.commit,
      runUrl: meta.runUrl,
      note: metadata.annotations?.[NOTE_ANNOTATION],
      ...(meta.proof ? { proof: meta.proof } : {}),
      ...(metadata.annotations?.[ROLLOUT_ANNOTATION] ? { rollout: parseJson(metadata.annotations[ROLLOUT_ANNOTATION]) } : {}),
      secretName: metadata.name ?? '',
    };
  } catch {
    return undefined;
  }
}

const parseJson = (text: string): Record<string, unknown> | undefined => {
  try {
    const value = JSON.parse(text) as unknown;
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
};

/** The applied bundle of a record Secret. */
export function decodeBundle(secret: KubeObject): KubeObject[] {
  const data = (isRecord(secret.data) ? secret.data : {}) as Record<string, string>;
  const list = JSON.parse(gunzipSync(Buffer.from(data['bundle.json.gz'] ?? '', 'base64')).toString('utf8')) as { items?: KubeObject[] };
  return list.items ?? [];
}

/**
 * The objects prune considers: those of the newest `deployed` revision and of every revision
 * after it (pending, failed, rolled back: a cancelled or failed run may have created objects too),
 * that are not in the bundle being deployed.
 */
export function pruneCandidates(records: readonly ReleaseRecord[], current: readonly ObjectRef[]): ObjectRef[] {
  const sorted = [...records].sort((a, b) => b.revision - a.revision);
  const good = sorted.findIndex((r) => r.status === 'deployed');
  const considered = good < 0 ? sorted.filter((r) => r.status !== 'superseded') : sorted.slice(0, good + 1);
  const keep = new Set(current.map(refKey));
  const out = new Map<string, ObjectRef>();
  for (const record of considered) for (const ref of record.objects) if (!keep.has(refKey(ref))) out.set(refKey(ref), ref);
  return [...out.values()];
}

/**
 * The release records of one release in one namespace: Secrets of type `kubeline.dev/release`
 * named `kubeline.release.<release>.v<N>`, labelled with release, revision and status, holding the
 * applied bundle gzip-compressed, the list of objects, the images, the commit, the run URL and the
 * time. The lock (lock.ts) makes sure one run at a time writes them.
 */
export class ReleaseStore {
  private secrets = new Map<string, KubeObject>();

  constructor(
    readonly client: KubeClient,
    readonly namespace: string,
    readonly release: string,
  ) {
    checkReleaseName(release);
  }

  private ref(revision: number): ObjectRef {
    return { apiVersion: 'v1', kind: 'Secret', namespace: this.namespace, name: releaseSecretName(this.release, revision) };
  }

  /** All revisions, newest first. */
  async list(): Promise<ReleaseRecord[]> {
    const items = await this.client.list('v1', 'Secret', {
      namespace: this.namespace,
      labelSelector: `${RELEASE_LABEL}=${this.release}`,
      fieldSelector: `type=${RELEASE_SECRET_TYPE}`,
    });
    this.secrets = new Map(items.map((s) => [String((s.metadata as { name?: string }).name), s]));
    const records: ReleaseRecord[] = [];
    for (const secret of items) {
      const record = decodeRelease(secret);
      if (record && record.release === this.release) records.push(record);
      else log.warning(`release record ${this.namespace}/${(secret.metadata as { name?: string }).name} cannot be read; it is ignored`);
    }
    return records.sort((a, b) => b.revision - a.revision);
  }

  /** The newest `deployed` revision: what a rollback brings back. */
  async latestGood(): Promise<ReleaseRecord | undefined> {
    return (await this.list()).find((r) => r.status === 'deployed');
  }

  /** The bundle a revision applied, as it was applied. */
  async bundle(record: ReleaseRecord | number): Promise<KubeObject[]> {
    const revision = typeof record === 'number' ? record : record.revision;
    const name = releaseSecretName(this.release, revision);
    const secret = this.secrets.get(name) ?? (await this.client.get(this.ref(revision)));
    if (!secret) throw new ExternalError(`release record ${this.namespace}/${name} does not exist (deleted by hand, or trimmed from the history)`);
    return decodeBundle(secret);
  }

  /**
   * Records a new revision (the highest so far + 1). Namespaced objects without a namespace are
   * recorded in the store's namespace (where apply put them), so that prune and rollback name
   * exactly the objects that were applied.
   */
  async record(input: NewRelease): Promise<ReleaseRecord> {
    const records = await this.list();
    const revision = (records[0]?.revision ?? 0) + 1;
    const objects = await Promise.all(input.objects.map((o) => this.inNamespace(o)));
    const secret = encodeRelease(this.release, this.namespace, revision, { ...input, objects });
    const created = await this.client.create(secret, { fieldManager: FIELD_MANAGER });
    this.secrets.set(releaseSecretName(this.release, revision), created);
    const record = decodeRelease(created);
    if (!record) throw new Error(`release record ${releaseSecretName(this.release, revision)} cannot be read back`);
    return record;
  }

  private async inNamespace(object: KubeObject): Promise<KubeObject> {
    const metadata = (isRecord(object.metadata) ? object.metadata : {}) as { namespace?: string };
    if (metadata.namespace) return object;
    try {
      const { namespaced } = await this.client.resourceFor(String(object.apiVersion), String(object.kind));
      return namespaced ? { ...object, metadata: { ...metadata, namespace: this.namespace } } : object;
    } catch (err) {
      if (err instanceof MissingResourceTypeError) return object;
      throw err;
    }
  }

  /**
   * Sets a revision's status (and note). Marking one `deployed` marks every other `deployed`
   * revision `superseded`, so there is one live release.
   */
  async setStatus(record: ReleaseRecord | number, status: ReleaseStatus, note?: string): Promise<ReleaseRecord> {
    const revision = typeof record === 'number' ? record : record.revision;
    const updated = await this.client.mergePatch(
      this.ref(revision),
      { metadata: { labels: { [STATUS_LABEL]: status }, annotations: { [UPDATED_ANNOTATION]: new Date().toISOString(), ...(note !== undefined ? { [NOTE_ANNOTATION]: note } : {}) } } },
      { fieldManager: FIELD_MANAGER },
    );
    this.secrets.set(releaseSecretName(this.release, revision), updated);
    if (status === 'deployed') {
      for (const other of await this.list()) if (other.revision !== revision && other.status === 'deployed') await this.setStatus(other.revision, 'superseded');
    }
    const decoded = decodeRelease(updated);
    if (!decoded) throw new Error(`release record ${releaseSecretName(this.release, revision)} cannot be read back`);
    return decoded;
  }

  /**
   * Replaces a revision's bundle with the objects as they were applied (ownership stamped,
   * namespaces as the server took them): the record written before the apply listed them as given.
   */
  async setBundle(record: ReleaseRecord, objects: readonly KubeObject[]): Promise<ReleaseRecord> {
    const inNamespace = await Promise.all(objects.map((o) => this.inNamespace(o)));
    const encoded = encodeRelease(this.release, this.namespace, record.revision, { objects: inNamespace, commit: record.commit, runUrl: record.runUrl, proof: record.proof, status: record.status, time: new Date(record.time) });
    const updated = await this.client.mergePatch(this.ref(record.revision), { data: encoded.data }, { fieldManager: FIELD_MANAGER });
    this.secrets.set(releaseSecretName(this.release, record.revision), updated);
    const decoded = decodeRelease(updated);
    if (!decoded) throw new Error(`release record ${releaseSecretName(this.release, record.revision)} cannot be read back`);
    return decoded;
  }

  /** Writes a gradual rollout's state into its revision's record (the `kubeline.dev/rollout` annotation). */
  async setRollout(record: ReleaseRecord | number, rollout: Record<string, unknown>): Promise<ReleaseRecord> {
    const revision = typeof record === 'number' ? record : record.revision;
    const updated = await this.client.mergePatch(
      this.ref(revision),
      { metadata: { annotations: { [ROLLOUT_ANNOTATION]: JSON.stringify(rollout), [UPDATED_ANNOTATION]: new Date().toISOString() } } },
      { fieldManager: FIELD_MANAGER },
    );
    this.secrets.set(releaseSecretName(this.release, revision), updated);
    const decoded = decodeRelease(updated);
    if (!decoded) throw new Error(`release record ${releaseSecretName(this.release, revision)} cannot be read back`);
    return decoded;
  }

  /**
   * Keeps the newest `history` revisions and deletes older ones; the newest `deployed` revision is
   * always kept (it is what a rollback needs). Returns the deleted revisions.
   */
  async trim(history: number): Promise<ReleaseRecord[]> {
    const records = await this.list();
    const good = records.find((r) => r.status === 'deployed');
    const old = records.slice(Math.max(1, history)).filter((r) => r !== good);
    for (const record of old) {
      await this.client.delete(this.ref(record.revision));
      this.secrets.delete(record.secretName);
    }
    return old;
  }
}

/** What prune deleted, kept (and why), and could not delete. */
export interface PruneResult {
  deleted: ObjectRef[];
  /** Left alone, and why (not ours any more, co-owned, a Namespace or CRD). */
  kept: Array<{ ref: ObjectRef; reason: string }>;
  failed: Array<{ ref: ObjectRef; error: string }>;
}

/**
 * Why an object must not be pruned, or undefined when it is ours alone: it carries our release
 * annotation and kubeline is the only field manager that ever applied it.
 */
export function pruneBlocker(live: KubeObject, release: string): string | undefined {
  const metadata = (isRecord(live.metadata) ? live.metadata : {}) as { annotations?: Record<string, string>; managedFields?: Array<{ manager?: string; operation?: string }> };
  const annotation = metadata.annotations?.[RELEASE_ANNOTATION];
  if (annotation !== release) return annotation ? `it now belongs to release "${annotation}"` : `it no longer carries the ${RELEASE_ANNOTATION} annotation`;
  const appliers = [...new Set((metadata.managedFields ?? []).filter((e) => e.operation === 'Apply').map((e) => e.manager ?? ''))];
  if (!appliers.includes(FIELD_MANAGER)) return 'kubeline does not manage it (no apply by field manager kubeline)';
  const others = appliers.filter((m) => m !== FIELD_MANAGER);
  if (others.length) return `it is also applied by ${others.map((m) => `"${m}"`).join(', ')}`;
  return undefined;
}

/**
 * Deletes objects of earlier revisions that the new bundle no longer has (see `pruneCandidates`),
 * in reverse install order, and only what is ours alone (`pruneBlocker`): each delete carries the
 * uid it checked as a precondition. Namespaces and CustomResourceDefinitions are never deleted
 * (everything in them would go too): they are reported as kept.
 *
 * Prune is on by default (the `prune` input, `true`): the release record lists exactly what the
 * previous deploy applied, so an object dropped from the bundle would otherwise keep running
 * unseen (an old CronJob, a Service, an Ingress still routing) — the drift Flux and Argo CD prune
 * for the same reason for what they own. Unlike `kubectl apply --prune`, which selects by label
 * across a namespace, it only ever considers objects a previous release recorded, still annotated
 * with this release and applied by kubeline alone; anything adopted by another tool is left alone.
 */
export async function prune(
  client: KubeClient,
  candidates: readonly ObjectRef[],
  options: { release: string; dryRun?: boolean; log?: (line: string) => void },
): Promise<PruneResult> {
  const info = options.log ?? log.info;
  const result: PruneResult = { deleted: [], kept: [], failed: [] };
  const ordered = [...candidates].sort((a, b) => installRank(b.kind) - installRank(a.kind));
  for (const ref of ordered) {
    if (isNamespace(ref) || isCrd(ref)) {
      result.kept.push({ ref, reason: `a ${ref.kind} is never pruned: deleting it deletes everything in it. Delete it by hand if it is no longer needed.` });
      continue;
    }
    try {
      const live = await client.get(ref);
      if (!live) continue;
      const blocker = pruneBlocker(live, options.release);
      if (blocker) {
        result.kept.push({ ref, reason: blocker });
        info(`kept ${describeObject(ref)}: ${blocker}`);
        continue;
      }
      const uid = (live.metadata as { uid?: string }).uid;
      if (await client.delete(ref, { uid, dryRun: options.dryRun })) {
        result.deleted.push(ref);
        info(`${options.dryRun ? 'would prune' : 'pruned'} ${describeObject(ref)}`);
      }
    } catch (err) {
      if (err instanceof MissingResourceTypeError) continue; // its kind is gone, and the object with it
      result.failed.push({ ref, error: errorMessage(err) });
      info(`could not prune ${describeObject(ref)}: ${errorMessage(err)}`);
    }
  }
  return result;
}

