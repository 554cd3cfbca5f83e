/** Where a test failed: source locations in stack traces and failure texts (Python, JavaScript/TypeScript, Go, Java/Kotlin), and the path rules that pick one. */

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

/** A frame in a library, the runtime or the test framework: not where the user's test broke. */
export function isLibrary(file: string): boolean {
  return LIBRARY_PATH.test(file);
}

export function toSlashes(path: string): string {
  return path.replace(/\\/g, '/').replace(/^file:\/\//, '');
}

export function isAbsolute(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:\//.test(path);
}

/** Same file when equal, or when one ends with the other as whole path segments. */
export function sameFile(a: string, b: string): boolean {
  const x = toSlashes(a).replace(/^\.\//, '');
  const y = toSlashes(b).replace(/^\.\//, '');
  return x === y || x.endsWith('/' + y) || y.endsWith('/' + x);
}

/**
 * pytest's classname → the files it may name, longest first:
 * `tests.test_app.TestRoutes` → tests/test_app/TestRoutes.py, tests/test_app.py
 * (trailing segments are dropped only while they look like class names).
 */
export function pythonModuleFiles(classname: string): string[] {
  const parts = classname.split('.');
  if (!classname || parts.some((p) => !/^[A-Za-z_]\w*$/.test(p))) return [];
  const files = [parts.join('/') + '.py'];
  for (let k = parts.length - 1; k >= 1 && /^[A-Z]/.test(parts[k]!); k--) files.push(parts.slice(0, k).join('/') + '.py');
  return files;
}

const TEST_FILE = /(^|\/)(test_[^/]*\.py|[^/]*_test\.(py|go)|[^/]*\.(test|spec)\.[cm]?[jt]sx?|[^/]*Tests?\.(java|kt|scala|groovy))$|(^|\/)(tests?|__tests__|spec)\//;

/** Named as test files are named by pytest, go test, jest/mocha and Surefire. */
export function looksLikeTestFile(file: string): boolean {
  return TEST_FILE.test(file);
}

/** Directories as prefixes to cut: forward slashes, one trailing slash. */
export function normalizePrefixes(prefixes: string[]): string[] {
  return prefixes
    .map((p) => toSlashes(p.trim()))
    .filter(Boolean)
    .map((p) => (p.endsWith('/') ? p : p + '/'));
}

/** `file` without the first of `prefixes` it starts with, and without leading `./`. */
export function relativize(file: string, prefixes: string[]): string {
  let path = toSlashes(file);
  for (const prefix of prefixes) {
    if (path.startsWith(prefix)) {
      path = path.slice(prefix.length);
      break;
    }
  }
  return path.replace(/^(\.\/)+/, '');
}
