/**
 * Jobs that must complete before the workloads roll out (a database migration): marked with
 * `kubeline.dev/phase: pre-deploy`, or with the hook annotations charts already carry
 * (`helm.sh/hook: pre-install`/`pre-upgrade`, Argo CD's `argocd.argoproj.io/hook: PreSync`).
 */
import { isRecord, type KubeObject, objectRef } from '@kubeline/k8s';
import { sleep } from '@kubeline/toolkit';
import { type AppliedObject, type ApplyOptions, applyBundle } from './apply';
import type { KubeClient } from './client';
import { type WaitResult, waitForAll } from './wait';
import { progressLine } from './wait-report';

export const PHASE_ANNOTATION = 'kubeline.dev/phase';

const annotations = (o: KubeObject): Record<string, string> => ((isRecord(o.metadata) ? o.metadata.annotations : undefined) ?? {}) as Record<string, string>;

/** Whether an object runs before the workloads: a Job marked pre-deploy, or a Helm / Argo CD pre-install hook. */
export function isPreDeploy(o: KubeObject): boolean {
  if (o.kind !== 'Job' || o.apiVersion !== 'batch/v1') return false;
  const a = annotations(o);
  if (a[PHASE_ANNOTATION] === 'pre-deploy') return true;
  const helm = (a['helm.sh/hook'] ?? '').split(',').map((s) => s.trim());
  return helm.includes('pre-install') || helm.includes('pre-upgrade') || a['argocd.argoproj.io/hook'] === 'PreSync';
}

/** What rolls out pods: applied only after the pre-deploy Jobs completed. */
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Pod', 'CronJob', 'Job']);
const isWorkload = (o: KubeObject): boolean => WORKLOADS.has(String(o.kind));

/** The bundle in two phases, or undefined when nothing in it must run first. */
export function splitPhases(objects: readonly KubeObject[]): { first: KubeObject[]; hooks: KubeObject[]; second: KubeObject[] } | undefined {
  const hooks = objects.filter(isPreDeploy);
  if (!hooks.length) return undefined;
  return { first: objects.filter((o) => !isWorkload(o) || isPreDeploy(o)), hooks, second: objects.filter((o) => isWorkload(o) && !isPreDeploy(o)) };
}

/** What the two-phase apply did: everything applied, and the pre-deploy wait when it did not end ready. */
export interface PhasedApply {
  objects: AppliedObject[];
  bundle: KubeObject[];
  hookWait?: WaitResult;
}

/**
 * Applies the bundle in two phases when it has pre-deploy Jobs: first everything that is not a
 * workload (config, Secrets, Services, RBAC the Jobs need) with the Jobs — a Job of the same name
 * from an earlier release is deleted first, as Helm's `before-hook-creation`, because a Job's pod
 * template cannot change — then, once every pre-deploy Job has Completed, the workloads. A Job that
 * fails stops it there: the workloads are not touched, and `hookWait` says why.
 */
export async function applyInPhases(
  client: KubeClient,
  objects: readonly KubeObject[],
  options: ApplyOptions & { timeoutMs: number; signal?: AbortSignal },
): Promise<PhasedApply> {
  const info = options.log ?? (() => {});
  const phases = splitPhases(objects);
  if (!phases) {
    const result = await applyBundle(client, objects, options);
    return { objects: result.objects, bundle: result.bundle };
  }
  for (const job of phases.hooks) {
    const ref = objectRef(job);
    const target = { ...ref, namespace: ref.namespace ?? options.namespace };
    if (await client.delete(target, { propagationPolicy: 'Background' })) {
      info(`deleted Job ${ref.name} of the previous release: a pre-deploy Job runs again every deploy`);
      while (await client.get(target)) await sleep(200, options.signal);
    }
  }
  info(`pre-deploy: ${phases.hooks.map((j) => `Job ${objectRef(j).name}`).join(', ')} must complete before ${phases.second.length} workload(s) roll out`);
  const first = await applyBundle(client, phases.first, options);
  const hookRefs = first.objects.filter((a) => phases.hooks.some((h) => objectRef(h).name === a.ref.name && a.ref.kind === 'Job')).map((a) => a.ref);
  const wait = await waitForAll(client, hookRefs, { timeoutMs: options.timeoutMs, signal: options.signal, onProgress: (p) => info(progressLine(p)) });
  if (wait.outcome !== 'ready') return { objects: first.objects, bundle: first.bundle, hookWait: wait };
  info(`pre-deploy Jobs completed in ${Math.round(wait.durationMs)} ms: applying the workloads`);
  const second = await applyBundle(client, phases.second, options);
  return { objects: [...first.objects, ...second.objects], bundle: [...first.bundle, ...second.bundle] };
}
