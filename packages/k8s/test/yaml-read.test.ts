// YAML as Kubernetes reads it (go-yaml v2, sigs.k8s.io/yaml): the expected values below are what the
// reader gave with its former library (js-yaml 5, YAML 1.1 schema less timestamps), checked against it
// with both libraries installed when the reader moved to the `yaml` package; they stay as the
// regression table.
import { NOT_SIMPLE, parseSimpleYaml } from '../src/fast-yaml';
import { resolvePlainScalar } from '../src/yaml11-scalars';
import { locateField, MAX_ALIASES, parseYamlStream, readYamlDocument } from '../src/yaml-read';

// [plain scalar, value]
const SCALARS: Array<[string, unknown]> = [
  ['yes', true], ['Yes', true], ['YES', true], ['yEs', 'yEs'], ['no', false], ['on', true], ['off', false], ['y', true],
  ['Y', true], ['n', false], ['N', false], ['true', true], ['True', true], ['tRUE', 'tRUE'], ['false', false], ['null', null],
  ['Null', null], ['NULL', null], ['nULL', 'nULL'], ['~', null], ['', null], ['0', 0], ['-0', -0], ['+0', 0], ['00', 0],
  ['007', 7], ['0755', 493], ['+0755', 493], ['-0755', -493], ['08', '08'], ['09', '09'], ['0_7', 7], ['0_', 0], ['0b101', 5],
  ['0B101', '0B101'], ['-0b11', -3], ['0b_', '0b_'], ['0b2', '0b2'], ['0o17', '0o17'], ['0x1f', 31], ['0X1F', '0X1F'],
  ['0x_', '0x_'], ['-0x1f', -31], ['0x1F_ff', 8191], ['1_000', 1000], ['_1', '_1'], ['1_', 1], ['1:20', 80], ['1:20:30', 4830],
  ['-1:20', -80], ['190:20:30', 685230], ['1:60', '1:60'], ['99:99', '99:99'], ['1:20.5', 80.5], ['190:20:30.15', 685230.15],
  ['-1:30.5', -90.5], ['1e3', '1e3'], ['1E3', '1E3'], ['1e+3', '1e+3'], ['1.0e3', '1.0e3'], ['1.0e+3', 1000], ['1.0E+3', 1000],
  ['1.5E-3', 0.0015], ['1.e+3', 1000], ['.5e+3', 500], ['1.5e3', '1.5e3'], ['0e0', '0e0'], ['+1.5', 1.5], ['-.5', -0.5],
  ['.5', 0.5], ['5.', 5], ['+.5', 0.5], ['.', '.'], ['._', '._'], ['1_0.5', 10.5], ['1.2.3', '1.2.3'], ['.inf', Infinity],
  ['.Inf', Infinity], ['.INF', Infinity], ['+.inf', Infinity], ['-.inf', -Infinity], ['.nan', NaN], ['.NaN', NaN], ['.NAN', NaN],
  ['+.nan', '+.nan'], ['-.nan', '-.nan'], ['inf', 'inf'], ['nan', 'nan'], ['NaN', 'NaN'], ['Infinity', 'Infinity'],
  ['12345678901234567890', 12345678901234567890], ['1' + '0'.repeat(400), '1' + '0'.repeat(400)], ['2024-01-01', '2024-01-01'],
  ['2024-01-01T10:00:00Z', '2024-01-01T10:00:00Z'], ['2001-12-14 21:59:43.10 -5', '2001-12-14 21:59:43.10 -5'], ['100m', '100m'],
  ['128Mi', '128Mi'], ['<<', '<<'], ['=', '='], ['+', '+'], ['1,000', '1,000'], ['3.14.15', '3.14.15'], ['Y2K', 'Y2K'],
  ['yes!', 'yes!'],
];

