/** One deploy end to end: lock, apply, record, wait, prune or diagnose and roll back; its post step and its summary. */
import { type ObjectRef, refKey } from '@kubeline/k8s';
import { ConfigurationError, errorMessage, ExternalError, formatDuration, log, stepState, table } from '@kubeline/toolkit';
import { existsSync } from 'node:fs';
import { type AppliedObject, ApplyError, applyBundle } from './apply';
import { KubeClient } from './client';
import { cleanupKubeconfig, connect, type Connection, KUBECONFIG_STATE } from './connection';
import { diagnose, diagnosisLines, diagnosisMarkdown, type WorkloadDiagnosis } from './diagnose';
import type { DeploySettings } from './inputs';
import { acquireLock, LOCK_STATE, releaseLockFromState } from './lock';
import { readManifests } from './read-bundle';
import { imagesOf, prune, pruneCandidates, type PruneResult, type ReleaseRecord, ReleaseStore } from './release';
import { rollBack, type RollbackReport } from './rollback';
import { type WaitResult, waitForAll, waitTargets } from './wait';
import { describeWaitFailure, progressLine, waitResultLines } from './wait-report';

/** How a deploy ended. */
export type DeployStatus = 'deployed' | 'rolled-back' | 'failed' | 'dry-run';

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
  const objects = await readManifests(settings.manifests);
  const namespace = client.defaultNamespace;
  info(`Deploying release ${settings.release} (${objects.length} objects) to ${connection.server} (context ${connection.context}), namespace ${namespace}.`);
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
  const lock = await acquireLock(client, { namespace, release: settings.release, runUrl, createNamespace: settings.createNamespace, timeoutMs: settings.lockTimeoutMs, log: info, env });
  try {
    const store = new ReleaseStore(client, namespace, settings.release);
    const previous = await store.latestGood();
    const startedAt = Date.now();
    let failure: string | undefined;
    let record: ReleaseRecord | undefined;
    try {
      const result = await applyBundle(client, objects, applyOptions);
      outcome.applied = result.objects;
      record = await store.record({ objects: result.bundle, commit: env.GITHUB_SHA, runUrl, status: 'pending', proof: context.proof });
      outcome.revision = record.revision;
      outcome.wait = await waitForAll(client, waitTargets(result.objects), {
        timeoutMs: settings.timeoutMs,
        startedAt,
        signal: context.signal,
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

    if (!failure && record) {
      if (settings.prune && previous) {
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

/** The post step: releases a lock the main step left (cancelled run) and removes the kubeconfig file. */
export async function deployPost(settings: Pick<DeploySettings, 'context'>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    if (!stepState.get(LOCK_STATE)) return;
    // The main step's kubeconfig file is still there until cleanup; else the same source as then.
    const written = stepState.get(KUBECONFIG_STATE);
    const connection = await connect({ context: settings.context, env: written && existsSync(written) ? { ...env, KUBECONFIG: written } : env });
    await releaseLockFromState(new KubeClient(connection.kubeConfig, { retries: 1 }));
  } catch (error) {
    log.warning(`deploy post step: could not release the lock: ${errorMessage(error)}. It expires by itself within a minute.`);
  } finally {
    cleanupKubeconfig();
  }
}

/** The job summary: what happened to each object, each wait with its duration, the diagnosis, the rollback. */
export function deploySummary(outcome: DeployOutcome, release: string): string {
  const icon = { deployed: '✅', 'rolled-back': '↩️', failed: '❌', 'dry-run': '🔍' }[outcome.status];
  let md = `### deploy: ${icon} ${outcome.status}\n\nRelease \`${release}\`${outcome.revision ? ` revision ${outcome.revision}` : ''} in namespace \`${outcome.namespace}\` on ${outcome.connection.server}.\n\n`;
  if (outcome.failure) md += `**Why:** ${outcome.failure}\n\n`;
  if (outcome.applied.length) {
    md += table(['Object', 'Applied', 'Ready after'], outcome.applied.map((a) => {
      const waited = outcome.wait?.targets.find((t) => refKey(t.target as ObjectRef) === refKey(a.ref));
      const ready = waited ? (waited.state === 'ready' ? formatDuration(waited.durationMs ?? 0) : `${waited.state}: ${waited.reason}`) : '';
      return [`${a.ref.kind} ${a.ref.namespace ? `${a.ref.namespace}/` : ''}${a.ref.name}`, a.outcome, ready];
    }));
  }
  for (const ref of outcome.pruned?.deleted ?? []) md += `- pruned ${ref.kind} ${ref.name}\n`;
  if (outcome.diagnosis.length) md += `\n#### Diagnosis\n\n${diagnosisMarkdown(outcome.diagnosis)}\n`;
  const rb = outcome.rollback;
  if (rb) md += `\n#### Rollback\n\n${rb.skipped ? `Not rolled back: ${rb.skipped}.` : rb.error ? `Rollback to revision ${rb.to?.revision} failed: ${rb.error}` : `Rolled back to revision ${rb.to?.revision}: live again${rb.wait ? ` after ${formatDuration(rb.wait.durationMs)}` : ''}.`}\n`;
  if (outcome.status === 'dry-run') md += outcome.diff ? `\n<details><summary>Diff</summary>\n\n\`\`\`diff\n${outcome.diff}\n\`\`\`\n</details>\n` : '\nNo changes.\n';
  return md;
}
