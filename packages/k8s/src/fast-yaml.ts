/** The fast reader for the YAML subset manifests are made of; the `yaml` package reads the rest. */
import type { FieldPath } from './object';
import { resolvePlainScalar } from './yaml11-scalars';
// One concern, the fast reader, in one file (about 550 lines): its block and flow parsers share the line model and scalar readers.

/** Returned when a document uses YAML this parser leaves to the library (the `yaml` package). */
export const NOT_SIMPLE: unique symbol = Symbol('not simple YAML');

/**
 * A fast reader for the YAML that manifests are made of: block mappings and sequences, one-line
 * plain and quoted scalars, literal blocks, one-line flow collections, comments, and anchors and
 * aliases of block values (`labels: &l` … `matchLabels: *l`). Anything else — merge keys, tags,
 * multi-line flow or plain scalars, folded blocks, duplicate keys, anchors on keys or in flow
 * collections, anything malformed — returns NOT_SIMPLE and the caller parses the document with the
 * library, which also reports every error. Plain scalars resolve through `resolvePlainScalar`, the
 * rules the library is configured with too, so a value read here is exactly the value the library
 * would read (checked by a differential fuzz test).
 */
export function parseSimpleYaml(text: string): unknown | typeof NOT_SIMPLE {
  try {
    return new SimpleParser(text).document();
  } catch (error) {
    if (error === BAIL) return NOT_SIMPLE;
    throw error;
  }
}

/**
 * Where a field is in a document this reader takes (else NOT_SIMPLE): 0-based line and column of
 * its key, or of the item in a list, or of the closest enclosing one that is there, as the library
 * path of locateField finds them. The same parse, with the positions kept.
 */
export function locateInSimpleYaml(text: string, path: FieldPath): { line: number; column: number } | typeof NOT_SIMPLE {
  const where: Positions = new WeakMap();
  let parser: SimpleParser;
  let value: unknown;
  try {
    parser = new SimpleParser(text, where);
    value = parser.document();
  } catch (error) {
    if (error === BAIL) return NOT_SIMPLE;
    throw error;
  }
  let at: Position = parser.rootAt;
  for (const part of path) {
    const positions = value !== null && typeof value === 'object' ? where.get(value) : undefined;
    const next = typeof part === 'string' ? (positions instanceof Map ? positions.get(part) : undefined) : Array.isArray(positions) ? positions[part] : undefined;
    if (!next) break;
    at = next;
    if (next[2]) break;
    value = (value as Record<string | number, unknown>)[part];
  }
  return { line: at[0], column: at[1] };
}

/** A 0-based line and column; `alias`: the value there is an alias (a path goes no deeper, as in the library path). */
type Position = [line: number, column: number, alias?: true];
/** Where the keys of a mapping and the items of a list are, by the object or array read. */
type Positions = WeakMap<object, Map<string, Position> | Position[]>;

const BAIL = new Error('not simple');
function bail(): never {
  throw BAIL;
}

const MAX_DEPTH = 100;
/** Aliases a document may use; legitimate manifests use a handful, alias bombs thousands. */
export const MAX_ALIASES = 1000;
/** Values a document may expand to once aliases are written out. */
export const MAX_NODES = 1_000_000;
// Characters that start something other than a plain scalar.
const INDICATORS = new Set(['&', '*', '!', '|', '>', '%', '@', '`', '?', '[', ']', '{', '}', '#', ',', "'", '"']);

interface Line {
  /** 0-based line number in the document. */
  no: number;
  indent: number;
  /** Text after the indentation, without a trailing `\r`. */
  text: string;
}

class SimpleParser {
  private readonly lines: Line[] = [];
  private i = 0;
  private depth = 0;
  /** Anchored values by name (an anchor counts once its node is complete: no alias can be inside it). */
  private readonly anchors = new Map<string, unknown>();
  private aliases = 0;
  /** Where the document's value starts. */
  rootAt: Position = [0, 0];