/** The value of `v` in a document, read by parseYamlStream (fast reader first) and by the library alone. */
function both(text: string): [unknown, unknown] {
  const [doc] = parseYamlStream(text);
  const library = readYamlDocument(text);
  if (doc.error || library.error) throw new Error(`${JSON.stringify(text)}: ${doc.error?.message ?? library.error?.message}`);
  return [doc.value, library.value];
}

describe('scalars resolve as YAML 1.1 without timestamps', () => {
  test.each(SCALARS)('%j', (source, expected) => {
    expect(resolvePlainScalar(source)).toEqual(expected);
    const [fast, library] = both(`v: ${source}\n`);
    expect(fast).toEqual({ v: expected });
    expect(library).toEqual({ v: expected });
    // In a list and in flow collections.
    expect(both(`- ${source}\n`)).toEqual([[expected], [expected]]);
    if (source !== '' && !source.includes(',')) expect(both(`v: [${source}, {k: ${source}}]\n`)).toEqual([{ v: [expected, { k: expected }] }, { v: [expected, { k: expected }] }]);
    // As a key it is a string, as in the JSON Kubernetes makes of it.
    if (source !== '' && source !== '<<') {
      const key = expected === null ? 'null' : String(expected);
      expect(both(`${source}: v\n`)).toEqual([{ [key]: 'v' }, { [key]: 'v' }]);
      if (!source.includes(',')) expect(both(`m: {${source}: v}\n`)).toEqual([{ m: { [key]: 'v' } }, { m: { [key]: 'v' } }]);
    }
  });

  test.each([
    ['!!str 0755', '0755'], ['!!str yes', 'yes'], ['!!int 0x1f', 31], ['!!int "010"', 8], ['!!float 1.5', 1.5], ['!!float .inf', Infinity],
    ['!!bool on', true], ['!!null ~', null], ['! 1', '1'], ['!!binary aGVsbG8=', new Uint8Array([104, 101, 108, 108, 111])],
  ])('explicit tag: v: %s', (source, expected) => {
    expect(readYamlDocument(`v: ${source}\n`)).toEqual({ value: { v: expected } });
  });

  test.each([['!!int 1.5'], ['!!int 0x_'], ['!!float 1'], ['!!float 1e3'], ['!!null x'], ['!!bool maybe'], ['!!binary "###"'], ['!!timestamp 2001-01-01'], ['!foo bar'], ['!!map [a]']])(
    'explicit tag that does not fit: v: %s is an error',
    (source) => {
      expect(readYamlDocument(`v: ${source}\n`).error).toMatchObject({ line: 1 });
    },
  );

  test('YAML 1.1 collections: !!omap and !!pairs are lists, !!set a Set', () => {
    expect(readYamlDocument('a: !!omap\n  - x: 1\n  - y: 2\n').value).toEqual({ a: [{ x: 1 }, { true: 2 }] }); // y is yes
    expect(readYamlDocument('a: !!omap\n  - x: 1\n  - x: 2\n').error).toBeDefined();
    expect(readYamlDocument('a: !!pairs\n  - x: 1\n  - x: 2\n').value).toEqual({ a: [['x', 1], ['x', 2]] });
    expect(readYamlDocument('a: !!set\n  ? x\n  ? z\n').value).toEqual({ a: new Set(['x', 'z']) });
  });
});

