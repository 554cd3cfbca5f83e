/** Rollout rules: when an applied object is ready, progressing or failed, one pure function per kind. */

/*
 * When is an applied object "there"? One pure function per kind, from the object's current JSON as
 * the API server returns it. Deployments, StatefulSets and DaemonSets follow kubectl's rollout
 * rules exactly (kubernetes/kubectl pkg/polymorphichelpers/rollout_status.go), with one deliberate
 * difference: a ProgressDeadlineExceeded condition left over from an earlier rollout does not fail
 * this one (see deploymentRollout).
 */

export type RolloutState = 'ready' | 'progressing' | 'failed';

/** A target's state and its reason. */
export interface RolloutStatus {
  state: RolloutState;
  /** What it is waiting for, why it failed, or why it is ready — one line for people. */
  reason: string;
}

/** An object as the API returns it, read loosely: fields may be missing while a controller catches up. */
export interface RolloutObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: any;
  status?: any;
  [key: string]: unknown;
}

/** What the rollout rules need beyond the object. */
export interface RolloutContext {
  /**
   * When this rollout started (ms since the epoch; best the API server's clock, e.g. the Date header
   * of the apply response). A Deployment's ProgressDeadlineExceeded condition last updated before
   * it (or in the same second) belongs to an earlier rollout.
   */
  startedAt?: number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

const ready = (reason: string): RolloutStatus => ({ state: 'ready', reason });
const progressing = (reason: string): RolloutStatus => ({ state: 'progressing', reason });
const failed = (reason: string): RolloutStatus => ({ state: 'failed', reason });

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function conditionOf(obj: RolloutObject, type: string): Condition | undefined {
  const conditions: unknown = obj.status?.conditions;
  return Array.isArray(conditions) ? (conditions as Condition[]).find((c) => c?.type === type) : undefined;
}

const withMessage = (c: Condition): string => [c.reason, c.message].filter(Boolean).join(': ') || `${c.type}=${c.status}`;

/** metadata.generation is 0/absent on kinds without one (PVCs): nothing to observe then. */
function generationPending(obj: RolloutObject, observed: unknown): string | undefined {
  const generation = num(obj.metadata?.generation);
  if (generation > num(observed)) return `waiting for the controller to observe generation ${generation} (observed ${num(observed)})`;
  return undefined;
}

/**
 * kubectl's DeploymentStatusViewer: once the controller has observed the current generation, a
 * Progressing condition with reason ProgressDeadlineExceeded fails the rollout; otherwise it waits
 * until every replica is updated, old replicas are gone and every updated replica is available.
 *
 * The difference: kubectl fails on any ProgressDeadlineExceeded condition. The controller keeps
 * that condition from a failed rollout until the next one makes progress, so right after a new
 * apply (a rollback to an earlier ReplicaSet especially) the condition can still be the old one
 * while observedGeneration is already current. It counts only when it was last updated after the
 * second `startedAt` falls in. A paused Deployment does not roll out: ready, with a note.
 */
export function deploymentRollout(obj: RolloutObject, ctx: RolloutContext = {}): RolloutStatus {
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const pending = generationPending(obj, status.observedGeneration);
  if (pending) return progressing(pending);
  if (spec.paused === true) return ready('paused (spec.paused: true): its rollout does not run, so it is not waited for');

  let staleNote = '';
  const cond = conditionOf(obj, 'Progressing');
  if (cond?.reason === 'ProgressDeadlineExceeded') {
    if (isStale(cond, ctx.startedAt)) {
      staleNote = ` (the ProgressDeadlineExceeded condition of ${cond.lastUpdateTime} is from an earlier rollout)`;
    } else {
      return failed(`ProgressDeadlineExceeded: ${cond.message ?? `no progress within ${num(spec.progressDeadlineSeconds)}s`}`);
    }
  }
  const updated = num(status.updatedReplicas);
  const replicas = num(status.replicas);
  const available = num(status.availableReplicas);
  if (typeof spec.replicas === 'number' && updated < spec.replicas) {
    return progressing(`${updated} of ${spec.replicas} new replicas updated${staleNote}`);
  }
  if (replicas > updated) {
    return progressing(`${plural(replicas - updated, 'old replica')} pending termination${staleNote}`);
  }
  if (available < updated) {
    return progressing(`${available} of ${updated} updated replicas available${staleNote}`);
  }
  return ready(`${plural(updated, 'replica')} updated and available`);
}

/**
 * Conditions carry whole seconds. One written in the second the rollout started in is stale too:
 * this rollout's own deadline comes at least progressDeadlineSeconds (≥ 1) after its start, while a
 * rollback is typically applied within the second the previous rollout was seen failing.
 */
function isStale(cond: Condition, startedAt: number | undefined): boolean {
  if (startedAt === undefined) return false;
  const updated = Date.parse(cond.lastUpdateTime ?? cond.lastTransitionTime ?? '');
  if (Number.isNaN(updated)) return false;
  return updated < Math.floor(startedAt / 1000) * 1000 + 1000;
}

/** A StatefulSet or DaemonSet updated other than by RollingUpdate (OnDelete) has no rollout to wait for. */
function onDeleteRollout(obj: RolloutObject): RolloutStatus | undefined {
  const strategy = obj.spec?.updateStrategy?.type ?? 'RollingUpdate';
  return strategy === 'RollingUpdate' ? undefined : ready(`updateStrategy ${strategy}: pods are replaced only when deleted, so the rollout is not waited for`);
}

/**
 * kubectl's StatefulSetStatusViewer: OnDelete cannot be waited for; otherwise the generation must be
 * observed and every replica ready; with a partition, the pods from the partition ordinal up must be
 * updated; without a rollingUpdate block, the update revision must have become the current one.
 */
export function statefulSetRollout(obj: RolloutObject): RolloutStatus {
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const onDelete = onDeleteRollout(obj);
  if (onDelete) return onDelete;
  if (num(status.observedGeneration) === 0 || num(obj.metadata?.generation) > num(status.observedGeneration)) {
    return progressing(generationPending(obj, status.observedGeneration) ?? 'waiting for the controller to observe it');
  }
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : undefined;
  const readyReplicas = num(status.readyReplicas);
  if (replicas !== undefined && readyReplicas < replicas) {
    return progressing(`${readyReplicas} of ${replicas} pods ready`);
  }
  const rollingUpdate = spec.updateStrategy?.rollingUpdate;
  if (rollingUpdate) {
    const partition = typeof rollingUpdate.partition === 'number' ? rollingUpdate.partition : undefined;
    const updated = num(status.updatedReplicas);
    if (replicas !== undefined && partition !== undefined && updated < replicas - partition) {
      return progressing(`partitioned rollout: ${updated} of ${replicas - partition} new pods updated`);
    }
    return ready(
      partition ? `partitioned rollout complete: ${plural(updated, 'new pod')} updated (pods below ordinal ${partition} keep the old revision)` : `${plural(updated, 'pod')} updated and ready`,
    );
  }
  if (status.updateRevision !== status.currentRevision) {
    return progressing(`rolling update: ${plural(num(status.updatedReplicas), 'pod')} at revision ${status.updateRevision}`);
  }
  return ready(`${plural(num(status.currentReplicas), 'pod')} at revision ${status.currentRevision}`);
}

/**
 * kubectl's DaemonSetStatusViewer: OnDelete cannot be waited for; otherwise, once the generation is
 * observed, every node that should run it has an updated pod and every one of them is available.
 */
export function daemonSetRollout(obj: RolloutObject): RolloutStatus {
  const status = obj.status ?? {};
  const onDelete = onDeleteRollout(obj);
  if (onDelete) return onDelete;
  const pending = generationPending(obj, status.observedGeneration);
  if (pending) return progressing(pending);
  const desired = num(status.desiredNumberScheduled);
  const updated = num(status.updatedNumberScheduled);
  const available = num(status.numberAvailable);
  if (updated < desired) return progressing(`${updated} of ${desired} new pods updated`);
  if (available < desired) return progressing(`${available} of ${desired} updated pods available`);
  if (desired === 0) return ready('no node should run it (0 pods scheduled): check its nodeSelector, affinity and tolerations against the nodes\' taints');
  return ready(`${plural(desired, 'pod')} updated and available`);
}

/**
 * Jobs run until Complete. Failed (or FailureTarget, which the controller sets first once the Job is
 * bound to fail) fails. A suspended Job does not run: ready, with a note.
 */
export function jobRollout(obj: RolloutObject): RolloutStatus {
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const isTrue = (type: string) => conditionOf(obj, type)?.status === 'True';
  if (isTrue('Complete')) return ready(`complete (${plural(num(status.succeeded), 'pod')} succeeded)`);
  for (const type of ['Failed', 'FailureTarget']) {
    const c = conditionOf(obj, type);
    if (c?.status === 'True') return failed(withMessage(c));
  }
  if (spec.suspend === true) return ready('suspended (spec.suspend: true): it does not run, so it is not waited for');
  const completions = typeof spec.completions === 'number' ? spec.completions : 1;
  const parts = [`${num(status.succeeded)} of ${completions} completions`, `${num(status.active)} running`];
  if (num(status.failed) > 0) {
    const limit = typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6;
    parts.push(`${plural(num(status.failed), 'failed pod')} (backoffLimit ${limit})`);
  }
  return progressing(parts.join(', '));
}

/**
 * A Pod is there when it is Ready, or when it has run to completion (Succeeded). A Failed pod fails.
 * Otherwise the reason names the first container that is waiting or not ready.
 */
export function podRollout(obj: RolloutObject): RolloutStatus {
  const status = obj.status ?? {};
  const phase: string = status.phase ?? 'Pending';
  if (phase === 'Succeeded') return ready('Succeeded: ran to completion');
  if (phase === 'Failed') {
    const terminated = containerStatuses(obj).find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0)?.state?.terminated;
    const detail = terminated ? `${terminated.reason ?? 'terminated'}, exit code ${terminated.exitCode}` : [status.reason, status.message].filter(Boolean).join(': ');
    return failed(`pod Failed${detail ? ` (${detail})` : ''}`);
  }
  if (conditionOf(obj, 'Ready')?.status === 'True') return ready('Ready');
  const scheduled = conditionOf(obj, 'PodScheduled');
  if (scheduled?.status === 'False') return progressing(`Pending: not scheduled: ${scheduled.message ?? scheduled.reason ?? 'no node fits'}`);
  for (const c of containerStatuses(obj)) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      const restarts = num(c.restartCount) > 0 ? `, ${plural(num(c.restartCount), 'restart')}` : '';
      return progressing(`container ${c.name}: ${waiting.reason}${restarts}`);
    }
  }
  const notReady = containerStatuses(obj).find((c) => c.state?.running && !c.ready);
  if (notReady) return progressing(`${phase}: container ${notReady.name} running but not ready`);
  return progressing(phase);
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: { reason?: string; exitCode?: number } };
}

