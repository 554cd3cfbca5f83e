import { readFileSync } from 'node:fs';
import { ExternalError } from '@kubeline/toolkit';
import { JUnitParseError, mergeReports, parseJUnit, type ParseOptions, type TestCaseResult, type TestStatus } from '../src/junit';
import { extractLocations } from '../src/locations';
import { reportAnnotations, reportSummaryMarkdown } from '../src/presentation';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

interface Problem {
  name: string;
  status: TestStatus;
  file?: string;
  line?: number;
  message: string;
}

interface FixtureCase {
  file: string;
  options?: ParseOptions;
  totals: { total: number; passed: number; failed: number; errors: number; skipped: number; time: number };
  /** The failed and errored cases, in report order. */
  problems: Problem[];
}

// Every fixture is real output of its tool (see the comment at its top).
const fixtures: FixtureCase[] = [
  {
    file: 'pytest-demo-failing.xml',
    totals: { total: 16, passed: 15, failed: 1, errors: 0, skipped: 0, time: 0.172 },
    problems: [
      {
        name: 'test_greeting_is_polite',
        status: 'failed',
        file: 'tests/test_failing.py',
        line: 18,
        message: "AssertionError: assert 'Hello, Ada!' == 'Good morning, Ada!'",
      },
    ],
  },
  {
    file: 'pytest-demo-passing.xml',
    totals: { total: 16, passed: 15, failed: 0, errors: 0, skipped: 1, time: 0.162 },
    problems: [],
  },
  {
    file: 'pytest-xunit1.xml',
    totals: { total: 7, passed: 1, failed: 3, errors: 1, skipped: 2, time: 0.265 },
    problems: [
      { name: 'test_sum', status: 'failed', file: 'tests/test_cart.py', line: 16, message: 'assert 7 == 8' },
      { name: 'test_negative', status: 'failed', file: 'tests/test_cart.py', line: 19, message: 'ValueError: negative quantity: -1' },
      {
        name: 'test_needs_db',
        status: 'error',
        file: 'tests/test_cart.py',
        line: 8,
        message: 'failed on setup with "ConnectionError: database at db:5432 refused the connection"',
      },
      { name: 'test_unicode_and_markup', status: 'failed', file: 'tests/test_cart.py', line: 37, message: "'<b>naïve & ☃</b>'" },
    ],
  },
  {
    file: 'pytest-native-tb.xml',
    totals: { total: 7, passed: 1, failed: 3, errors: 1, skipped: 2, time: 0.165 },
    problems: [
      { name: 'test_sum', status: 'failed', file: 'tests/test_cart.py', line: 16, message: 'assert 7 == 8' },
      { name: 'test_negative', status: 'failed', file: 'tests/test_cart.py', line: 19, message: 'ValueError: negative quantity: -1' },
      { name: 'test_needs_db', status: 'error', file: 'tests/test_cart.py', line: 8, message: 'ConnectionError: database at db:5432' },
      { name: 'test_unicode_and_markup', status: 'failed', file: 'tests/test_cart.py', line: 37, message: "'<b>naïve & ☃</b>'" },
    ],
  },
  {
    file: 'jest-junit.xml',
    totals: { total: 6, passed: 1, failed: 3, errors: 1, skipped: 1, time: 1.093 },
    problems: [
      { name: 'cart adds prices', status: 'failed', file: 'src/cart.test.js', line: 9, message: 'Error: expect(received).toBe(expected)' },
      {
        name: 'cart quantities rejects negative quantities',
        status: 'failed',
        file: 'src/cart.test.js',
        line: 14,
        message: 'RangeError: negative quantity: -1',
      },
      { name: 'src/broken.test.js', status: 'error', file: 'src/broken.test.js', line: 5, message: 'SyntaxError: ' },
      { name: 'src/broken.test.js', status: 'failed', file: 'src/broken.test.js', message: 'BABEL_PARSE_ERROR' },
    ],
  },
  {
    file: 'mocha-junit-reporter.xml',
    totals: { total: 5, passed: 1, failed: 3, errors: 0, skipped: 1, time: 0.01 },
    problems: [
      { name: 'cart adds prices', status: 'failed', file: 'test/cart.spec.js', line: 10, message: 'Expected values to be strictly equal' },
      {
        name: 'cart quantities rejects negative quantities',
        status: 'failed',
        file: 'test/cart.spec.js',
        line: 15,
        message: 'negative quantity: -1',
      },
      {
        name: 'checkout "before all" hook for "charges the card"',
        status: 'failed',
        file: 'test/cart.spec.js',
        line: 24,
        message: 'payment sandbox unreachable',
      },
    ],
  },
  {
    file: 'TEST-com.acme.shop.CartTest.xml',
    totals: { total: 4, passed: 1, failed: 1, errors: 1, skipped: 1, time: 0.375 },
    problems: [
      { name: 'rejectsNegativeQuantity', status: 'error', file: 'com/acme/shop/CartTest.java', line: 24, message: 'negative quantity: -1' },
      {
        name: 'addsPrices',
        status: 'failed',
        file: 'com/acme/shop/CartTest.java',
        line: 19,
        message: 'total of <2x3, 1x1> ==> expected: <8> but was: <7>',
      },
    ],
  },
  {
    file: 'go-junit-report.xml',
    totals: { total: 7, passed: 2, failed: 3, errors: 1, skipped: 1, time: 0.028 },
    problems: [
      { name: '[build failed]', status: 'error', file: 'broken/broken.go', line: 5, message: 'Build error' },
      { name: 'TestSub', status: 'failed', file: 'calc_test.go', line: 13, message: 'calc_test.go:13: Sub(3, 1) = 4, want 2' },
      // The panic went to the suite's system-out: go-junit-report ties it to no test.
      { name: 'TestDiv', status: 'failed', message: 'Failed' },
      { name: 'TestDiv/by_zero', status: 'failed', message: 'Failed' },
    ],
  },
  {
    file: 'gotestsum.xml',
    options: { stripPrefix: '/home/runner/work/shop/shop' },
    totals: { total: 7, passed: 2, failed: 4, errors: 0, skipped: 1, time: 0.541 },
    problems: [
      { name: 'TestMain', status: 'failed', message: 'FAIL\texample.com/shop/broken [build failed]' },
      { name: 'TestSub', status: 'failed', file: 'calc_test.go', line: 13, message: 'calc_test.go:13: Sub(3, 1) = 4, want 2' },
      { name: 'TestDiv/by_zero', status: 'failed', message: 'Failed' },
      {
        name: 'TestDiv',
        status: 'failed',
        file: 'calc/calc_test.go',
        line: 28,
        message: 'panic: runtime error: integer divide by zero',
      },
    ],
  },
];

