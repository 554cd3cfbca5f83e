/** The library reader: the `yaml` package with the scalar rules of yaml11-scalars.ts, merge keys, duplicate keys an error, and the limits. */
import { type CollectionTag, Composer, CST, type Document, isAlias, isCollection, isMap, isScalar, isSeq, Lexer, LineCounter, type ParsedNode, Parser, Scalar, type ScalarTag, Schema, type YAMLError, YAMLSeq } from 'yaml';
import { MAX_ALIASES, MAX_NODES } from './fast-yaml';
import { YAML11_BOOL, YAML11_FLOAT, YAML11_INT, YAML11_NULL, yaml11Bool, yaml11Float, yaml11Int } from './yaml11-scalars';

/** Collections a document may nest. */
const MAX_DEPTH = 100;

const TAG = 'tag:yaml.org,2002:';
/** A mapping key as a JavaScript property name (`null` for the null key, as go-yaml writes it). */
export const stringKey = (value: unknown): string => (value === null ? 'null' : String(value));
/** A tag's `test`: an int or float pattern that also rejects what is no finite number, so `!!int 0x_` is an error, plain `0x_` a string. */
const matcher = (test: (source: string) => boolean): RegExp => Object.assign(new RegExp(''), { test });

const scalarTags: ScalarTag[] = [
  // A null key is the string "null" (keys are strings); listed first, used at keys only.
  { tag: `${TAG}str`, default: 'key', test: YAML11_NULL, resolve: () => 'null' },
  { tag: `${TAG}null`, default: true, test: YAML11_NULL, resolve: () => null, identify: (v) => v === null },
  { tag: `${TAG}bool`, default: true, test: YAML11_BOOL, resolve: yaml11Bool, identify: (v) => typeof v === 'boolean' },
  // A match that is no finite number (`0b_`, 400 digits) is a string.
  { tag: `${TAG}int`, default: true, test: matcher((s) => YAML11_INT.test(s) && yaml11Int(s) !== undefined), resolve: (s) => yaml11Int(s), identify: Number.isInteger },
  { tag: `${TAG}float`, default: true, test: matcher((s) => YAML11_FLOAT.test(s) && yaml11Float(s) !== undefined), resolve: (s) => yaml11Float(s), identify: (v) => typeof v === 'number' },
  {
    tag: `${TAG}binary`,
    resolve(source, onError) {
      const base64 = source.replace(/\s/g, '');
      if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
        onError('!!binary needs base64 text');
        return source;
      }
      return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    },
  },
];

// YAML 1.1's collection tags, read as this reader always read them: an ordered map is a list of
// one-key maps, pairs a list of [key, value] lists (!!set is the library's own: a Set).
const collectionTags: CollectionTag[] = [
  {
    tag: `${TAG}omap`,
    collection: 'seq',
    resolve(seq, onError) {
      const seen = new Set<string>();
      for (const item of seq.items) {
        if (isAlias(item)) continue;
        const key = isMap(item) && item.items.length === 1 && isScalar(item.items[0].key) ? stringKey(item.items[0].key.value) : undefined;
        if (key === undefined) onError('each item of an !!omap must be a mapping with one key');
        else if (seen.has(key)) onError(`duplicate key "${key}" in an !!omap`);
        else seen.add(key);
      }
      return seq;
    },
  },
  {
    tag: `${TAG}pairs`,
    collection: 'seq',
    resolve(seq, onError) {
      const pairs = new YAMLSeq();
      pairs.range = seq.range;
      for (const item of seq.items) {
        const pair = isMap(item) && item.items.length === 1 && isScalar(item.items[0].key) ? item.items[0] : undefined;
        if (!pair) {
          onError('each item of !!pairs must be a mapping with one key');
          continue;
        }
        const entry = new YAMLSeq();
        entry.items.push(new Scalar(stringKey((pair.key as Scalar).value)), pair.value);
        pairs.items.push(entry);
      }
      return pairs;
    },
  },
];

const KUBERNETES_SCHEMA = new Schema({ schema: 'failsafe', customTags: [...scalarTags, ...collectionTags, 'set'], merge: true, resolveKnownTags: false });

const COMPOSE_OPTIONS = {
  version: '1.1' as const,
  schema: KUBERNETES_SCHEMA,
  strict: true,
  // Keys are strings: `1` and "1" are the same key, as in the JSON Kubernetes turns them into.
  uniqueKeys: (a: ParsedNode, b: ParsedNode) => isScalar(a) && isScalar(b) && typeof a.value !== 'symbol' && typeof b.value !== 'symbol' && stringKey(a.value) === stringKey(b.value),
};

