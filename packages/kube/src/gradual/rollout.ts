/**
 * Gradual delivery without a controller in the cluster: canary steps and blue-green, driven from
 * the runner with the objects users already have (Deployments, a Service, an HTTPRoute). The state
 * of a rollout lives in its release record, so a paused rollout survives the runner and a new
 * machine can resume or abort it.
 */
import { describeObject, type KubeObject, type ObjectRef, refKey } from '@kubeline/k8s';
import { ConfigurationError, errorMessage, ExternalError, formatDuration } from '@kubeline/toolkit';
import { type AppliedObject, type ApplyOptions, applyBundle } from '../apply';
import type { KubeClient } from '../client';
import { diagnose, diagnosisLines, type WorkloadDiagnosis } from '../diagnose';
import type { DeploySettings } from '../inputs';
import { prune, pruneCandidates, type ReleaseRecord, type ReleaseStore } from '../release';
import { rollBack, type RollbackReport } from '../rollback';
import { type WaitResult, waitForAll, waitTargets } from '../wait';
import { describeWaitFailure, progressLine } from '../wait-report';
import { type CheckFailure, observeStep, podHealth, type StepWatch } from './observe';
import {
  canaryIngress,
  canaryService,
  inNamespace,
  isCopy,
  isDeployment,
  planTargets,
  POD_TEMPLATE_HASH,
  refOf,
  replicaSplit,
  routeAt,
  routedCanaryReplicas,
  type RolloutTarget,
  serviceWith,
  stableAt,
  TRACK_LABEL,
  trackDeployment,
  type TrafficMode,
} from './plan';
import type { GradualSettings } from './settings';

/** Where a rollout stands: `running` while a run drives it, `paused` at a manual gate, then how it ended. */
export type RolloutPhase = 'running' | 'paused' | 'done' | 'aborted';

/** One step of a rollout, as the release record keeps it. */
export interface StepRecord {
  /** 1-based. */
  step: number;
  /** The new version's weight in percent; its real share of pods under traffic by replicas. */
  weight: number;
  share?: number;
  /** canary and stable replicas (traffic by replicas), or the canary's (by route). */
  replicas?: { canary: number; stable?: number };
  startedAt: string;
  /** From the weight applied until every pod of both versions was Ready. */
  readyMs?: number;
  /** How long the checks ran. */
  checkedMs?: number;
  result: 'passed' | 'failed' | 'paused' | 'aborted' | 'cancelled';
  detail?: string;
}

/** A rollout's state, in the `kubeline.dev/rollout` annotation of its release record. */
export interface GradualState {
  strategy: 'canary' | 'blue-green';
  traffic: TrafficMode;
  /** The weights it goes through (blue-green: 0 = beside the old, 100 = switched). */
  steps: number[];
  /** Index of the last step reached; -1 before the first. */
  step: number;
  weight: number;
  phase: RolloutPhase;
  /** The last good revision it started from (what an abort brings back). */
  previousRevision: number;
  /** The run driving it, or that paused it. */
  runUrl?: string;
  /** Objects made only for the rollout: deleted at the end or on abort. */
  temporary: ObjectRef[];
  /** The stable ReplicaSet's pod-template-hash per Deployment (Services pinned to it). */
  stableHashes: Record<string, string>;
  /** `metadata.generation` of the Deployments the rollout set, after its last step: a resume refuses if someone changed them. */
  generations: Record<string, number>;
  history: StepRecord[];
  updated: string;
}

/** What a gradual rollout needs from deploy. */
export interface GradualRun {
  client: KubeClient;
  store: ReleaseStore;
  settings: DeploySettings;
  gradual: GradualSettings;
  /** The last good release: the stable version. */
  previous: ReleaseRecord;
  /** The bundle to roll out (the objects as given; a resume reads them from the record). */
  bundle: KubeObject[];
  applyOptions: ApplyOptions;
  log: (line: string) => void;
  signal?: AbortSignal;
  env: NodeJS.ProcessEnv;
  runUrl?: string;
  commit?: string;
  proof?: Record<string, unknown>;
}

/** How a gradual rollout ended, for deploy's outcome. */
export interface GradualOutcome {
  status: 'deployed' | 'rolled-back' | 'failed' | 'paused' | 'aborted';
  record: ReleaseRecord;
  state: GradualState;
  applied: AppliedObject[];
  wait?: WaitResult;
  diagnosis: WorkloadDiagnosis[];
  rollback?: RollbackReport;
  failure?: string;
  /** Objects of the previous release this one dropped, deleted at the end. */
  pruned?: Awaited<ReturnType<typeof prune>>;
}

