import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { parseJUnit } from '@kubeline/testrun';
import {
  annotateFindings,
  compareFindings,
  FINGERPRINT_KEY,
  sortFindings,
  summaryMarkdown,
  toJUnit,
  toSarif,
  TOOL_NAME,
  type SarifLog,
} from '../src/index';
import type { ObjectRef } from '@kubeline/k8s';
import type { Finding } from '../src/types';

const web: ObjectRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'demo-staging', name: 'web' };
const svc: ObjectRef = { apiVersion: 'v1', kind: 'Service', namespace: 'demo-staging', name: 'web' };
const ns: ObjectRef = { apiVersion: 'v1', kind: 'Namespace', name: 'demo-staging' };
const objects = [ns, web, svc];

const unknownField: Finding = {
  rule: 'schema/unknown-field',
  severity: 'error',
  message: 'unknown field "imagePullPolcy"',
  fix: 'Did you mean imagePullPolicy? Fix the spelling.',
  object: web,
  path: ['spec', 'template', 'spec', 'containers', 0, 'imagePullPolcy'],
  location: { file: 'k8s/app.yaml', line: 21, column: 11 },
};
const privileged: Finding = {
  rule: 'policy/privileged',
  severity: 'error',
  message: 'container "web" runs privileged',
  fix: 'Remove securityContext.privileged or set it to false.',
  object: web,
  path: ['spec', 'template', 'spec', 'containers', 0, 'securityContext', 'privileged'],
  location: { file: 'k8s/app.yaml', line: 25, column: 15 },
};
const digest: Finding = {
  rule: 'policy/image-digest',
  severity: 'warning',
  message: 'image "ghcr.io/acme/web:1.2" is not pinned by digest',
  fix: 'Pass the pushed digest in the images input.',
  object: web,
  path: ['spec', 'template', 'spec', 'containers', 0, 'image'],
  location: { file: 'k8s/app.yaml', line: 19, column: 16 },
};
const selector: Finding = {
  rule: 'policy/service-selector',
  severity: 'info',
  message: 'selects pods of Deployment demo-staging/web',
  object: svc,
  location: { file: 'k8s/app.yaml', line: 40 },
};
const syntax: Finding = {
  rule: 'yaml/syntax',
  severity: 'error',
  message: 'bad indentation of a mapping entry',
  fix: 'Indent the key to the level of its siblings.',
  location: { file: 'k8s/broken.yaml', line: 3, column: 5 },
};
const unmatched: Finding = {
  rule: 'images/unmatched',
  severity: 'error',
  message: 'image "ghcr.io/acme/wbe" in the images input matched no container',
  fix: 'Check the name against the images in the manifests output.',
};
const rendered: Finding = {
  rule: 'policy/probes',
  severity: 'warning',
  message: 'container "web" has no readiness probe',
  fix: 'Add a readinessProbe.',
  object: web,
  path: ['spec', 'template', 'spec', 'containers', 0],
};
const all = [digest, selector, unmatched, privileged, rendered, syntax, unknownField];

describe('sortFindings', () => {
  it('orders by severity, file, line, rule whatever the input order', () => {
    const expected = [unknownField, privileged, syntax, unmatched, digest, rendered, selector];
    expect(sortFindings(all)).toEqual(expected);
    expect(sortFindings([...all].reverse())).toEqual(expected);
    expect(all[0]).toBe(digest); // the input is not sorted in place
  });

  it.each([
    ['severity before file', { ...syntax, severity: 'warning' as const, location: { file: 'a.yaml', line: 1 } }, unknownField, 1],
    ['file before line', { ...unknownField, location: { file: 'k8s/a.yaml', line: 99 } }, unknownField, -1],
    ['line before rule', { ...privileged, rule: 'a/first', location: { file: 'k8s/app.yaml', line: 30 } }, privileged, 1],
    ['rule when the place is the same', { ...privileged, rule: 'a/first' }, privileged, -1],
    ['a place before none', unmatched, { ...unmatched, location: { file: 'z.yaml', line: 1 } }, 1],
  ])('%s', (_name, a, b, sign) => {
    expect(Math.sign(compareFindings(a, b))).toBe(sign);
    expect(Math.sign(compareFindings(b, a))).toBe(-sign);
  });
});

