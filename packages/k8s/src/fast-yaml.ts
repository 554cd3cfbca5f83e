import type { Schema } from 'js-yaml';

/** Returned when a document uses YAML this parser leaves to js-yaml. */
export const NOT_SIMPLE: unique symbol = Symbol('not simple YAML');

/**
 * A fast reader for the YAML that manifests are made of: block mappings and sequences, one-line
 * plain and quoted scalars, literal blocks, one-line flow collections and comments. Anything
 * else — anchors, aliases, tags, multi-line flow or plain scalars, folded blocks, duplicate keys,
 * anything malformed — returns NOT_SIMPLE and the caller parses the document with js-yaml, which
 * also reports every error. Scalars resolve through the same schema js-yaml uses, so a value read
 * here is exactly the value js-yaml would read (checked by a differential fuzz test).
 */
export function parseSimpleYaml(text: string, schema: Schema): unknown | typeof NOT_SIMPLE {
  try {
    return new SimpleParser(text, schema).document();
  } catch (error) {
    if (error === BAIL) return NOT_SIMPLE;
    throw error;
  }
}

const BAIL = new Error('not simple');
function bail(): never {
  throw BAIL;
}

const MAX_DEPTH = 100;
// Characters that start something other than a plain scalar.
const INDICATORS = new Set(['&', '*', '!', '|', '>', '%', '@', '`', '?', '[', ']', '{', '}', '#', ',', "'", '"']);
const LETTER_WORDS: Record<string, unknown> = {
  null: null, Null: null, NULL: null,
  true: true, True: true, TRUE: true, false: false, False: false, FALSE: false,
  yes: true, Yes: true, YES: true, no: false, No: false, NO: false,
  on: true, On: true, ON: true, off: false, Off: false, OFF: false,
  y: true, Y: true, n: false, N: false,
};

interface Line {
  indent: number;
  /** Text after the indentation, without a trailing `\r`. */
  text: string;
}

class SimpleParser {
  private readonly lines: Line[] = [];
  private i = 0;
  private depth = 0;

  constructor(source: string, private readonly schema: Schema) {
    // A literal block at the very end without a line break chomps differently: not worth a special case.
    if (!source.endsWith('\n') && source.includes('|')) bail();
    let start = 0;
    let first = true;
    while (start <= source.length) {
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
      this.lines.push({ indent, text });
      if (end === source.length) break;
    }
  }

  document(): unknown {
    this.skipBlank();
    if (this.i >= this.lines.length) return undefined;
    const line = this.lines[this.i];
    if (line.text.startsWith('%') || line.text.startsWith('---') || line.text.startsWith('...')) bail();
    const value = this.node(line.indent);
    this.skipBlank();
    if (this.i < this.lines.length) bail(); // something left over: malformed or unusual
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
      const rest = line.text.slice(spaces);
      if (rest === '' || rest.startsWith('#')) {
        this.i++;
        out.push(this.blockValue(indent, true));
      } else if (isSequenceEntry(rest) || keyEnd(rest) >= 0) {
        // `- name: x` / `- - x`: a collection whose first line starts after the dash.
        this.lines[this.i] = { indent: indent + spaces, text: rest };
        out.push(this.node(indent + spaces));
      } else {
        out.push(this.inlineValue(rest, indent));
      }
    }
    return out;
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
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
      if (key === '<<' || Object.prototype.hasOwnProperty.call(out, key)) bail(); // merge keys, duplicates: js-yaml
      let rest = text.slice(colon + 1);
      let spaces = 0;
      while (rest.charCodeAt(spaces) === 32) spaces++;
      rest = rest.slice(spaces);
      if (rest === '' || rest.startsWith('#')) {
        this.i++;
        defineKey(out, key, this.blockValue(indent, false));
      } else defineKey(out, key, this.inlineValue(rest, indent));
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
      const [scalar, end] = c === '"' ? doubleQuoted(text) : singleQuoted(text);
      requireCommentOrEnd(text.slice(end));
      value = scalar;
      this.i++;
    } else if (c === '[' || c === '{') {
      const flow = new FlowParser(text, this.schema);
      value = flow.value();
      requireCommentOrEnd(text.slice(flow.at));
      this.i++;
    } else if (c === '|') {
      return this.literalBlock(text, indent);
    } else if (INDICATORS.has(c) || (c === '-' && (text.length === 1 || text.charCodeAt(1) === 32)) || (c === ':' && text.charCodeAt(1) === 32)) {
      bail();
    } else {
      const comment = text.indexOf(' #');
      const plain = (comment >= 0 ? text.slice(0, comment) : text).trimEnd();
      if (plain.includes(': ') || plain.endsWith(':') || plain.includes('\t')) bail();
      value = resolvePlain(plain, this.schema);
      this.i++;
    }
    // A more-indented line after a one-line value continues it (multi-line scalar): js-yaml.
    this.skipBlank();
    if (this.i < this.lines.length && this.lines[this.i].indent > indent) bail();
    return value;
  }

  /** `|`, `|-`, `|+` literal blocks (no indentation indicator). */
  private literalBlock(header: string, indent: number): string {
    const m = /^\|([+-]?)[ \t]*(#.*)?$/.exec(header);
    if (!m) bail();
    const chomp = m[1];
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
    return String(resolvePlain(plain, this.schema));
  }
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
      const body = text.slice(0, i + 1);
      // YAML escapes beyond JSON's (\x, \e, \0, \N, …) are left to js-yaml.
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

/** A plain scalar's value, exactly as the schema resolves it. */
function resolvePlain(plain: string, schema: Schema): unknown {
  const c = plain.charCodeAt(0);
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (letter) {
    if (plain.length <= 5 && Object.hasOwn(LETTER_WORDS, plain)) return LETTER_WORDS[plain];
    return plain;
  }
  if (c >= 49 && c <= 57 && plain.length < 16 && /^[1-9][0-9]*$/.test(plain)) return Number(plain);
  return schema.resolveImplicitScalarTag(plain).value;
}

/** One-line flow collections: `[a, "b"]`, `{cpu: 100m, memory: 128Mi}`, nested. */
class FlowParser {
  at = 0;
  private depth = 0;
  constructor(
    private readonly text: string,
    private readonly schema: Schema,
  ) {}

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
    } else value = resolvePlain(this.plain(), this.schema);
    this.depth--;
    return value;
  }

  private sequence(): unknown[] {
    this.at++;
    const out: unknown[] = [];
    this.space();
    if (this.text.charAt(this.at) === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.space();
      const c = this.text.charAt(this.at++);
      if (c === ']') return out;
      if (c !== ',') bail();
      this.space();
      if (this.text.charAt(this.at) === ']') bail(); // trailing comma: leave the edge cases to js-yaml
    }
  }

  private mapping(): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    this.space();
    if (this.text.charAt(this.at) === '}') {
      this.at++;
      return out;
    }
    for (;;) {
      const key = String(this.value());
      this.space();
      if (this.text.charAt(this.at) !== ':') bail();
      this.at++;
      const next = this.text.charAt(this.at);
      if (next !== ' ') bail();
      if (key === '<<' || Object.prototype.hasOwnProperty.call(out, key)) bail();
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
