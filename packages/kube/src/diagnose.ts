/** Why a rollout failed: the pods, their containers' states and logs, and the events, as lines and Markdown. */
import { errorMessage, table } from '@kubeline/toolkit';
import { splitApiVersion } from '@kubeline/k8s';
import { KubeApiError } from './api-errors';
import type { KubeClient, RequestOptions } from './client';
import type { RolloutObject, RolloutState } from './rollout';
import type { WaitTarget } from './wait';
import { targetLabel } from './wait-report';

/** What to explain: a target the wait did not see ready (a TargetResult fits). */
export interface DiagnoseInput {
  target: WaitTarget;
  state: RolloutState;
  reason: string;
  /** The object as last seen; read again when missing. */
  object?: RolloutObject;
}

/** How much `diagnose` reads. */
export interface DiagnoseOptions {
  signal?: AbortSignal;
  /** Pods shown per workload, failing ones first (default 5). */
  maxPods?: number;
  /** Events shown per workload after deduplication, warnings first (default 10). */
  maxEvents?: number;
  /** Last log lines of the failing container (default 20). */
  logLines?: number;
}

/** One container of a pod: its state and why it is not ready. */
export interface ContainerDiagnosis {
  name: string;
  init: boolean;
  image?: string;
  ready: boolean;
  restarts: number;
  /** `waiting: CrashLoopBackOff`, `running, not ready`, `terminated: Error (exit code 1)`. */
  state: string;
  /** The waiting or terminated message, when there is one. */
  message?: string;
  lastTermination?: { reason?: string; exitCode?: number; finishedAt?: string };
}

/** One pod of a failed workload. */
export interface PodDiagnosis {
  name: string;
  phase: string;
  ready: boolean;
  /** Why it is not scheduled (PodScheduled=False). */
  unschedulable?: string;
  containers: ContainerDiagnosis[];
}

/** Events about the workload or its pods, grouped by type, reason and message. */
export interface EventDiagnosis {
  type: string;
  reason: string;
  /** The latest message of the group. */
  message: string;
  /** Occurrences, summed over the group. */
  count: number;
  /** `Pod/web-7d9c-x2`: every object the group's events are about. */
  objects: string[];
  lastSeen?: string;
}

/** The last lines of a container's log. */
export interface LogExcerpt {
  pod: string;
  container: string;
  /** The previous (crashed) instance of the container. */
  previous: boolean;
  lines?: string[];
  /** Why there are no lines: the server's answer (no kubelet to ask, container never started, …). */
  unavailable?: string;
}

/** Why one target failed or did not become ready: its pods, their logs and the events. */
export interface WorkloadDiagnosis {
  target: WaitTarget;
  state: RolloutState;
  reason: string;
  /** The likely causes, one line each, most telling first. */
  causes: string[];
  pods: PodDiagnosis[];
  /** Pods found in all (only `maxPods` are in `pods`). */
  podCount: number;
  events: EventDiagnosis[];
  logs?: LogExcerpt;
  /** What could not be read (the diagnosis is best-effort and never throws for it). */
  problems: string[];
}

/** The kinds whose pods are looked at (group/kind). */
const WORKLOADS = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/DaemonSet', 'batch/Job', '/Pod']);

/** Why a read failed, in one line: for an error answer, its status and the server's own message. */
function readFailure(err: unknown): string {
  if (err instanceof KubeApiError) return `HTTP ${err.status}: ${err.apiStatus.message ?? err.message}`;
  return errorMessage(err);
}

/**
 * Explains failed or timed-out targets: their pods (for a Deployment, the newest ReplicaSet's),
 * each pod's phase and containers' states (CrashLoopBackOff with restarts and the last exit code
 * and reason, ImagePullBackOff with the pull error, OOMKilled, Pending with the scheduler's
 * message), the recent Events of the workload, its ReplicaSet and its pods (deduplicated, with
 * counts), probe failures from Unhealthy events, and the last log lines of the failing container
 * when the API server can get them from the kubelet. Best-effort: what cannot be read is listed
 * in `problems`, never thrown.
 */
export async function diagnose(client: KubeClient, items: readonly DiagnoseInput[], options: DiagnoseOptions = {}): Promise<WorkloadDiagnosis[]> {
  return Promise.all(items.map((item) => diagnoseOne(client, item, options)));
}