  constructor(
    source: string,
    private readonly where?: Positions,
  ) {
    // A literal block at the very end without a line break chomps differently: not worth a special case.
    if (!source.endsWith('\n') && (source.includes('|') || source.includes('>'))) bail();
    let start = 0;
    let first = true;
    for (let no = 0; start <= source.length; no++) {
      let end = source.indexOf('\n', start);
      if (end === -1) end = source.length;
      if (end === source.length && start === end && start > 0) break; // after the last line break
      let raw = source.slice(start, end);
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      start = end + 1;
      if (first && raw.startsWith('---')) {
        first = false;
        const rest = raw.slice(3).trim();
        if (rest && !rest.startsWith('#')) bail();
        continue;
      }
      first = false;
      let indent = 0;
      while (raw.charCodeAt(indent) === 32) indent++;
      const text = raw.slice(indent);
      if (text.charCodeAt(0) === 9) bail(); // tabs in indentation
      this.lines.push({ no, indent, text });
      if (end === source.length) break;
    }
  }

  document(): unknown {
    this.skipBlank();
    if (this.i >= this.lines.length) return undefined;
    const line = this.lines[this.i];
    if (line.text.startsWith('%') || line.text.startsWith('---') || line.text.startsWith('...')) bail();
    this.rootAt = [line.no, line.indent];
    const value = this.node(line.indent);
    this.skipBlank();
    if (this.i < this.lines.length) bail(); // something left over: malformed or unusual
    // What aliases expand to is bounded; the library says so when it is too much.
    if (this.aliases > 0 && expandedSize(value, new Map(), 0) > MAX_NODES) bail();
    return value;
  }

  /** Skips blank and comment-only lines. */
  private skipBlank(): void {
    while (this.i < this.lines.length) {
      const text = this.lines[this.i].text;
      if (text !== '' && text.charCodeAt(0) !== 35 /* # */) return;
      this.i++;
    }
  }