/** The rollout a release has open (running, crashed or paused), from its newest record. */
export function openRollout(records: readonly ReleaseRecord[]): { record: ReleaseRecord; state: GradualState } | undefined {
  const newest = records[0];
  const state = newest?.rollout as GradualState | undefined;
  if (!newest || newest.status !== 'pending' || !state || (state.phase !== 'running' && state.phase !== 'paused')) return undefined;
  return { record: newest, state };
}

/** The message for a deploy that finds a rollout open. */
export function openRolloutMessage(release: string, namespace: string, open: { record: ReleaseRecord; state: GradualState }): string {
  const { state, record } = open;
  const where = state.phase === 'paused' ? `paused at ${state.weight} %` : `interrupted at ${state.weight} % (its run ended without finishing it)`;
  return `release ${release} in namespace ${namespace} has a ${state.strategy} rollout ${where}: revision ${record.revision}${state.runUrl ? `, started by ${state.runUrl}` : ''}. Continue it with resume: true, or abort it with abort: true, before deploying again.`;
}

const now = (): string => new Date().toISOString();

/** The stable ReplicaSet's pod-template-hash: the one at the Deployment's current revision, fully rolled out. */
async function stableHash(client: KubeClient, target: RolloutTarget): Promise<string> {
  const live = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: target.namespace, name: target.name })) as any;
  if (!live) throw new ExternalError(`Deployment ${target.name} of the last good release is not in namespace ${target.namespace} any more: deploy with strategy: rolling.`);
  const revision = live.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  const sets = (await client.list('apps/v1', 'ReplicaSet', { namespace: target.namespace })) as any[];
  const mine = sets.filter((rs) => (rs.metadata?.ownerReferences ?? []).some((o: any) => o.uid === live.metadata?.uid));
  const current = mine.find((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision);
  const hash = current?.metadata?.labels?.[POD_TEMPLATE_HASH];
  const oldPods = mine.filter((rs) => rs !== current).reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
  if (!hash || oldPods > 0) {
    throw new ExternalError(`Deployment ${target.name} is still rolling out (${oldPods} pods of an older ReplicaSet): a gradual rollout starts from one stable version. Wait for it, or deploy with strategy: rolling.`);
  }
  return hash;
}

/** Drives one canary or blue-green rollout: a new one, or the open one resumed or aborted. */
export class GradualRollout {
  private record!: ReleaseRecord;
  private state!: GradualState;
  private targets: RolloutTarget[] = [];
  private readonly info: (line: string) => void;
  private readonly outcome: Omit<GradualOutcome, 'record' | 'state' | 'status'> = { applied: [], diagnosis: [] };

  constructor(private readonly run: GradualRun) {
    this.info = run.log;
  }

  /** The refs of every object of the bundle (namespaces set). */
  private bundleRefs(): ObjectRef[] {
    return this.run.bundle.map((o) => refOf(o, this.run.applyOptions.namespace));
  }

  private async plan(strategy: 'canary' | 'blue-green', traffic: GradualSettings['traffic']): Promise<{ traffic: TrafficMode; warnings: string[] }> {
    const previousBundle = await this.run.store.bundle(this.run.previous);
    const namespaces = [...new Set(this.run.bundle.filter(isDeployment).map((d) => refOf(d, this.run.applyOptions.namespace).namespace as string))];
    const hpas: KubeObject[] = [];
    const deployments: KubeObject[] = [];
    for (const ns of namespaces) {
      hpas.push(...(await this.run.client.list('autoscaling/v2', 'HorizontalPodAutoscaler', { namespace: ns }).catch(() => [])));
      deployments.push(...(await this.run.client.list('apps/v1', 'Deployment', { namespace: ns, labelSelector: `!${TRACK_LABEL}` })));
    }
    const planned = planTargets(this.run.bundle, previousBundle, { namespace: this.run.applyOptions.namespace, strategy, traffic, live: { hpas, deployments } });
    this.targets = planned.targets;
    return planned;
  }

