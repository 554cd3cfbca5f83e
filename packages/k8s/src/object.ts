/** Kubernetes objects as plain values: their identity, how they are named to people, field paths. */

/** A Kubernetes object as parsed from YAML or JSON: a plain JSON-like value. */
export type KubeObject = Record<string, unknown>;

/** A field path inside an object, e.g. ['spec', 'template', 'spec', 'containers', 0, 'image']. */
export type FieldPath = readonly (string | number)[];

/** Identity of an object, as reported to the user. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The identity of an object, with '' for what is missing (`generateName` shows as `prefix-*`). */
export function objectRef(object: KubeObject): ObjectRef {
  const metadata = (isRecord(object.metadata) ? object.metadata : {}) as Record<string, unknown>;
  const ref: ObjectRef = {
    apiVersion: typeof object.apiVersion === 'string' ? object.apiVersion : '',
    kind: typeof object.kind === 'string' ? object.kind : '',
    name: typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '',
  };
  if (typeof metadata.namespace === 'string' && metadata.namespace) ref.namespace = metadata.namespace;
  return ref;
}

/** `apps/v1` → `{ group: 'apps', version: 'v1' }`; `v1` → the core group. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * A stable key for an object's identity as the API server sees it: the group, not the version
 * (`apps/v1beta2` and `apps/v1` name one object).
 */
export function refKey(ref: ObjectRef): string {
  return `${splitApiVersion(ref.apiVersion).group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** `Deployment demo-staging/demo`: how objects are named in messages and tables. */
export function describeObject(ref: ObjectRef): string {
  const name = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
  return `${ref.kind || '(no kind)'} ${name || '(no name)'}`;
}

/** `spec.template.spec.containers[0].image` */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

/** A deep copy of a JSON value (what Kubernetes objects are). */
export const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