  private node(indent: number): unknown {
    if (++this.depth > MAX_DEPTH) bail();
    const line = this.lines[this.i];
    const value = isSequenceEntry(line.text) ? this.sequence(indent) : this.mapping(indent);
    this.depth--;
    return value;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    const items: Position[] | undefined = this.where && [];
    if (items) this.where!.set(out, items);
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const line = this.lines[this.i];
      if (line.indent !== indent || !isSequenceEntry(line.text)) {
        if (line.indent > indent) bail();
        break;
      }
      let spaces = 1;
      while (line.text.charCodeAt(spaces) === 32) spaces++;
      let rest = line.text.slice(spaces);
      let column = indent + spaces;
      const anchor = rest.charCodeAt(0) === 38 /* & */ ? anchorOf(rest) : undefined;
      if (anchor) {
        rest = rest.slice(anchor.length);
        column += anchor.length;
        if (rest[0] === '*') bail(); // an alias with an anchor: an error, the library says so
      }
      let value: unknown;
      if (rest === '' || rest.startsWith('#')) {
        this.i++;
        // The collection below, or (null) the dash.
        this.skipBlank();
        const below = this.lines[this.i];
        const collection = below && below.indent > indent;
        if (anchor && !collection) bail(); // an anchored null: the library
        items?.push(collection ? [below.no, below.indent] : [line.no, indent]);
        value = this.blockValue(indent, true);
      } else if (isSequenceEntry(rest) || keyEnd(rest) >= 0) {
        // `- &a name: x` anchors the key, not the mapping: the library.
        if (anchor) bail();
        // `- name: x` / `- - x`: a collection whose first line starts after the dash.
        this.lines[this.i] = { no: line.no, indent: column, text: rest };
        items?.push([line.no, column]);
        value = this.node(column);
      } else {
        // An anchored scalar is where its anchor's name is; a collection where it opens.
        const at: Position = anchor && rest[0] !== '[' && rest[0] !== '{' ? [line.no, indent + spaces + 1] : valuePosition(line.no, column, rest);
        value = this.inlineValue(rest, indent);
        if (rest[0] === '*') at[2] = true;
        items?.push(at);
      }
      if (anchor) this.anchors.set(anchor.name, value);
      out.push(value);
    }
    return out;
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys: Map<string, Position> | undefined = this.where && new Map();
    if (keys) this.where!.set(out, keys);
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const line = this.lines[this.i];
      if (line.indent !== indent) {
        if (line.indent > indent) bail();
        break;
      }
      const text = line.text;
      if (isSequenceEntry(text)) break; // the parent decides whether that is valid
      const colon = keyEnd(text);
      if (colon < 0) bail();
      const key = this.key(text.slice(0, colon));
      if (key === '<<' || Object.prototype.hasOwnProperty.call(out, key)) bail(); // merge keys, duplicates: the library
      keys?.set(key, [line.no, indent + (text.charCodeAt(0) === 34 || text.charCodeAt(0) === 39 ? 1 : 0)]);
      let rest = text.slice(colon + 1);
      let spaces = 0;
      while (rest.charCodeAt(spaces) === 32) spaces++;
      rest = rest.slice(spaces);
      const anchor = rest.charCodeAt(0) === 38 /* & */ ? anchorOf(rest) : undefined;
      if (anchor) {
        rest = rest.slice(anchor.length);
        if (rest[0] === '*') bail(); // an alias with an anchor: an error, the library says so
      }
      let value: unknown;
      if (rest === '' || rest.startsWith('#')) {
        this.i++;
        value = this.blockValue(indent, false);
        if (anchor && value === null) bail(); // an anchored null: the library
      } else {
        value = this.inlineValue(rest, indent);
        if (rest[0] === '*' && keys) keys.get(key)![2] = true;
      }
      if (anchor) this.anchors.set(anchor.name, value);
      defineKey(out, key, value);
    }
    return out;
  }

  /** The value of `key:` or `-` with nothing after it: the indented lines below, or null. */
  private blockValue(indent: number, inSequence: boolean): unknown {
    this.skipBlank();
    if (this.i >= this.lines.length) return null;
    const next = this.lines[this.i];
    if (next.indent > indent) return this.node(next.indent);
    // A mapping's value may be a sequence at the key's own indentation.
    if (!inSequence && next.indent === indent && isSequenceEntry(next.text)) {
      if (++this.depth > MAX_DEPTH) bail();
      const value = this.sequence(indent);
      this.depth--;
      return value;
    }
    return null;
  }

  /** A value that starts on the current line after `key: ` or `- `; consumes the line(s). */
  private inlineValue(text: string, indent: number): unknown {
    const c = text.charAt(0);
    let value: unknown;
    if (c === '"' || c === "'") {
      const one = c === '"' ? doubleQuoted(text, true)[1] : singleQuoted(text, true)[1];
      const line = one < 0 ? this.quotedLines(text, indent, c) : text;
      const [scalar, end] = c === '"' ? doubleQuoted(line) : singleQuoted(line);
      requireCommentOrEnd(line.slice(end));
      value = scalar;
      this.i++;
    } else if (c === '[' || c === '{') {
      const line = this.lines[this.i];
      const flow = new FlowParser(text, this.depth, this.where, line.no, line.indent + line.text.length - text.length);
      value = flow.value();
      requireCommentOrEnd(text.slice(flow.at));
      this.i++;
    } else if (c === '|' || c === '>') {
      return this.literalBlock(text, indent);
    } else if (c === '*') {
      // An alias: the anchored value itself, as the library gives it.
      const name = /^\*([^\s,[\]{}]+)/.exec(text)?.[1];
      if (!name || name.endsWith(':') || !this.anchors.has(name) || ++this.aliases > MAX_ALIASES) bail();
      requireCommentOrEnd(text.slice(name.length + 1));
      value = this.anchors.get(name);
      this.i++;
    } else if (INDICATORS.has(c) || (c === '-' && (text.length === 1 || text.charCodeAt(1) === 32)) || (c === ':' && text.charCodeAt(1) === 32)) {
      bail();
    } else {
      const comment = text.indexOf(' #');
      const plain = (comment >= 0 ? text.slice(0, comment) : text).trimEnd();
      if (plain.includes(': ') || plain.endsWith(':') || plain.includes('\t')) bail();
      this.i++;
      const more = comment < 0 ? this.plainContinuation(indent) : undefined;
      value = resolvePlainScalar(more === undefined ? plain : plain + more);
    }
    // A more-indented line after a one-line value continues it (multi-line scalar): the library.
    this.skipBlank();
    if (this.i < this.lines.length && this.lines[this.i].indent > indent) bail();
    return value;
  }

  /**
   * The more-indented lines that continue a plain scalar, folded as YAML folds them (a line break
   * between two lines is a space, each blank line a line break), or undefined when there are none.
   * A comment ends the scalar; what YAML would read otherwise (`: `, ` #`, tabs) is the library's.
   */
  private plainContinuation(indent: number): string | undefined {
    let out = '';
    let blanks = 0;
    let i = this.i;
    for (; i < this.lines.length; i++) {
      const line = this.lines[i];
      if (line.text === '') {
        blanks++;
        continue;
      }
      if (line.indent <= indent || line.text.charCodeAt(0) === 35 /* # */) break;
      const text = line.text.trimEnd();
      if (text.includes(': ') || text.endsWith(':') || text.includes(' #') || text.includes('\t')) bail();
      out += blanks ? '\n'.repeat(blanks) : ' ';
      out += text;
      blanks = 0;
      this.i = i + 1;
    }
    return out === '' ? undefined : out;
  }

  /**
   * A quoted scalar that goes on over more lines, folded onto one line (a line break between two
   * lines is a space, each blank line a `\n` escape or line break): the text for the one-line
   * readers. The line that ends it is the current line when this returns.
   */
  private quotedLines(first: string, indent: number, quote: string): string {
    let out = first.trimEnd();
    let blanks = 0;
    for (let i = this.i + 1; i < this.lines.length; i++) {
      const line = this.lines[i];
      if (line.text === '') {
        blanks++;
        continue;
      }
      if (line.indent <= indent || line.text.includes('\t') || /\\$/.test(out)) bail();
      const text = line.text;
      out += blanks ? (quote === '"' ? '\\n'.repeat(blanks) : '\n'.repeat(blanks)) : ' ';
      blanks = 0;
      const close = quote === '"' ? doubleQuoted(`"${text}`, true)[1] : singleQuoted(`'${text}`, true)[1];
      if (close >= 0) {
        this.i = i;
        return out + text;
      }
      out += text.trimEnd();
    }
    bail();
  }

  /** `|`, `|-`, `|+` literal and `>`, `>-`, `>+` folded blocks (no indentation indicator). */
  private literalBlock(header: string, indent: number): string {
    const m = /^([|>])([+-]?)[ \t]*(#.*)?$/.exec(header);
    if (!m) bail();
    const folded = m[1] === '>';
    const chomp = m[2];
    this.i++;
    const lines: string[] = [];
    let contentIndent = -1;
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line.text === '') {
        // A blank line with more spaces than the content's indentation carries those spaces.
        if (line.indent > 0 && (contentIndent < 0 || line.indent > contentIndent)) bail();
        lines.push('');
        this.i++;
        continue;
      }
      if (contentIndent < 0) {
        if (line.indent <= indent) break;
        contentIndent = line.indent;
      }
      if (line.indent < contentIndent) break;
      lines.push(' '.repeat(line.indent - contentIndent) + line.text);
      this.i++;
    }
    if (folded) return foldBlock(lines, chomp);
    // Blank lines before a less-indented line belong to the block (trailing lines, chomped below).
    let body = lines.join('\n');
    const trimmed = body.replace(/\n+$/, '');
    if (chomp === '-') body = trimmed;
    else if (chomp === '+') body = lines.length ? `${body}\n` : '';
    else body = trimmed ? `${trimmed}\n` : '';
    return body;
  }

  private key(raw: string): string {
    const c = raw.charAt(0);
    if (c === '"' || c === "'") {
      const [key, end] = c === '"' ? doubleQuoted(raw) : singleQuoted(raw);
      if (raw.slice(end).trim() !== '') bail();
      return key;
    }
    const plain = raw.trimEnd();
    if (!plain || INDICATORS.has(c) || c === '-' || c === ':' || plain.includes(' #')) bail();
    return String(resolvePlainScalar(plain));
  }
}