function containerStatuses(obj: RolloutObject): ContainerStatus[] {
  const s = obj.status ?? {};
  return [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])];
}

/**
 * A PersistentVolumeClaim is there when Bound. Lost fails. Pending waits; with no volume provisioner
 * (or no matching PersistentVolume) it stays Pending for good, which the reason says.
 */
export function pvcRollout(obj: RolloutObject): RolloutStatus {
  const phase: string = obj.status?.phase ?? 'Pending';
  if (phase === 'Bound') return ready(`Bound to ${obj.spec?.volumeName ?? 'a volume'}`);
  if (phase === 'Lost') return failed('Lost: its PersistentVolume no longer exists');
  const annotations = obj.metadata?.annotations ?? {};
  const provisioner = annotations['volume.kubernetes.io/storage-provisioner'] ?? annotations['volume.beta.kubernetes.io/storage-provisioner'];
  if (provisioner) return progressing(`${phase}: waiting for the volume provisioner ${provisioner}`);
  const storageClass = obj.spec?.storageClassName;
  return progressing(
    `${phase}: not bound to a volume — no volume provisioner has taken it and no PersistentVolume matches` +
      ` (storageClassName: ${storageClass === undefined ? 'unset, and no default StorageClass took it' : storageClass || '""'}); it stays Pending until one does`,
  );
}

