import { ExternalError, table } from '@kubeline/toolkit';

/*
 * JUnit XML reports, as written by pytest (--junitxml), jest-junit, Maven
 * Surefire, go-junit-report, gotestsum and mocha-junit-reporter: one
 * `<testsuites>` or `<testsuite>` root, suites possibly nested, each
 * `<testcase>` passed unless it holds `<failure>`, `<error>` or `<skipped>`.
 *
 * The XML is read by the small tokenizer below (no dependency): elements,
 * attributes, text, CDATA, comments, processing instructions, a skipped
 * DOCTYPE, the five predefined entities and numeric character references.
 * Work is linear in the input; nesting depth is bounded; entities declared in
 * a DTD are never expanded.
 */

export type TestStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface TestCaseResult {
  suite: string;
  classname: string;
  name: string;
  status: TestStatus;
  /** Seconds. */
  time: number;
  /** The failure's, error's or skip's message (first of them when several). */
  message?: string;
  /** The failure's text: assertion output, stack trace. */
  details?: string;
  /** Where the test failed (or where it is), relative to the source root when known. */
  file?: string;
  line?: number;
}

export interface TestReport {
  total: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  /** Seconds: the `<testsuites>` root's time, else the sum of the suites' (or cases') times. */
  time: number;
  cases: TestCaseResult[];
  /** The report files this was read from (each parseJUnit's `source`). */
  files: string[];
}

export interface ParseOptions {
  /**
   * Directories to cut from the front of absolute paths, e.g. the test
   * image's working directory `/app`. Besides these, a report's root is
   * inferred where an absolute path ends with a path the report gives
   * relative (pytest's classname, a `file` attribute).
   */
  stripPrefix?: string | string[];
}

/** A report file that is not well-formed XML or not a JUnit report. */
export class JUnitParseError extends ExternalError {
  constructor(
    readonly source: string,
    message: string,
    readonly line?: number,
  ) {
    super(`${source}: ${message}`);
  }
}

/** Deeper nesting than any test report has: a hostile or broken file. */
const MAX_DEPTH = 256;

// ---------------------------------------------------------------------------
// XML

