/** A Kubernetes object as parsed from YAML: a plain JSON-like value. */
export type KubeObject = Record<string, unknown>;

/** A field path inside an object, e.g. ['spec', 'template', 'spec', 'containers', 0, 'image']. */
export type FieldPath = readonly (string | number)[];

export type Severity = 'error' | 'warning' | 'info';

/** Identity of an object, as reported to the user. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** A place in a file the user can open: file is workspace-relative where possible, lines 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  column?: number;
}

/** Something wrong (or worth saying) about the bundle. */
export interface Finding {
  /** Rule id: `yaml/syntax`, `schema/unknown-field`, `api/removed`, `policy/image-digest`, … */
  rule: string;
  severity: Severity;
  message: string;
  /** How to fix it, in one sentence. */
  fix?: string;
  object?: ObjectRef;
  /** Field the finding is about, inside `object`. */
  path?: FieldPath;
  /** Resolved from the object's origin and `path` before reporting. */
  location?: SourceLocation;
}

/** Where a rendered object came from, so findings can point at a line. */
export interface Origin {
  /** Absolute path of the file the document was parsed from (a source file, or the renderer's output). */
  file: string;
  /** Index of the YAML document in that file (0-based, counting empty documents). */
  document: number;
  /** For rendered output: the source file a document was traced to (Helm `# Source:`, kustomize origin). */
  source?: string;
}

/** One object of the bundle. */
export interface Manifest {
  object: KubeObject;
  origin: Origin;
  /**
   * The document's own text while the object is unchanged: the bundle keeps the user's formatting
   * and comments for it. Whatever changes the object clears it.
   */
  text?: string;
}

/** The identity of a manifest's object, with defaults for what is missing. */
export function objectRef(object: KubeObject): ObjectRef {
  const metadata = (isRecord(object.metadata) ? object.metadata : {}) as Record<string, unknown>;
  const ref: ObjectRef = {
    apiVersion: typeof object.apiVersion === 'string' ? object.apiVersion : '',
    kind: typeof object.kind === 'string' ? object.kind : '',
    name: typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '',
  };
  if (typeof metadata.namespace === 'string') ref.namespace = metadata.namespace;
  return ref;
}

/** `Deployment demo-staging/demo`: how objects are named in messages and tables. */
export function describeObject(ref: ObjectRef): string {
  const name = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
  return `${ref.kind || '(no kind)'} ${name || '(no name)'}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `spec.template.spec.containers[0].image` */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}
