/**
 * What a gradual rollout works on, and the objects it writes on the way: which Deployments change,
 * the Services and routes in front of them, the canary and green copies, the pinned selectors and
 * the route weights. Pure functions of the bundle and the live objects, checked before anything is
 * applied.
 */
import { clone, isRecord, type KubeObject, type ObjectRef, objectRef, refKey } from '@kubeline/k8s';
import { ConfigurationError } from '@kubeline/toolkit';
import type { Strategy, Traffic } from './settings';

/** The label that tells the canary or green pods from the stable ones (in their selector too). */
export const TRACK_LABEL = 'kubeline.dev/track';
/** Marks an object made only for a rollout, naming the Deployment or Service it was made from. */
export const ROLLOUT_COPY_ANNOTATION = 'kubeline.dev/rollout-copy-of';
/** The ReplicaSet label a Service is pinned to so that it selects the stable pods only. */
export const POD_TEMPLATE_HASH = 'pod-template-hash';

/** A Deployment of the bundle whose pod template changes, and what stands in front of it. */
export interface RolloutTarget {
  /** The Deployment as the new bundle has it (namespace set). */
  desired: KubeObject;
  /** As the last good release applied it (the stable version). */
  stable: KubeObject;
  namespace: string;
  name: string;
  /** spec.replicas of the new bundle (1 when unset). */
  replicas: number;
  /** Services of the bundle that select its pods. */
  services: KubeObject[];
  /** HTTPRoutes (traffic httproute) of the bundle whose backendRefs name one of those Services. */
  routes: KubeObject[];
  /** ingress-nginx Ingresses of the bundle with a backend that is one of those Services. */
  ingresses: KubeObject[];
}

/** How the rollout splits traffic, after `auto` is resolved. */
export type TrafficMode = Exclude<Traffic, 'auto'>;

const meta = (o: KubeObject): { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } =>
  (isRecord(o.metadata) ? o.metadata : {}) as never;
const isKind = (o: KubeObject, apiVersion: string, kind: string): boolean => o.apiVersion === apiVersion && o.kind === kind;
export const isDeployment = (o: KubeObject): boolean => isKind(o, 'apps/v1', 'Deployment');
const isService = (o: KubeObject): boolean => isKind(o, 'v1', 'Service');
const isHttpRoute = (o: KubeObject): boolean => o.kind === 'HTTPRoute' && String(o.apiVersion).startsWith('gateway.networking.k8s.io/');
const isIngress = (o: KubeObject): boolean => isKind(o, 'networking.k8s.io/v1', 'Ingress');
/** An Ingress ingress-nginx serves: class `nginx` by field or by the old annotation. */
const isNginxIngress = (o: KubeObject): boolean =>
  isIngress(o) && ((o.spec as { ingressClassName?: string } | undefined)?.ingressClassName === 'nginx' || meta(o).annotations?.['kubernetes.io/ingress.class'] === 'nginx');
const isHpa = (o: KubeObject): boolean => o.kind === 'HorizontalPodAutoscaler' && String(o.apiVersion).startsWith('autoscaling/');

/** The object with its namespace set when it has none (every object a rollout touches is namespaced). */
export function inNamespace(object: KubeObject, namespace: string): KubeObject {
  const m = meta(object);
  return m.namespace ? object : { ...object, metadata: { ...m, namespace } };
}