interface XmlElement {
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

/** Parses a document into its root element; throws JUnitParseError on malformed input. */
function parseXml(xml: string, source: string): XmlElement {
  const fail = (message: string, at: number): never => {
    const line = lineAt(xml, at);
    throw new JUnitParseError(source, `not well-formed XML at line ${line}: ${message}`, line);
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

// ---------------------------------------------------------------------------
// Locations in failure text

/** A source location named in a failure's text. */
export interface Frame {
  file: string;
  line: number;
  /** A Java frame's class, to tell the test's own frame. */
  javaClass?: string;
}

const PYTEST_LOCATION = /^([^\s:"'<>]+\.py):(\d+):(?: |$)/; // tests/test_x.py:12: AssertionError
const PYTHON_FRAME = /^\s*File "([^"]+)", line (\d+)/; //  File "/app/tests/test_x.py", line 12, in test_x
const JS_FRAME_PARENS = /^\s*at .*\((?:file:\/\/)?([^()]+?):(\d+):\d+\)\s*$/; //  at Object.<anonymous> (src/x.test.ts:10:5)
const JS_FRAME_BARE = /^\s*at (?:async )?(?:file:\/\/)?([^\s()]+?):(\d+):\d+\s*$/; //  at /app/src/x.test.ts:10:5
const GO_LOCATION = /^\s*([\w./\\-]+\.go):(\d+)(?::\d+)?(?::|\s+\+0x[0-9a-f]+\s*$|$)/; // calc_test.go:12: got 1; /x/calc.go:8 +0x1d
const JS_SYNTAX_ERROR = /^\s*SyntaxError: (\S+?): .*\((\d+):\d+\)\s*$/; // SyntaxError: /app/src/x.test.js: Unexpected token (5:28)
const TS_DIAGNOSTIC = /^\s*(\S+\.[cm]?tsx?):(\d+):\d+ - error TS\d+/; // src/x.test.ts:3:1 - error TS2304: Cannot find name 'y'.
const JAVA_FRAME = /^\s*at ([\w$.]+)\.[^.(]+\(([\w$-]+\.(?:java|kt|groovy|scala)):(\d+)\)/; // at com.acme.CartTest.adds(CartTest.java:19)

const MAX_SCANNED_LINES = 2000;
const MAX_LINE_LENGTH = 2000;

/** Source locations named in a failure's text, the innermost (where it broke) first. */
export function extractLocations(text: string): Frame[] {
  const outermostFirst: Frame[] = [];
  const innermostFirst: Frame[] = [];
  const lines = text.split('\n', MAX_SCANNED_LINES);
  for (const raw of lines) {
    if (raw.length > MAX_LINE_LENGTH) continue;
    const line = raw.replace(/\r$/, '');
    let m: RegExpExecArray | null;
    if ((m = PYTEST_LOCATION.exec(line)) || (m = PYTHON_FRAME.exec(line))) {
      outermostFirst.push({ file: m[1]!, line: Number(m[2]) });
    } else if ((m = JAVA_FRAME.exec(line))) {
      const cls = m[1]!;
      const pkg = cls.includes('.') ? cls.slice(0, cls.lastIndexOf('.')).replace(/\./g, '/') + '/' : '';
      innermostFirst.push({ file: pkg + m[2]!, line: Number(m[3]), javaClass: cls.replace(/\$.*$/, '') });
    } else if (
      (m = JS_FRAME_PARENS.exec(line)) ||
      (m = JS_FRAME_BARE.exec(line)) ||
      (m = JS_SYNTAX_ERROR.exec(line)) ||
      (m = TS_DIAGNOSTIC.exec(line)) ||
      (m = GO_LOCATION.exec(line))
    ) {
      innermostFirst.push({ file: m[1]!, line: Number(m[2]) });
    }
  }
  return [...outermostFirst.reverse(), ...innermostFirst].filter((f) => f.line > 0);
}

const LIBRARY_PATH =
  /(^|[\\/])(node_modules|site-packages|dist-packages|_pytest|pluggy|jest-circus|jest-jasmine2)[\\/]|^node:|^internal[\\/]|^<|^\/usr\/(local\/)?lib\/python|[\\/]go[\\/]src[\\/](runtime|testing)[\\/]|^(runtime|testing)\/|[\\/]pkg[\\/]mod[\\/]|^(java|javax|jdk|sun|kotlin|org\/junit|junit|org\/opentest4j|org\/apache\/maven|org\/assertj|org\/hamcrest)\//;

function isLibrary(file: string): boolean {
  return LIBRARY_PATH.test(file);
}

function toSlashes(path: string): string {
  return path.replace(/\\/g, '/').replace(/^file:\/\//, '');
}

function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:\//.test(path);
}

/** Same file when equal, or when one ends with the other as whole path segments. */
function sameFile(a: string, b: string): boolean {
  const x = toSlashes(a).replace(/^\.\//, '');
  const y = toSlashes(b).replace(/^\.\//, '');
  return x === y || x.endsWith('/' + y) || y.endsWith('/' + x);
}

/**
 * pytest's classname → the files it may name, longest first:
 * `tests.test_app.TestRoutes` → tests/test_app/TestRoutes.py, tests/test_app.py
 * (trailing segments are dropped only while they look like class names).
 */
function pythonModuleFiles(classname: string): string[] {
  const parts = classname.split('.');
  if (!classname || parts.some((p) => !/^[A-Za-z_]\w*$/.test(p))) return [];
  const files = [parts.join('/') + '.py'];
  for (let k = parts.length - 1; k >= 1 && /^[A-Z]/.test(parts[k]!); k--) files.push(parts.slice(0, k).join('/') + '.py');
  return files;
}

const TEST_FILE = /(^|\/)(test_[^/]*\.py|[^/]*_test\.(py|go)|[^/]*\.(test|spec)\.[cm]?[jt]sx?|[^/]*Tests?\.(java|kt|scala|groovy))$|(^|\/)(tests?|__tests__|spec)\//;

function looksLikeTestFile(file: string): boolean {
  return TEST_FILE.test(file);
}

// ---------------------------------------------------------------------------
// JUnit

interface RawCase extends TestCaseResult {
  /** Directories that absolute paths in this case are relative to. */
  roots: string[];
}

interface SuiteContext {
  name: string;
  file?: string;
}

function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

function textOf(el: XmlElement): string {
  return el.text.join('');
}

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b/g;

function clean(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  // trimEnd, not /\s+$/: that regex is quadratic on long runs of spaces.
  const out = text.replace(ANSI, '').replace(/\r\n?/g, '\n').trimEnd();
  return out.replace(/^[ \t]*\n/, '') || undefined;
}

const GENERIC_MESSAGE = /^(failed|failure|error|skipped)\.?$/i;
/** Lines that say nothing about a failure: go test's progress, jest's headings. */
const NOISE_LINE = /^[ \t]*(=== (RUN|CONT|PAUSE|NAME) |--- (FAIL|SKIP|PASS):|● )/m;

/** Where a failure text turns from what went wrong to where: stack traces. */
const TRACE_START = /^[ \t]*(at \S|goroutine \d+ \[|Traceback \(most recent call last\))/;
const HEADLINE_LINES = 8;

/** What went wrong, from a failure text: its first lines that say so, up to the stack trace. */
function headline(text: string): string | undefined {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (TRACE_START.test(line) || out.length >= HEADLINE_LINES) break;
    if (line.trim() && !NOISE_LINE.test(line)) out.push(line.trim());
  }
  return out.length ? out.join('\n') : undefined;
}

function seconds(value: string | undefined): number {
  let v = (value ?? '').trim();
  // Surefire has written "1,234.5"; some locales write "0,5".
  v = /^\d{1,3}(,\d{3})+(\.\d*)?$/.test(v) ? v.replace(/,/g, '') : v.replace(/^(\d+),(\d+)$/, '$1.$2');
  const t = Number(v);
  return Number.isFinite(t) && t > 0 ? t : 0;
}

function positiveInt(value: string | undefined): number | undefined {
  if (!value || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

function caseFromElement(el: XmlElement, suite: SuiteContext, pytest: boolean): RawCase {
  const attrs = el.attrs;
  const failures = children(el, 'failure');
  const errors = children(el, 'error');
  const skips = children(el, 'skipped');
  const outcome = failures.length ? failures : errors.length ? errors : skips;
  const status: TestStatus = failures.length ? 'failed' : errors.length ? 'error' : skips.length ? 'skipped' : 'passed';
  const classname = attrs.classname ?? '';
  const first = outcome[0];
  const texts = outcome.map(textOf).map(clean).filter((t): t is string => !!t);
  const details = texts.length ? texts.join('\n\n') : undefined;
  let message = clean(first?.attrs.message);
  // go-junit-report says only "Failed", gotestsum repeats go test's chatter:
  // the text says more.
  if (message && NOISE_LINE.test(message)) message = headline(message);
  if (!message || GENERIC_MESSAGE.test(message)) message = (details && headline(details)) || message;
  if (!message && first?.attrs.type) message = first.attrs.type;

  const result: RawCase = {
    suite: suite.name,
    classname,
    name: attrs.name ?? '',
    status,
    time: seconds(attrs.time),
    roots: [],
  };
  if (message) result.message = message;
  if (details) result.details = details;

  // Where: the failure's own location in the test's file beats the test's
  // declared line (pytest's `line` is the 0-based line of its `def`).
  const attrFile = attrs.file ?? suite.file;
  let attrLine = positiveInt(attrs.line);
  if (attrLine !== undefined && pytest && attrFile?.endsWith('.py')) attrLine += 1;
  const frames = status === 'passed' ? [] : extractLocations([details ?? '', message ?? ''].join('\n'));
  const pyFiles = frames.some((f) => f.file.endsWith('.py')) || (attrLine !== undefined && !attrFile) ? pythonModuleFiles(classname) : [];
  const hints: string[] = [];
  let chosen: { file: string; line?: number } | undefined;
  if (attrFile) {
    const frame = frames.find((f) => sameFile(f.file, attrFile));
    const relative = [attrFile, frame?.file].find((f) => f !== undefined && !isAbsolute(toSlashes(f)));
    if (relative) hints.push(toSlashes(relative));
    chosen = { file: relative ?? attrFile, line: frame?.line ?? attrLine };
  }
  if (!chosen) {
    for (const module of pyFiles) {
      const frame = frames.find((f) => sameFile(f.file, module));
      if (frame) {
        chosen = frame;
        hints.push(module);
        break;
      }
    }
  }
  if (!chosen && classname) chosen = frames.find((f) => f.javaClass === classname);
  const own = frames.filter((f) => !isLibrary(toSlashes(f.file)));
  if (!chosen) chosen = own.find((f) => looksLikeTestFile(toSlashes(f.file))) ?? own[0];
  if (!chosen && attrLine !== undefined) {
    const module = pyFiles[pyFiles.length - 1];
    if (module) chosen = { file: module, line: attrLine };
  }
  if (chosen) {
    result.file = chosen.file;
    if (chosen.line !== undefined) result.line = chosen.line;
  }
  // Where the report's absolute paths start: an absolute path that ends with
  // one the report gives relative.
  for (const path of [attrFile, chosen?.file, ...frames.map((f) => f.file)]) {
    const abs = path && toSlashes(path);
    if (!abs || !isAbsolute(abs)) continue;
    for (const hint of hints) if (abs.endsWith('/' + hint)) result.roots.push(abs.slice(0, abs.length - hint.length));
  }
  return result;
}

/** A suite-level `<error>`/`<failure>` (outside any testcase) as a case of its own. */
function suiteProblem(el: XmlElement, suite: SuiteContext): RawCase {
  const status: TestStatus = el.name === 'failure' ? 'failed' : 'error';
  const details = clean(textOf(el));
  const message = clean(el.attrs.message) ?? details?.split('\n')[0] ?? `the suite reports an ${el.name}`;
  const frames = extractLocations(details ?? '');
  const frame = frames.find((f) => !isLibrary(toSlashes(f.file)));
  const out: RawCase = { suite: suite.name, classname: '', name: suite.name || '(suite)', status, time: 0, message, roots: [] };
  if (details) out.details = details;
  if (frame) Object.assign(out, { file: frame.file, line: frame.line });
  else if (suite.file) out.file = suite.file;
  return out;
}

function isPytest(root: XmlElement): boolean {
  const names = [root.attrs.name, ...children(root, 'testsuite').map((s) => s.attrs.name)];
  return names.some((n) => n === 'pytest' || n === 'pytest tests');
}

function collect(root: XmlElement, pytest: boolean): { cases: RawCase[]; time: number } {
  const cases: RawCase[] = [];
  let time = 0;
  const walk = (el: XmlElement, ctx: SuiteContext, timed: boolean): void => {
    const isSuite = el.name === 'testsuite';
    const suiteTime = isSuite && el.attrs.time !== undefined ? seconds(el.attrs.time) : undefined;
    // Count the outermost suite that states a time; nested suites are inside it.
    const counts = !timed && suiteTime !== undefined;
    if (counts) time += suiteTime!;
    const here: SuiteContext = isSuite ? { name: el.attrs.name ?? ctx.name, file: el.attrs.file ?? el.attrs.filepath ?? ctx.file } : ctx;
    const before = cases.length;
    let nested = false;
    for (const child of el.children) {
      if (child.name === 'testcase') {
        const c = caseFromElement(child, here, pytest);
        cases.push(c);
        if (!timed && !counts) time += c.time;
      } else if (child.name === 'testsuite' || child.name === 'testsuites') {
        nested = true;
        walk(child, here, timed || counts);
      } else if (isSuite && (child.name === 'error' || child.name === 'failure')) {
        cases.push(suiteProblem(child, here));
      }
    }
    // A suite that says it failed, with no failing case to show for it,
    // must not read as green.
    if (isSuite && !nested) {
      const declared = (positiveInt(el.attrs.failures) ?? 0) + (positiveInt(el.attrs.errors) ?? 0);
      const found = cases.slice(before).filter((c) => c.status === 'failed' || c.status === 'error').length;
      if (declared > found) {
        cases.push({
          suite: here.name,
          classname: '',
          name: here.name || '(suite)',
          status: 'error',
          time: 0,
          message: `the suite reports ${declared} failures and errors, ${declared - found} of them not in any test case`,
          roots: [],
          ...(here.file ? { file: here.file } : {}),
        });
      }
    }
  };
  walk(root, { name: root.name === 'testsuite' ? (root.attrs.name ?? '') : '' }, false);
  // A <testsuites> root's own time is the run's wall-clock time: it wins.
  if (root.name === 'testsuites' && root.attrs.time !== undefined) time = seconds(root.attrs.time);
  return { cases, time };
}

function normalizePrefixes(prefixes: string[]): string[] {
  return prefixes
    .map((p) => toSlashes(p.trim()))
    .filter(Boolean)
    .map((p) => (p.endsWith('/') ? p : p + '/'));
}

function relativize(file: string, prefixes: string[]): string {
  let path = toSlashes(file);
  for (const prefix of prefixes) {
    if (path.startsWith(prefix)) {
      path = path.slice(prefix.length);
      break;
    }
  }
  return path.replace(/^(\.\/)+/, '');
}

/** Reads one JUnit XML report. Throws JUnitParseError naming `source` when it cannot. */
export function parseJUnit(xml: string, source = 'JUnit report', options: ParseOptions = {}): TestReport {
  const root = parseXml(xml, source);
  if (root.name !== 'testsuites' && root.name !== 'testsuite') {
    throw new JUnitParseError(source, `the root element is <${root.name}>, not <testsuites> or <testsuite>: not a JUnit XML report`);
  }
  const { cases: raw, time } = collect(root, isPytest(root));
  const given = typeof options.stripPrefix === 'string' ? [options.stripPrefix] : (options.stripPrefix ?? []);
  // Longest first, so /app/src/ wins over /app/.
  const prefixes = [...new Set([...normalizePrefixes(given), ...raw.flatMap((c) => c.roots)])].sort((a, b) => b.length - a.length);
  const cases = raw.map(({ roots: _roots, ...c }): TestCaseResult => (c.file ? { ...c, file: relativize(c.file, prefixes) } : c));
  return summarize(cases, time, [source]);
}

function summarize(cases: TestCaseResult[], time: number, files: string[]): TestReport {
  const count = (s: TestStatus): number => cases.filter((c) => c.status === s).length;
  return {
    total: cases.length,
    passed: count('passed'),
    failed: count('failed'),
    errors: count('error'),
    skipped: count('skipped'),
    time: Math.round(time * 1000) / 1000,
    cases,
    files,
  };
}

/** One report from several (e.g. one file per package or per shard). */
export function mergeReports(reports: TestReport[]): TestReport {
  return summarize(
    reports.flatMap((r) => r.cases),
    reports.reduce((t, r) => t + r.time, 0),
    reports.flatMap((r) => r.files),
  );
}

// ---------------------------------------------------------------------------
// Presentation

/** The name a person would search for: `classname › name`, without repeating. */
export function testTitle(c: TestCaseResult): string {
  const scope = c.classname || c.suite;
  if (!c.name) return scope;
  if (!scope || c.name.includes(scope)) return c.name;
  return `${scope} › ${c.name}`;
}

export function locationText(c: Pick<TestCaseResult, 'file' | 'line'>): string {
  if (!c.file) return '';
  return c.line !== undefined ? `${c.file}:${c.line}` : c.file;
}

function firstLine(text: string | undefined, max = 200): string {
  const line = (text ?? '').split('\n').find((l) => l.trim()) ?? '';
  const trimmed = line.trim();
  return trimmed.length > max ? trimmed.slice(0, max - 1) + '…' : trimmed;
}

/** Text that Markdown (GitHub's, which allows HTML) shows as written. */
function escapeMarkdown(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function formatSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function totalsLine(report: TestReport): string {
  if (report.total === 0) return 'No test cases in the report.';
  const bad = report.failed + report.errors;
  const parts = [`${report.passed} passed`];
  if (report.failed) parts.push(`${report.failed} failed`);
  if (report.errors) parts.push(`${report.errors} errors`);
  if (report.skipped) parts.push(`${report.skipped} skipped`);
  return `${bad ? '❌' : '✅'} ${parts.join(', ')} of ${report.total} tests in ${formatSeconds(report.time)}`;
}

/** Totals, then a table of the failed and errored tests (at most `maxFailures` rows). */
export function reportSummaryMarkdown(report: TestReport, opts: { maxFailures?: number } = {}): string {
  const max = Math.max(0, opts.maxFailures ?? 25);
  const bad = report.cases.filter((c) => c.status === 'failed' || c.status === 'error');
  let md = `**Tests:** ${totalsLine(report)}\n`;
  if (!bad.length) return md;
  const rows = bad.slice(0, max).map((c) => [
    escapeMarkdown(testTitle(c)) + (c.status === 'error' ? ' (error)' : ''),
    c.file ? '`' + locationText(c).replace(/`/g, "'") + '`' : '',
    escapeMarkdown(firstLine(c.message ?? c.details)),
  ]);
  if (rows.length) md += '\n' + table(['Test', 'Location', 'Message'], rows);
  if (bad.length > rows.length) md += `\n…and ${bad.length - rows.length} more failed tests.\n`;
  return md;
}

const MAX_ANNOTATION_CHARS = 4000;

/** Long text cut in the middle: a failure's head says what, a Python traceback's tail says where. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max / 3);
  return `${text.slice(0, head)}\n…\n${text.slice(text.length - (max - head - 3))}`;
}

/** One annotation per failed or errored test, at the failure's file:line where known. */
export function reportAnnotations(report: TestReport): Array<{ message: string; file?: string; line?: number; title: string }> {
  return report.cases
    .filter((c) => c.status === 'failed' || c.status === 'error')
    .map((c) => {
      // The message first, unless the details already say it (XML folds an
      // attribute's line breaks into spaces, so compare words, not bytes).
      const words = (t: string): string => t.replace(/\s+/g, ' ');
      const said = words(firstLine(c.message, Infinity));
      const text = c.details && c.message && !words(c.details).includes(said) ? `${c.message}\n\n${c.details}` : (c.details ?? c.message);
      const out: { message: string; file?: string; line?: number; title: string } = {
        title: `${c.status === 'error' ? 'Error in' : 'Failed:'} ${testTitle(c)}`,
        message: shorten(text || (c.status === 'error' ? 'The test errored.' : 'The test failed.'), MAX_ANNOTATION_CHARS),
      };
      if (c.file) out.file = c.file;
      if (c.file && c.line !== undefined) out.line = c.line;
      return out;
    });
}
