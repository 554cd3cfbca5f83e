import {
  EVENT_ID,
  type Event,
  getScalarValue,
  loadAll,
  parseEvents,
  Schema,
  timestampTag,
  YAML11_SCHEMA,
  YAMLException,
} from 'js-yaml';
import { NOT_SIMPLE, parseSimpleYaml } from './fast-yaml';
import type { FieldPath } from './object';

/**
 * Kubernetes reads YAML the way go-yaml v2 does (sigs.k8s.io/yaml): YAML 1.1 scalars, so `yes`,
 * `on` and `y` are booleans and `0755` is octal. Timestamps stay strings, as go-yaml leaves them
 * when decoding into an untyped value.
 */
const KUBERNETES_YAML = new Schema(YAML11_SCHEMA.tags.filter((tag) => tag !== timestampTag));

/** Aliases a document may use; legitimate manifests use a handful, alias bombs thousands. */
export const MAX_ALIASES = 1000;
/** Values a document may expand to once aliases are written out. */
export const MAX_NODES = 1_000_000;
const MAX_DEPTH = 100;

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

function parseDocument(text: string, index: number, firstLine: number, start: number, end: number): YamlDocument {
  const doc: YamlDocument = { index, firstLine, text, start, end };
  const simple = parseSimpleYaml(text, KUBERNETES_YAML);
  if (simple !== NOT_SIMPLE) {
    if (simple !== null && simple !== undefined) doc.value = simple;
    return doc;
  }
  try {
    const values = loadAll(text, { schema: KUBERNETES_YAML, maxAliases: MAX_ALIASES, maxDepth: MAX_DEPTH });
    const value = values[0];
    // Aliases share one value in memory but every reader expands them: bound what they expand to.
    if (value !== null && typeof value === 'object' && text.includes('*') && expandedSize(value, MAX_NODES) > MAX_NODES) {
      doc.error = { message: `the document expands to more than ${MAX_NODES} values through its aliases (an alias bomb?)`, line: firstLine + 1, column: 1 };
    } else if (value !== null && value !== undefined) doc.value = value;
  } catch (error) {
    const mark = error instanceof YAMLException ? error.mark : undefined;
    const reason = error instanceof YAMLException ? error.reason : error instanceof Error ? error.message : String(error);
    doc.error = { message: reason, line: firstLine + (mark?.line ?? 0) + 1, column: (mark?.column ?? 0) + 1 };
  }
  return doc;
}

/**
 * The 1-based line and column of a field in a document; for a field that is not there (a missing
 * required field), the closest enclosing one. Parses the document again: only findings pay.
 */
export function locateField(doc: Pick<YamlDocument, 'text' | 'firstLine'>, path: FieldPath): { line: number; column: number } {
  let events: Event[];
  try {
    events = parseEvents(doc.text, { maxDepth: MAX_DEPTH });
  } catch {
    return { line: doc.firstLine + 1, column: 1 };
  }
  let i = events.findIndex((e) => e.type !== EVENT_ID.DOCUMENT);
  if (i < 0) return { line: doc.firstLine + 1, column: 1 };
  let at = Math.max(0, startOf(events[i]));
  for (const part of path) {
    const node = events[i];
    if (typeof part === 'string' && node.type === EVENT_ID.MAPPING) {
      let j = i + 1;
      let found = -1;
      while (j < events.length && events[j].type !== EVENT_ID.POP) {
        const key = events[j];
        const valueAt = skip(events, j);
        if (key.type === EVENT_ID.SCALAR && getScalarValue(doc.text, key) === part) {
          found = valueAt;
          at = Math.max(0, startOf(key));
          break;
        }
        j = skip(events, valueAt);
      }
      if (found < 0) break;
      i = found;
    } else if (typeof part === 'number' && node.type === EVENT_ID.SEQUENCE) {
      let j = i + 1;
      for (let n = 0; n < part && j < events.length && events[j].type !== EVENT_ID.POP; n++) j = skip(events, j);
      if (j >= events.length || events[j].type === EVENT_ID.POP) break;
      const start = startOf(events[j]);
      at = start >= 0 ? start : blockItemOffset(doc.text, startOf(node), part) ?? at;
      i = j;
    } else break;
  }
  return lineAndColumn(doc.text, at, doc.firstLine);
}

/** Where a node starts in the text, or -1 for an empty (null) scalar, which has no position. */
function startOf(event: Event): number {
  switch (event.type) {
    case EVENT_ID.SCALAR: {
      const known = [event.valueStart, event.anchorStart, event.tagStart].filter((n) => n >= 0);
      return known.length ? Math.min(...known) : -1;
    }
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return event.start;
    case EVENT_ID.ALIAS:
      return Math.max(0, event.anchorStart - 1);
    default:
      return 0;
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

/** Index of the event after the node that starts at `i`. */
function skip(events: Event[], i: number): number {
  const type = events[i]?.type;
  if (type !== EVENT_ID.MAPPING && type !== EVENT_ID.SEQUENCE) return i + 1;
  let depth = 0;
  for (let j = i; j < events.length; j++) {
    const t = events[j].type;
    if (t === EVENT_ID.MAPPING || t === EVENT_ID.SEQUENCE) depth++;
    else if (t === EVENT_ID.POP && --depth === 0) return j + 1;
  }
  return events.length;
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

/** How many values `value` holds with shared (aliased) parts counted each time; stops past `limit`. */
function expandedSize(value: unknown, limit: number): number {
  let count = 0;
  const walk = (v: unknown): void => {
    if (++count > limit || v === null || typeof v !== 'object') return;
    for (const item of Array.isArray(v) ? v : Object.values(v)) {
      walk(item);
      if (count > limit) return;
    }
  };
  walk(value);
  return count;
}
