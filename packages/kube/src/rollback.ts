/** Rollback of a failed deploy: the last good release re-applied, what the failed one added deleted, or a first release kept or deleted. */
import { type KubeObject, refKey } from '@kubeline/k8s';
import { errorMessage } from '@kubeline/toolkit';
import { type AppliedObject, type ApplyOptions, applyBundle } from './apply';
import type { KubeClient } from './client';
import type { DeploySettings } from './inputs';
import { isPreDeploy } from './phases';
import { prune, type PruneResult, type ReleaseRecord, type ReleaseStore } from './release';
import { type WaitResult, waitForAll, waitTargets } from './wait';
import { describeWaitFailure, progressLine, waitResultLines } from './wait-report';

/** What the rollback of a failed deploy did, or why there was none. */
export interface RollbackReport {
  to?: ReleaseRecord;
  /** Objects of the failed release deleted (not in the release rolled back to, or a first release). */
  pruned?: PruneResult;
  wait?: WaitResult;
  error?: string;
  /** Why there was no rollback. */
  skipped?: string;
}

/** What a rollback works with: the failed release's objects, and where and how they were applied. */
export interface RollbackPlan {
  client: KubeClient;
  store: ReleaseStore;
  /** The last good release; undefined for a first release. */
  previous: ReleaseRecord | undefined;
  /** What the failed release applied. */
  applied: readonly AppliedObject[];
  settings: Pick<DeploySettings, 'release' | 'rollbackOnFailure' | 'firstReleaseFailure' | 'timeoutMs'>;
  /** The apply options of the failed release (namespace, create-namespace, release, log). */
  applyOptions: ApplyOptions;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * The whole release goes back: the last good release's recorded bundle is applied again under the
 * same field manager (never `rollout undo`), and what the failed release added is deleted. A first
 * release has nothing to go back to: its objects are kept for inspection or deleted, as asked.
 */
export async function rollBack(plan: RollbackPlan): Promise<RollbackReport> {
  const { client, previous, applied, settings, log } = plan;
  if (!settings.rollbackOnFailure) return { skipped: 'rollback-on-failure is false' };
  if (!previous) {
    if (settings.firstReleaseFailure === 'keep') return { skipped: 'this is the first release: its objects are kept for inspection (first-release-failure: keep)' };
    log('First release failed: deleting what it created (first-release-failure: delete).');
    return { pruned: await prune(client, applied.map((a) => a.ref), { release: settings.release, log }) };
  }
  log(`Rolling back to revision ${previous.revision}.`);
  try {
    // A pre-deploy Job (a migration) is not run again by going back: it ran when that release was deployed.
    const bundle: KubeObject[] = (await plan.store.bundle(previous)).filter((o) => !isPreDeploy(o));
    const result = await applyBundle(client, bundle, { ...plan.applyOptions, forceConflicts: true });
    const keep = new Set(result.objects.map((a) => refKey(a.ref)));
    const added = applied.map((a) => a.ref).filter((ref) => !keep.has(refKey(ref)));
    const pruned = added.length ? await prune(client, added, { release: settings.release, log }) : undefined;
    const wait = await waitForAll(client, waitTargets(result.objects), { timeoutMs: settings.timeoutMs, signal: plan.signal, onProgress: (p) => log(progressLine(p)) });
    for (const line of waitResultLines(wait)) log(line);
    return { to: previous, pruned, wait, error: wait.outcome === 'ready' ? undefined : describeWaitFailure(wait) };
  } catch (error) {
    return { to: previous, error: errorMessage(error) };
  }
}