// ---------------------------------------------------------------------------
// SARIF

const require = createRequire(import.meta.url);
// @microsoft/jest-sarif ships the SARIF 2.1.0 JSON schema (its rtm.5 release, JSON Schema draft-04).
const schemaFile = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
// unicodeRegExp: false because the schema's `language` pattern has a stray `]`,
// which only a non-unicode RegExp accepts (later schema versions fixed it).
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validateSarif = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));

function expectValidSarif(log: unknown): void {
  const valid = validateSarif(log);
  expect(valid ? [] : validateSarif.errors).toEqual([]);
}

const bundle = (f: Finding) => ({ file: 'out/manifests.yaml', line: f.object === web ? 7 : 1 });

describe('toSarif', () => {
  it('is valid SARIF 2.1.0, with and without a fallback location, and plain JSON', () => {
    const withFallback = toSarif(all, { toolVersion: '0.1.0', fallbackLocation: bundle, category: 'manifests/staging' });
    const without = toSarif(all, { toolVersion: '0.1.0' });
    const empty = toSarif([], { toolVersion: '0.1.0' });
    for (const log of [withFallback, without, empty]) {
      expectValidSarif(log);
      expect(JSON.parse(JSON.stringify(log))).toEqual(log);
    }
    expect(empty.runs[0]!.results).toEqual([]);
  });

  it('is checked by a validator that does reject what is not SARIF', () => {
    const log = toSarif([syntax], { toolVersion: '0.1.0' });
    const result = log.runs[0]!.results[0]!;
    for (const broken of [
      { ...log, version: '2.0.0' },
      { ...log, runs: [{ ...log.runs[0], results: [{ ...result, level: 'info' }] }] },
      { ...log, runs: [{ ...log.runs[0], results: [{ ...result, locations: [{ physicalLocation: { artifactLocation: { uri: 'a' }, region: { startLine: 0 } } }] }] }] },
    ]) {
      expect(validateSarif(broken)).toBe(false);
    }
  });

  it('describes the tool and one rule per rule id, with the fix as help', () => {
    const log = toSarif([...all, { ...unknownField, path: ['spec', 'replica'], location: { file: 'k8s/app.yaml', line: 8 } }], {
      toolVersion: '1.4.0',
      rules: { 'policy/privileged': { description: 'Containers must not run privileged.', helpUri: 'https://example.test/privileged' } },
    });
    const driver = log.runs[0]!.tool.driver;
    expect(driver).toMatchObject({ name: TOOL_NAME, version: '1.4.0', informationUri: expect.stringMatching(/^https:\/\//) });
    expect(driver.rules.map((r) => r.id)).toEqual([
      'schema/unknown-field',
      'policy/privileged',
      'yaml/syntax',
      'images/unmatched',
      'policy/image-digest',
      'policy/probes',
      'policy/service-selector',
    ]);
    const rule = (id: string) => driver.rules.find((r) => r.id === id)!;
    expect(rule('policy/privileged')).toMatchObject({
      shortDescription: { text: 'Containers must not run privileged.' },
      help: { text: privileged.fix },
      helpUri: 'https://example.test/privileged',
      defaultConfiguration: { level: 'error' },
    });
    expect(rule('schema/unknown-field')).toMatchObject({ shortDescription: { text: 'Schema: unknown field' }, help: { text: unknownField.fix } });
    expect(rule('policy/service-selector').help).toBeUndefined(); // no finding says how to fix it
    expect(rule('policy/service-selector').defaultConfiguration.level).toBe('note');
  });

  it('gives each result its level, message with the fix, workspace-relative location and the object and field', () => {
    const log = toSarif(all, { toolVersion: '0.1.0' });
    const run = log.runs[0]!;
    expect(run.results.map((r) => [r.ruleId, r.level])).toEqual([
      ['schema/unknown-field', 'error'],
      ['policy/privileged', 'error'],
      ['yaml/syntax', 'error'],
      ['images/unmatched', 'error'],
      ['policy/image-digest', 'warning'],
      ['policy/probes', 'warning'],
      ['policy/service-selector', 'note'],
    ]);
    const result = run.results[0]!;
    expect(run.tool.driver.rules[result.ruleIndex]!.id).toBe('schema/unknown-field');
    expect(result.message.text).toBe('unknown field "imagePullPolcy"\nHow to fix: Did you mean imagePullPolicy? Fix the spelling.');
    const location = result.locations![0]!;
    expect(location.physicalLocation).toEqual({
      artifactLocation: { uri: 'k8s/app.yaml', uriBaseId: '%SRCROOT%' },
      region: { startLine: 21, startColumn: 11 },
    });
    const field = run.logicalLocations![location.logicalLocations![0]!.index!]!;
    expect(field).toMatchObject({
      kind: 'property',
      name: 'spec.template.spec.containers[0].imagePullPolcy',
      fullyQualifiedName: 'Deployment demo-staging/web: spec.template.spec.containers[0].imagePullPolcy',
    });
    expect(run.logicalLocations![field.parentIndex!]).toEqual({
      kind: 'resource',
      name: 'web',
      fullyQualifiedName: 'Deployment demo-staging/web',
      properties: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'demo-staging', name: 'web' },
    });
    // The object is listed once, however many findings name it.
    expect(run.logicalLocations!.filter((l) => l.fullyQualifiedName === 'Deployment demo-staging/web')).toHaveLength(1);
  });

  it('keeps findings without a location: at the fallback when given, else with logical locations only', () => {
    const byRule = (log: SarifLog, rule: string) => log.runs[0]!.results.find((r) => r.ruleId === rule)!;
    const fallback = toSarif(all, { toolVersion: '0.1.0', fallbackLocation: bundle });
    expect(byRule(fallback, 'policy/probes').locations![0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'out/manifests.yaml', uriBaseId: '%SRCROOT%' },
      region: { startLine: 7 },
    });
    expect(byRule(fallback, 'images/unmatched').locations![0]!.physicalLocation!.artifactLocation.uri).toBe('out/manifests.yaml');
    // A finding's own location wins over the fallback.
    expect(byRule(fallback, 'schema/unknown-field').locations![0]!.physicalLocation!.region).toEqual({ startLine: 21, startColumn: 11 });
    // Every result has a physical location, as code scanning requires for an upload.
    expect(fallback.runs[0]!.results.every((r) => r.locations?.[0]?.physicalLocation)).toBe(true);

    const bare = toSarif(all, { toolVersion: '0.1.0' });
    expect(bare.runs[0]!.results).toHaveLength(all.length);
    const probes = byRule(bare, 'policy/probes');
    expect(probes.locations![0]!.physicalLocation).toBeUndefined();
    expect(probes.locations![0]!.logicalLocations![0]!.fullyQualifiedName).toBe('Deployment demo-staging/web: spec.template.spec.containers[0]');
    expect(byRule(bare, 'images/unmatched').locations).toBeUndefined();
  });

  it('fingerprints rule, object and field, not the line, so alerts survive edits', () => {
    const print = (f: Finding) => toSarif([f], { toolVersion: '0.1.0' }).runs[0]!.results[0]!.partialFingerprints[FINGERPRINT_KEY];
    const moved = print({ ...unknownField, message: 'unknown field (reworded)', location: { file: 'k8s/app.yaml', line: 90, column: 3 } });
    expect(print(unknownField)).toMatch(/^[0-9a-f]{32}:1$/);
    expect(moved).toBe(print(unknownField));
    expect(print({ ...unknownField, severity: 'warning' })).toBe(print(unknownField));
    expect(print({ ...unknownField, path: ['spec', 'replica'] })).not.toBe(print(unknownField));
    expect(print({ ...unknownField, object: { ...web, name: 'api' } })).not.toBe(print(unknownField));
    expect(print({ ...unknownField, rule: 'schema/type' })).not.toBe(print(unknownField));
    // Findings about no object are told apart by file.
    expect(print({ ...syntax, location: { file: 'k8s/other.yaml', line: 3 } })).not.toBe(print(syntax));

    // The same rule, object and field twice: numbered, never equal.
    const twice = toSarif([syntax, { ...syntax, location: { file: 'k8s/broken.yaml', line: 9 } }], { toolVersion: '0.1.0' });
    const prints = twice.runs[0]!.results.map((r) => r.partialFingerprints[FINGERPRINT_KEY]!);
    expect(prints[0]!.replace(/:1$/, ':2')).toBe(prints[1]);
  });

  describe('file URIs', () => {
    const saved = process.env.GITHUB_WORKSPACE;
    beforeEach(() => {
      process.env.GITHUB_WORKSPACE = '/home/runner/work/app/app';
    });
    afterEach(() => {
      if (saved === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = saved;
    });

    it.each([
      ['k8s/app.yaml', { uri: 'k8s/app.yaml', uriBaseId: '%SRCROOT%' }],
      ['./k8s/app.yaml', { uri: 'k8s/app.yaml', uriBaseId: '%SRCROOT%' }],
      ['k8s\\win\\app.yaml', { uri: 'k8s/win/app.yaml', uriBaseId: '%SRCROOT%' }],
      ['k8s/my app/#1.yaml', { uri: 'k8s/my%20app/%231.yaml', uriBaseId: '%SRCROOT%' }],
      ['c:odd.yaml', { uri: 'c%3Aodd.yaml', uriBaseId: '%SRCROOT%' }],
      ['/home/runner/work/app/app/charts/demo/templates/deployment.yaml', { uri: 'charts/demo/templates/deployment.yaml', uriBaseId: '%SRCROOT%' }],
      ['/tmp/render-1/out.yaml', { uri: 'file:///tmp/render-1/out.yaml' }],
    ])('%s', (file, expected) => {
      const log = toSarif([{ ...syntax, location: { file, line: 1 } }], { toolVersion: '0.1.0' });
      expect(log.runs[0]!.results[0]!.locations![0]!.physicalLocation!.artifactLocation).toEqual(expected);
      expectValidSarif(log);
    });
  });
});

// ---------------------------------------------------------------------------
// JUnit

describe('toJUnit', () => {
  it('round-trips through our JUnit parser: a case per object, errors fail it, warnings do not', () => {
    const xml = toJUnit(all, objects, { name: 'manifests (staging)' });
    const report = parseJUnit(xml, 'manifests.xml');
    expect(report).toMatchObject({ total: 5, passed: 2, failed: 3, errors: 0, skipped: 0 });
    expect(report.cases.map((c) => [c.classname, c.name, c.status])).toEqual([
      ['Namespace', 'Namespace demo-staging', 'passed'],
      ['Deployment', 'Deployment demo-staging/web', 'failed'],
      ['Service', 'Service demo-staging/web', 'passed'],
      ['k8s/broken.yaml', 'k8s/broken.yaml', 'failed'],
      ['(bundle)', '(bundle)', 'failed'],
    ]);
    expect(xml).toMatch(/<testsuites name="manifests \(staging\)" tests="5" failures="3" errors="0"/);
    expect(xml).toMatch(/<testsuite name="manifests \(staging\)" tests="5" failures="3" errors="0" skipped="0"/);

    const deployment = report.cases[1]!;
    expect(deployment.message).toBe('unknown field "imagePullPolcy" (and 1 more error)');
    expect(deployment).toMatchObject({ file: 'k8s/app.yaml', line: 21 });
    for (const text of [unknownField.message, unknownField.fix!, 'k8s/app.yaml:21:11', privileged.message, privileged.fix!, 'k8s/app.yaml:25:15']) {
      expect(deployment.details).toContain(text);
    }
    expect(deployment.details).toContain('Field: spec.template.spec.containers[0].imagePullPolcy');
    // Warnings are beside the case, not in its failure.
    expect(deployment.details).not.toContain(digest.message);
    expect(xml).toMatch(/<system-out>[^<]*image "ghcr\.io\/acme\/web:1\.2" is not pinned by digest/);
    expect(report.cases[3]).toMatchObject({ message: syntax.message, file: 'k8s/broken.yaml', line: 3 });
    expect(report.cases[4]!.details).toContain(unmatched.fix);
  });

  it('has a suite per source file when it knows where objects came from', () => {
    const sources = new Map([
      [web, 'k8s/app.yaml'],
      [svc, 'k8s/app.yaml'],
      [ns, 'k8s/namespace.yaml'],
    ]);
    const xml = toJUnit(all, objects, { name: 'manifests', sourceOf: (ref) => sources.get(ref) });
    const report = parseJUnit(xml);
    expect([...new Set(report.cases.map((c) => c.suite))]).toEqual(['(bundle)', 'k8s/app.yaml', 'k8s/broken.yaml', 'k8s/namespace.yaml']);
    expect(report.cases.find((c) => c.name === 'Service demo-staging/web')).toMatchObject({ classname: 'k8s/app.yaml', status: 'passed' });
    expect(xml).toMatch(/<testsuite name="k8s\/app.yaml" tests="2" failures="1" errors="0" skipped="0" time="0" file="k8s\/app.yaml">/);
    expect(report).toMatchObject({ total: 5, failed: 3 });
  });

  it('adds a case for an object that is only in the findings, and passes when there is nothing wrong', () => {
    const other: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', name: 'extra' };
    const report = parseJUnit(toJUnit([{ ...syntax, object: other }], objects, { name: 'm' }));
    expect(report).toMatchObject({ total: 4, failed: 1 });
    expect(report.cases[3]).toMatchObject({ name: 'ConfigMap extra', status: 'failed', file: 'k8s/broken.yaml' });

    const clean = parseJUnit(toJUnit([digest], objects, { name: 'm' }));
    expect(clean).toMatchObject({ total: 3, passed: 3, failed: 0 });
    expect(parseJUnit(toJUnit([], [], { name: 'm' }))).toMatchObject({ total: 0 });
  });

  it.each([
    ['markup and quotes', `a <b> & "c" 'd'`, `a <b> & "c" 'd'`],
    ['line breaks', 'first\nsecond\r\nthird', 'first\nsecond\nthird'],
    ['a CDATA end', 'x ]]> y', 'x ]]> y'],
    ['control characters (stripped)', 'bell\x07 nul\x00 esc\x1b[0m tab\tend', 'bell nul esc[0m tab\tend'],
    ['a lone surrogate (replaced)', 'half \uD83D here, whole \uD83D\uDE00', 'half \uFFFD here, whole \uD83D\uDE00'],
  ])('escapes %s in names, messages and texts', (_name, raw, expected) => {
    const odd: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', name: raw };
    const finding: Finding = { ...unknownField, object: odd, message: raw, fix: raw, location: { file: `k8s/${raw}.yaml`, line: 2 } };
    const warning: Finding = { ...digest, object: odd, message: `warn ${raw}` };
    const xml = toJUnit([finding, warning], [odd], { name: raw });
    expect(xml).not.toMatch(/[\x00-\x08\x0B\x0C\x0E-\x1F]/);
    const report = parseJUnit(xml);
    expect(report.cases).toHaveLength(1);
    const c = report.cases[0]!;
    expect(c.name).toBe(`ConfigMap ${expected}`);
    expect(c.message).toBe(expected);
    expect(c.details).toContain(`How to fix: ${expected}`);
    expect(c.file).toBe(`k8s/${expected}.yaml`);
    expect(xml).toContain(`warn ${expected.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}`);
  });
});

// ---------------------------------------------------------------------------
// Job summary

describe('summaryMarkdown', () => {
  it('counts objects, errors and warnings, then lists findings errors first', () => {
    const md = summaryMarkdown(all, objects);
    const lines = md.trimEnd().split('\n');
    expect(lines[0]).toBe('**Manifests:** ❌ 3 objects, 4 errors, 2 warnings, 1 note');
    expect(lines[2]).toBe('| Object | Rule | Severity | Message | How to fix | Location |');
    expect(lines).toHaveLength(3 + 1 + all.length);
    expect(lines[6]).toBe(
      '|  | `yaml/syntax` | ❌ error | bad indentation of a mapping entry | Indent the key to the level of its siblings. | `k8s/broken.yaml:3:5` |',
    );
    expect(lines[4]).toContain('| Deployment demo-staging/web<br>`spec.template.spec.containers[0].imagePullPolcy` | `schema/unknown-field` | ❌ error |');
    expect(lines.slice(4).map((l) => l.split(' | ')[2])).toEqual(['❌ error', '❌ error', '❌ error', '❌ error', '⚠️ warning', '⚠️ warning', 'ℹ️ info']);
  });

  it('says when all is well', () => {
    expect(summaryMarkdown([], objects)).toBe('**Manifests:** ✅ 3 objects, 0 errors, 0 warnings\n');
    expect(summaryMarkdown([digest], [web], { title: 'staging' })).toMatch(/^\*\*staging:\*\* ⚠️ 1 object, 0 errors, 1 warning\n/);
  });

  it('keeps every finding on one row: pipes, line breaks and HTML escaped', () => {
    const md = summaryMarkdown([{ ...syntax, message: 'a | b\nc\rd <script>x</script> & `e`', fix: 'use `x|y`' }], []);
    const rows = md.trimEnd().split('\n').slice(2);
    expect(rows).toHaveLength(3);
    expect(rows[2]).toContain('| a \\| b<br>c<br>d &lt;script&gt;x&lt;/script&gt; &amp; `e` | use `x\\|y` |');
    // Unescaped pipes: exactly the 7 that separate 6 columns.
    expect(rows[2]!.match(/(?<!\\)\|/g)).toHaveLength(7);
  });

  it('caps the table and says how many more there are', () => {
    const many = Array.from({ length: 250 }, (_, i): Finding => ({ ...digest, location: { file: 'k8s/app.yaml', line: i + 1 } }));
    const md = summaryMarkdown([...many, syntax], objects);
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Object') && !l.startsWith('| ---'));
    expect(rows).toHaveLength(200);
    expect(rows[0]).toContain('yaml/syntax'); // the error is not lost behind 250 warnings
    expect(md.trimEnd().endsWith('…and 51 more; see the SARIF/JUnit report.')).toBe(true);
    expect(summaryMarkdown(many, objects, { maxRows: 10 })).toContain('…and 240 more');
  });
});

// ---------------------------------------------------------------------------
// Annotations

describe('annotateFindings', () => {
  let written: string[];
  let original: typeof process.stdout.write;
  beforeEach(() => {
    written = [];
    original = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
  });
  afterEach(() => {
    process.stdout.write = original;
  });

  it('annotates every finding at its file and line, errors first', () => {
    annotateFindings(all);
    const commands = written.join('').trimEnd().split(/\r?\n/);
    expect(commands).toHaveLength(all.length);
    expect(commands.map((c) => c.slice(0, c.indexOf(' ')))).toEqual([
      '::error',
      '::error',
      '::error',
      '::error',
      '::warning',
      '::warning',
      '::notice',
    ]);
    expect(commands[0]).toBe(
      '::error title=schema/unknown-field%3A Deployment demo-staging/web,file=k8s/app.yaml,line=21,col=11::' +
        'unknown field "imagePullPolcy"%0AField: spec.template.spec.containers[0].imagePullPolcy%0AHow to fix: Did you mean imagePullPolicy? Fix the spelling.',
    );
    expect(commands[1]).toMatch(/^::error title=policy\/privileged%3A Deployment demo-staging\/web,file=k8s\/app.yaml,line=25,col=15::/);
    expect(commands[2]).toMatch(/^::error title=yaml\/syntax,file=k8s\/broken.yaml,line=3,col=5::/);
    // Without a location: an annotation on the step, still said.
    expect(commands[3]).toMatch(/^::error title=images\/unmatched::image "ghcr.io\/acme\/wbe"/);
  });
});
