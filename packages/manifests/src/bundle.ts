import { dump } from 'js-yaml';
import type { KubeObject } from './types';

/** The rendered bundle as one YAML stream, and where each object starts. */
export interface Bundle {
  text: string;
  /** 0-based line of each object's `---` line, in bundle order. */
  lines: number[];
  /** Each object's document text (with its `---` line), for finding a field's line. */
  documents: string[];
}

/**
 * Serialises objects as one multi-document YAML stream. The dump schema quotes every string that
 * a YAML 1.1 reader (kubectl, go-yaml) would take for something else (`"yes"`, `"0755"`), and
 * aliases are written out (noRefs): the output reads the same everywhere.
 */
export function serializeBundle(objects: readonly KubeObject[]): Bundle {
  const documents: string[] = [];
  const lines: number[] = [];
  let line = 0;
  for (const object of objects) {
    const text = `---\n${dump(object, { noRefs: true })}`;
    documents.push(text);
    lines.push(line);
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++;
  }
  return { text: documents.join(''), lines, documents };
}
