/** One deploy end to end: lock, apply, record, wait, prune or diagnose and roll back; its post step and its summary. */
import { type ObjectRef, refKey } from '@kubeline/k8s';
import { ConfigurationError, errorMessage, ExternalError, formatDuration, log, stepState, table } from '@kubeline/toolkit';
import { existsSync } from 'node:fs';
import { type AppliedObject, ApplyError, applyBundle, createNamespace } from './apply';
import { applyPullSecret, withPullSecret } from './pull-secret';
import { KubeClient } from './client';
import { cleanupKubeconfig, connect, type Connection, KUBECONFIG_STATE } from './connection';
import { diagnose, diagnosisLines, diagnosisMarkdown, type WorkloadDiagnosis } from './diagnose';
import type { DeploySettings } from './inputs';
import { acquireLock, LOCK_STATE, releaseLockFromState } from './lock';
import { readManifests } from './read-bundle';
import { imagesOf, prune, pruneCandidates, type PruneResult, type ReleaseRecord, ReleaseStore } from './release';
import { rollBack, type RollbackReport } from './rollback';
import { type WaitResult, waitForAll, waitTargets } from './wait';
import { GradualRollout, type GradualOutcome, historyRows, openRollout, openRolloutMessage, type GradualState } from './gradual/rollout';
import { describeWaitFailure, progressLine, waitResultLines } from './wait-report';
import { undeploy, type UndeployResult } from './undeploy';
import { applyInPhases } from './phases';
import { checkPermissions, neededPermissions } from './access';

/** How a deploy ended. */
export type DeployStatus = 'deployed' | 'rolled-back' | 'failed' | 'dry-run' | 'paused' | 'aborted' | 'deleted';

/** GITHUB_STATE key of a gradual rollout this run drives, for the post step to abort it after a cancellation. */
export const ROLLOUT_STATE = 'kubeline-rollout';

/** What a deploy did, for the outputs and the summary. */
export interface DeployOutcome {
  status: DeployStatus;
  namespace: string;
  connection: DeployCluster['connection'];
  revision?: number;
  applied: AppliedObject[];
  pruned?: PruneResult;
  wait?: WaitResult;
  diagnosis: WorkloadDiagnosis[];
  rollback?: RollbackReport;
  /** Dry run: live against desired. */
  diff: string;
  /** Images live after the deploy. */
  images: string[];
  /** What went wrong, when the status is not deployed or dry-run. */
  failure?: string;
  /** Requests sent to the API server. */
  requests: number;
  /** A canary or blue-green rollout: where it stands and its steps. */
  rollout?: GradualState;
  /** delete: what was removed. */
  deleted?: UndeployResult;
}

/** Where a deploy goes: the API client, and the connection it was made from (named in the log and the summary). */
export interface DeployCluster {
  /** Its default namespace is the deploy's: the `namespace` input, else the context's, else `default`. */
  client: KubeClient;
  connection: Pick<Connection, 'server' | 'context' | 'source' | 'user'>;
}

/** What a deploy is given besides its settings and its cluster. */
export interface DeployContext {
  env?: NodeJS.ProcessEnv;
  /** Cancels the wait (the runner's SIGINT/SIGTERM on a cancelled job). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** promote's proof of where the images were verified, kept in the release record. */
  proof?: Record<string, unknown>;
  /** Where the post step's state goes (default GITHUB_STATE). */
  saveState?: (name: string, value: string) => void;
  /** The release lock's Lease timing (default 60 s, renewed every 20 s). */
  lock?: { leaseDurationSeconds?: number; renewEveryMs?: number };
}

/**
 * One deploy: lock the release, apply the bundle server-side, record it, wait for all of it at
 * once, prune what the previous release had and this one does not; on failure or timeout,
 * diagnose, then re-apply the last good release's recorded bundle and wait for it.
 */