/**
 * A folded block's lines as YAML folds them: a line break between two lines is a space, each blank
 * line between them a line break. A more-indented line keeps its breaks: the library's.
 */
function foldBlock(lines: readonly string[], chomp: string): string {
  let end = lines.length;
  while (end > 0 && lines[end - 1] === '') end--;
  let out = '';
  let blanks = 0;
  let first = true;
  for (let i = 0; i < end; i++) {
    const line = lines[i];
    if (line === '') {
      blanks++;
      continue;
    }
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) bail();
    out += first ? '\n'.repeat(blanks) : blanks ? '\n'.repeat(blanks) : ' ';
    out += line;
    blanks = 0;
    first = false;
  }
  if (end === 0) return chomp === '+' ? '\n'.repeat(lines.length) : '';
  if (chomp === '-') return out;
  return chomp === '+' ? `${out}\n${'\n'.repeat(lines.length - end)}` : `${out}\n`;
}

/** `&name ` at the start of `text`: the name, and the length of the anchor with the spaces after it. */
function anchorOf(text: string): { name: string; length: number } {
  const match = /^&([^\s,[\]{}]+)(?: +|$)/.exec(text);
  if (!match || match[1].endsWith(':')) bail();
  return { name: match[1], length: match[0].length };
}

/**
 * How many values `value` holds with each shared (aliased) part counted every time it appears;
 * Infinity when aliases nest it deeper than any manifest does.
 */