describe('mappings', () => {
  test('merge keys: the mapping’s own keys win, then the sources in order', () => {
    const text = 'base: &base {a: 1, b: 2}\nmore: &more {b: 3, c: 4}\nx:\n  <<: [*base, *more]\n  a: 0\nz: {<<: *base, b: 9}\n';
    expect(parseYamlStream(text)[0].value).toEqual({ base: { a: 1, b: 2 }, more: { b: 3, c: 4 }, x: { a: 0, b: 2, c: 4 }, z: { a: 1, b: 9 } });
    expect(parseYamlStream('x:\n  "<<": {a: 1}\n')[0].value).toEqual({ x: { '<<': { a: 1 } } });
  });

  test.each([
    ['a scalar', 'x:\n  <<: 1\n', 2],
    ['a list alias', 'l: &l [1]\nx:\n  <<: *l\n', 3],
    ['a list holding a scalar', 'x:\n  <<: [{a: 1}, 2]\n', 2],
    ['its own mapping', 'x: &x\n  <<: *x\n  a: 1\n', 2],
  ])('a merge key with %s is an error', (_name, text, line) => {
    expect(parseYamlStream(text)[0].error).toMatchObject({ line });
  });

  test('keys are strings: null keys are "null", and 1 and "1" are the same key', () => {
    expect(parseYamlStream('~: a\n')[0].value).toEqual({ null: 'a' });
    expect(readYamlDocument('m: {~: a}\n').value).toEqual({ m: { null: 'a' } });
    expect(parseYamlStream('1: a\n"1": b\n')[0].error).toMatchObject({ message: 'duplicated mapping key "1"', line: 2, column: 1 });
    expect(parseYamlStream('null: a\n~: b\n')[0].error).toMatchObject({ message: 'duplicated mapping key "null"', line: 2 });
    expect(parseYamlStream('__proto__: {a: 1}\n')[0].value).toEqual(JSON.parse('{"__proto__": {"a": 1}}'));
  });

  test.each([['? [a, b]\n: c\n'], ['[1, 2]: x\n'], ['{a: 1}: x\n'], ['a: &m {x: 1}\n*m : v\n'], ['!!binary aGVsbG8= : x\n']])('a collection as a key is an error: %j', (text) => {
    expect(parseYamlStream(text)[0].error?.message).toMatch(/key must be a scalar/);
  });

  test('what the library would take but YAML does not: `a: []: b`, a value without ":" after `? "key"`', () => {
    expect(parseYamlStream('a: []: b\n')[0].error).toMatchObject({ line: 1, column: 6 });
    expect(parseYamlStream('a: {}:\n')[0].error).toBeDefined();
    expect(parseYamlStream('? "a"\n  \'b\'\n')[0].error).toMatchObject({ line: 2 });
    // An empty key that starts its line is YAML.
    expect(parseYamlStream('a: 1\n: b\n')[0].value).toEqual({ a: 1, null: 'b' });
  });
});

describe('flow collections over several lines', () => {
  // kubectl and the `yaml` package read these; the former library said "deficient indentation".
  test.each([
    ['under a key at column 0', 'args: [\n  a,\n  b\n]\n', { args: ['a', 'b'] }],
    ['under a key at column 2', 'spec:\n  args: [\n    a,\n    b\n  ]\n  env: {\n    A: "1"\n  }\n', { spec: { args: ['a', 'b'], env: { A: '1' } } }],
    ['in a container', 'containers:\n  - name: web\n    command: [\n      "sh", "-c",\n      "echo hi"\n    ]\n', { containers: [{ name: 'web', command: ['sh', '-c', 'echo hi'] }] }],
  ])('closing bracket at the indentation of the key: %s', (_name, text, value) => {
    expect(parseYamlStream(text)[0]).toMatchObject({ value });
  });
});