export async function deploy(settings: DeploySettings, cluster: DeployCluster, context: DeployContext = {}): Promise<DeployOutcome> {
  const env = context.env ?? process.env;
  const info = context.log ?? log.info;
  const { client, connection } = cluster;
  const namespace = client.defaultNamespace;
  if (settings.delete) {
    info(`Deleting release ${settings.release} from ${connection.server} (context ${connection.context}), namespace ${namespace}.`);
    const runUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
    const removed = await undeploy(client, { namespace, release: settings.release, timeoutMs: settings.timeoutMs, lockTimeoutMs: settings.lockTimeoutMs, runUrl, log: info, env, saveState: context.saveState, signal: context.signal });
    return {
      status: 'deleted',
      namespace,
      connection: { server: connection.server, context: connection.context, source: connection.source, user: connection.user },
      applied: [],
      pruned: removed.pruned,
      deleted: removed,
      diagnosis: [],
      diff: '',
      images: [],
      requests: client.requests,
    };
  }
  let objects = settings.manifests ? await readManifests(settings.manifests) : [];
  const pullSecret = settings.pullSecret;
  const pullNamespaces: string[] = [];
  if (pullSecret) {
    const named = withPullSecret(objects, pullSecret, namespace);
    objects = named.objects;
    pullNamespaces.push(...named.namespaces);
  }
  const gradual = settings.gradual;
  info(
    gradual.resume || gradual.abort
      ? `${gradual.resume ? 'Resuming' : 'Aborting'} the paused rollout of release ${settings.release} on ${connection.server} (context ${connection.context}), namespace ${namespace}.`
      : `Deploying release ${settings.release} (${objects.length} objects) to ${connection.server} (context ${connection.context}), namespace ${namespace}.`,
  );
  const outcome: DeployOutcome = {
    status: 'failed',
    namespace,
    connection: { server: connection.server, context: connection.context, source: connection.source, user: connection.user },
    applied: [],
    diagnosis: [],
    diff: '',
    images: [],
    requests: 0,
  };
  const applyOptions = { namespace, createNamespace: settings.createNamespace, forceConflicts: settings.forceConflicts, release: settings.release, log: info };

  if (settings.dryRun) {
    const result = await applyBundle(client, objects, { ...applyOptions, dryRun: true });
    return { ...outcome, status: 'dry-run', applied: result.objects, diff: result.diff, images: imagesOf(objects), requests: client.requests };
  }

  const runUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
  // A lost lock (the Lease deleted, or taken over by another run) stops this run: waits end at once.
  const lockLost = new AbortController();
  const lock = await acquireLock(client, {
    namespace,
    release: settings.release,
    runUrl,
    createNamespace: settings.createNamespace,
    timeoutMs: settings.lockTimeoutMs,
    log: info,
    env,
    saveState: context.saveState,
    ...context.lock,
    onLost: (reason) => lockLost.abort(new Error(reason)),
  });
  const signal = context.signal ? AbortSignal.any([context.signal, lockLost.signal]) : lockLost.signal;
  const lostMessage = (reason: string) =>
    `the lock of release ${settings.release} was lost (${reason}): another deploy may be changing it now, so this run stopped without marking its revision deployed, pruning or rolling back`;
  try {
    if (pullSecret) {
      for (const ns of pullNamespaces) {
        if (ns !== namespace && settings.createNamespace && !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }))) await createNamespace(client, ns, settings.release);
      }
      await applyPullSecret(client, pullSecret, pullNamespaces, settings.release);
    }
    const store = new ReleaseStore(client, namespace, settings.release);
    const records = await store.list();
    // Every right the deploy needs, asked before anything changes.
    if (objects.length) await checkPermissions(client, await neededPermissions(client, objects, namespace));
    const previous = records.find((r) => r.status === 'deployed');
    const open = openRollout(records);
    const saveState = context.saveState ?? stepState.save;
    const gradualRun = (bundle: typeof objects) =>
      new GradualRollout({ client, store, settings, gradual, previous: previous!, bundle, applyOptions, log: info, signal, env, runUrl, commit: env.GITHUB_SHA, proof: context.proof });
    const finished = (result: GradualOutcome, bundle: typeof objects): DeployOutcome => {
      saveState(ROLLOUT_STATE, result.status === 'failed' && context.signal?.aborted ? JSON.stringify({ namespace, release: settings.release, revision: result.record.revision }) : '');
      return {
        ...outcome,
        status: result.status,
        revision: result.status === 'rolled-back' || result.status === 'aborted' ? result.state.previousRevision : result.record.revision,
        applied: result.applied,
        wait: result.wait,
        diagnosis: result.diagnosis,
        rollback: result.rollback,
        pruned: result.pruned,
        failure: result.failure,
        rollout: result.state,
        // Paused: the new images run beside the stable ones.
        images: result.status === 'deployed' || result.status === 'paused' ? imagesOf(bundle) : (result.rollback?.to?.images ?? []),
      };
    };
    if (gradual.resume || gradual.abort) {
      const verb = gradual.resume ? 'resume' : 'abort';
      if (!open) {
        const newest = records[0];
        throw new ConfigurationError(
          `release ${settings.release} in namespace ${namespace} has no paused rollout to ${verb}${newest ? ` (its newest revision, ${newest.revision}, is ${newest.status})` : ' (it has no release record)'}. Deploy it with a strategy first.`,
          verb,
        );
      }
      if (!previous) throw new ExternalError(`the rollout of revision ${open.record.revision} has no last good release to go back to: its records were deleted. Deploy with strategy: rolling.`);
      const bundle = await store.bundle(open.record);
      if (objects.length) {
        const given = imagesOf(objects).join(', ');
        const paused = imagesOf(bundle).join(', ');
        if (given !== paused) throw new ConfigurationError(`the paused rollout deploys ${paused}, not ${given}. Leave manifests out to ${verb} the paused one, or abort it before deploying another.`, 'manifests');
      }
      saveState(ROLLOUT_STATE, JSON.stringify({ namespace, release: settings.release, revision: open.record.revision }));
      const run = gradualRun(bundle);
      return finished(gradual.resume ? await run.resume(open) : await run.abortOpen(open, 'aborted by abort: true'), bundle);
    }
    if (open) throw new ExternalError(openRolloutMessage(settings.release, namespace, open));
    if (gradual.strategy !== 'rolling') {
      if (!previous) info(`strategy ${gradual.strategy}: this is the first release of ${settings.release} here, with nothing live to protect: it is deployed as a rolling update.`);
      else {
        saveState(ROLLOUT_STATE, '');
        const result = await gradualRun(objects).start();
        if (result) return finished(result, objects);
      }
    }
    const startedAt = Date.now();
    let failure: string | undefined;
    let record: ReleaseRecord | undefined;
    try {
      // Recorded before anything is applied: a run that fails or dies mid-apply leaves a record of what it may have created.
      record = await store.record({ objects, commit: env.GITHUB_SHA, runUrl, status: 'pending', proof: context.proof });
      outcome.revision = record.revision;
      const result = await applyInPhases(client, objects, { ...applyOptions, timeoutMs: settings.timeoutMs, signal });
      outcome.applied = result.objects;
      if (result.hookWait) {
        // A pre-deploy Job failed: the workloads were not touched.
        outcome.wait = result.hookWait;
        throw new ExternalError(`pre-deploy ${describeWaitFailure(result.hookWait)}; the workloads were not changed`);
      }
      record = await store.setBundle(record, result.bundle);
      outcome.wait = await waitForAll(client, waitTargets(result.objects), {
        timeoutMs: settings.timeoutMs,
        startedAt,
        signal,
        onProgress: (p) => info(progressLine(p)),
      });
      for (const line of waitResultLines(outcome.wait)) info(line);
      if (outcome.wait.outcome !== 'ready') failure = describeWaitFailure(outcome.wait);
    } catch (error) {
      // The cluster refused something: that is a failed deploy to roll back, not a crash.
      if (!(error instanceof ExternalError || error instanceof ConfigurationError)) throw error;
      if (error instanceof ApplyError) outcome.applied = error.applied;
      failure = errorMessage(error);
    }

    // The release is another run's now: leave its records and objects alone, say so on ours.
    const lost = lock.lost ?? (!failure && record ? await lock.verify().catch(() => undefined) : undefined);
    if (lost) {
      outcome.failure = lostMessage(lost);
      if (record) await store.setStatus(record, 'failed', outcome.failure).catch(() => undefined);
      outcome.rollback = { skipped: 'the lock was lost' };
      return outcome;
    }
    if (!failure && record) {
      // Earlier revisions, deployed or not (a first release that failed mid-apply), may have left objects.
      if (settings.prune && records.length) {
        const candidates = pruneCandidates(await store.list(), outcome.applied.map((a) => a.ref));
        if (candidates.length) outcome.pruned = await prune(client, candidates, { release: settings.release, log: info });
      }
      await store.setStatus(record, 'deployed'); // marks the older deployed revision superseded
      await store.trim(settings.history);
      outcome.status = 'deployed';
      outcome.images = imagesOf(objects);
      return outcome;
    }

    outcome.failure = failure;
    if (record) await store.setStatus(record, 'failed', failure).catch(() => undefined);
    if (outcome.wait && outcome.wait.outcome !== 'cancelled') {
      const failed = outcome.wait.targets.filter((t) => t.state !== 'ready');
      outcome.diagnosis = await diagnose(client, failed, { signal: context.signal }).catch(() => []);
      for (const line of diagnosisLines(outcome.diagnosis)) info(line);
    }
    if (context.signal?.aborted) {
      outcome.rollback = { skipped: 'the job was cancelled' };
      return outcome;
    }
    outcome.rollback = await rollBack({ client, store, previous, applied: outcome.applied, settings, applyOptions, log: info, signal: context.signal });
    if (outcome.rollback.to && !outcome.rollback.error && outcome.rollback.wait?.outcome === 'ready') {
      // The revision that failed says so, and that the previous one is live again.
      if (record) await store.setStatus(record, 'rolled-back', `${failure}; rolled back to revision ${outcome.rollback.to.revision}`).catch(() => undefined);
      outcome.status = 'rolled-back';
      outcome.revision = outcome.rollback.to.revision;
      outcome.images = outcome.rollback.to.images;
    }
    return outcome;
  } finally {
    outcome.requests = client.requests;
    await lock.release().catch((error) => info(`Could not release the lock: ${errorMessage(error)} (it expires by itself).`));
  }
}

