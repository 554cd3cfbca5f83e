/** Reading YAML streams as Kubernetes reads them: documents split exactly, the fast reader first, the `yaml` package for the rest, field locations. */
import { isMap, isScalar, isSeq, LineCounter, type ParsedNode, Scalar } from 'yaml';
import { locateInSimpleYaml, NOT_SIMPLE, parseSimpleYaml } from './fast-yaml';
import { type ReadError, readDocument, stringKey } from './yaml-library';
import type { FieldPath } from './object';

export { MAX_ALIASES, MAX_NODES } from './fast-yaml';

/** One YAML document of a file: its value, or why it could not be read. */
export interface YamlDocument {
  /** 0-based index in the file, counting empty documents, as `kubectl` and Helm count them. */
  index: number;
  /** 0-based line of the document's first line (its `---` line if it has one). */
  firstLine: number;
  /** Offsets of the document's text in the stream (after a byte-order mark). */
  start: number;
  end: number;
  /** The document's text, kept to find the line of a field later. */
  text: string;
  /** Undefined for an empty document (only comments or nothing). */
  value?: unknown;
  error?: { message: string; line: number; column: number };
}

const DOCUMENT_BOUNDARY = /^(?:---|\.\.\.)(?=[ \t\r]|$)/;

/**
 * Splits a YAML stream at its document markers, then parses each document on its own, so one
 * broken document does not hide the findings of the others. A `---` or `...` line at column 0
 * always ends a document (YAML forbids them inside scalars), so the split is exact.
 */
export function parseYamlStream(text: string): YamlDocument[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const documents: YamlDocument[] = [];
  let start = 0; // offset of the current document
  let firstLine = 0;
  let line = 0;
  let offset = 0;
  let pendingEnd = false; // saw `...`: what follows up to the next `---` is not a document
  const flush = (end: number, nextLine: number, nextStart: number) => {
    const chunk = text.slice(start, end);
    if (!pendingEnd || chunk.trim()) documents.push(parseDocument(chunk, documents.length, firstLine, start, end));
    start = nextStart;
    firstLine = nextLine;
  };
  while (offset <= text.length) {
    const newline = text.indexOf('\n', offset);
    const end = newline === -1 ? text.length : newline;
    const current = text.slice(offset, Math.min(end, offset + 4));
    if ((current.startsWith('---') || current.startsWith('...')) && DOCUMENT_BOUNDARY.test(text.slice(offset, end))) {
      if (current.startsWith('---')) {
        // The `---` line opens the next document (it may carry content: `--- {a: 1}`).
        if (offset > start || documents.length > 0) flush(offset, line, offset);
        pendingEnd = false;
      } else {
        flush(offset, line + 1, newline === -1 ? text.length : newline + 1);
        pendingEnd = true;
      }
    }
    if (newline === -1) break;
    offset = newline + 1;
    line++;
  }
  if (start < text.length || documents.length === 0) flush(text.length, line, text.length);
  return documents;
}

// YAML allows only printable characters in a stream (go-yaml refuses the others anywhere, even in
// comments): C0 controls but tab and line breaks, DEL, C1 controls but NEL, U+FFFE, U+FFFF, lone surrogates.
const NON_PRINTABLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function controlCharacter(text: string): ReadError | undefined {
  const found = NON_PRINTABLE.exec(text);
  if (!found) return undefined;
  const code = found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return { message: `control character U+${code} is not allowed in YAML`, offset: found.index };
}

function parseDocument(text: string, index: number, firstLine: number, start: number, end: number): YamlDocument {
  const doc: YamlDocument = { index, firstLine, text, start, end };
  const read = readValue(text, true);
  if ('error' in read) doc.error = { message: read.error.message, ...lineAndColumn(text, read.error.offset ?? 0, firstLine) };
  else if (read.value !== undefined) doc.value = read.value;
  return doc;
}

/**
 * One document read by the library alone, without the fast reader: what parseYamlStream falls back
 * to. For tests that compare the two readers; `line` and `column` are 1-based in `text`.
 */
export function readYamlDocument(text: string): { value?: unknown; error?: { message: string; line: number; column: number } } {
  const read = readValue(text, false);
  if ('error' in read) return { error: { message: read.error.message, ...lineAndColumn(text, read.error.offset ?? 0, 0) } };
  return read.value === undefined ? {} : { value: read.value };
}