/** A Deployment's pod template labels. */
export function podLabels(deployment: KubeObject): Record<string, string> {
  const template = (deployment.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
  return { ...(template?.metadata?.labels ?? {}) };
}

/** A Service's selector (empty: it selects nothing by itself). */
export function serviceSelector(service: KubeObject): Record<string, string> {
  return { ...((service.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {}) };
}

/** Whether `selector` (equality-based, non-empty) selects pods with `labels`. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

const templateOf = (d: KubeObject): unknown => (d.spec as { template?: unknown } | undefined)?.template;
const replicasOf = (d: KubeObject): number => {
  const r = (d.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof r === 'number' ? r : 1;
};
const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
}
const describe = (o: KubeObject): string => `${o.kind} ${meta(o).name}`;

/** The backendRefs of a route's rules that name a Service (group core, kind Service). */
function serviceBackends(route: KubeObject): Array<{ name: string; weight?: number }> {
  const rules = ((route.spec as { rules?: Array<{ backendRefs?: Array<Record<string, unknown>> }> } | undefined)?.rules ?? []);
  return rules.flatMap((r) => (r.backendRefs ?? []).filter((b) => (b.kind ?? 'Service') === 'Service' && !b.group).map((b) => ({ name: String(b.name), weight: b.weight as number | undefined })));
}

/** The Services an Ingress sends to: its default backend and every path's. */
function ingressServices(ingress: KubeObject): string[] {
  const spec = (ingress.spec ?? {}) as { defaultBackend?: { service?: { name?: string } }; rules?: Array<{ http?: { paths?: Array<{ backend?: { service?: { name?: string } } }> } }> };
  const names = [spec.defaultBackend?.service?.name, ...(spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend?.service?.name))];
  return names.filter((n): n is string => Boolean(n));
}

/** What the caller knows of the cluster for the plan: the live Deployments and HPAs the bundle's Deployments meet. */
export interface LiveFacts {
  /** HPAs in the namespaces of the targets (live), besides those of the bundle. */
  hpas: KubeObject[];
  /** Live Deployments in the namespaces of the targets, besides those of the bundle (two behind one Service). */
  deployments: KubeObject[];
}

/**
 * The Deployments a gradual rollout moves step by step: those of the bundle that the last good
 * release also had, with another pod template. The rest of the bundle is applied at the start.
 * Refuses, naming the objects and the way out, what would make the weights untrue: an HPA owning
 * the replicas (replica traffic), a Service that selects the stable pods but not the new ones, a
 * Service in front of two Deployments, a blue-green Deployment without a Service to switch.
 */
export function planTargets(
  bundle: readonly KubeObject[],
  previous: readonly KubeObject[],
  options: { namespace: string; strategy: Exclude<Strategy, 'rolling'>; traffic: Traffic; live: LiveFacts },
): { targets: RolloutTarget[]; traffic: TrafficMode; warnings: string[] } {
  const objects = bundle.map((o) => inNamespace(o, meta(o).namespace ?? options.namespace));
  const before = new Map(previous.map((o) => [refKey(objectRef(inNamespace(o, meta(o).namespace ?? options.namespace))), o]));
  const services = objects.filter(isService);
  const routes = objects.filter(isHttpRoute);
  const warnings: string[] = [];
  const problems: string[] = [];
  const targets: RolloutTarget[] = [];
  for (const desired of objects.filter(isDeployment)) {
    const stable = before.get(refKey(objectRef(desired)));
    if (!stable || sameJson(templateOf(stable), templateOf(desired))) continue;
    const { name = '', namespace = options.namespace } = meta(desired);
    const newLabels = podLabels(desired);
    const oldLabels = podLabels(stable);
    const mine = services.filter((s) => meta(s).namespace === namespace && (selects(serviceSelector(s), oldLabels) || selects(serviceSelector(s), newLabels)));
    for (const s of mine) {
      if (!selects(serviceSelector(s), newLabels)) {
        problems.push(`${describe(s)} selects ${labelText(serviceSelector(s))}, which the new pods of Deployment ${name} (${labelText(newLabels)}) do not carry: the new version would get no traffic. Keep the selector's labels in the pod template, or deploy this change with strategy: rolling.`);
      }
      const others = [...objects.filter(isDeployment), ...options.live.deployments]
        .filter((d) => meta(d).namespace === namespace && meta(d).name !== name && selects(serviceSelector(s), podLabels(d)));
      const otherNames = [...new Set(others.map((d) => meta(d).name))];
      if (otherNames.length) {
        problems.push(`${describe(s)} selects the pods of Deployment ${name} and of Deployment ${otherNames.join(', ')}: the traffic shares would not be the steps' weights. Give each Deployment its own Service (or selector label).`);
      }
    }
    const myRoutes = routes.filter((r) => meta(r).namespace === namespace && serviceBackends(r).some((b) => mine.some((s) => meta(s).name === b.name)));
    const myIngresses = objects.filter(isNginxIngress).filter((i) => meta(i).namespace === namespace && ingressServices(i).some((n) => mine.some((s) => meta(s).name === n)));
    targets.push({ desired, stable, namespace, name, replicas: replicasOf(desired), services: mine, routes: myRoutes, ingresses: myIngresses });
  }

  let traffic: TrafficMode =
    options.traffic === 'auto' ? (targets.some((t) => t.routes.length) ? 'httproute' : targets.some((t) => t.ingresses.length) ? 'ingress-nginx' : 'replicas') : options.traffic;
  if (options.strategy === 'blue-green') traffic = 'replicas';
  for (const t of targets) {
    if (options.strategy === 'blue-green' && !t.services.length) {
      problems.push(`Deployment ${t.name}: blue-green switches the selector of the Service in front of it, and no Service of the bundle selects its pods (${labelText(podLabels(t.desired))}). Add the Service to the bundle, or use strategy: canary.`);
    }
    if (options.strategy === 'canary' && traffic === 'httproute' && !t.routes.length) {
      problems.push(`Deployment ${t.name}: traffic: httproute, but no HTTPRoute of the bundle sends traffic to ${t.services.length ? t.services.map((s) => `Service ${meta(s).name}`).join(', ') : 'a Service that selects its pods'}. Add the route to the bundle, or use traffic: replicas.`);
    }
    if (options.strategy === 'canary' && traffic === 'ingress-nginx' && !t.ingresses.length) {
      problems.push(`Deployment ${t.name}: traffic: ingress-nginx, but no Ingress of class nginx in the bundle has ${t.services.length ? t.services.map((s) => `Service ${meta(s).name}`).join(', ') : 'a Service that selects its pods'} as a backend. Add the Ingress to the bundle, or use traffic: replicas.`);
    }
    if (options.strategy === 'canary' && traffic === 'replicas') {
      const hpa = [...objects.filter(isHpa), ...options.live.hpas].find((h) => {
        const ref = (h.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
        return meta(h).namespace === t.namespace && ref?.kind === 'Deployment' && ref.name === t.name;
      });
      if (hpa) {
        problems.push(`Deployment ${t.name} is scaled by HorizontalPodAutoscaler ${meta(hpa).name}: a canary by replicas sets the replicas of the stable and canary Deployments, and the autoscaler would undo it. Use traffic: httproute (the weights are on the route, the autoscaler keeps the stable replicas) or strategy: blue-green.`);
      }
      if (t.replicas < 2) {
        warnings.push(`Deployment ${t.name} has replicas: ${t.replicas}: a canary by replicas runs 1 canary pod beside 1 stable pod, so the new version's real share is 50 % at every step before 100. Raise replicas, or use traffic: httproute for exact weights.`);
      }
    }
  }
  if (problems.length) throw new ConfigurationError(`cannot roll out gradually:\n  - ${problems.join('\n  - ')}`, 'strategy');
  return { targets, traffic, warnings };
}

const labelText = (labels: Record<string, string>): string => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') || 'no labels';

/** Canary and stable replicas at a weight, traffic by replicas: the canary's share of ready pods is the weight, at least one pod, the total kept. */
export function replicaSplit(total: number, weight: number): { canary: number; stable: number; share: number } {
  if (weight >= 100) return { canary: total, stable: 0, share: 100 };
  if (total < 2) return { canary: 1, stable: 1, share: 50 };
  const canary = Math.min(total - 1, Math.max(1, Math.ceil((total * weight) / 100)));
  return { canary, stable: total - canary, share: Math.round((canary / total) * 1000) / 10 };
}

/** Canary replicas when a route carries the weights: enough pods for the weight's share of the load, at least one. */
export const routedCanaryReplicas = (total: number, weight: number): number => Math.max(1, Math.ceil((total * weight) / 100));

/** `<name>-canary` / `<name>-green`: the copy of a Deployment that runs the new version beside the stable one. */
export const copyName = (name: string, track: 'canary' | 'green'): string => `${name}-${track}`.slice(0, 253);

/**
 * The canary or green Deployment: the new pod template with the track label (in the selector too,
 * so the copy never adopts the stable pods), `replicas` of them, marked as a rollout copy.
 */
export function trackDeployment(target: RolloutTarget, track: 'canary' | 'green', replicas: number): KubeObject {
  const d = clone(target.desired);
  const m = meta(d);
  const spec = d.spec as { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template: { metadata?: { labels?: Record<string, string> } } };
  d.metadata = { name: copyName(target.name, track), namespace: target.namespace, labels: { ...(m.labels ?? {}), [TRACK_LABEL]: track }, annotations: { [ROLLOUT_COPY_ANNOTATION]: `Deployment/${target.name}` } };
  spec.replicas = replicas;
  spec.selector = { ...(spec.selector ?? {}), matchLabels: { ...(spec.selector?.matchLabels ?? {}), [TRACK_LABEL]: track } };
  spec.template.metadata = { ...(spec.template.metadata ?? {}), labels: { ...(spec.template.metadata?.labels ?? {}), [TRACK_LABEL]: track } };
  return d;
}

/** The stable Deployment as the last good release applied it, at `replicas`. */
export function stableAt(target: RolloutTarget, replicas: number): KubeObject {
  const d = clone(inNamespace(target.stable, target.namespace));
  (d.spec as { replicas?: number }).replicas = replicas;
  return d;
}

/** A Service of the bundle with its selector narrowed by `extra` (pinned to the stable ReplicaSet, or switched to the green pods). */
export function serviceWith(service: KubeObject, extra: Record<string, string>): KubeObject {
  const s = clone(service);
  (s.spec as { selector?: Record<string, string> }).selector = { ...serviceSelector(service), ...extra };
  return s;
}

/** `<service>-canary`: the Service a route sends the canary's weight to, selecting the canary pods only. */
export function canaryService(service: KubeObject): KubeObject {
  const s = clone(service);
  const m = meta(service);
  const spec = s.spec as Record<string, unknown>;
  for (const field of ['clusterIP', 'clusterIPs', 'nodePort', 'loadBalancerIP', 'externalIPs']) delete spec[field];
  if (Array.isArray(spec.ports)) spec.ports = (spec.ports as Array<Record<string, unknown>>).map(({ nodePort: _n, ...p }) => p);
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.type = 'ClusterIP';
  spec.selector = { ...serviceSelector(service), [TRACK_LABEL]: 'canary' };
  s.metadata = { name: copyName(String(m.name), 'canary').slice(0, 63), namespace: m.namespace, labels: { ...(m.labels ?? {}) }, annotations: { [ROLLOUT_COPY_ANNOTATION]: `Service/${m.name}` } };
  return s;
}

/**
 * The route with `weight` percent of each stable Service's traffic sent to its canary Service:
 * a backendRef to a stable Service of weight W becomes W·(100−weight) to it and W·weight to the
 * canary (added beside it, or updated). At weight 0 the route is the bundle's own.
 */
export function routeAt(route: KubeObject, stableServices: readonly string[], weight: number): KubeObject {
  const r = clone(route);
  const rules = ((r.spec as { rules?: Array<{ backendRefs?: Array<Record<string, unknown>> }> }).rules ?? []);
  for (const rule of rules) {
    const out: Array<Record<string, unknown>> = [];
    for (const ref of rule.backendRefs ?? []) {
      const isStable = (ref.kind ?? 'Service') === 'Service' && !ref.group && stableServices.includes(String(ref.name));
      if (!isStable || weight === 0) {
        out.push(ref);
        continue;
      }
      const base = typeof ref.weight === 'number' ? ref.weight : 1;
      out.push({ ...ref, weight: base * (100 - weight) });
      out.push({ ...ref, name: copyName(String(ref.name), 'canary').slice(0, 63), weight: base * weight });
    }
    rule.backendRefs = out;
  }
  return r;
}

/** An object made only for a rollout (a canary or green Deployment, a canary Service). */
export const isCopy = (o: KubeObject): boolean => Boolean(meta(o).annotations?.[ROLLOUT_COPY_ANNOTATION]);

/** ingress-nginx's canary annotations (its others, e.g. by-header, are dropped from the copy so that only the weight decides). */
const NGINX_CANARY = 'nginx.ingress.kubernetes.io/canary';

/**
 * `<ingress>-canary`: the copy of an ingress-nginx Ingress that sends `weight` percent of its
 * traffic to the canary Services (ingress-nginx's canary annotations), the stable Services'
 * backends renamed to their `-canary` Services.
 */
export function canaryIngress(ingress: KubeObject, stableServices: readonly string[], weight: number): KubeObject {
  const i = clone(ingress);
  const m = meta(ingress);
  const annotations = Object.fromEntries(Object.entries(m.annotations ?? {}).filter(([k]) => !k.startsWith(NGINX_CANARY)));
  i.metadata = {
    name: copyName(String(m.name), 'canary'),
    namespace: m.namespace,
    labels: { ...(m.labels ?? {}) },
    annotations: { ...annotations, [NGINX_CANARY]: 'true', [`${NGINX_CANARY}-weight`]: String(weight), [ROLLOUT_COPY_ANNOTATION]: `Ingress/${m.name}` },
  };
  const rename = (backend: { service?: { name?: string } } | undefined) => {
    if (backend?.service?.name && stableServices.includes(backend.service.name)) backend.service.name = copyName(backend.service.name, 'canary').slice(0, 63);
  };
  const spec = (i.spec ?? {}) as { defaultBackend?: { service?: { name?: string } }; rules?: Array<{ http?: { paths?: Array<{ backend?: { service?: { name?: string } } }> } }>; tls?: unknown };
  rename(spec.defaultBackend);
  for (const rule of spec.rules ?? []) for (const path of rule.http?.paths ?? []) rename(path.backend);
  return i;
}

/** The ref of an object (its namespace set). */
export const refOf = (o: KubeObject, namespace: string): ObjectRef => objectRef(inNamespace(o, meta(o).namespace ?? namespace));
