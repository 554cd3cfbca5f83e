/** Minimal-diff YAML edits: text patches at the source ranges the `yaml` Document API reports, checked by re-parsing. */
import { isDeepStrictEqual } from 'node:util';
import { type Document, isScalar, type Node, type Pair, parse, parseAllDocuments, type Scalar, type YAMLMap } from 'yaml';
import { ConfigurationError } from '@kubeline/toolkit';

/** Replace `source[start, end)` with `text`. */
export interface Patch {
  start: number;
  end: number;
  text: string;
}

/** A parsed file: its text, its documents (with source ranges) and its newline. */
export interface YamlFile {
  /** The path as the user wrote it, for messages. */
  path: string;
  text: string;
  docs: Document.Parsed[];
  newline: string;
}

/**
 * Parses every document of a file, keeping source ranges. A syntax error is the user's: it names
 * the file and line.
 */
export function parseYamlFile(path: string, text: string): YamlFile {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  if (!Array.isArray(docs)) return { path, text, docs: [], newline: '\n' };
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) throw new ConfigurationError(`${path}:${lineOf(text, err.pos[0])} is not valid YAML (${err.message.split('\n')[0]}); fix the file in the repository.`, 'file');
  }
  return { path, text, docs, newline: text.includes('\r\n') ? '\r\n' : '\n' };
}

/** 1-based line of a source offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function rangeOf(node: Node): [number, number, number] {
  if (!node.range) throw new Error('internal: a YAML node without a source range');
  return node.range;
}

/** The value as a scalar of the same quoting as `like` (plain when that reads back as the same string). */
export function renderScalar(value: string, like?: Scalar): string {
  if (like?.type === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  if (like?.type !== 'QUOTE_DOUBLE' && /^[A-Za-z0-9_.\/@:+-]+$/.test(value) && !/^[-:]/.test(value) && parse(value) === value) return value;
  return JSON.stringify(value);
}

/** Replaces a scalar's text (the value only: its comment and spacing stay). */
export function replaceScalar(file: YamlFile, node: Scalar, value: string): Patch {
  const [start, end] = rangeOf(node);
  const text = renderScalar(value, node);
  // `key:` with no value: the empty scalar sits right after the colon.
  if (start === end) return { start, end, text: file.text[start - 1] === ':' ? ` ${text}` : text };
  return { start, end, text };
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Where the line holding the end of `node` ends (after its comment and newline). */
function afterLine(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

function pairEnd(pair: Pair): number {
  const node = (pair.value ?? pair.key) as Node;
  return rangeOf(node)[1];
}

/** Adds `key: value` pairs at the end of a map, indented as its keys are (block) or before its `}` (flow). */
export function insertPairs(file: YamlFile, map: YAMLMap, pairs: ReadonlyArray<[string, string]>): Patch {
  const { text, newline } = file;
  const rendered = pairs.map(([k, v]) => `${renderScalar(k)}: ${renderScalar(v)}`);
  if (map.flow) {
    let close = rangeOf(map)[1] - 1;
    while (close > 0 && text[close] !== '}') close--;
    let at = close;
    while (at > 0 && /\s/.test(text[at - 1])) at--;
    const empty = map.items.length === 0 || text[at - 1] === ',';
    return { start: at, end: at, text: (empty ? '' : ', ') + rendered.join(', ') };
  }
  const last = map.items[map.items.length - 1];
  if (!last) throw new Error('internal: insert into an empty block map');
  const keyStart = rangeOf(last.key as Node)[0];
  const indent = ' '.repeat(keyStart - lineStart(text, keyStart));
  const at = afterLine(text, pairEnd(last));
  const lines = rendered.map((line) => indent + line + newline).join('');
  return at === text.length && !text.endsWith('\n') ? { start: at, end: at, text: newline + lines.slice(0, -newline.length) } : { start: at, end: at, text: lines };
}

/** Removes one pair from a map: its whole line(s) in a block map, the pair and one comma in a flow map. */
export function deletePair(file: YamlFile, map: YAMLMap, index: number): Patch {
  const { text } = file;
  const pair = map.items[index];
  const next = map.items[index + 1];
  const keyStart = rangeOf(pair.key as Node)[0];
  if (map.flow) {
    if (next) return { start: keyStart, end: rangeOf(next.key as Node)[0], text: '' };
    const prev = map.items[index - 1];
    return { start: prev ? pairEnd(prev) : keyStart, end: pairEnd(pair), text: '' };
  }
  const from = lineStart(text, keyStart);
  // The key opens its line: take the whole line(s). After `- ` (a sequence item) the next key moves up.
  if (/^\s*$/.test(text.slice(from, keyStart))) return { start: from, end: afterLine(text, pairEnd(pair)), text: '' };
  if (next) return { start: keyStart, end: rangeOf(next.key as Node)[0], text: '' };
  throw new Error('internal: delete of the only pair of a sequence item');
}

/** Renames a pair's key in place (its value and comments stay). */
export function renameKey(pair: Pair, key: string): Patch {
  const [start, end] = rangeOf(pair.key as Node);
  return { start, end, text: renderScalar(key, isScalar(pair.key) ? pair.key : undefined) };
}

/** The text with the patches applied (they must not overlap). */
export function applyPatches(text: string, patches: readonly Patch[]): string {
  const sorted = [...patches].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Infinity;
  for (const p of sorted) {
    if (p.end > limit) throw new Error('internal: overlapping YAML patches');
    out = out.slice(0, p.start) + p.text + out.slice(p.end);
    limit = p.start;
  }
  return out;
}

/**
 * Applies the patches and checks the result means what `expected` says each document should now
 * be (computed with the Document API's setIn/deleteIn on a clone). A mismatch is a bug in the
 * patch, and nothing is written.
 */
export function patchAndVerify(file: YamlFile, patches: readonly Patch[], expected: readonly unknown[]): string {
  const out = applyPatches(file.text, patches);
  const reparsed = parseAllDocuments(out);
  const ok = Array.isArray(reparsed) && reparsed.length === expected.length && reparsed.every((d, i) => d.errors.length === 0 && isDeepStrictEqual(d.toJS(), expected[i]));
  if (!ok) throw new Error(`internal: the edit of ${file.path} did not produce the intended YAML; nothing was changed`);
  return out;
}

/** A map's pair by key, with its index. */
export function pairOf(map: YAMLMap, key: string): { pair: Pair; index: number } | undefined {
  const index = map.items.findIndex((p) => isScalar(p.key) && String(p.key.value) === key);
  return index < 0 ? undefined : { pair: map.items[index], index };
}

/** The keys of a map, for "present are …" messages. */
export function keysOf(map: YAMLMap): string[] {
  return map.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
}
