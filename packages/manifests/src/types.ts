/** What render-and-validate-manifests reports and carries: findings, where objects came from, the bundle's manifests. */
import type { FieldPath, KubeObject, ObjectRef } from '@kubeline/k8s';

export type Severity = 'error' | 'warning' | 'info';

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
