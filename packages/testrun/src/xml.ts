/** XML reading for test reports: a small tokenizer that builds an element tree, with the line of every error. */

/*
 * Elements, attributes, text, CDATA, comments, processing instructions, a
 * skipped DOCTYPE, the five predefined entities and numeric character
 * references. Work is linear in the input; nesting depth is bounded; entities
 * declared in a DTD are never expanded. Lenient where reporters are not
 * XML 1.0: raw ANSI escapes in failure text, `--` in comments, `&#0;`.
 */

/** Deeper nesting than any test report has: a hostile or broken file. */
const MAX_DEPTH = 256;

/** A document that is not well-formed XML, at `line` (1-based). */
export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
  constructor(
    reason: string,
    readonly line: number,
  ) {
    super(`not well-formed XML at line ${line}: ${reason}`);
  }
}

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Direct text and CDATA, in order. */
  text: string[];
}

const NAME_START = /[A-Za-z_:\u00C0-\uFFFF]/;
const NAME_CHAR = /[A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const REFERENCE = /&(?:#x([0-9A-Fa-f]{1,8})|#([0-9]{1,10})|([A-Za-z_][\w.-]{0,31}));/g;

function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(REFERENCE, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name !== undefined) return PREDEFINED[name] ?? whole; // an unknown entity stays as written
    const code = hex !== undefined ? parseInt(hex, 16) : Number(dec);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\uFFFD';
  });
}

function lineAt(xml: string, offset: number): number {
  let line = 1;
  for (let i = xml.indexOf('\n'); i !== -1 && i < offset; i = xml.indexOf('\n', i + 1)) line++;
  return line;
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\n' || c === '\t' || c === '\r';
}

// Kept over saxes 6.0.0 and fast-xml-parser 5.12.1, each tried in its place: saxes (strict XML 1.0) refuses the raw ANSI escapes and `--` in comments that junit.test.ts reads, fast-xml-parser decodes pytest's &#10; only with HTML entities on (&nbsp; too), and they grow the run-tests bundle by 27 kB and 85 kB (of 700 kB).
/** Parses a document into its root element; throws XmlSyntaxError on malformed input. */
export function parseXml(xml: string): XmlElement {
  const fail = (message: string, at: number): never => {
    throw new XmlSyntaxError(message, lineAt(xml, at));
  };
  const n = xml.length;
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  let root: XmlElement | undefined;
  const stack: XmlElement[] = [];
  const openedAt: number[] = [];

  const addText = (text: string, at: number): void => {
    const top = stack[stack.length - 1];
    if (top) top.text.push(text);
    else if (/\S/.test(text)) fail(`text outside the root element: '${text.trim().slice(0, 40)}'`, at);
  };
  const readName = (from: number): number => {
    let j = from;
    if (j >= n || !NAME_START.test(xml[j]!)) return from;
    while (j < n && NAME_CHAR.test(xml[j]!)) j++;
    return j;
  };
  const skipSpace = (from: number): number => {
    let j = from;
    while (j < n && isSpace(xml[j]!)) j++;
    return j;
  };

  while (i < n) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) {
      addText(decodeEntities(xml.slice(i)), i);
      break;
    }
    if (lt > i) addText(decodeEntities(xml.slice(i, lt)), i);
    i = lt;

    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end === -1) fail('a comment is not closed (-->)', i);
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9);
      if (end === -1) fail('a CDATA section is not closed (]]>)', i);
      if (!stack.length) fail('CDATA outside the root element', i);
      stack[stack.length - 1]!.text.push(xml.slice(i + 9, end));
      i = end + 3;
    } else if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i + 2);
      if (end === -1) fail('a processing instruction is not closed (?>)', i);
      i = end + 2;
    } else if (xml.startsWith('<!DOCTYPE', i)) {
      if (root || stack.length) fail('DOCTYPE after the root element started', i);
      // Skipped, internal subset and all: its entities are never expanded.
      const bracket = xml.indexOf('[', i);
      const close = xml.indexOf('>', i);
      if (close === -1) fail('the DOCTYPE is not closed', i);
      if (bracket !== -1 && bracket < close) {
        const subsetEnd = xml.indexOf(']', bracket);
        const end = subsetEnd === -1 ? -1 : xml.indexOf('>', subsetEnd);
        if (end === -1) fail('the DOCTYPE is not closed', i);
        i = end + 1;
      } else {
        i = close + 1;
      }
    } else if (xml.startsWith('</', i)) {
      const nameEnd = readName(i + 2);
      const name = xml.slice(i + 2, nameEnd);
      const close = skipSpace(nameEnd);
      if (!name || xml[close] !== '>') fail('a malformed closing tag', i);
      const open = stack.pop();
      if (!open) fail(`closing tag </${name}> without an open element`, i);
      if (open!.name !== name) {
        fail(`closing tag </${name}> does not match <${open!.name}> opened at line ${lineAt(xml, openedAt.pop()!)}`, i);
      }
      openedAt.pop();
      i = close + 1;
    } else {
      const start = i;
      const nameEnd = readName(i + 1);
      if (nameEnd === i + 1) fail(`'<' not followed by a tag name`, i);
      const element: XmlElement = { name: xml.slice(i + 1, nameEnd), attrs: {}, children: [], text: [] };
      i = nameEnd;
      let selfClosing = false;
      for (;;) {
        const at = skipSpace(i);
        if (at >= n) fail(`the tag <${element.name}> is not closed`, start);
        if (xml[at] === '>') {
          i = at + 1;
          break;
        }
        if (xml.startsWith('/>', at)) {
          i = at + 2;
          selfClosing = true;
          break;
        }
        if (at === i) fail(`expected whitespace, '>' or '/>' in the tag <${element.name}>`, at);
        const attrEnd = readName(at);
        if (attrEnd === at) fail(`a malformed attribute in the tag <${element.name}>`, at);
        const attr = xml.slice(at, attrEnd);
        const eq = skipSpace(attrEnd);
        if (xml[eq] !== '=') fail(`attribute '${attr}' of <${element.name}> has no value`, at);
        const q = skipSpace(eq + 1);
        const quote = xml[q];
        if (quote !== '"' && quote !== "'") fail(`attribute '${attr}' of <${element.name}> is not quoted`, q);
        const valueEnd = xml.indexOf(quote!, q + 1);
        if (valueEnd === -1) fail(`attribute '${attr}' of <${element.name}> is not closed`, q);
        // Attribute-value normalisation: literal whitespace becomes spaces;
        // references (pytest's &#10;) keep their characters.
        element.attrs[attr] = decodeEntities(xml.slice(q + 1, valueEnd).replace(/[\t\n\r]/g, ' '));
        i = valueEnd + 1;
      }
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) fail(`a second root element <${element.name}>`, start);
      else root = element;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) fail(`elements nested more than ${MAX_DEPTH} deep`, start);
        stack.push(element);
        openedAt.push(start);
      }
    }
  }
  if (stack.length) {
    fail(`the file ends inside <${stack[stack.length - 1]!.name}> opened at line ${lineAt(xml, openedAt[openedAt.length - 1]!)} (truncated?)`, n);
  }
  if (!root) fail('no root element (an empty file?)', n);
  return root!;
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The element's direct text and CDATA, joined. */
export function textOf(el: XmlElement): string {
  return el.text.join('');
}