async function diagnoseOne(client: KubeClient, item: DiagnoseInput, options: DiagnoseOptions): Promise<WorkloadDiagnosis> {
  const { target } = item;
  const d: WorkloadDiagnosis = { target, state: item.state, reason: item.reason, causes: [], pods: [], podCount: 0, events: [], problems: [] };
  const ns = target.namespace;
  /** A read that may fail: what failed goes to `problems`. */
  const tryRead = async (what: string, read: () => Promise<any>): Promise<any> => {
    try {
      return await read();
    } catch (err) {
      d.problems.push(`${what}: ${readFailure(err)}`);
      return undefined;
    }
  };
  const perRead = { signal: options.signal, timeoutMs: 10_000 };
  const list = (what: string, path: string, query: RequestOptions['query']) => tryRead(what, async () => (await client.read(path, { ...perRead, query })).body);

  const kindKey = `${splitApiVersion(target.apiVersion).group}/${target.kind}`;
  const isWorkload = WORKLOADS.has(kindKey);
  let workload = item.object;
  if (isWorkload && ns) {
    const live = await tryRead(`read ${targetLabel(target)}`, async () => {
      const { path, target: about } = await client.objectPath({ ...target, namespace: ns }, 'get');
      return (await client.read(path, { ...perRead, target: about })).body;
    });
    workload = live ?? workload;
  }

  // The pods, and the ReplicaSet in between for a Deployment.
  let pods: RolloutObject[] = [];
  let replicaSet: RolloutObject | undefined;
  const uid = workload?.metadata?.uid;
  if (workload && ns) {
    if (kindKey === '/Pod') {
      pods = [workload];
    } else if (isWorkload) {
      let owner = uid;
      let selector = selectorString(workload.spec?.selector);
      if (kindKey === 'apps/Deployment' && selector) {
        const sets = await list('list ReplicaSets', `/apis/apps/v1/namespaces/${ns}/replicasets`, { labelSelector: selector });
        replicaSet = newestReplicaSet(((sets?.items ?? []) as RolloutObject[]).filter((rs) => ownedBy(rs, uid)));
        owner = replicaSet?.metadata?.uid;
        selector = replicaSet ? selectorString(replicaSet.spec?.selector) : undefined;
        if (!replicaSet) d.causes.push('no ReplicaSet exists for it yet');
      }
      if (selector && owner) {
        const found = await list('list pods', `/api/v1/namespaces/${ns}/pods`, { labelSelector: selector });
        pods = ((found?.items ?? []) as RolloutObject[]).filter((p) => ownedBy(p, owner));
      }
    }
  }
  d.podCount = pods.length;
  const shown = [...pods].sort(byTrouble).slice(0, options.maxPods ?? 5);
  d.pods = shown.map(podDiagnosis);

  // Events of the workload, its ReplicaSet and the pods shown.
  const involved = [workload, replicaSet, ...shown].filter((o): o is RolloutObject => !!o?.metadata?.uid);
  const eventLists = await Promise.all(
    involved.map((o) => {
      const where = o.metadata?.namespace ?? ns;
      return list(`list events of ${o.kind ?? target.kind} ${o.metadata?.name}`, `${where ? `/api/v1/namespaces/${where}` : '/api/v1'}/events`, {
        fieldSelector: `involvedObject.uid=${o.metadata?.uid}`,
      });
    }),
  );
  const rawEvents = eventLists.flatMap((l) => (l?.items ?? []) as KubeEvent[]);
  const grouped = groupEvents(rawEvents);
  d.events = grouped.slice(0, options.maxEvents ?? 10);

  d.causes.push(...causesOf(d.pods, grouped, pods.length));
  // A failed Job's condition (what the wait saw) is a cause even before the controller's event about it is readable.
  if (kindKey === 'batch/Job' && item.state === 'failed' && item.reason && !d.causes.includes(item.reason)) d.causes.push(item.reason);
  if (d.causes.length === 0 && isWorkload && kindKey !== '/Pod' && pods.length === 0 && workload) d.causes.push('it has no pods');

  const pick = logTarget(d.pods);
  if (pick && ns) d.logs = await readLogs(client, ns, pick, options);
  return d;
}

interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  series?: { count?: number; lastObservedTime?: string };
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
  involvedObject?: { kind?: string; name?: string; uid?: string };
  metadata?: { creationTimestamp?: string };
}

