/** The JUnit XML report model and its reading: cases, outcomes, times, and where each failure is. */
import { ExternalError } from '@kubeline/toolkit';
import { extractLocations, isAbsolute, isLibrary, looksLikeTestFile, normalizePrefixes, pythonModuleFiles, relativize, sameFile, toSlashes } from './locations';
import { childrenNamed, parseXml, textOf, XmlSyntaxError, type XmlElement } from './xml';

/*
 * JUnit XML reports, as written by pytest (--junitxml), jest-junit, Maven
 * Surefire, go-junit-report, gotestsum and mocha-junit-reporter: one
 * `<testsuites>` or `<testsuite>` root, suites possibly nested, each
 * `<testcase>` passed unless it holds `<failure>`, `<error>` or `<skipped>`.
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

interface RawCase extends TestCaseResult {
  /** Directories that absolute paths in this case are relative to. */
  roots: string[];
}

interface SuiteContext {
  name: string;
  file?: string;
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
  const failures = childrenNamed(el, 'failure');
  const errors = childrenNamed(el, 'error');
  const skips = childrenNamed(el, 'skipped');
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
  const names = [root.attrs.name, ...childrenNamed(root, 'testsuite').map((s) => s.attrs.name)];
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

function readXml(xml: string, source: string): XmlElement {
  try {
    return parseXml(xml);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new JUnitParseError(source, err.message, err.line);
    throw err;
  }
}

/** Reads one JUnit XML report. Throws JUnitParseError naming `source` when it cannot. */
export function parseJUnit(xml: string, source = 'JUnit report', options: ParseOptions = {}): TestReport {
  const root = readXml(xml, source);
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