/** A CustomResourceDefinition is there when Established; NamesAccepted=False fails. */
export function crdRollout(obj: RolloutObject): RolloutStatus {
  const established = conditionOf(obj, 'Established');
  if (established?.status === 'True') return ready('Established');
  const names = conditionOf(obj, 'NamesAccepted');
  if (names?.status === 'False') return failed(withMessage(names));
  return progressing(established ? `not Established: ${withMessage(established)}` : 'not Established yet');
}

const FAILURE_WORDS = /fail|error|invalid|denied|forbidden|backoff|crash|timed? ?out|exceeded|degraded/i;

/**
 * Custom resources (and any other kind): by a Ready condition, else an Available one. True is ready;
 * False is failed when its reason or message says so (Failed, Error, Invalid, …), else progressing;
 * Unknown is progressing. A Stalled=True condition (the kstatus convention) fails. Conditions or a
 * status.observedGeneration older than the object's generation are not current yet. With no such
 * condition there is nothing to wait for: ready.
 */
export function conditionRollout(obj: RolloutObject): RolloutStatus {
  const status = obj.status ?? {};
  if (status.observedGeneration !== undefined) {
    const pending = generationPending(obj, status.observedGeneration);
    if (pending) return progressing(pending);
  }
  const stalled = conditionOf(obj, 'Stalled');
  if (stalled?.status === 'True') return failed(`Stalled: ${withMessage(stalled)}`);
  const cond = conditionOf(obj, 'Ready') ?? conditionOf(obj, 'Available');
  if (!cond) return ready('no Ready or Available condition: nothing to wait for');
  if (cond.observedGeneration !== undefined && num(obj.metadata?.generation) > cond.observedGeneration) {
    return progressing(`${cond.type} condition is for generation ${cond.observedGeneration}, not ${obj.metadata?.generation} yet`);
  }
  if (cond.status === 'True') return ready(cond.type);
  const text = `${cond.type}=${cond.status}${cond.reason || cond.message ? `: ${withMessage(cond)}` : ''}`;
  if (cond.status === 'False' && FAILURE_WORDS.test(`${cond.reason ?? ''} ${cond.message ?? ''}`)) return failed(text);
  return progressing(text);
}