/** A document's value (undefined when it is empty or null), or why it cannot be read. */
function readValue(text: string, fast: boolean): { value?: unknown } | { error: ReadError } {
  const control = controlCharacter(text);
  if (control) return { error: control };
  if (fast) {
    const simple = parseSimpleYaml(text);
    if (simple !== NOT_SIMPLE) return { value: simple ?? undefined };
  }
  const read = readDocument(text);
  if ('error' in read) return read;
  return { value: read.doc.toJS({ maxAliasCount: -1 }) ?? undefined };
}

// ---------------------------------------------------------------------------------------------

/**
 * The 1-based line and column of a field in a document; for a field that is not there (a missing
 * required field), the closest enclosing one. Parses the document again (only findings pay), with
 * the fast reader when it takes the document, else with the library.
 */
export function locateField(doc: Pick<YamlDocument, 'text' | 'firstLine'>, path: FieldPath): { line: number; column: number } {
  const simple = locateInSimpleYaml(doc.text, path);
  if (simple !== NOT_SIMPLE) return { line: doc.firstLine + simple.line + 1, column: simple.column + 1 };
  const lines = new LineCounter();
  const read = readDocument(doc.text, lines);
  if ('error' in read) return { line: doc.firstLine + 1, column: 1 };
  let node: ParsedNode | null = read.doc.contents;
  let at = node ? Math.max(0, startOf(doc.text, node)) : 0;
  for (const part of path) {
    if (typeof part === 'string' && isMap(node)) {
      const pair = (node.items as Array<{ key: ParsedNode; value: ParsedNode | null }>).find((p) => isScalar(p.key) && stringKey(p.key.value) === part);
      if (!pair) break;
      at = Math.max(0, startOf(doc.text, pair.key));
      node = pair.value;
    } else if (typeof part === 'number' && isSeq(node)) {
      const item = node.items[part] as ParsedNode | undefined;
      if (item === undefined) break;
      const start = startOf(doc.text, item);
      at = start >= 0 ? start : (blockItemOffset(doc.text, node.range[0], part) ?? at);
      node = item;
    } else break;
  }
  const { line, col } = lines.linePos(at);
  return { line: doc.firstLine + line, column: col };
}

/**
 * Where a node starts in the text, as the former reader placed it (so findings keep their lines and
 * columns), or -1 for an empty (null) scalar.
 */
function startOf(text: string, node: ParsedNode): number {
  let start = node.range[0];
  if (isScalar(node)) {
    // An empty scalar has no position of its own, only that of its anchor or tag if it has one.
    if (node.range[1] === start && !node.anchor && !node.tag) return -1;
    // With an anchor or a tag: where the first one starts (an anchor: after its `&`).
    if (node.anchor || node.tag) {
      start = propertiesStart(text, start);
      if (text[start] === '&') start++;
    }
    // A quoted scalar's position is that of its first character, after the quote; a block
    // scalar's that of its first line, after the `|` or `>` line.
    else if (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE) start++;
    else if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
      const next = text.indexOf('\n', start);
      if (next !== -1) start = next + 1;
    }
  }
  return start;
}

/** Moves back over `&anchor` and `!tag` properties (and the spaces between) before `offset`. */
function propertiesStart(text: string, offset: number): number {
  let start = offset;
  for (;;) {
    let end = start;
    while (end > 0 && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
    let begin = end;
    while (begin > 0 && !/[\s,[\]{}]/.test(text[begin - 1])) begin--;
    if (begin === end || (text[begin] !== '&' && text[begin] !== '!')) return start;
    start = begin;
  }
}

/** The offset of item `n` of a block sequence that starts at `start`: the n-th `-` at its column. */
function blockItemOffset(text: string, start: number, n: number): number | undefined {
  if (start < 0 || text.charAt(start) !== '-') return undefined;
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const column = start - lineStart;
  let seen = -1;
  for (let at = lineStart; at < text.length; ) {
    const end = text.indexOf('\n', at);
    const line = text.slice(at, end === -1 ? text.length : end);
    const indent = line.length - line.trimStart().length;
    if (line.trim() && !line.trimStart().startsWith('#')) {
      if (indent < column) return undefined;
      if (indent === column && line.charAt(column) === '-' && ++seen === n) return at + column;
    }
    if (end === -1) break;
    at = end + 1;
  }
  return undefined;
}

function lineAndColumn(text: string, offset: number, firstLine: number): { line: number; column: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line: firstLine + line + 1, column: offset - lineStart + 1 };
}
