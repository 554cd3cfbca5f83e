import { dump, loadAll, Schema, timestampTag, YAML11_SCHEMA } from 'js-yaml';
import { NOT_SIMPLE, parseSimpleYaml } from '../src/fast-yaml';
import { rng } from './random';

const SCHEMA = new Schema(YAML11_SCHEMA.tags.filter((tag) => tag !== timestampTag));

const SCALARS = ['yes', 'no', 'on', 'off', 'y', 'n', 'true', 'null', '~', '', '0755', '0x1f', '1_000', '1:20', '1e3', '.5', '-1', '+1', '.inf', '.NaN',
  '2024-01-01', '100m', '128Mi', 'a: b', 'a #b', 'a#b', '#x', '- x', '-x', '"q"', "'s'", 'multi\nline', 'multi\nline\n', 'trail\n\n', ' lead', 'tab\there',
  'ünï', '\\', 'x\\ny', '{a}', '[b]', '&anchor', '*alias', '!tag', '%', '@', '`', '|', '>', '?', ':', '::1', 'http://x:80/y', 'k8s.io/name', '=', '<<'];

function randomValue(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth > 4 || pick < 0.45) {
    const k = r();
    if (k < 0.5) return SCALARS[Math.floor(r() * SCALARS.length)];
    if (k < 0.65) return Math.floor(r() * 2000) - 1000;
    if (k < 0.72) return r() * 10;
    if (k < 0.8) return r() < 0.5;
    if (k < 0.85) return null;
    return Math.floor(r() * 1e9).toString(36).slice(0, 1 + Math.floor(r() * 8));
  }
  if (pick < 0.7) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) out[r() < 0.8 ? `k${Math.floor(r() * 20)}` : SCALARS[Math.floor(r() * SCALARS.length)]] = randomValue(r, depth + 1);
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

function jsYaml(text: string): { value?: unknown; error?: boolean } {
  try {
    return { value: loadAll(text, { schema: SCHEMA })[0] };
  } catch {
    return { error: true };
  }
}

describe('the fast YAML reader', () => {
  test('reads a typical Deployment exactly as js-yaml does', () => {
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
    const fast = parseSimpleYaml(text, SCHEMA);
    expect(fast).not.toBe(NOT_SIMPLE);
    expect(fast).toEqual(jsYaml(text).value);
  });

  test.each([
    ['an anchor', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a folded block', 'a: >\n  x\n'],
    ['a merge key', 'b: {x: 1}\na:\n  <<: {y: 2}\n'],
    ['a tab in indentation', 'a:\n\tb: 1\n'],
  ])('leaves %s to js-yaml', (_name, text) => {
    expect(parseSimpleYaml(text, SCHEMA)).toBe(NOT_SIMPLE);
  });

  // Differential fuzzing: whatever the fast reader accepts must equal js-yaml's value, and it
  // must never accept what js-yaml rejects.
  test('agrees with js-yaml on 20,000 generated and mutated documents', () => {
    let accepted = 0;
    for (let seed = 1; seed <= 20000; seed++) {
      const r = rng(seed);
      const value = randomValue(r, 0);
      let text = dump(value, { flowLevel: r() < 0.3 ? Math.floor(r() * 3) : -1, lineWidth: r() < 0.2 ? 20 : 80, noRefs: r() < 0.5, quotingType: r() < 0.5 ? '"' : "'" } as never);
      if (r() < 0.5) text = mutate(text, r);
      if (r() < 0.3) text = `---\n${text}`;
      const fast = parseSimpleYaml(text, SCHEMA);
      if (fast === NOT_SIMPLE) continue;
      accepted++;
      const reference = jsYaml(text);
      if (reference.error || JSON.stringify(reference.value ?? null) !== JSON.stringify(fast ?? null))
        throw new Error(`seed ${seed}: fast reader gave ${JSON.stringify(fast)}, js-yaml ${reference.error ? 'an error' : JSON.stringify(reference.value)}, for:\n${text}`);
    }
    // Most documents take the fast path; the rest are the unusual ones.
    expect(accepted).toBeGreaterThan(4000);
  });
});