describe('errors', () => {
  test('line and column (1-based, in the stream) and a clear message; other documents still read', () => {
    const docs = parseYamlStream('a: 1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a: b\n---\ndata:\n  a: "1"\n  a: "2"\n---\nb: 2\n');
    expect(docs.map((d) => d.value ?? null)).toEqual([{ a: 1 }, null, null, { b: 2 }]);
    expect(docs[1].error).toEqual({ message: 'Nested mappings are not allowed in compact mappings', line: 6, column: 9 });
    expect(docs[2].error).toEqual({ message: 'duplicated mapping key "a"', line: 10, column: 3 });
  });

  test('an unclosed quote points where it opens; an error at the end, at the last line of its document', () => {
    const docs = parseYamlStream('a: 1\n---\nmetadata:\n  name: "web\n  namespace: x\n\n---\nb: [1,\n  2\n---\nc: 1\n');
    expect(docs[1].error).toEqual({ message: 'the quoted string that starts here has no closing "', line: 4, column: 9 });
    expect(docs[2].error).toMatchObject({ line: 9 });
    expect(docs[3].value).toEqual({ c: 1 });
  });

  test('a duplicate key after an empty value points at the duplicate', () => {
    expect(parseYamlStream('a: 0\nb:\nb:\n  c: 1\n')[0].error).toMatchObject({ message: 'duplicated mapping key "b"', line: 3, column: 1 });
  });

  test.each([
    ['a C0 control', 'a: x\u0001y\n', 'U+0001', 1, 5],
    ['DEL in a comment', 'a: 1 # \u007f\n', 'U+007F', 1, 8],
    ['a C1 control in quotes', 'a: 1\nb: "\u0080"\n', 'U+0080', 2, 5],
    ['a lone surrogate', 'a: \ud800\n', 'U+D800', 1, 4],
  ])('%s is refused, as go-yaml refuses it anywhere', (_name, text, code, line, column) => {
    expect(parseYamlStream(text)[0].error).toEqual({ message: `control character ${code} is not allowed in YAML`, line, column });
  });

  test('tab, NEL, no-break space and emoji are text', () => {
    expect(parseYamlStream('a: "x\ty"\nb: x\u0085y\nc: \u00a0x 😀\n')[0].value).toEqual({ a: 'x\ty', b: 'x\u0085y', c: '\u00a0x 😀' });
  });
});

