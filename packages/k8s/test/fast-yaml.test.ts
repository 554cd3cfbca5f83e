import { Document, isCollection, visit } from 'yaml';
import { NOT_SIMPLE, parseSimpleYaml } from '../src/fast-yaml';
import { readYamlDocument } from '../src/yaml-read';
import { rng } from '../../../test/support/random';

const SCALARS = ['yes', 'no', 'on', 'off', 'y', 'n', 'true', 'null', '~', '', '0755', '0x1f', '1_000', '1:20', '1e3', '.5', '-1', '+1', '.inf', '.NaN',
  '2024-01-01', '100m', '128Mi', 'a: b', 'a #b', 'a#b', '#x', '- x', '-x', '"q"', "'s'", 'multi\nline', 'multi\nline\n', 'trail\n\n', ' lead', 'tab\there',
  'ünï', '\\', 'x\\ny', '{a}', '[b]', '&anchor', '*alias', '!tag', '%', '@', '`', '|', '>', '?', ':', '::1', 'http://x:80/y', 'k8s.io/name', '=', '<<'];

/** A random JSON-like value; some parts appear twice (`shared`), which the writer turns into an anchor and aliases. */
function randomValue(r: () => number, depth: number, shared: unknown[] = []): unknown {
  const pick = r();
  if (shared.length && pick < 0.04) return shared[Math.floor(r() * shared.length)];
  if (depth > 4 || pick < 0.45) {
    const k = r();
    if (k < 0.5) return SCALARS[Math.floor(r() * SCALARS.length)];
    if (k < 0.65) return Math.floor(r() * 2000) - 1000;
    if (k < 0.72) return r() * 10;
    if (k < 0.8) return r() < 0.5;
    if (k < 0.85) return null;
    return Math.floor(r() * 1e9).toString(36).slice(0, 1 + Math.floor(r() * 8));
  }
  let out: unknown;
  if (pick < 0.7) out = Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1, shared));
  else {
    const map: Record<string, unknown> = {};
    for (let i = Math.floor(r() * 5); i > 0; i--) map[r() < 0.8 ? `k${Math.floor(r() * 20)}` : SCALARS[Math.floor(r() * SCALARS.length)]] = randomValue(r, depth + 1, shared);
    out = map;
  }
  if (r() < 0.15) shared.push(out);
  return out;
}