/** What a document needs for checkTokens or checkTree to find anything: `?`, a flow collection, an alias, a tag, a merge key. */
const UNUSUAL = /[?[\]{}*!]|<</;

/** Warnings of the library that are errors to us (Kubernetes would not read the document either). */
const FATAL_WARNINGS = new Set(['TAG_RESOLVE_FAILED', 'BAD_COLLECTION_TYPE']);

export interface ReadError {
  message: string;
  /** Offset in the document's text; undefined: its first line. */
  offset?: number;
}

class Refused extends Error {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message);
  }
}

/**
 * Parses one document with the library. The parse stops as soon as collections nest deeper than
 * MAX_DEPTH; aliases, complex keys and merge keys are checked on the syntax tree before it is turned
 * into a value, so an alias bomb is refused without being expanded.
 */
export function readDocument(text: string, lines?: LineCounter): { doc: Document.Parsed } | { error: ReadError } {
  const tokens: CST.Token[] = [];
  const parser = new Parser(lines?.addNewLine);
  lines?.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > MAX_DEPTH && parser.stack.filter((t) => t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection').length > MAX_DEPTH)
      return { error: { message: `collections nest more than ${MAX_DEPTH} levels deep`, offset: parser.offset } };
  }
  for (const token of parser.end()) tokens.push(token);
  const docs = [...new Composer(COMPOSE_OPTIONS).compose(tokens, true, text.length)];
  const doc = docs[0];
  if (docs.length > 1) return { error: { message: 'a second document without a --- line', offset: docs[1].range[0] } };
  const problems: YAMLError[] = [...doc.errors, ...doc.warnings.filter((w) => FATAL_WARNINGS.has(w.code))];
  if (problems.length) {
    const first = problems.reduce((a, b) => (b.pos[0] < a.pos[0] ? b : a));
    const error = describe(first, doc, tokens);
    // Where the document ends is the next one's `---` line: keep the position on its last line.
    const last = text.trimEnd().length - 1;
    if (error.offset !== undefined && error.offset > last) error.offset = Math.max(0, text.lastIndexOf('\n', last) + 1);
    return { error };
  }
  try {
    if (UNUSUAL.test(text)) {
      checkTokens(tokens);
      checkTree(doc, text);
    }
  } catch (error) {
    if (error instanceof Refused) return { error: { message: error.message, offset: error.offset } };
    throw error;
  }
  return { doc };
}

/** The message and position of the library's first error, in our words where they differ. */
function describe(error: YAMLError, doc: Document.Parsed, tokens: readonly CST.Token[]): ReadError {
  if (error.code === 'MISSING_CHAR' && /quote/.test(error.message)) {
    // The library points at the end of the document; the mistake is where the quote opens.
    for (const token of tokens) {
      for (const t of cstTokens(token)) {
        if ((t.type === 'double-quoted-scalar' || t.type === 'single-quoted-scalar') && t.offset + t.source.length === error.pos[0])
          return { message: `the quoted string that starts here has no closing ${t.source[0]}`, offset: t.offset };
      }
    }
  }
  if (error.code === 'DUPLICATE_KEY') {
    // The library points at the end of the entry before; the duplicate is the first key after that.
    const key = firstKeyFrom(doc.contents, error.pos[0]);
    return key ? { message: `duplicated mapping key "${stringKey(key.value)}"`, offset: key.range[0] } : { message: 'duplicated mapping key', offset: error.pos[0] };
  }
  return { message: error.message, offset: error.pos[0] };
}

/** The scalar key that starts first at or after `offset`. */
function firstKeyFrom(node: unknown, offset: number): Scalar.Parsed | undefined {
  let best: Scalar.Parsed | undefined;
  const consider = (candidate: Scalar.Parsed | undefined) => {
    if (candidate && (!best || candidate.range[0] < best.range[0])) best = candidate;
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && (pair.key as Scalar.Parsed).range[0] >= offset) consider(pair.key as Scalar.Parsed);
      consider(firstKeyFrom(pair.key, offset));
      consider(firstKeyFrom(pair.value, offset));
    }
  } else if (isSeq(node)) for (const item of node.items) consider(firstKeyFrom(item, offset));
  return best;
}

/**
 * Walks the document once, in document order: counts aliases, resolves each to its anchor, refuses
 * what Kubernetes cannot read as JSON (a collection as a key, an alias inside the node it names, a
 * merge key with something else than mappings), and counts the values the document expands to,
 * with each anchor's count computed once, so a bomb is measured without being expanded.
 */
