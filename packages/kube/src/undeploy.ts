/** deploy's delete mode: everything a release's records list removed, then the records, then the namespace deploy created for it. */
import { describeObject, type ObjectRef, refKey } from '@kubeline/k8s';
import { errorMessage, ExternalError, formatDuration, log, sleep } from '@kubeline/toolkit';
import { CREATED_FOR_ANNOTATION } from './apply';
import type { KubeClient } from './client';
import type { GradualState } from './gradual/rollout';
import { acquireLock } from './lock';
import { MANAGED_BY, MANAGED_BY_LABEL } from './ownership';
import { pullSecretsOf } from './pull-secret';
import { prune, pruneCandidates, type PruneResult, ReleaseStore } from './release';

/** What the delete mode did. */
export interface UndeployResult {
  /** Revisions whose records there were (and are now deleted). */
  revisions: number[];
  pruned: PruneResult;
  /** The namespace was deleted too: deploy created it for this release. */
  namespaceDeleted: boolean;
  /** Objects still there when the wait for their deletion ended. */
  remaining: ObjectRef[];
}

/** How long to wait for deleted objects to be gone; what to log. */
export interface UndeployOptions {
  namespace: string;
  release: string;
  timeoutMs: number;
  lockTimeoutMs: number;
  runUrl?: string;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  saveState?: (name: string, value: string) => void;
  signal?: AbortSignal;
}

/**
 * Removes a release (a preview environment's end): under the release's lock, every object any of
 * its live revisions recorded — and the copies an open canary or blue-green rollout made — is
 * deleted in reverse install order, only where it is still ours alone (prune's rules: annotated
 * with this release, applied by kubeline only; Namespaces and CRDs are never deleted this way).
 * Then the wait until they are gone, then the release records, then the namespace if deploy
 * created it for this release (`create-namespace`) — never a namespace someone else made.
 */
export async function undeploy(client: KubeClient, options: UndeployOptions): Promise<UndeployResult> {
  const info = options.log ?? log.info;
  const ns = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: options.namespace });
  const empty: UndeployResult = { revisions: [], pruned: { deleted: [], kept: [], failed: [] }, namespaceDeleted: false, remaining: [] };
  if (!ns) {
    info(`Namespace ${options.namespace} does not exist: release ${options.release} has nothing to delete.`);
    return empty;
  }
  const lock = await acquireLock(client, { namespace: options.namespace, release: options.release, runUrl: options.runUrl, timeoutMs: options.lockTimeoutMs, log: info, env: options.env, saveState: options.saveState });
  let lockGone = false;
  try {
    const store = new ReleaseStore(client, options.namespace, options.release);
    const records = await store.list();
    if (!records.length) {
      info(`Release ${options.release} has no release record in namespace ${options.namespace}: nothing to delete.`);
      return empty;
    }
    const refs = new Map<string, ObjectRef>();
    for (const ref of pruneCandidates(records, [])) refs.set(refKey(ref), ref);
    for (const record of records) for (const ref of ((record.rollout as GradualState | undefined)?.temporary ?? [])) refs.set(refKey(ref), ref);
    info(`Deleting release ${options.release} from namespace ${options.namespace}: ${refs.size} objects of revision${records.length > 1 ? 's' : ''} ${records.map((r) => r.revision).sort((a, b) => a - b).join(', ')}.`);
    const pruned = await prune(client, [...refs.values()], { release: options.release, log: info });
    if (pruned.failed.length) {
      throw new ExternalError(`could not delete ${pruned.failed.map((f) => `${describeObject(f.ref)} (${f.error})`).join('; ')}; the release records are kept, so deleting again retries.`);
    }
    const remaining = await waitGone(client, pruned.deleted, options.timeoutMs, options.signal);
    if (remaining.length) {
      throw new ExternalError(`${remaining.map(describeObject).join(', ')} still there after ${formatDuration(options.timeoutMs)} (finalizers?); the release records are kept, so deleting again retries.`);
    }
    for (const secret of await pullSecretsOf(client, options.namespace, options.release)) {
      await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: options.namespace, name: String((secret.metadata as { name: string }).name) });
      info(`deleted image pull secret ${(secret.metadata as { name: string }).name}`);
    }
    for (const record of records) await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: options.namespace, name: record.secretName });
    const annotations = ((ns.metadata as { annotations?: Record<string, string>; labels?: Record<string, string> }).annotations ?? {});
    const labels = ((ns.metadata as { labels?: Record<string, string> }).labels ?? {});
    let namespaceDeleted = false;
    if (annotations[CREATED_FOR_ANNOTATION] === options.release && labels[MANAGED_BY_LABEL] === MANAGED_BY) {
      // The Lease goes with the namespace: release the lock first so nothing renews into a terminating namespace.
      await lock.release().catch(() => undefined);
      lockGone = true;
      await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: options.namespace }, { uid: (ns.metadata as { uid?: string }).uid });
      namespaceDeleted = true;
      info(`Deleted namespace ${options.namespace}: deploy created it for release ${options.release} (create-namespace).`);
    } else if (annotations[CREATED_FOR_ANNOTATION] || labels[MANAGED_BY_LABEL] === MANAGED_BY) {
      info(`Namespace ${options.namespace} is kept: it was not created for release ${options.release}.`);
    }
    return { revisions: records.map((r) => r.revision), pruned, namespaceDeleted, remaining: [] };
  } finally {
    if (!lockGone) await lock.release().catch((error) => info(`Could not release the lock: ${errorMessage(error)} (it expires by itself).`));
  }
}

/** Waits until the deleted objects are gone (their finalizers done); returns those still there at the timeout. */
async function waitGone(client: KubeClient, refs: readonly ObjectRef[], timeoutMs: number, signal?: AbortSignal): Promise<ObjectRef[]> {
  const deadline = Date.now() + timeoutMs;
  let left = [...refs];
  while (left.length) {
    const still: ObjectRef[] = [];
    for (const ref of left) if (await client.get(ref).catch(() => undefined)) still.push(ref);
    left = still;
    if (!left.length || Date.now() > deadline || signal?.aborted) break;
    await sleep(250, signal).catch(() => undefined);
  }
  return left;
}