  /** Starts a new rollout; undefined when no Deployment's pod template changes (a rolling deploy does it). */
  async start(): Promise<GradualOutcome | undefined> {
    const strategy = this.run.gradual.strategy as 'canary' | 'blue-green';
    const { traffic, warnings } = await this.plan(strategy, this.run.gradual.traffic);
    if (!this.targets.length) {
      this.info(`strategy ${strategy}: no Deployment's pod template changes since revision ${this.run.previous.revision}; deploying as a rolling update.`);
      return undefined;
    }
    for (const w of warnings) this.info(`warning: ${w}`);
    const stableHashes: Record<string, string> = {};
    if (strategy === 'blue-green' || traffic !== 'replicas') for (const t of this.targets) stableHashes[t.name] = await stableHash(this.run.client, t);
    this.state = {
      strategy,
      traffic,
      steps: strategy === 'blue-green' ? [0, 100] : this.run.gradual.steps,
      step: -1,
      weight: 0,
      phase: 'running',
      previousRevision: this.run.previous.revision,
      runUrl: this.run.runUrl,
      temporary: [],
      stableHashes,
      generations: {},
      history: [],
      updated: now(),
    };
    this.record = await this.run.store.record({ objects: this.run.bundle, commit: this.run.commit, runUrl: this.run.runUrl, status: 'pending', proof: this.run.proof });
    await this.save();
    this.info(`${strategy} rollout of ${this.targets.map((t) => `Deployment ${t.name}`).join(', ')} (revision ${this.record.revision}, from revision ${this.run.previous.revision}), traffic by ${traffic === 'replicas' ? 'replicas' : traffic}: ${this.state.steps.join(' → ')} %.`);
    try {
      await this.setUp();
    } catch (error) {
      return this.abort(`the bundle could not be applied: ${errorMessage(error)}`, 'failed');
    }
    return this.drive();
  }

  /** Continues the open rollout (resume: true). */
  async resume(open: { record: ReleaseRecord; state: GradualState }): Promise<GradualOutcome> {
    await this.adopt(open);
    await this.checkUnchanged();
    this.info(`Resuming the ${this.state.strategy} rollout of revision ${this.record.revision} at ${this.state.weight} %.`);
    this.state.phase = 'running';
    this.state.runUrl = this.run.runUrl ?? this.state.runUrl;
    await this.save();
    return this.drive();
  }

  /** Aborts the open rollout (abort: true): production goes back to the last good release. */
  async abortOpen(open: { record: ReleaseRecord; state: GradualState }, reason: string): Promise<GradualOutcome> {
    await this.adopt(open);
    return this.abort(reason, 'aborted');
  }

  private async adopt(open: { record: ReleaseRecord; state: GradualState }): Promise<void> {
    this.record = open.record;
    this.state = open.state;
    if (this.run.previous.revision !== open.state.previousRevision) {
      throw new ExternalError(`the rollout of revision ${open.record.revision} started from revision ${open.state.previousRevision}, but the last good release is now revision ${this.run.previous.revision}: someone deployed in between. Abort it with abort: true.`);
    }
    await this.plan(open.state.strategy, open.state.traffic);
  }