function expandedSize(value: unknown, known: Map<object, number>, depth: number): number {
  if (value === null || typeof value !== 'object') return 1;
  let size = known.get(value);
  if (size === undefined) {
    if (depth > 10 * MAX_DEPTH) return Infinity;
    size = 1;
    for (const item of Array.isArray(value) ? value : Object.values(value)) size += expandedSize(item, known, depth + 1);
    known.set(value, size);
  }
  return size;
}

/** Where a value written after `- ` starts: inside its quotes; a block scalar's on the line after `|`. */
function valuePosition(line: number, column: number, text: string): Position {
  const c = text.charCodeAt(0);
  if (c === 124 /* | */ || c === 62 /* > */) return [line + 1, 0];
  return [line, column + (c === 34 || c === 39 ? 1 : 0)];
}

function defineKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function isSequenceEntry(text: string): boolean {
  return text.charCodeAt(0) === 45 /* - */ && (text.length === 1 || text.charCodeAt(1) === 32);
}

/** Index of the `:` that ends a plain or quoted key on this line, or -1. */
function keyEnd(text: string): number {
  const c = text.charAt(0);
  let from = 0;
  if (c === '"' || c === "'") {
    const close = c === '"' ? doubleQuoted(text, true)[1] : singleQuoted(text, true)[1];
    if (close < 0) return -1;
    from = close;
  }
  for (let i = text.indexOf(':', from); i !== -1; i = text.indexOf(':', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (Number.isNaN(next) || next === 32) {
      const hash = text.indexOf(' #', from);
      return hash >= 0 && hash < i ? -1 : i;
    }
  }
  return -1;
}

function requireCommentOrEnd(rest: string): void {
  const t = rest.trimStart();
  if (t !== '' && !(t.startsWith('#') && rest.length > t.length)) bail();
}

const JSON_ESCAPE = /\\(?!["\\/bfnrt]|u[0-9a-fA-F]{4})/;

/** A one-line double-quoted scalar at the start of `text`: [value, index after the closing quote]. */
function doubleQuoted(text: string, probe = false): [string, number] {
  for (let i = 1; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 92 /* \ */) i++;
    else if (ch === 34 /* " */) {
      if (probe) return ['', i + 1];
      // `\ ` is an escaped space (go-yaml starts folded lines with it); a pair at a time, so `\\ ` stays.
      const body = text.slice(0, i + 1).replace(/\\([\s\S])/g, (pair, c: string) => (c === ' ' ? ' ' : pair));
      // YAML escapes beyond JSON's (\x, \e, \0, \N, …) are left to the library.
      if (JSON_ESCAPE.test(body) || /[\x00-\x1f]/.test(body)) bail();
      return [JSON.parse(body) as string, i + 1];
    }
  }
  if (probe) return ['', -1];
  bail();
}

function singleQuoted(text: string, probe = false): [string, number] {
  for (let i = 1; i < text.length; i++) {
    if (text.charCodeAt(i) !== 39) continue;
    if (text.charCodeAt(i + 1) === 39) {
      i++;
      continue;
    }
    return probe ? ['', i + 1] : [text.slice(1, i).replace(/''/g, "'"), i + 1];
  }
  if (probe) return ['', -1];
  bail();
}

/** One-line flow collections: `[a, "b"]`, `{cpu: 100m, memory: 128Mi}`, nested. */
class FlowParser {
  at = 0;
  /** Starts at the block nesting around the collection: the limit is on the whole document. */
  constructor(
    private readonly text: string,
    private depth: number,
    private readonly where?: Positions,
    private readonly line = 0,
    /** The column of the text's first character in its line. */
    private readonly column = 0,
  ) {}

  /** Where the value at `at` starts (inside its quotes). */
  private position(): Position {
    const c = this.text.charCodeAt(this.at);
    return [this.line, this.column + this.at + (c === 34 || c === 39 ? 1 : 0)];
  }

  value(): unknown {
    this.space();
    const c = this.text.charAt(this.at);
    if (++this.depth > MAX_DEPTH) bail();
    let value: unknown;
    if (c === '[') value = this.sequence();
    else if (c === '{') value = this.mapping();
    else if (c === '"' || c === "'") {
      const [s, end] = c === '"' ? doubleQuoted(this.text.slice(this.at)) : singleQuoted(this.text.slice(this.at));
      this.at += end;
      value = s;
    } else value = resolvePlainScalar(this.plain());
    this.depth--;
    return value;
  }

  private sequence(): unknown[] {
    this.at++;
    const out: unknown[] = [];
    const items: Position[] | undefined = this.where && [];
    if (items) this.where!.set(out, items);
    this.space();
    if (this.text.charAt(this.at) === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      items?.push(this.position());
      out.push(this.value());
      this.space();
      const c = this.text.charAt(this.at++);
      if (c === ']') return out;
      if (c !== ',') bail();
      this.space();
      if (this.text.charAt(this.at) === ']') bail(); // trailing comma: leave the edge cases to the library
    }
  }

  private mapping(): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    const keys: Map<string, Position> | undefined = this.where && new Map();
    if (keys) this.where!.set(out, keys);
    this.space();
    if (this.text.charAt(this.at) === '}') {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      const first = this.text.charAt(this.at);
      if (first === '[' || first === '{') bail(); // a collection as a key: an error, the library says so
      const keyAt = this.where && this.position();
      const key = String(this.value());
      this.space();
      if (this.text.charAt(this.at) !== ':') bail();
      this.at++;
      const next = this.text.charAt(this.at);
      if (next !== ' ') bail();
      if (key === '<<' || Object.prototype.hasOwnProperty.call(out, key)) bail();
      if (keyAt) keys!.set(key, keyAt);
      defineKey(out, key, this.value());
      this.space();
      const c = this.text.charAt(this.at++);
      if (c === '}') return out;
      if (c !== ',') bail();
    }
  }

  private plain(): string {
    const start = this.at;
    const first = this.text.charAt(start);
    if (!first || INDICATORS.has(first) || first === '-' || first === ':') bail();
    while (this.at < this.text.length) {
      const c = this.text.charAt(this.at);
      if (c === ',' || c === ']' || c === '}' || c === '[' || c === '{') break;
      if (c === ':' && (this.text.charAt(this.at + 1) === ' ' || this.text.charAt(this.at + 1) === ',')) break;
      if (c === '#' && this.text.charAt(this.at - 1) === ' ') bail();
      this.at++;
    }
    const plain = this.text.slice(start, this.at).trimEnd();
    if (!plain) bail();
    return plain;
  }

  private space(): void {
    while (this.text.charCodeAt(this.at) === 32) this.at++;
  }
}