/** The API groups that ship with Kubernetes; every other group is a custom resource's. */
const BUILT_IN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'extensions',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/** The rule for a kind, or undefined when there is nothing to wait for. */
function ruleFor(apiVersion: string, kind: string): ((obj: RolloutObject, ctx: RolloutContext) => RolloutStatus) | undefined {
  const group = groupOf(apiVersion);
  if ((group === 'apps' || group === 'extensions') && kind === 'Deployment') return deploymentRollout;
  if (group === 'apps' && kind === 'StatefulSet') return statefulSetRollout;
  if ((group === 'apps' || group === 'extensions') && kind === 'DaemonSet') return daemonSetRollout;
  if (group === 'batch' && kind === 'Job') return jobRollout;
  if (group === '' && kind === 'Pod') return podRollout;
  if (group === '' && kind === 'PersistentVolumeClaim') return pvcRollout;
  if (group === 'apiextensions.k8s.io' && kind === 'CustomResourceDefinition') return crdRollout;
  // Services, ConfigMaps, Secrets, RBAC, Ingresses, CronJobs…: applied is done.
  if (BUILT_IN_GROUPS.has(group)) return undefined;
  return conditionRollout;
}

/**
 * Whether objects of this kind have a rollout to wait for. Built-in kinds other than Deployments,
 * StatefulSets, DaemonSets, Jobs, Pods, PVCs and CRDs (Services, ConfigMaps, …) do not: they are
 * ready once applied. Custom resources do (by their conditions).
 */
export function hasRollout(apiVersion: string, kind: string): boolean {
  return ruleFor(apiVersion, kind) !== undefined;
}

/** The rollout state of any object, by the rule for its kind. */
export function rolloutStatus(obj: RolloutObject, ctx: RolloutContext = {}): RolloutStatus {
  const rule = ruleFor(obj.apiVersion ?? 'v1', obj.kind ?? '');
  return rule ? rule(obj, ctx) : ready('applied: nothing to wait for');
}
