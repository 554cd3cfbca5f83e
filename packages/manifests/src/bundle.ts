/** The rendered bundle as one YAML stream, with the line where each object starts. */
import { toYaml } from '@kubeline/k8s';
import type { Manifest } from './types';

/** The rendered bundle as one YAML stream, and where each object starts. */
export interface Bundle {
  text: string;
  /** 0-based line of each object's `---` line, in bundle order. */
  lines: number[];
  /** Each object's document text (with its `---` line), for finding a field's line. */
  documents: string[];
}

/** Serialises objects as one multi-document YAML stream that reads the same in YAML 1.1 and 1.2. */
export function serializeBundle(manifests: readonly Manifest[]): Bundle {
  const documents: string[] = [];
  const lines: number[] = [];
  let line = 0;
  for (const { object, text: source } of manifests) {
    const text = source ? ownText(source) : `---\n${toYaml(object)}`;
    documents.push(text);
    lines.push(line);
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++;
  }
  return { text: documents.join(''), lines, documents };
}

/** A document's own text as a bundle document: with its `---` line and a final line break. */
function ownText(source: string): string {
  const start = /^---(?=[ \t\r]|$)/.test(source) ? source : `---\n${source}`;
  return start.endsWith('\n') ? start : `${start}\n`;
}