function checkTree(doc: Document.Parsed, text: string): void {
  const anchors = new Map<string, ParsedNode>();
  const sizes = new Map<ParsedNode, number>();
  const open = new Set<ParsedNode>();
  let aliases = 0;

  const target = (node: ParsedNode): ParsedNode => {
    if (!isAlias(node)) return node;
    const found = anchors.get(node.source);
    if (!found) throw new Refused(`unidentified alias "${node.source}"`, node.range[0]);
    return found;
  };

  const size = (node: ParsedNode | null): number => {
    if (node === null) return 1;
    if (isAlias(node)) {
      if (++aliases > MAX_ALIASES) throw new Refused(`more than ${MAX_ALIASES} aliases (an alias bomb?)`, node.range[0]);
      const anchored = target(node);
      if (open.has(anchored)) throw new Refused(`the alias *${node.source} is inside the node it refers to`, node.range[0]);
      return sizes.get(anchored) ?? 1;
    }
    if (node.anchor) {
      anchors.set(node.anchor, node);
      open.add(node);
    }
    let count = 1;
    if (isSeq(node)) for (const item of node.items) count += size(item as ParsedNode);
    else if (isMap(node)) {
      for (const { key, value } of node.items as Array<{ key: ParsedNode; value: ParsedNode | null }>) {
        size(key); // anchors and aliases in keys count, keys do not
        if (!node.flow && isScalar(key) && key.range[1] === key.range[0]) checkEmptyKey(text, key.range[0]);
        const keyNode = target(key);
        if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
          // `<<`: a mapping, an alias of one, or a list of those; their values become this mapping's.
          const sources = value !== null && isSeq(value) ? (value.items as ParsedNode[]) : [value];
          const merged = size(value) - (value !== null && isSeq(value) ? 1 : 0);
          for (const source of sources)
            if (source === null || !isMap(target(source))) throw new Refused('a merge key (<<) takes a mapping, an alias of one or a list of those', (source ?? key).range[0]);
          count += merged - sources.length;
        } else if (isCollection(keyNode) || (isScalar(keyNode) && typeof keyNode.value === 'object' && keyNode.value !== null)) {
          throw new Refused('a mapping key must be a scalar: Kubernetes reads mappings as JSON objects', key.range[0]);
        } else count += size(value);
      }
    }
    if (node.anchor) {
      open.delete(node);
      sizes.set(node, count);
    }
    return count;
  };

  const total = size(doc.contents);
  // Aliases share one value in memory but every reader expands them: bound what they expand to.
  if (aliases > 0 && total > MAX_NODES) throw new Refused(`the document expands to more than ${MAX_NODES} values through its aliases (an alias bomb?)`);
}

/**
 * The library takes `a: []: b` for two entries, the second with an empty key; YAML (and go-yaml)
 * do not: a `:` with no key before it must start its line (after the indentation, `-` or `?`).
 */
function checkEmptyKey(text: string, offset: number): void {
  let colon = offset;
  while (colon < text.length && /\s/.test(text[colon])) colon++;
  const lineStart = text.lastIndexOf('\n', colon - 1) + 1;
  if (!/^[ \t?-]*$/.test(text.slice(lineStart, colon))) throw new Refused('a mapping value is not allowed here (no key before the ":")', colon);
}

/** A syntax token and every token inside it. */
function* cstTokens(token: CST.Token | null | undefined): Generator<CST.Token> {
  if (!token) return;
  yield token;
  if (token.type === 'document') yield* cstTokens(token.value);
  else if ('items' in token)
    for (const item of token.items) {
      if ('key' in item) yield* cstTokens(item.key);
      yield* cstTokens(item.value);
    }
}

/**
 * The library drops what follows a quoted or flow explicit key (`? "a"` then a more indented line)
 * when no `:` comes between: YAML does not allow it.
 */
function checkTokens(tokens: readonly CST.Token[]): void {
  const walk = (token: CST.Token | null | undefined): void => {
    if (!token || !('items' in token)) return;
    for (const item of token.items) {
      if (token.type === 'block-map' && item.value && !item.sep?.some((t) => t.type === 'map-value-ind'))
        throw new Refused('a mapping value needs a ":" before it', item.value.offset);
      if ('key' in item) walk(item.key);
      walk(item.value);
    }
  };
  for (const token of tokens) if (token.type === 'document') walk(token.value);
}