describe('limits', () => {
  test(`more than ${MAX_ALIASES} aliases are refused`, () => {
    const text = `a: &a x\nb:\n${'  - *a\n'.repeat(MAX_ALIASES + 1)}`;
    expect(parseYamlStream(text)[0].error).toMatchObject({ message: `more than ${MAX_ALIASES} aliases (an alias bomb?)`, line: MAX_ALIASES + 3 });
    expect(parseYamlStream(`a: &a x\nb:\n${'  - *a\n'.repeat(MAX_ALIASES)}`)[0].value).toMatchObject({ b: expect.any(Array) });
  });

  test('an alias bomb is refused without being expanded', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i <= 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expect(parseYamlStream(`${levels.join('\n')}\n`)[0].error).toMatchObject({ message: 'the document expands to more than 1000000 values through its aliases (an alias bomb?)', line: 1 });
    // Block style, the fast reader's: the same.
    const block = ['a: &a', ...Array(9).fill('  - x')];
    for (let i = 1; i <= 9; i++) block.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)}`, ...Array(9).fill(`  - *${String.fromCharCode(96 + i)}`));
    expect(parseSimpleYaml(`${block.join('\n')}\n`)).toBe(NOT_SIMPLE);
    expect(parseYamlStream(`${block.join('\n')}\n`)[0].error?.message).toMatch(/alias bomb/);
  });

  test('a merge-key bomb is refused without being expanded', () => {
    const levels = ['a: &a {x0: 1, x1: 1, x2: 1, x3: 1, x4: 1, x5: 1, x6: 1, x7: 1, x8: 1}'];
    for (let i = 1; i <= 12; i++) levels.push(`l${i}: &l${i}\n  <<: [${Array(9).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]\n  k${i}: [${Array(9).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`);
    expect(parseYamlStream(`${levels.join('\n')}\n`)[0].error?.message).toMatch(/alias bomb/);
  });

  test('collections nested more than 100 deep are refused, as soon as the parse gets there', () => {
    expect(parseYamlStream(`a: ${'['.repeat(99)}${']'.repeat(99)}\n`)[0].error).toBeUndefined();
    expect(parseYamlStream(`a: ${'['.repeat(101)}${']'.repeat(101)}\n`)[0].error).toMatchObject({ message: 'collections nest more than 100 levels deep', line: 1 });
    expect(parseYamlStream(`a: ${'['.repeat(1_000_000)}\n`)[0].error).toMatchObject({ message: 'collections nest more than 100 levels deep' });
    const block = Array.from({ length: 102 }, (_, i) => `${' '.repeat(i)}k:`).join('\n');
    expect(parseYamlStream(`${block} x\n`)[0].error).toMatchObject({ line: 101 });
  });

  test('aliases that nest values deeper than any manifest: read by the library, no stack overflow', () => {
    // Integer keys come first in a JS object whatever their order in the text: `1` holds all the others.
    const lines = ['30: &k30 x'];
    for (let i = 29; i >= 1; i--) lines.push(`${i}: &k${i}`, `  ${'- '.repeat(90)}*k${i + 1}`);
    const text = `${lines.join('\n')}\n`;
    expect(parseSimpleYaml(text)).toBe(NOT_SIMPLE);
    let value = (parseYamlStream(text)[0].value as Record<string, unknown>)[1];
    for (let depth = 0; depth < 90 * 29; depth++) value = (value as unknown[])[0];
    expect(value).toBe('x');
  });

  test('an alias inside the node it names is an error', () => {
    expect(parseYamlStream('a: &a\n  b: *a\n')[0].error).toMatchObject({ message: 'the alias *a is inside the node it refers to', line: 2, column: 6 });
    expect(parseYamlStream('&a [*a]\n')[0].error).toBeDefined();
  });
});

describe('locateField', () => {
  const DOC = `---
# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: &labels
    app: web
  "quoted key": 1
spec:
  selector:
    matchLabels: *labels
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1
          args: ["--port", '8080', plain]
          command:
            - sh
            - -c
            - |
              echo hello
            -
            - &arg "anchored"
            - *arg
        -
          name: sidecar
      volumes: [{name: tmp, emptyDir: {}}]
`;
  const c = ['spec', 'template', 'spec', 'containers'];
  // [path, line, column] with the document's first line at line 11, as the former reader placed them.
  const CASES: Array<[Array<string | number>, number, number]> = [
    [[], 13, 1], [['kind'], 14, 1], [['metadata', 'name'], 16, 3], [['metadata', 'labels'], 17, 3], [['metadata', 'labels', 'app'], 18, 5],
    [['metadata', 'quoted key'], 19, 4], [['spec', 'selector', 'matchLabels'], 22, 5], [['spec', 'selector', 'matchLabels', 'app'], 22, 5],
    [[...c, 0], 26, 11], [[...c, 0, 'image'], 27, 11], [[...c, 0, 'args', 0], 28, 19], [[...c, 0, 'args', 1], 28, 29], [[...c, 0, 'args', 2], 28, 36],
    [[...c, 0, 'command', 1], 31, 15], [[...c, 0, 'command', 2], 33, 1], [[...c, 0, 'command', 3], 34, 13], [[...c, 0, 'command', 4], 35, 16],
    [[...c, 0, 'command', 5], 36, 15], [[...c, 1], 38, 11], [[...c, 1, 'name'], 38, 11], [[...c, 2], 25, 7], [[...c, 0, 'resources', 'limits'], 26, 11],
    [['spec', 'template', 'spec', 'volumes', 0, 'emptyDir'], 39, 29], [['spec', 'replicas'], 20, 1], [['status'], 13, 1],
  ];

  test.each(CASES)('%j at %i:%i, by the fast reader and by the library', (path, line, column) => {
    expect(locateField({ text: DOC, firstLine: 10 }, path)).toEqual({ line, column });
    // A merge key sends the document to the library.
    const withMerge = DOC.replace('kind: Deployment', 'kind: Deployment\n<<: {}');
    const shift = line > 14 ? 1 : 0;
    expect(locateField({ text: withMerge, firstLine: 10 }, path)).toEqual({ line: line + shift, column });
  });

  test('a document that does not parse: its first line', () => {
    expect(locateField({ text: 'a: [\n', firstLine: 4 }, ['a'])).toEqual({ line: 5, column: 1 });
  });
});