/** A label selector as the API's labelSelector query parameter writes it. */
export function selectorString(selector: any): string | undefined {
  if (!selector || typeof selector !== 'object') return undefined;
  const parts: string[] = Object.entries((selector.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  for (const e of (selector.matchExpressions ?? []) as Array<{ key: string; operator: string; values?: string[] }>) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : undefined;
}

const ownedBy = (o: RolloutObject, uid: string | undefined): boolean =>
  !!uid && Array.isArray(o.metadata?.ownerReferences) && (o.metadata.ownerReferences as Array<{ uid?: string }>).some((r) => r.uid === uid);

function newestReplicaSet(sets: RolloutObject[]): RolloutObject | undefined {
  const revision = (rs: RolloutObject) => Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  const created = (rs: RolloutObject) => Date.parse(String(rs.metadata?.creationTimestamp ?? '')) || 0;
  return [...sets].sort((a, b) => revision(b) - revision(a) || created(b) - created(a))[0];
}

const isReady = (pod: RolloutObject): boolean => (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

/** Not-ready pods first, then the newest. */
function byTrouble(a: RolloutObject, b: RolloutObject): number {
  const created = (p: RolloutObject) => Date.parse(String(p.metadata?.creationTimestamp ?? '')) || 0;
  return Number(isReady(a)) - Number(isReady(b)) || created(b) - created(a);
}

function podDiagnosis(pod: RolloutObject): PodDiagnosis {
  const status = pod.status ?? {};
  const scheduled = (status.conditions ?? []).find((c: any) => c.type === 'PodScheduled');
  const containers = (list: any[] | undefined, init: boolean): ContainerDiagnosis[] =>
    (list ?? []).map((c: any) => {
      const s = c.state ?? {};
      let state = 'unknown';
      let message: string | undefined;
      if (s.waiting) {
        state = `waiting: ${s.waiting.reason ?? 'waiting'}`;
        message = s.waiting.message;
      } else if (s.running) {
        state = c.ready ? 'running, ready' : 'running, not ready';
      } else if (s.terminated) {
        state = `terminated: ${s.terminated.reason ?? 'terminated'} (exit code ${s.terminated.exitCode})`;
        message = s.terminated.message;
      }
      const last = c.lastState?.terminated;
      return {
        name: c.name,
        init,
        image: c.image,
        ready: c.ready === true,
        restarts: c.restartCount ?? 0,
        state,
        ...(message ? { message } : {}),
        ...(last ? { lastTermination: { reason: last.reason, exitCode: last.exitCode, finishedAt: last.finishedAt } } : {}),
      };
    });
  return {
    name: pod.metadata?.name ?? '',
    phase: status.phase ?? 'Pending',
    ready: isReady(pod),
    ...(scheduled?.status === 'False' ? { unschedulable: scheduled.message ?? scheduled.reason ?? 'not scheduled' } : {}),
    containers: [...containers(status.initContainerStatuses, true), ...containers(status.containerStatuses, false)],
  };
}

const eventTime = (e: KubeEvent): string | undefined => e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;

/**
 * Events grouped by kind of object, type, reason and message (with the object's own name and
 * uids taken out, so the same failure on three pods is one line with three objects), counts summed,
 * warnings first, then the most recent.
 */
function groupEvents(events: readonly KubeEvent[]): EventDiagnosis[] {
  const groups = new Map<string, EventDiagnosis & { at: number }>();
  for (const e of events) {
    const name = e.involvedObject?.name ?? '';
    const kind = e.involvedObject?.kind ?? '';
    const message = (e.message ?? '').trim();
    const shape = (name ? message.split(name).join('{name}') : message).replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '{uid}');
    const key = [kind, e.type, e.reason, shape].join('\u0000');
    const when = eventTime(e);
    const at = when ? Date.parse(when) || 0 : 0;
    const count = e.series?.count ?? e.count ?? 1;
    const object = `${kind}/${name}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { type: e.type ?? 'Normal', reason: e.reason ?? '', message, count, objects: [object], lastSeen: when, at });
      continue;
    }
    g.count += count;
    if (!g.objects.includes(object)) g.objects.push(object);
    if (at >= g.at) Object.assign(g, { message, lastSeen: when, at });
  }
  return [...groups.values()]
    .sort((a, b) => Number(b.type === 'Warning') - Number(a.type === 'Warning') || b.at - a.at)
    .map(({ at: _at, ...g }) => g);
}

const onPods = (n: number, total: number): string => (total > 1 ? ` (${n} of ${total} pods)` : '');
const times = (n: number): string => (n === 1 ? 'once' : `${n} times`);

/** The likely causes, from container states first, then the events that explain them. */
function causesOf(pods: PodDiagnosis[], events: EventDiagnosis[], total: number): string[] {
  const causes = new Map<string, number>();
  const add = (text: string) => causes.set(text, (causes.get(text) ?? 0) + 1);
  for (const pod of pods) {
    if (pod.unschedulable) add(`pod cannot be scheduled: ${pod.unschedulable}`);
    for (const c of pod.containers) {
      const last = c.lastTermination;
      const oom = last?.reason === 'OOMKilled' || /OOMKilled/.test(c.state);
      if (c.state === 'waiting: CrashLoopBackOff') {
        const exit = last ? `, last exit code ${last.exitCode} (${last.reason ?? 'terminated'})` : '';
        add(`container ${c.name}: CrashLoopBackOff, restarted ${times(c.restarts)}${exit}`);
      } else if (/^waiting: (ImagePullBackOff|ErrImagePull|InvalidImageName|ErrImageNeverPull)$/.test(c.state)) {
        add(`container ${c.name}: ${c.state.slice('waiting: '.length)}: ${c.message ?? `cannot pull ${c.image}`}`);
      } else if (/^waiting: (CreateContainerConfigError|CreateContainerError|RunContainerError)$/.test(c.state)) {
        add(`container ${c.name}: ${c.state.slice('waiting: '.length)}: ${c.message ?? ''}`.trim());
      } else if (c.state.startsWith('terminated: ') && !/\(exit code 0\)$/.test(c.state)) {
        add(`container ${c.name}: ${c.state.slice('terminated: '.length)}${c.message ? `: ${c.message}` : ''}`);
      } else if (c.restarts > 0 && last && !c.ready) {
        // between two crashes: running again for a moment
        add(`container ${c.name}: restarting, restarted ${times(c.restarts)}, last exit code ${last.exitCode} (${last.reason ?? 'terminated'})`);
      } else if (c.state === 'running, not ready' && !c.init) {
        add(`container ${c.name}: running but not ready`);
      }
      if (oom) add(`container ${c.name}: killed for running out of memory (OOMKilled, exit code ${last?.exitCode ?? 137}): raise resources.limits.memory or lower its use`);
    }
  }
  const lines = [...causes].map(([text, n]) => text + onPods(n, total));
  for (const e of events) {
    if (e.type !== 'Warning') continue;
    const where = e.objects.length > 1 ? ` (${e.objects.length} objects)` : '';
    if (e.reason === 'Unhealthy') lines.push(`probe failing: ${e.message} (${times(e.count)})${where}`);
    else if (e.reason === 'FailedCreate') lines.push(`pods cannot be created: ${e.message}`);
    else if (/^Failed(Mount|AttachVolume|Binding)$|^ProvisioningFailed$/.test(e.reason)) lines.push(`volume: ${e.message}`);
    else if (e.reason === 'BackoffLimitExceeded' || e.reason === 'DeadlineExceeded') lines.push(`${e.reason}: ${e.message}`);
  }
  return lines;
}

/** The container whose logs explain most: a crashed one (its previous instance), else one running but not ready. */
function logTarget(pods: PodDiagnosis[]): { pod: string; container: string; previous: boolean } | undefined {
  for (const pod of pods) {
    for (const c of pod.containers) {
      if (c.state === 'waiting: CrashLoopBackOff' || (c.state.startsWith('waiting') && c.restarts > 0)) return { pod: pod.name, container: c.name, previous: true };
      if (c.state.startsWith('terminated') && !/\(exit code 0\)$/.test(c.state)) return { pod: pod.name, container: c.name, previous: false };
    }
  }
  for (const pod of pods) {
    for (const c of pod.containers) if (c.state === 'running, not ready') return { pod: pod.name, container: c.name, previous: false };
  }
  return undefined;
}

async function readLogs(client: KubeClient, ns: string, pick: { pod: string; container: string; previous: boolean }, options: DiagnoseOptions): Promise<LogExcerpt> {
  try {
    const text = await client.podLog(ns, pick.pod, {
      container: pick.container,
      previous: pick.previous,
      tailLines: options.logLines ?? 20,
      limitBytes: 16384,
      timeoutMs: 5000,
      signal: options.signal,
    });
    return { ...pick, lines: text.replace(/\n$/, '').split('\n') };
  } catch (err) {
    return { ...pick, unavailable: readFailure(err) };
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

const headline = (d: WorkloadDiagnosis): string => `${d.target.kind} ${d.target.name}${d.target.namespace ? ` in ${d.target.namespace}` : ''}`;
const stateWord = (d: WorkloadDiagnosis): string => (d.state === 'failed' ? 'failed' : d.state === 'ready' ? 'ready' : 'not ready');
const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;

/** Markdown for the job summary: per workload a heading, the causes, a pod table, an events table and the logs. */
export function diagnosisMarkdown(diagnoses: readonly WorkloadDiagnosis[]): string {
  const out: string[] = [];
  for (const d of diagnoses) {
    out.push(`#### ${d.state === 'failed' ? '❌' : '⏳'} ${d.target.kind} ${code(d.target.name)}${d.target.namespace ? ` in ${code(d.target.namespace)}` : ''}: ${stateWord(d)}`, '');
    out.push(d.reason, '');
    if (d.causes.length) out.push(...d.causes.map((c) => `- ${c}`), '');
    if (d.pods.length) {
      const rows = d.pods.flatMap((p) =>
        (p.containers.length ? p.containers : [undefined]).map((c) => [
          p.name,
          p.unschedulable ? `${p.phase} (unschedulable)` : p.phase,
          c ? `${c.name}${c.init ? ' (init)' : ''}` : '',
          c ? c.state : '',
          c ? c.restarts : '',
          c?.lastTermination ? `${c.lastTermination.reason ?? 'terminated'}, exit code ${c.lastTermination.exitCode}` : '',
        ]),
      );
      out.push(table(['Pod', 'Phase', 'Container', 'State', 'Restarts', 'Last termination'], rows));
      if (d.podCount > d.pods.length) out.push(`${d.podCount - d.pods.length} more pods not shown.`, '');
    }
    if (d.events.length) {
      out.push(
        table(
          ['Type', 'Reason', 'Object', 'Count', 'Last seen', 'Message'],
          d.events.map((e) => [e.type, e.reason, e.objects.length > 1 ? `${e.objects[0]} and ${e.objects.length - 1} more` : e.objects[0], e.count, e.lastSeen ?? '', e.message]),
        ),
      );
    }
    if (d.logs) {
      const which = `${code(`${d.logs.pod}/${d.logs.container}`)}${d.logs.previous ? ' (previous instance)' : ''}`;
      if (d.logs.lines) out.push(`Last log lines of ${which}:`, '', '```text', ...d.logs.lines, '```', '');
      else out.push(`Logs of ${which} unavailable: ${d.logs.unavailable}`, '');
    }
    if (d.problems.length) out.push(`Not read: ${d.problems.join('; ')}`, '');
  }
  return out.join('\n');
}

/** Plain lines for the log. */
export function diagnosisLines(diagnoses: readonly WorkloadDiagnosis[]): string[] {
  const out: string[] = [];
  for (const d of diagnoses) {
    out.push(`${headline(d)}: ${stateWord(d)}: ${d.reason}`);
    for (const c of d.causes) out.push(`  cause: ${c}`);
    for (const p of d.pods) {
      const containers = p.containers.map((c) => {
        const last = c.lastTermination ? `, last ${c.lastTermination.reason ?? 'terminated'} exit code ${c.lastTermination.exitCode}` : '';
        return `${c.name}${c.init ? ' (init)' : ''} ${c.state}, ${c.restarts} restarts${last}`;
      });
      out.push(`  pod ${p.name}: ${p.phase}${p.ready ? ', ready' : ', not ready'}${p.unschedulable ? ` (unschedulable: ${p.unschedulable})` : ''}${containers.length ? `; ${containers.join('; ')}` : ''}`);
    }
    if (d.podCount > d.pods.length) out.push(`  … ${d.podCount - d.pods.length} more pods`);
    for (const e of d.events) {
      out.push(`  event ${e.type} ${e.reason} ${e.objects.join(', ')} (${e.count}×${e.lastSeen ? `, last ${e.lastSeen}` : ''}): ${e.message}`);
    }
    if (d.logs) {
      const which = `${d.logs.pod}/${d.logs.container}${d.logs.previous ? ' (previous)' : ''}`;
      if (d.logs.lines) out.push(`  logs ${which}:`, ...d.logs.lines.map((l) => `    | ${l}`));
      else out.push(`  ${which}: logs unavailable: ${d.logs.unavailable}`);
    }
    for (const p of d.problems) out.push(`  not read: ${p}`);
  }
  return out.flatMap((line) => line.split(/\r?\n/).map((part, i) => neutralizeCommands(i ? `    ${part}` : part)));
}

/**
 * A line from the cluster (an Event message, a container's log) as plain text in the job log: a
 * line starting with `::` would be read by the runner as a workflow command (`::add-mask::`,
 * `::error::`, `::stop-commands::`), so its colons are set apart.
 */
export function neutralizeCommands(line: string): string {
  return line.replace(/^(\s*):(?=:)/, '$1: ');
}