/**
 * The step's verdict on a deploy that failed or was rolled back (the message its log ends with,
 * after `deploy: `); undefined when it deployed or was a dry run.
 */
export function deployFailure(outcome: DeployOutcome): string | undefined {
  if (outcome.status !== 'failed' && outcome.status !== 'rolled-back') return undefined;
  return `${outcome.failure ?? 'failed'}${outcome.status === 'rolled-back' ? ` — rolled back to revision ${outcome.revision}` : ''}`;
}

/**
 * The post step: releases a lock the main step left (cancelled run), aborts a canary or blue-green
 * rollout the cancelled main step left at some weight (production back to the last good release,
 * the record saying so), and removes the kubeconfig file.
 */
export async function deployPost(settings: Pick<DeploySettings, 'context'>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const lockHeld = stepState.get(LOCK_STATE);
    const rollout = stepState.get(ROLLOUT_STATE);
    if (!lockHeld && !rollout) return;
    // The main step's kubeconfig file is still there until cleanup; else the same source as then.
    const written = stepState.get(KUBECONFIG_STATE);
    const connection = await connect({ context: settings.context, env: written && existsSync(written) ? { ...env, KUBECONFIG: written } : env });
    const client = new KubeClient(connection.kubeConfig, { retries: 1 });
    if (lockHeld) await releaseLockFromState(client).catch((error) => log.warning(`deploy post step: could not release the lock: ${errorMessage(error)}. It expires by itself within a minute.`));
    if (rollout) await abortCancelledRollout(client, JSON.parse(rollout) as { namespace: string; release: string; revision: number }, env);
  } catch (error) {
    log.warning(`deploy post step: ${errorMessage(error)}`);
  } finally {
    cleanupKubeconfig();
  }
}