describe('parseJUnit on real reports', () => {
  test.each(fixtures)('$file', ({ file, options, totals, problems }) => {
    const report = parseJUnit(fixture(file), file, options);
    expect({ ...report, cases: undefined, files: undefined }).toEqual({ ...totals, cases: undefined, files: undefined });
    expect(report.files).toEqual([file]);
    const bad = report.cases.filter((c) => c.status === 'failed' || c.status === 'error');
    expect(bad.map((c) => ({ name: c.name, status: c.status, file: c.file, line: c.line }))).toEqual(
      problems.map((p) => ({ name: p.name, status: p.status, file: p.file, line: p.line })),
    );
    bad.forEach((c, i) => expect(c.message).toContain(problems[i]!.message));
    // No location is left absolute when the report says where its root is.
    if (file !== 'go-junit-report.xml') for (const c of report.cases) expect(c.file ?? '').not.toMatch(/^\//);
  });

  test('the demo failure points at the assert line of the real test file', () => {
    const [failed] = parseJUnit(fixture('pytest-demo-failing.xml'), 'junit.xml').cases.filter((c) => c.status === 'failed');
    const source = readFileSync(new URL(`../../../examples/demo/${failed!.file}`, import.meta.url), 'utf8').split('\n');
    // If this fails, the failing demo test moved: rebuild the test image with
    // DEMO_FAIL=1 and refresh the fixture (see examples/README.md).
    expect(source[failed!.line! - 1]).toContain('assert core.greeting("Ada")["message"] == "Good morning, Ada!"');
    expect(failed!.details).toContain('tests/test_failing.py:18: AssertionError');
  });

  test('pytest: skips and their reasons, the 0-based line of xunit1 made 1-based', () => {
    const cases = parseJUnit(fixture('pytest-xunit1.xml')).cases;
    const byName = (name: string): TestCaseResult => cases.find((c) => c.name === name)!;
    expect(byName('test_empty')).toMatchObject({ status: 'passed', classname: 'tests.test_cart.TestTotal', file: 'tests/test_cart.py', line: 12 });
    expect(byName('test_payment')).toMatchObject({ status: 'skipped', message: 'no payment sandbox here', file: 'tests/test_cart.py', line: 26 });
    expect(byName('test_rounding')).toMatchObject({ status: 'skipped', message: 'rounding bug #12' });
    expect(byName('test_sum').details).toContain('>       assert cart.total([(2, 3), (1, 1)]) == 8');
    expect(byName('test_sum').time).toBe(0.001);
  });

  test('pytest: the test image root (/app) is found from the classname without being told', () => {
    const report = parseJUnit(fixture('pytest-native-tb.xml'));
    expect(report.cases.find((c) => c.name === 'test_payment')).toMatchObject({ file: 'tests/test_cart.py', line: 26 });
    expect(report.cases.find((c) => c.name === 'test_negative')!.details).toContain('File "/app/shop/cart.py", line 5, in total');
  });

  test('mocha: the absolute suite file becomes relative once a frame shows the root', () => {
    const report = parseJUnit(fixture('mocha-junit-reporter.xml'));
    expect(report.cases.find((c) => c.status === 'passed')).toMatchObject({ suite: 'cart', file: 'test/cart.spec.js' });
    expect(report.cases.find((c) => c.status === 'skipped')).toMatchObject({ name: 'cart quantities rounds <half> & up' });
  });

  test('go: absolute paths stay absolute unless a prefix is given', () => {
    const report = parseJUnit(fixture('gotestsum.xml'));
    expect(report.cases.find((c) => c.name === 'TestDiv')!.file).toBe('/home/runner/work/shop/shop/calc/calc_test.go');
    const skipped = report.cases.find((c) => c.status === 'skipped')!;
    expect(skipped).toMatchObject({ name: 'TestNetwork', message: 'calc_test.go:18: needs network <& sandbox>' });
  });

  test('surefire: skip message and the stack trace in details', () => {
    const report = parseJUnit(fixture('TEST-com.acme.shop.CartTest.xml'));
    expect(report.cases[0]).toMatchObject({ name: 'paysWithCard', status: 'skipped', message: 'payment sandbox & VPN needed' });
    expect(report.cases.find((c) => c.name === 'addsPrices')!.details).toMatch(/^org\.opentest4j\.AssertionFailedError: total of <2x3, 1x1>/);
  });
});

const wrap = (cases: string, suite = 'suite'): string => `<testsuites><testsuite name="${suite}">${cases}</testsuite></testsuites>`;

describe('XML reading', () => {
  test('entities, character references, CDATA, comments, processing instructions', () => {
    const xml = `\uFEFF<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet href="junit.xsl"?>
<!-- generated -->
<testsuites>
  <testsuite name='quotes &apos;single&apos; &amp; "double"'>
    <testcase classname="a&#46;b" name="x &lt; y &gt; z &#x1F600; &#233; &nbsp;" time = "0.5">
      <failure message="line1&#10;line2&#xA;line3"><![CDATA[if (a < b && c > d) { ]] }]]>&lt;text&gt;<!-- hidden --><?pi x?><![CDATA[ more]]></failure>
    </testcase>
  </testsuite>
</testsuites>
<!-- trailing comment -->
`;
    const [c] = parseJUnit(xml).cases;
    expect(c).toMatchObject({
      suite: `quotes 'single' & "double"`,
      classname: 'a.b',
      name: 'x < y > z 😀 é &nbsp;',
      status: 'failed',
      time: 0.5,
      message: 'line1\nline2\nline3',
      details: 'if (a < b && c > d) { ]] }<text> more',
    });
  });

  test('literal whitespace in attributes is normalised, references are kept', () => {
    const [c] = parseJUnit(wrap('<testcase name="a\n\tb&#9;c"/>')).cases;
    expect(c!.name).toBe('a  b\tc');
  });

  test('a DOCTYPE is skipped and its entities are never expanded', () => {
    const lol = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "&lol${i};&lol${i};&lol${i};&lol${i};&lol${i};&lol${i};">`).join('');
    const xml = `<?xml version="1.0"?><!DOCTYPE testsuites [<!ENTITY lol0 "lol">${lol}]>${wrap('<testcase name="&lol9;"/>')}`;
    expect(parseJUnit(xml).cases[0]!.name).toBe('&lol9;');
  });

  test('CRLF line ends, character references to nothing and ANSI colours are cleaned', () => {
    const xml = wrap('<testcase name="t"><failure>\u001b[31mexpected\u001b[39m 1\r\n  got &#0;2\r\n</failure></testcase>').replace(/></g, '>\r\n<');
    expect(parseJUnit(xml).cases[0]!.details).toBe('expected 1\n  got \uFFFD2');
  });

  test.each([
    ['', 'no root element (an empty file?)'],
    ['   \n  ', 'no root element'],
    ['PK\u0003\u0004 not xml', 'text outside the root element'],
    ['<testsuites><testsuite name="a"><testcase name="x">', 'line 1: the file ends inside <testcase> opened at line 1 (truncated?)'],
    ['<testsuites>\n<testsuite>\n</testsuites>', 'line 3: closing tag </testsuites> does not match <testsuite> opened at line 2'],
    ['<testsuite/><testsuite/>', 'a second root element <testsuite>'],
    ['<testsuite/></testsuite>', 'closing tag </testsuite> without an open element'],
    ['<testsuites><!-- never closed', 'a comment is not closed'],
    ['<testsuites><testcase><![CDATA[ x', 'a CDATA section is not closed'],
    ['<testsuites name=x>', "attribute 'name' of <testsuites> is not quoted"],
    ['<testsuites name>', "attribute 'name' of <testsuites> has no value"],
    ['<testsuites name="x', "attribute 'name' of <testsuites> is not closed"],
    ['<testsuites name="a"name="b">', "expected whitespace, '>' or '/>' in the tag <testsuites>"],
    ['< testsuites>', "'<' not followed by a tag name"],
    ['<testsuites></ >', 'a malformed closing tag'],
    ['<testsuites', 'the tag <testsuites> is not closed'],
    ['<coverage line-rate="0.5"/>', 'the root element is <coverage>, not <testsuites> or <testsuite>: not a JUnit XML report'],
  ])('malformed: %j', (xml, message) => {
    expect(() => parseJUnit(xml, 'reports/junit.xml')).toThrow(`reports/junit.xml: `);
    expect(() => parseJUnit(xml, 'reports/junit.xml')).toThrow(message);
  });

  test('the error is an ExternalError that names the file and the line', () => {
    let caught: unknown;
    try {
      parseJUnit('<testsuites>\n  <testsuite>\n</testsuites>', 'out/junit.xml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(JUnitParseError);
    expect(caught).toBeInstanceOf(ExternalError);
    expect(caught).toMatchObject({ source: 'out/junit.xml', line: 3 });
    expect(() => parseJUnit('')).toThrow(/^JUnit report: /);
  });

  test('nesting is bounded', () => {
    const deep = '<testsuite>'.repeat(10_000) + '</testsuite>'.repeat(10_000);
    expect(() => parseJUnit(deep, 'deep.xml')).toThrow('elements nested more than 256 deep');
  });

  test('hostile input takes linear time', () => {
    const big = 2_000_000;
    const inputs = [
      '<testsuites>' + '<'.repeat(big),
      '<testsuites>' + '&'.repeat(big) + '</testsuites>',
      '<testsuites>' + '&a'.repeat(big / 2) + '</testsuites>',
      '<testsuites a="' + '&#1'.repeat(big / 3) + '"/>',
      wrap(`<testcase name="t"><failure message="${' '.repeat(big)}x${'\n'.repeat(big)}"><![CDATA[${' '.repeat(big)}x${' '.repeat(big)}\n${'at ('.repeat(big / 4)}\n${'File "'.repeat(big / 6)}]]></failure></testcase>`),
      wrap(`<testcase name="t"><failure>${`  at f (${'a:1:'.repeat(400)}\n`.repeat(2000)}${'x.py:1:'.repeat(300)}\n</failure></testcase>`),
      wrap('<testcase name="t" '.concat('a="1" '.repeat(big / 6), '/>')),
    ];
    for (const xml of inputs) {
      const start = performance.now();
      try {
        parseJUnit(xml);
      } catch {
        // malformed is fine: only the time matters
      }
      expect(performance.now() - start).toBeLessThan(1500);
    }
  });

  test('a large report (20,000 failing cases) parses quickly', () => {
    const cases = Array.from(
      { length: 20_000 },
      (_, i) => `<testcase classname="tests.test_m${i % 50}" name="test_${i}" time="0.01"><failure message="boom &amp; bust">tests/test_m${i % 50}.py:${i + 1}: AssertionError</failure></testcase>`,
    ).join('\n');
    const start = performance.now();
    const report = parseJUnit(wrap(cases, 'pytest'));
    expect(performance.now() - start).toBeLessThan(3000);
    expect(report).toMatchObject({ total: 20_000, failed: 20_000 });
    expect(report.cases[19_999]).toMatchObject({ file: 'tests/test_m49.py', line: 20_000, message: 'boom & bust' });
  });
});

describe('JUnit structure', () => {
  test('a single <testsuite> root, self-closing, with no cases', () => {
    expect(parseJUnit('<testsuite name="empty" tests="0" time="0"/>')).toEqual({
      total: 0,
      passed: 0,
      failed: 0,
      errors: 0,
      skipped: 0,
      time: 0,
      cases: [],
      files: ['JUnit report'],
    });
  });

  test('nested suites: cases take the nearest suite; time counts the outermost suite once', () => {
    const xml = `<testsuites>
      <testsuite name="outer" time="3">
        <testsuite name="inner" time="2"><testcase name="a" time="1"/></testsuite>
        <testcase name="b" time="1"/>
      </testsuite>
      <testsuite name="other"><testcase name="c" time="0.25"/></testsuite>
      <testcase name="loose" time="0.5"/>
    </testsuites>`;
    const report = parseJUnit(xml);
    expect(report.cases.map((c) => [c.suite, c.name])).toEqual([
      ['inner', 'a'],
      ['outer', 'b'],
      ['other', 'c'],
      ['', 'loose'],
    ]);
    expect(report.time).toBe(3.75);
  });

  test('a failure beats an error beats a skip; several failures are all kept', () => {
    const report = parseJUnit(
      wrap(`
      <testcase name="both"><error message="teardown broke"/><failure message="assert 1 == 2">first</failure><failure>second</failure></testcase>
      <testcase name="err"><skipped/><error type="OSError"/></testcase>
      <testcase name="skip"><skipped>reason in text</skipped><system-out>noise</system-out></testcase>
      <testcase name="flaky"><flakyFailure message="once"/></testcase>`),
    );
    expect(report.cases.map((c) => [c.name, c.status, c.message, c.details])).toEqual([
      ['both', 'failed', 'assert 1 == 2', 'first\n\nsecond'],
      ['err', 'error', 'OSError', undefined],
      ['skip', 'skipped', 'reason in text', 'reason in text'],
      ['flaky', 'passed', undefined, undefined],
    ]);
  });

  test('suite-level errors, and failures a suite declares but shows no case for, are not lost', () => {
    const report = parseJUnit(`<testsuites>
      <testsuite name="setup" file="tests/conftest.py"><error message="fixture exploded">tests/conftest.py:7: RuntimeError</error></testsuite>
      <testsuite name="silent" failures="2" errors="0" tests="3"><testcase name="ok"/><testcase name="bad"><failure/></testcase></testsuite>
    </testsuites>`);
    expect(report).toMatchObject({ total: 4, passed: 1, failed: 1, errors: 2 });
    expect(report.cases[0]).toMatchObject({ suite: 'setup', status: 'error', message: 'fixture exploded', file: 'tests/conftest.py', line: 7 });
    expect(report.cases[3]).toMatchObject({ suite: 'silent', status: 'error', message: expect.stringContaining('1 of them not in any test case') });
  });

  test.each([
    ['1.5', 1.5],
    ['1,234.5', 1234.5],
    ['0,25', 0.25],
    ['', 0],
    ['NaN', 0],
    ['-3', 0],
  ])('time %j is %d s', (time, seconds) => {
    expect(parseJUnit(wrap(`<testcase name="t" time="${time}"/>`)).cases[0]!.time).toBe(seconds);
  });
});

describe('locations', () => {
  const located = (attrs: string, text: string, options?: ParseOptions): Pick<TestCaseResult, 'file' | 'line'> => {
    const c = parseJUnit(wrap(`<testcase name="t" ${attrs}><failure><![CDATA[${text}]]></failure></testcase>`), 'r.xml', options).cases[0]!;
    return { file: c.file, line: c.line };
  };

  test.each<[string, string, string, Pick<TestCaseResult, 'file' | 'line'>]>([
    ['pytest long', 'classname="tests.test_x"', 'def test():\n>   f()\n\ntests/test_x.py:4: \n_ _ _\n\nsrc/lib.py:9: ValueError', { file: 'tests/test_x.py', line: 4 }],
    ['pytest, no classname match: the innermost own frame', '', 'src/lib.py:9: in f\nsrc/other.py:3: KeyError', { file: 'src/other.py', line: 3 }],
    [
      'python traceback, library frames skipped',
      'classname="pkg.tests.test_y.TestY"',
      'Traceback (most recent call last):\n  File "/usr/lib/python3/dist-packages/_pytest/python.py", line 195, in call\n  File "/srv/app/pkg/tests/test_y.py", line 12, in test_y\n    helper()\n  File "/srv/app/pkg/util.py", line 3, in helper\nKeyError: 1',
      { file: 'pkg/tests/test_y.py', line: 12 },
    ],
    [
      'jest stack, the test file preferred over the code it calls',
      '',
      'Error: boom\n    at total (/w/src/cart.ts:4:24)\n    at Object.<anonymous> (/w/src/cart.test.ts:14:14)\n    at Promise.then.completed (/w/node_modules/jest-circus/build/utils.js:298:28)',
      { file: 'src/cart.test.ts', line: 14 },
    ],
    ['node ESM frame with a file URL', '', 'Error\n    at file:///w/test/a.spec.mjs:3:9', { file: 'test/a.spec.mjs', line: 3 }],
    ['windows paths', '', 'Error\n    at Object.test (C:\\w\\__tests__\\main.test.js:10:21)', { file: 'C:/w/__tests__/main.test.js', line: 10 }],
    ['typescript diagnostic', '', 'src/a.test.ts:3:1 - error TS2304: Cannot find name x.', { file: 'src/a.test.ts', line: 3 }],
    ['go t.Errorf', 'classname="example.com/m/calc"', '=== RUN   TestA\n    calc_test.go:12: got 1, want 2\n--- FAIL: TestA', { file: 'calc_test.go', line: 12 }],
    ['go build error with a column', '', 'calc/calc.go:5:20: undefined: fmt.Printl', { file: 'calc/calc.go', line: 5 }],
    ['only library frames: no location', '', 'Error: timeout\n    at listOnTimeout (node:internal/timers:573:17)', { file: undefined, line: undefined }],
    ['file and line attributes, no text location', 'file="spec/a_spec.rb" line="7"', 'expected true', { file: 'spec/a_spec.rb', line: 7 }],
    ['the failure line in the attribute file wins over the attribute line', 'file="src/a.test.js" line="2"', '    at x (/w/src/a.test.js:9:1)', { file: 'src/a.test.js', line: 9 }],
    ['only a line: the file from the pytest classname', 'classname="tests.test_app.TestRoutes" line="40"', 'boom', { file: 'tests/test_app.py', line: 40 }],
  ])('%s', (_what, attrs, text, where) => {
    expect(located(attrs, text, { stripPrefix: ['/w', '/srv/app/'] })).toEqual(where);
  });

  test('the longest matching prefix is stripped', () => {
    expect(located('', 'Error\n    at f (/app/src/lib/x.test.js:1:1)', { stripPrefix: ['/app', '/app/src'] })).toEqual({ file: 'lib/x.test.js', line: 1 });
  });

  test('extractLocations orders frames innermost first', () => {
    const text = 'tests/a.py:1: in t\nlib/b.py:2: in f\nlib/c.py:3: Error';
    expect(extractLocations(text).map((f) => `${f.file}:${f.line}`)).toEqual(['lib/c.py:3', 'lib/b.py:2', 'tests/a.py:1']);
    expect(extractLocations('\tat com.acme.CartTest$Inner.test(CartTest.java:19)')).toEqual([
      { file: 'com/acme/CartTest.java', line: 19, javaClass: 'com.acme.CartTest' },
    ]);
  });
});

describe('mergeReports', () => {
  test('adds up totals, cases and files', () => {
    const a = parseJUnit(fixture('go-junit-report.xml'), 'go.xml');
    const b = parseJUnit(fixture('pytest-demo-failing.xml'), 'py.xml');
    const merged = mergeReports([a, b]);
    expect(merged).toMatchObject({ total: 23, passed: 17, failed: 4, errors: 1, skipped: 1, files: ['go.xml', 'py.xml'] });
    expect(merged.time).toBeCloseTo(0.2, 5);
    expect(merged.cases).toHaveLength(23);
    expect(mergeReports([])).toMatchObject({ total: 0, time: 0, cases: [], files: [] });
  });
});

describe('reportSummaryMarkdown', () => {
  test('the failing demo: totals and a table of the failure', () => {
    const md = reportSummaryMarkdown(parseJUnit(fixture('pytest-demo-failing.xml'), 'junit.xml'));
    expect(md).toBe(
      [
        '**Tests:** ❌ 15 passed, 1 failed of 16 tests in 0.17 s',
        '',
        '| Test | Location | Message |',
        '| --- | --- | --- |',
        "| tests.test_failing › test_greeting_is_polite | `tests/test_failing.py:18` | AssertionError: assert 'Hello, Ada!' == 'Good morning, Ada!' |",
        '',
      ].join('\n'),
    );
  });

  test('all green: the totals alone', () => {
    expect(reportSummaryMarkdown(parseJUnit(fixture('pytest-demo-passing.xml')))).toBe('**Tests:** ✅ 15 passed, 1 skipped of 16 tests in 0.16 s\n');
    expect(reportSummaryMarkdown(parseJUnit('<testsuites/>'))).toBe('**Tests:** No test cases in the report.\n');
  });

  test('errors are marked, markup is escaped, rows are capped', () => {
    const md = reportSummaryMarkdown(parseJUnit(fixture('TEST-com.acme.shop.CartTest.xml')), { maxFailures: 1 });
    expect(md).toContain('**Tests:** ❌ 1 passed, 1 failed, 1 errors, 1 skipped of 4 tests in 0.38 s');
    expect(md).toContain('| com.acme.shop.CartTest › rejectsNegativeQuantity (error) | `com/acme/shop/CartTest.java:24` | negative quantity: -1 |');
    expect(md).not.toContain('addsPrices');
    expect(md).toContain('…and 1 more failed tests.');
    const escaped = reportSummaryMarkdown(parseJUnit(wrap('<testcase name="a|b &lt;img&gt;"><failure message="x | y &lt;b&gt;"/></testcase>')));
    expect(escaped).toContain('| suite › a\\|b &lt;img&gt; |  | x \\| y &lt;b&gt; |');
  });
});

describe('reportAnnotations', () => {
  test('one per failed or errored case, at file:line', () => {
    const annotations = reportAnnotations(parseJUnit(fixture('pytest-xunit1.xml')));
    expect(annotations.map((a) => [a.title, a.file, a.line])).toEqual([
      ['Failed: tests.test_cart.TestTotal › test_sum', 'tests/test_cart.py', 16],
      ['Failed: tests.test_cart.TestTotal › test_negative', 'tests/test_cart.py', 19],
      ['Error in tests.test_cart › test_needs_db', 'tests/test_cart.py', 8],
      ['Failed: tests.test_cart › test_unicode_and_markup', 'tests/test_cart.py', 37],
    ]);
    // The details already say what the message says: no repetition.
    expect(annotations[0]!.message).toMatch(/^self = <test_cart.TestTotal object/);
    // A message the details do not contain goes first.
    expect(annotations[2]!.message).toMatch(/^failed on setup with "ConnectionError[^\n]*\n\n@pytest.fixture/);
  });

  test("a message already in the details is not repeated, even with its line breaks folded", () => {
    const [first] = reportAnnotations(parseJUnit(fixture('mocha-junit-reporter.xml')));
    expect(first!.message).toMatch(/^AssertionError \[ERR_ASSERTION\]: Expected values to be strictly equal:\n\n7 !== 8\n/);
  });

  test('the demo failure', () => {
    expect(reportAnnotations(parseJUnit(fixture('pytest-demo-failing.xml')))).toEqual([
      {
        title: 'Failed: tests.test_failing › test_greeting_is_polite',
        file: 'tests/test_failing.py',
        line: 18,
        message: expect.stringContaining("E       AssertionError: assert 'Hello, Ada!' == 'Good morning, Ada!'"),
      },
    ]);
  });

  test('long texts keep their head and their tail; no location, no file', () => {
    const long = 'head\n' + 'x'.repeat(10_000) + '\nKeyError: the real cause';
    const [a] = reportAnnotations(parseJUnit(wrap(`<testcase name="t"><error>${long}</error></testcase>`)));
    expect(a!.message.length).toBeLessThanOrEqual(4000);
    expect(a!.message).toMatch(/^head\n/);
    expect(a!.message).toMatch(/\nKeyError: the real cause$/);
    expect(a).not.toHaveProperty('file');
    const [bare] = reportAnnotations(parseJUnit(wrap('<testcase name="t"><failure/></testcase>')));
    expect(bare).toEqual({ title: 'Failed: suite › t', message: 'The test failed.' });
  });
});
