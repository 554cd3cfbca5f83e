/** Pod specs and containers wherever an object keeps them (built-in workloads and custom resources). */
import { type FieldPath, isRecord, type KubeObject } from './object';

/** A pod spec found inside an object, with the path that leads to it. */
export interface PodSpecAt {
  spec: Record<string, unknown>;
  path: FieldPath;
  /** The pod template's metadata (labels), when the pod spec sits in a template. */
  metadata?: Record<string, unknown>;
}

/** A container (or init/ephemeral container) of a pod spec, with its path in the object. */
export interface ContainerAt {
  container: Record<string, unknown>;
  path: FieldPath;
  kind: 'containers' | 'initContainers' | 'ephemeralContainers';
}

// Where built-in kinds keep their pod spec; anything else is searched.
const KNOWN: Record<string, FieldPath> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const BUILT_IN_GROUPS = new Set(['v1', 'apps/v1', 'batch/v1', 'apps/v1beta1', 'apps/v1beta2', 'extensions/v1beta1', 'batch/v1beta1']);

function at(object: unknown, path: FieldPath): unknown {
  let value = object;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}

function looksLikePodSpec(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && Array.isArray(value.containers) && value.containers.some((c) => isRecord(c) && 'image' in c);
}

/**
 * Every pod spec in an object: the known place for built-in workloads, and a search for
 * `containers` lists with images anywhere in custom resources (Argo Rollouts, Knative, …).
 */
export function podSpecs(object: KubeObject): PodSpecAt[] {
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const known = KNOWN[kind];
  if (known && BUILT_IN_GROUPS.has(apiVersion)) {
    const spec = at(object, known);
    if (!isRecord(spec)) return [];
    const metadata = known.length > 1 ? at(object, [...known.slice(0, -1), 'metadata']) : object.metadata;
    return [{ spec, path: known, metadata: isRecord(metadata) ? metadata : undefined }];
  }
  const found: PodSpecAt[] = [];
  const search = (value: unknown, path: (string | number)[], depth: number): void => {
    if (depth > 12 || value === null || typeof value !== 'object') return;
    if (looksLikePodSpec(value)) {
      const parent = path.length ? at(object, path.slice(0, -1)) : undefined;
      const metadata = isRecord(parent) && isRecord(parent.metadata) ? parent.metadata : undefined;
      found.push({ spec: value, path: [...path], metadata });
      return;
    }
    if (Array.isArray(value)) value.forEach((item, i) => search(item, [...path, i], depth + 1));
    else for (const [key, item] of Object.entries(value)) if (key !== 'metadata' && key !== 'status') search(item, [...path, key], depth + 1);
  };
  search(object.spec, ['spec'], 0);
  return found;
}

/** Every container of a pod spec, init and ephemeral ones included. */
export function containersOf(pod: PodSpecAt): ContainerAt[] {
  const out: ContainerAt[] = [];
  for (const kind of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    const list = pod.spec[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((container, i) => {
      if (isRecord(container)) out.push({ container, path: [...pod.path, kind, i], kind });
    });
  }
  return out;
}

/** Every container image reference in `objects`, sorted and unique. */
export function containerImages(objects: readonly KubeObject[]): string[] {
  const images = new Set<string>();
  for (const object of objects)
    for (const pod of podSpecs(object)) for (const { container } of containersOf(pod)) if (typeof container.image === 'string') images.add(container.image);
  return [...images].sort();
}