/** Edits that turn valid YAML into unusual or broken YAML. */
function mutate(text: string, r: () => number): string {
  const lines = text.split('\n');
  const i = Math.floor(r() * lines.length);
  const edits = [
    () => lines.splice(i, 0, lines[i] ?? ''), // duplicate a line (duplicate keys)
    () => (lines[i] = ' ' + (lines[i] ?? '')), // shift indentation
    () => (lines[i] = (lines[i] ?? '').slice(1)),
    () => (lines[i] = (lines[i] ?? '') + ' # comment'),
    () => (lines[i] = (lines[i] ?? '') + ':'),
    () => (lines[i] = (lines[i] ?? '').replace(': ', ':')),
    () => (lines[i] = '\t' + (lines[i] ?? '')),
    () => lines.splice(i, 1),
    () => (lines[i] = (lines[i] ?? '').replace(/"/, '')),
    () => (lines[i] = `${lines[i] ?? ''} &a`),
  ];
  edits[Math.floor(r() * edits.length)]();
  return lines.join('\n');
}

/** The library path (the `yaml` package with the Kubernetes options), without the fast reader. */
function library(text: string): { value?: unknown; error?: boolean } {
  const read = readYamlDocument(text);
  return read.error ? { error: true } : { value: read.value };
}

/** YAML text for a value in several styles: collections from `flowLevel` deep on in flow style. */
function write(value: unknown, options: { flowLevel: number; lineWidth: number; singleQuote: boolean }): string {
  const doc = new Document(value, { version: '1.1' });
  if (options.flowLevel >= 0)
    visit(doc, {
      Collection(_key, node, path) {
        if (path.filter((p) => isCollection(p)).length >= options.flowLevel) node.flow = true;
      },
    });
  return doc.toString({ lineWidth: options.lineWidth, minContentWidth: 0, singleQuote: options.singleQuote });
}

describe('the fast YAML reader', () => {
  test('reads a typical Deployment exactly as the library does', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # the name
  labels: { app.kubernetes.io/name: web, tier: "front" }
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: web
        image: 'ghcr.io/acme/web:1.2'
        args: ["--port", "8080", yes]
        env:
          - name: FLAG
            value: on
        command:
          - sh
          - -c
          - |
            echo hello
              indented
        resources: {}
`;
    const fast = parseSimpleYaml(text);
    expect(fast).not.toBe(NOT_SIMPLE);
    expect(fast).toEqual(library(text).value);
  });

  test('reads anchors and aliases of block values as the library does: one shared value', () => {
    const text = 'metadata:\n  labels: &labels\n    app: web\nspec:\n  selector:\n    matchLabels: *labels\n  ports:\n    - &http 8080\n    - *http\n  note: &n "x" # anchored\n  again: *n\n';
    const fast = parseSimpleYaml(text) as { metadata: { labels: unknown }; spec: { selector: { matchLabels: unknown } } };
    expect(fast).toEqual(library(text).value);
    expect(fast.spec.selector.matchLabels).toBe(fast.metadata.labels);
  });

  // controller-gen writes CRD descriptions so: the bulk of a CRD-heavy corpus.
  test.each([
    ['a multi-line plain scalar', 'a: one\n  two\nb: 1\n'],
    ['a multi-line plain scalar with blank lines', 'a: one\n\n  two\n\n\n  three\n\nb: 1\n'],
    ['a multi-line plain list item', '- one\n  two\n- three\n'],
    ['a multi-line single-quoted scalar', "description: 'It''s one\n  two: three\n\n  four '\nb: 1\n"],
    ['a multi-line double-quoted scalar', 'description: "one \\"x\\"\n  two # not a comment\n\n  three"  # a comment\nb: 1\n'],
    ['a multi-line plain scalar that ends at a comment', 'a: one\n  two\n# note\nb: 1\n'],
    ['a double-quoted scalar with escaped spaces as go-yaml folds it', 'a: "one\n  \\ - two"\n'],
    ['folded blocks, each chomping', 'a: >\n  one\n  two\n\n  three\n\nb: >-\n  x\n  y\nc: >+\n  z\n\n\nd: >\n\ne: 1\n'],
    ['a folded block in a list', '- >-\n  one\n  two\n- x\n'],
  ])('reads %s as the library does', (_name, text) => {
    const fast = parseSimpleYaml(text);
    expect(fast).not.toBe(NOT_SIMPLE);
    expect(fast).toEqual(library(text).value);
  });

  test.each([
    ['a tag', 'a: !!str 1\n'],
    ['an anchor on a key', '&k a: 1\n'],
    ['an anchored null', 'a: &x\nb: *x\n'],
    ['an alias with an anchor', 'a: &x 1\nb: &y *x\n'],
    ['an alias of an unknown anchor', 'a: *x\n'],
    ['an alias inside the node it names', 'a: &x\n  b: *x\n'],
    ['an anchor in a flow collection', 'a: [&x 1, *x]\n'],
    ['an anchor on the key of a list item', '- &x a: 1\n'],
    ['a collection as a key in a flow mapping', 'a: {[b]: 1}\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a multi-line plain scalar with ": " on a later line', 'a: one\n  two: three\n'],
    ['a multi-line plain scalar with a comment and more after it', 'a: one\n  # note\n  two\n'],
    ['a line break escaped in double quotes', 'a: "one\\\n  two"\n'],
    ['a quoted scalar that never closes', "a: 'one\n  two\n"],
    ['a folded block with a more-indented line', 'a: >\n  x\n    y\n  z\n'],
    ['a merge key', 'b: {x: 1}\na:\n  <<: {y: 2}\n'],
    ['a tab in indentation', 'a:\n\tb: 1\n'],
  ])('leaves %s to the library', (_name, text) => {
    expect(parseSimpleYaml(text)).toBe(NOT_SIMPLE);
  });

  // Differential fuzzing: whatever the fast reader accepts must equal the library's value, and it
  // must never accept what the library rejects.
  test('agrees with the library on 20,000 generated and mutated documents', () => {
    let accepted = 0;
    let withAliases = 0;
    for (let seed = 1; seed <= 20000; seed++) {
      const r = rng(seed);
      const value = randomValue(r, 0, []);
      let text = write(value, { flowLevel: r() < 0.3 ? Math.floor(r() * 3) : -1, lineWidth: r() < 0.2 ? 20 : 80, singleQuote: r() < 0.5 });
      if (r() < 0.5) text = mutate(text, r);
      if (r() < 0.3) text = `---\n${text}`;
      const fast = parseSimpleYaml(text);
      if (fast === NOT_SIMPLE) continue;
      accepted++;
      if (/(?:^|[ -])\*a\d/m.test(text)) withAliases++;
      const reference = library(text);
      if (reference.error || JSON.stringify(reference.value ?? null) !== JSON.stringify(fast ?? null))
        throw new Error(`seed ${seed}: fast reader gave ${JSON.stringify(fast)}, the library ${reference.error ? 'an error' : JSON.stringify(reference.value)}, for:\n${text}`);
    }
    // Most documents take the fast path; the rest are the unusual ones.
    expect(accepted).toBeGreaterThan(4000);
    expect(withAliases).toBeGreaterThan(200);
  });
});