  /** A resume refuses when someone changed what the rollout set (scaled, edited or deleted a Deployment). */
  private async checkUnchanged(): Promise<void> {
    const changed: string[] = [];
    for (const [key, generation] of Object.entries(this.state.generations)) {
      const [namespace, name] = key.split('/');
      const live = (await this.run.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name })) as any;
      if (!live) changed.push(`Deployment ${name} was deleted`);
      else if (live.metadata?.generation !== generation) changed.push(`Deployment ${name} was changed (generation ${live.metadata?.generation}, the rollout left it at ${generation})`);
    }
    if (changed.length) {
      throw new ExternalError(`cannot resume the rollout of revision ${this.record.revision}: ${changed.join('; ')} since it paused at ${this.state.weight} %. Abort it with abort: true (production goes back to revision ${this.state.previousRevision}), then deploy again.`);
    }
  }

  private async save(): Promise<void> {
    this.state.updated = now();
    this.record = await this.run.store.setRollout(this.record, this.state as unknown as Record<string, unknown>);
  }

  private async apply(objects: KubeObject[]): Promise<AppliedObject[]> {
    const result = await applyBundle(this.run.client, objects, this.run.applyOptions);
    for (const a of result.objects) {
      if (a.ref.kind === 'Deployment' && a.ref.apiVersion === 'apps/v1') {
        const generation = (a.object.metadata as { generation?: number } | undefined)?.generation;
        if (generation !== undefined) this.state.generations[`${a.ref.namespace}/${a.ref.name}`] = generation;
      }
    }
    return result.objects;
  }

  private addTemporary(objects: KubeObject[]): void {
    const have = new Set(this.state.temporary.map(refKey));
    for (const o of objects) {
      const ref = refOf(o, this.run.applyOptions.namespace);
      if (!have.has(refKey(ref))) this.state.temporary.push(ref);
    }
  }

  private isTarget = (o: KubeObject): boolean => isDeployment(o) && this.targets.some((t) => refKey(refOf(o, t.namespace)) === refKey(refOf(t.desired, t.namespace)));
  private serviceOf = (o: KubeObject): RolloutTarget | undefined =>
    o.kind === 'Service' && o.apiVersion === 'v1' ? this.targets.find((t) => t.services.some((s) => refKey(refOf(s, t.namespace)) === refKey(refOf(o, t.namespace)))) : undefined;

  /** The rest of the bundle first: everything but the Deployments that roll out step by step, Services pinned to the stable pods where needed. */
  private async setUp(): Promise<void> {
    const pinned = this.state.strategy === 'blue-green' || this.state.traffic !== 'replicas';
    const rest = this.run.bundle
      .map((o) => inNamespace(o, refOf(o, this.run.applyOptions.namespace).namespace as string))
      .filter((o) => !this.isTarget(o))
      .map((o) => {
        const t = this.serviceOf(o);
        return t && pinned ? serviceWith(o, { [POD_TEMPLATE_HASH]: this.state.stableHashes[t.name] }) : o;
      });
    this.outcome.applied = await this.apply(rest);
    await this.save();
  }

  /** The objects that put the new version at `weight` (before 100). */
  private objectsAt(weight: number): { deployments: KubeObject[]; traffic: KubeObject[]; replicas: StepRecord['replicas'][]; share?: number } {
    const deployments: KubeObject[] = [];
    const traffic: KubeObject[] = [];
    const replicas: StepRecord['replicas'][] = [];
    let share: number | undefined;
    for (const t of this.targets) {
      if (this.state.strategy === 'blue-green') {
        deployments.push(trackDeployment(t, 'green', t.replicas));
        replicas.push({ canary: t.replicas });
        if (weight === 100) traffic.push(...t.services.map((s) => serviceWith(s, { [TRACK_LABEL]: 'green' })));
      } else if (this.state.traffic === 'replicas') {
        const split = replicaSplit(t.replicas, weight);
        deployments.push(trackDeployment(t, 'canary', split.canary), stableAt(t, split.stable));
        replicas.push({ canary: split.canary, stable: split.stable });
        share = split.share;
      } else {
        deployments.push(trackDeployment(t, 'canary', routedCanaryReplicas(t.replicas, weight)));
        replicas.push({ canary: routedCanaryReplicas(t.replicas, weight) });
        traffic.push(...t.services.map(canaryService));
        traffic.push(...this.weighted(t, weight));
      }
    }
    return { deployments, traffic, replicas, share };
  }

  /** The route or canary Ingress objects that send `weight` percent to the canary Services. */
  private weighted(t: RolloutTarget, weight: number): KubeObject[] {
    const names = t.services.map((s) => String((s.metadata as { name: string }).name));
    return this.state.traffic === 'ingress-nginx' ? t.ingresses.map((i) => canaryIngress(i, names, weight)) : t.routes.map((r) => routeAt(r, names, weight));
  }

  private watchOf(step: number, weight: number): StepWatch {
    const track = this.state.strategy === 'blue-green' ? 'green' : 'canary';
    const copies = this.objectsAt(weight).deployments.filter((d) => ((d.metadata as { labels?: Record<string, string> }).labels ?? {})[TRACK_LABEL] === track);
    return {
      namespace: this.targets[0].namespace,
      selectors: copies.map((d) => Object.entries((d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',')),
      replicas: copies.map((d) => (d.spec as { replicas: number }).replicas),
      step,
      weight,
      strategy: this.state.strategy,
    };
  }

  /** Waits for Deployments with the pod checks running beside, so a crash-looping canary fails the step at once. */
  private async waitReady(refs: ObjectRef[], watch?: StepWatch): Promise<{ wait: WaitResult; failure?: string }> {
    const stop = new AbortController();
    const signal = this.run.signal ? AbortSignal.any([this.run.signal, stop.signal]) : stop.signal;
    let early: CheckFailure | undefined;
    const since = Date.now();
    const guard = watch
      ? (async () => {
          while (!stop.signal.aborted) {
            const h = await podHealth(this.run.client, watch, new Map(), since).catch(() => undefined);
            if (h && h.check !== 'ready') {
              early = h;
              stop.abort();
              return;
            }
            await new Promise((r) => setTimeout(r, 1000));
          }
        })()
      : Promise.resolve();
    const wait = await waitForAll(this.run.client, refs, { timeoutMs: this.run.settings.timeoutMs, signal, onProgress: (p) => this.info(progressLine(p)) });
    stop.abort();
    await guard;
    if (early) return { wait, failure: `${early.message}` };
    if (wait.outcome === 'cancelled' && this.run.signal?.aborted) return { wait, failure: 'the job was cancelled' };
    return { wait, failure: wait.outcome === 'ready' ? undefined : describeWaitFailure(wait) };
  }

  /** Steps from where the state stands to 100, or to the pause. */
  private async drive(): Promise<GradualOutcome> {
    const { steps } = this.state;
    for (let i = this.state.step + 1; i < steps.length; i++) {
      const weight = steps[i];
      if (weight === 100 && this.state.strategy === 'canary') return this.finish();
      const entry: StepRecord = { step: i + 1, weight, startedAt: now(), result: 'passed' };
      const at = this.objectsAt(weight);
      entry.replicas = at.replicas.length === 1 ? at.replicas[0] : undefined;
      if (at.share !== undefined) entry.share = at.share;
      this.state.step = i;
      this.state.weight = weight;
      this.state.history.push(entry);
      await this.save(); // the record says the weight before the cluster has it
      const label = `step ${i + 1} of ${steps.length} (${weight} %${at.share !== undefined && at.share !== weight ? `, real share ${at.share} %` : ''})`;
      this.info(`${label}: ${at.replicas.map((r) => (r?.stable !== undefined ? `${r.canary} new + ${r.stable} stable pods` : `${r?.canary} new pods`)).join(', ')}.`);
      const began = Date.now();
      let failure: string | undefined;
      try {
        const watch = this.watchOf(i + 1, weight);
        this.addTemporary([...at.deployments, ...at.traffic].filter(isCopy));
        await this.save();
        this.outcome.applied = mergeApplied(this.outcome.applied, await this.apply(at.deployments));
        const ready = await this.waitReady(at.deployments.map((d) => refOf(d, this.run.applyOptions.namespace)), watch);
        this.outcome.wait = ready.wait;
        failure = ready.failure;
        // Traffic moves only once the new pods are ready: the route's weights, the switch.
        if (!failure && at.traffic.length) this.outcome.applied = mergeApplied(this.outcome.applied, await this.apply(at.traffic));
        entry.readyMs = Date.now() - began;
        if (!failure) {
          const duration = weight === 100 ? this.run.gradual.keepPreviousMs : this.run.gradual.stepDurationMs;
          const checkedAt = Date.now();
          const checked = await observeStep(this.run.client, watch, { durationMs: duration, check: this.run.gradual.check, checkIntervalMs: this.run.gradual.checkIntervalMs, signal: this.run.signal, env: this.run.env, log: this.info });
          entry.checkedMs = Date.now() - checkedAt;
          if (checked) failure = `${checked.check === 'command' ? '' : `${checked.check} check: `}${checked.message}`;
        }
      } catch (error) {
        if (!(error instanceof ExternalError || error instanceof ConfigurationError)) throw error;
        failure = errorMessage(error);
      }
      if (this.run.signal?.aborted) {
        entry.result = 'cancelled';
        entry.detail = 'the job was cancelled; the post step aborts the rollout';
        await this.save().catch(() => undefined);
        return this.ended('failed', `cancelled at ${label}: the post step aborts the rollout`);
      }
      if (failure) {
        entry.result = 'failed';
        entry.detail = failure;
        await this.save();
        this.info(`${label} failed: ${failure}`);
        return this.abort(`${label} failed: ${failure}`, 'rolled-back', this.watchOf(i + 1, weight));
      }
      this.info(`${label}: ready after ${formatDuration(entry.readyMs ?? 0)}${entry.checkedMs ? `, checked for ${formatDuration(entry.checkedMs)}` : ''}.`);
      await this.save();
      if (this.run.gradual.pauseAt === weight) {
        entry.result = 'paused';
        this.state.phase = 'paused';
        await this.save();
        this.info(`Paused at ${weight} % (pause-at). Continue with resume: true, or abort with abort: true, in a later job (behind an environment with required reviewers for a manual gate).`);
        return this.ended('paused');
      }
    }
    return this.finish();
  }

  /** 100 %: the main Deployments get the new template and are waited for, traffic goes back to the bundle's own Services and routes, the copies are deleted. */
  private async finish(): Promise<GradualOutcome> {
    const entry: StepRecord = { step: this.state.steps.length, weight: 100, startedAt: now(), result: 'passed' };
    if (this.state.strategy === 'canary') {
      this.state.step = this.state.steps.length - 1;
      this.state.weight = 100;
      this.state.history.push(entry);
    }
    await this.save();
    const began = Date.now();
    try {
      if (this.state.strategy === 'canary' && this.state.traffic !== 'replicas') {
        // Every request to the canary (scaled to full size) while the main Deployments roll.
        const full = this.targets.map((t) => trackDeployment(t, 'canary', t.replicas));
        await this.apply(full);
        const ready = await this.waitReady(full.map((d) => refOf(d, this.run.applyOptions.namespace)));
        if (ready.failure) return this.failAtEnd(entry, ready.failure);
        await this.apply(this.targets.flatMap((t) => this.weighted(t, 100)));
      }
      if (this.state.strategy === 'blue-green' || this.state.traffic !== 'replicas') {
        const mains = this.targets.map((t) => t.desired);
        await this.apply(mains);
        const ready = await this.waitReady(mains.map((d) => refOf(d, this.run.applyOptions.namespace)));
        if (ready.failure) return this.failAtEnd(entry, ready.failure);
      }
      const result = await applyBundle(this.run.client, this.run.bundle, this.run.applyOptions);
      this.outcome.applied = result.objects;
      const wait = await waitForAll(this.run.client, waitTargets(result.objects), { timeoutMs: this.run.settings.timeoutMs, signal: this.run.signal, onProgress: (p) => this.info(progressLine(p)) });
      this.outcome.wait = wait;
      if (wait.outcome !== 'ready') return this.failAtEnd(entry, this.run.signal?.aborted ? 'the job was cancelled' : describeWaitFailure(wait));
    } catch (error) {
      if (!(error instanceof ExternalError || error instanceof ConfigurationError)) throw error;
      return this.failAtEnd(entry, errorMessage(error));
    }
    entry.readyMs = Date.now() - began;
    await this.removeTemporary();
    if (this.run.settings.prune) {
      const candidates = pruneCandidates(await this.run.store.list(), this.outcome.applied.map((a) => a.ref));
      if (candidates.length) this.outcome.pruned = await prune(this.run.client, candidates, { release: this.run.settings.release, log: this.info });
    }
    this.state.phase = 'done';
    await this.save();
    this.record = await this.run.store.setStatus(this.record, 'deployed');
    await this.run.store.trim(this.run.settings.history);
    this.info(`${this.state.strategy} rollout of revision ${this.record.revision} done: 100 % after ${this.state.history.length} step(s).`);
    return this.ended('deployed');
  }

  private async failAtEnd(entry: StepRecord, failure: string): Promise<GradualOutcome> {
    entry.result = 'failed';
    entry.detail = failure;
    if (this.state.strategy === 'blue-green') this.state.history.push(entry);
    await this.save().catch(() => undefined);
    if (this.run.signal?.aborted) return this.ended('failed', `cancelled at 100 %: the post step aborts the rollout`);
    return this.abort(`100 % failed: ${failure}`, 'rolled-back');
  }

  private async removeTemporary(): Promise<void> {
    if (!this.state.temporary.length) return;
    const result = await prune(this.run.client, this.state.temporary, { release: this.run.settings.release, log: this.info });
    if (result.failed.length) this.info(`could not delete ${result.failed.map((f) => describeObject(f.ref)).join(', ')}: delete them by hand.`);
  }

  /**
   * Production goes back to how it was: the copies' traffic is taken away first (routes and
   * Services of the last good release re-applied), then its whole bundle, then what this rollout
   * added is deleted and the stable set waited for at full size.
   */
  private async abort(reason: string, status: 'rolled-back' | 'aborted' | 'failed', watch?: StepWatch): Promise<GradualOutcome> {
    const namespace = this.run.applyOptions.namespace;
    if (watch && this.state.temporary.length) {
      const copies = this.state.temporary.filter((r) => r.kind === 'Deployment');
      this.outcome.diagnosis = await diagnose(this.run.client, copies.map((ref) => ({ target: ref, state: 'failed' as const, reason })), { signal: this.run.signal }).catch(() => []);
      for (const line of diagnosisLines(this.outcome.diagnosis)) this.info(line);
    }
    this.info(`Aborting the rollout of revision ${this.record.revision}: ${reason}. Back to revision ${this.state.previousRevision}.`);
    const pinned = this.state.strategy === 'blue-green' || this.state.traffic !== 'replicas';
    if (pinned) {
      // Traffic first, at once: the Services on the stable pods, the routes as they were, then the copies go.
      const previousBundle = await this.run.store.bundle(this.run.previous);
      const traffic = previousBundle
        .map((o) => inNamespace(o, refOf(o, namespace).namespace as string))
        .flatMap((o) => {
          const t = this.serviceOf(o);
          if (t) return [serviceWith(o, { [POD_TEMPLATE_HASH]: this.state.stableHashes[t.name] })];
          return o.kind === 'HTTPRoute' ? [o] : [];
        });
      if (traffic.length) await applyBundle(this.run.client, traffic, { ...this.run.applyOptions, forceConflicts: true }).catch((e) => this.info(`could not move the traffic back first: ${errorMessage(e)}`));
      await this.removeTemporary().catch((e) => this.info(`could not delete the rollout's copies: ${errorMessage(e)}`));
    }
    // The whole last good release again (the stable set at full size), and what this one added deleted.
    const applied = [...this.bundleRefs(), ...this.state.temporary].map((ref) => ({ ref, outcome: 'configured' as const, object: {} }));
    this.outcome.rollback = await rollBack({
      client: this.run.client,
      store: this.run.store,
      previous: this.run.previous,
      applied,
      settings: { ...this.run.settings, rollbackOnFailure: true },
      applyOptions: this.run.applyOptions,
      log: this.info,
      signal: this.run.signal,
    });
    if (!pinned) await this.removeTemporary().catch((e) => this.info(`could not delete the rollout's copies: ${errorMessage(e)}`));
    this.state.phase = 'aborted';
    const last = this.state.history[this.state.history.length - 1];
    if (status === 'aborted' && last) last.result = last.result === 'paused' ? 'aborted' : last.result;
    await this.save().catch(() => undefined);
    const back = !this.outcome.rollback.error && this.outcome.rollback.wait?.outcome === 'ready';
    this.record = await this.run.store.setStatus(this.record, back ? 'rolled-back' : 'failed', reason).catch(() => this.record);
    if (!back) return this.ended('failed', `${reason}; going back to revision ${this.state.previousRevision} failed too: ${this.outcome.rollback.error ?? 'not ready'}`);
    return this.ended(status === 'aborted' ? 'aborted' : 'rolled-back', reason);
  }

  private ended(status: GradualOutcome['status'], failure?: string): GradualOutcome {
    return { ...this.outcome, status, record: this.record, state: this.state, failure };
  }
}

/** The applied objects so far, the latest outcome of each. */
function mergeApplied(before: AppliedObject[], now: AppliedObject[]): AppliedObject[] {
  const out = new Map(before.map((a) => [refKey(a.ref), a]));
  for (const a of now) out.set(refKey(a.ref), a);
  return [...out.values()];
}

/** One line per step of the history, for the log and the summary. */
export function historyRows(state: GradualState): string[][] {
  return state.history.map((h) => [
    String(h.step),
    `${h.weight} %${h.share !== undefined && h.share !== h.weight ? ` (real ${h.share} %)` : ''}`,
    h.replicas ? (h.replicas.stable !== undefined ? `${h.replicas.canary} new + ${h.replicas.stable} stable` : `${h.replicas.canary} new`) : '',
    h.readyMs !== undefined ? formatDuration(h.readyMs) : '',
    h.checkedMs !== undefined ? formatDuration(h.checkedMs) : '',
    h.result + (h.detail ? `: ${h.detail}` : ''),
  ]);
}