/** After a cancellation mid-rollout: takes the lock again and aborts the rollout this run left running. */
async function abortCancelledRollout(client: KubeClient, saved: { namespace: string; release: string; revision: number }, env: NodeJS.ProcessEnv): Promise<void> {
  const lock = await acquireLock(client, { namespace: saved.namespace, release: saved.release, timeoutMs: 60_000, log: log.info, env, saveState: () => {} });
  try {
    const store = new ReleaseStore(client, saved.namespace, saved.release);
    const records = await store.list();
    const open = openRollout(records);
    const previous = records.find((r) => r.status === 'deployed');
    if (!open || open.record.revision !== saved.revision || open.state.phase !== 'running' || !previous) return;
    log.info(`The job was cancelled mid-rollout: aborting the rollout of revision ${saved.revision} of ${saved.release}.`);
    const settings: DeploySettings = {
      manifests: '', release: saved.release, namespace: saved.namespace, createNamespace: false, kubeconfig: '', context: '', timeoutMs: 120_000, dryRun: false,
      forceConflicts: false, prune: true, rollbackOnFailure: true, firstReleaseFailure: 'keep', history: 10, lockTimeoutMs: 60_000,
      gradual: { strategy: open.state.strategy, steps: open.state.steps, stepDurationMs: 0, traffic: open.state.traffic, check: '', checkIntervalMs: 10_000, resume: false, abort: true, keepPreviousMs: 0 },
      delete: false,
    };
    const run = new GradualRollout({
      client, store, settings, gradual: settings.gradual, previous, bundle: await store.bundle(open.record),
      applyOptions: { namespace: saved.namespace, release: saved.release, log: log.info }, log: log.info, env,
    });
    const result = await run.abortOpen(open, 'the job was cancelled mid-rollout');
    log.info(result.status === 'aborted' ? `Rollout aborted: revision ${result.state.previousRevision} is live again.` : `Aborting the rollout failed: ${result.failure}`);
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** The job summary: what happened to each object, each wait with its duration, the diagnosis, the rollback. */
export function deploySummary(outcome: DeployOutcome, release: string): string {
  const icon = { deployed: '✅', 'rolled-back': '↩️', failed: '❌', 'dry-run': '🔍', paused: '⏸️', aborted: '⏹️', deleted: '🗑️' }[outcome.status];
  let md = `### deploy: ${icon} ${outcome.status}\n\nRelease \`${release}\`${outcome.revision ? ` revision ${outcome.revision}` : ''} in namespace \`${outcome.namespace}\` on ${outcome.connection.server}.\n\n`;
  if (outcome.failure) md += `**Why:** ${outcome.failure}\n\n`;
  const r = outcome.rollout;
  if (r) {
    md += `#### ${r.strategy === 'canary' ? `Canary (traffic by ${r.traffic})` : 'Blue-green'}: ${r.phase === 'paused' ? `paused at ${r.weight} %` : r.phase === 'done' ? '100 %' : r.phase}\n\n`;
    md += table(['Step', 'Weight', 'Pods', 'Ready after', 'Checked for', 'Result'], historyRows(r));
    if (r.phase === 'paused') md += `\nContinue with \`resume: true\`, or go back to revision ${r.previousRevision} with \`abort: true\`.\n`;
    md += '\n';
  }
  if (outcome.applied.length) {
    md += table(['Object', 'Applied', 'Ready after'], outcome.applied.map((a) => {
      const waited = outcome.wait?.targets.find((t) => refKey(t.target as ObjectRef) === refKey(a.ref));
      const ready = waited ? (waited.state === 'ready' ? formatDuration(waited.durationMs ?? 0) : `${waited.state}: ${waited.reason}`) : '';
      return [`${a.ref.kind} ${a.ref.namespace ? `${a.ref.namespace}/` : ''}${a.ref.name}`, a.outcome, ready];
    }));
  }
  const removed = outcome.deleted;
  if (removed) {
    md += removed.revisions.length
      ? `Deleted ${removed.pruned.deleted.length} objects and the records of revision${removed.revisions.length > 1 ? 's' : ''} ${[...removed.revisions].sort((a, b) => a - b).join(', ')}${removed.namespaceDeleted ? `, then namespace \`${outcome.namespace}\` (created for this release)` : ''}.\n\n`
      : 'Nothing to delete: the release has no record here.\n\n';
    for (const k of removed.pruned.kept) md += `- kept ${k.ref.kind} ${k.ref.name}: ${k.reason}\n`;
  }
  for (const ref of removed ? removed.pruned.deleted : (outcome.pruned?.deleted ?? [])) md += `- ${removed ? 'deleted' : 'pruned'} ${ref.kind} ${ref.name}\n`;
  if (outcome.diagnosis.length) md += `\n#### Diagnosis\n\n${diagnosisMarkdown(outcome.diagnosis)}\n`;
  const rb = outcome.rollback;
  if (rb) md += `\n#### Rollback\n\n${rb.skipped ? `Not rolled back: ${rb.skipped}.` : rb.error ? `Rollback to revision ${rb.to?.revision} failed: ${rb.error}` : `Rolled back to revision ${rb.to?.revision}: live again${rb.wait ? ` after ${formatDuration(rb.wait.durationMs)}` : ''}.`}\n`;
  if (outcome.status === 'dry-run') md += outcome.diff ? `\n<details><summary>Diff</summary>\n\n\`\`\`diff\n${outcome.diff}\n\`\`\`\n</details>\n` : '\nNo changes.\n';
  return md;
}
