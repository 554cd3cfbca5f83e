// Cross-check with kubeconform (issue 3): on a generated corpus of 12,000 real-world-shaped objects
// (test/support/corpus.mjs: the example chart rendered by helm and copied, hand-shaped apps, CRDs and their
// custom resources, 5 % of the objects with a seeded mistake), every object that
// `kubeconform -strict` rejects with the same schemas (the test bed makes its schemas from our
// bundled store), render-and-validate-manifests rejects too; and every seeded mistake is reported at
// the right file and a line inside its document. What we reject and kubeconform accepts is printed,
// not asserted: custom resources (kubeconform has no schema for them: -ignore-missing-schemas skips
// them), removed APIs (no schema either, so skipped too), and the rules its schemas cannot express.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandLineTools, DEFAULT_POLICY, type Finding, type PipelineSettings, renderAndValidate } from '@kubeline/manifests';
import { type CorpusManifest, generateCorpus, type SeededMistake } from '../support/corpus.mjs';
import { CORPUS_DIR, corpusUnits, restoreCorpus } from '../support/published-corpus';

const KUBERNETES_VERSION = '1.37.1';

/** kubeconform and its schemas from the test bed; fails clearly when they are missing. */
function kubeconformTools(): { bin: string; schemas: string } {
  const bin = process.env.KUBELINE_KUBECONFORM;
  const schemas = process.env.KUBELINE_KUBECONFORM_SCHEMAS;
  if (!bin || !schemas) {
    throw new Error(
      'KUBELINE_KUBECONFORM and KUBELINE_KUBECONFORM_SCHEMAS are not set: run `eval "$(scripts/testbed tools)"` ' +
        '(it builds kubeconform and helm from their Go modules and its schemas from packages/manifests/schemas), then the test again.',
    );
  }
  return { bin, schemas };
}

/** One line of `kubeconform -output json`: an object it did not accept. */
interface KubeconformResult {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: 'statusInvalid' | 'statusError' | 'statusSkipped' | 'statusValid';
  msg: string;
}

interface KubeconformRun {
  rejected: KubeconformResult[];
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

function runKubeconform(bin: string, args: string[], cwd: string): Promise<KubeconformRun> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, maxBuffer: 512 * 1024 * 1024 }, (error, stdout, stderr) => {
      // Exit status 1 means "found invalid objects"; anything else without JSON is a failure to run.
      try {
        const out = JSON.parse(stdout) as { resources: KubeconformResult[]; summary: KubeconformRun['summary'] };
        resolve({ rejected: out.resources.filter((r) => r.status === 'statusInvalid' || r.status === 'statusError'), summary: out.summary });
      } catch {
        reject(new Error(`kubeconform ${args.join(' ')} failed (${error?.message ?? 'no JSON'}):\n${stderr.slice(-2000)}${stdout.slice(0, 2000)}`));
      }
    });
  });
}

/** kubeconform's "the YAML itself is broken" errors: it names no object, only the file. */
const isYamlError = (r: KubeconformResult) => r.status === 'statusError' && /^error unmarshalling resource/.test(r.msg);

const objectKey = (file: string, kind: string, name: string) => `${file}\0${kind}\0${name}`;

describe('cross-check with kubeconform -strict', () => {
  const tools = kubeconformTools();
  let workspace = '';
  let corpus: CorpusManifest;
  /** The seeded mistakes, their files relative to the workspace as both tools report them. */
  let mistakes: SeededMistake[] = [];
  let kubeconform: KubeconformRun;
  let findings: Finding[] = [];
  let objectCount = 0;
  /** Our error findings by file, and the objects (file + kind + name) they are about. */
  const errorsByFile = new Map<string, Finding[]>();
  const rejectedObjects = new Set<string>();

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'kubeline-kubeconform-'));
    const dir = join(workspace, 'corpus');
    corpus = generateCorpus(dir, { objects: 12_000, seed: 'kubeconform-cross-check', invalidRate: 0.05 });
    const objects = join('corpus', corpus.root);
    mistakes = corpus.mistakes.map((m) => ({ ...m, file: join('corpus', m.file) }));

    kubeconform = await runKubeconform(
      tools.bin,
      ['-strict', '-output', 'json', '-summary', '-schema-location', tools.schemas, '-kubernetes-version', KUBERNETES_VERSION, '-ignore-missing-schemas', objects],
      workspace,
    );

    const off = Object.fromEntries(Object.keys(DEFAULT_POLICY.checks).map((check) => [check, 'off']));
    const settings: PipelineSettings = {
      render: { path: join(workspace, objects), renderer: 'plain', environment: '', releaseName: 'release', namespace: '', valuesFiles: [], set: [], setString: [], kubernetesVersion: '1.37' },
      workspace,
      images: [],
      labels: [],
      annotations: [],
      namespace: '',
      // The CRDs are in the corpus (objects/crds/), so in the bundle.
      crdFiles: [],
      unknownKinds: 'error',
      deprecatedApis: 'warning',
      policy: { ...DEFAULT_POLICY, checks: off as PipelineSettings['policy']['checks'] },
      bundleFile: join(workspace, 'out', 'manifests.yaml'),
    };
    // Locations come out relative to GITHUB_WORKSPACE, as on a runner, so they compare with kubeconform's file names.
    const saved = process.env.GITHUB_WORKSPACE;
    process.env.GITHUB_WORKSPACE = workspace;
    try {
      const result = await renderAndValidate(settings, new CommandLineTools());
      findings = result.findings;
      objectCount = result.objects.length;
    } finally {
      if (saved === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = saved;
    }
    for (const f of findings) {
      if (f.severity !== 'error') continue;
      const file = f.location?.file ?? '(no location)';
      errorsByFile.set(file, [...(errorsByFile.get(file) ?? []), f]);
      if (f.object) rejectedObjects.add(objectKey(file, f.object.kind, f.object.name));
    }
  });

  afterAll(() => {
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  test('the corpus is what it claims: 12,000 objects, kubeconform rejects exactly the mistakes marked as ones it can catch', () => {
    expect(corpus.objects).toBe(12_000);
    // Objects in documents that do not parse are not objects to us: the YAML error is the finding.
    expect(objectCount).toBe(12_000 - mistakes.filter((m) => m.category.startsWith('yaml-')).length);
    expect(kubeconform.summary.valid + kubeconform.summary.invalid + kubeconform.summary.errors + kubeconform.summary.skipped).toBe(12_000);
    const byFile = new Map<string, KubeconformResult[]>();
    for (const r of kubeconform.rejected) byFile.set(r.filename, [...(byFile.get(r.filename) ?? []), r]);
    const caught = (m: SeededMistake) => (byFile.get(m.file) ?? []).some((r) => (m.category.startsWith('yaml-') ? isYamlError(r) : r.kind === m.kind && r.name === m.name));
    // A mistake marked as catchable that kubeconform lets through, or the other way round, is a corpus bug.
    expect(summarize(mistakes.filter((m) => m.kubeconform !== caught(m)), (m) => m.category, describeMistake)).toEqual(NONE);
    // Nothing else is rejected: the rest of the corpus is valid for kubeconform.
    const seeded = new Set(mistakes.map((m) => objectKey(m.file, m.kind, m.name)));
    const yamlFiles = new Set(mistakes.filter((m) => m.category.startsWith('yaml-')).map((m) => m.file));
    const unseeded = kubeconform.rejected.filter((r) => (isYamlError(r) ? !yamlFiles.has(r.filename) : !seeded.has(objectKey(r.filename, r.kind, r.name))));
    expect(summarize(unseeded, (r) => r.kind, describeResult)).toEqual(NONE);
  });

  test('every object kubeconform rejects, we reject too', () => {
    const missed = kubeconform.rejected.filter((r) => {
      const ours = errorsByFile.get(r.filename) ?? [];
      // A broken document: kubeconform names the file only (and the object when the YAML still half-parses).
      if (isYamlError(r)) return ours.length === 0;
      return !rejectedObjects.has(objectKey(r.filename, r.kind, r.name));
    });
    // Grouped by the mistake seeded there, so a gap reads as a kind of mistake.
    const seeded = new Map(mistakes.map((m) => [objectKey(m.file, m.kind, m.name), m.category]));
    expect(summarize(missed, (r) => seeded.get(objectKey(r.filename, r.kind, r.name)) ?? (isYamlError(r) ? 'yaml' : 'not seeded'), describeResult)).toEqual(NONE);
  });

  test('every seeded mistake is reported at its file and a line inside its document', () => {
    const missed = mistakes.filter((m) => {
      const ours = errorsByFile.get(m.file) ?? [];
      return !ours.some((f) => {
        const line = f.location?.line ?? 0;
        if (line < m.lines[0] || line > m.lines[1]) return false;
        // YAML-level mistakes have no object; the others must be reported on their object.
        return m.category.startsWith('yaml-') || (f.object?.kind === m.kind && f.object?.name === m.name);
      });
    });
    expect(summarize(missed, (m) => m.category, describeMistake)).toEqual(NONE);
  });

  test('report: what we reject and kubeconform accepts (printed, not asserted)', () => {
    const kcObjects = new Set(kubeconform.rejected.filter((r) => !isYamlError(r)).map((r) => objectKey(r.filename, r.kind, r.name)));
    const kcYamlFiles = new Set(kubeconform.rejected.filter(isYamlError).map((r) => r.filename));
    const seeded = new Map(mistakes.map((m) => [objectKey(m.file, m.kind, m.name), m]));
    const onlyOurs = findings.filter((f) => {
      if (f.severity !== 'error' || !f.location) return false;
      if (!f.object) return !kcYamlFiles.has(f.location.file);
      return !kcObjects.has(objectKey(f.location.file, f.object.kind, f.object.name));
    });
    const groups = new Map<string, { count: number; seeded: Set<string>; examples: string[] }>();
    for (const f of onlyOurs) {
      const m = f.object ? seeded.get(objectKey(f.location!.file, f.object.kind, f.object.name)) : undefined;
      const why = m ? `seeded ${m.category}` : 'NOT SEEDED';
      const key = `${f.rule} (${why})`;
      const g = groups.get(key) ?? { count: 0, seeded: new Set<string>(), examples: [] };
      g.count++;
      if (g.examples.length < 2) g.examples.push(`${f.location!.file}:${f.location!.line} ${f.object ? `${f.object.kind} ${f.object.name}: ` : ''}${f.message}`);
      groups.set(key, g);
    }
    const ourObjects = new Set([...rejectedObjects]);
    const lines = [
      `corpus: ${corpus.objects} objects in ${corpus.files} files (${(corpus.bytes / 1e6).toFixed(1)} MB), ${mistakes.length} seeded mistakes ` +
        `(${mistakes.filter((m) => m.kubeconform).length} of kinds kubeconform can catch)`,
      `kubeconform -strict: valid ${kubeconform.summary.valid}, invalid ${kubeconform.summary.invalid}, errors ${kubeconform.summary.errors}, ` +
        `skipped ${kubeconform.summary.skipped} (custom resources and removed APIs: no schema)`,
      `we: ${findings.filter((f) => f.severity === 'error').length} error findings on ${ourObjects.size} objects and ` +
        `${[...errorsByFile.values()].flat().filter((f) => !f.object).length} broken documents; ${findings.filter((f) => f.severity === 'warning').length} warnings`,
      `rejected by us, accepted by kubeconform: ${onlyOurs.length} findings`,
      ...[...groups].sort(([, a], [, b]) => b.count - a.count).flatMap(([key, g]) => [`  ${String(g.count).padStart(4)}  ${key}`, ...g.examples.map((e) => `          e.g. ${e}`)]),
    ];
    console.log(lines.join('\n'));
    expect(onlyOurs.length).toBeGreaterThanOrEqual(0);
  });
});

// The published corpus (test/corpus/published, issue 14): real release YAML, CRDs and examples of other
// projects. kubeconform has no schemas for their custom resources (skipped), so it is compared on what
// it validates. Where the two disagree is printed; what kubeconform rejects we reject too (asserted).
// Both are timed in the same run, like for like (policies off). The API server's verdict on the same
// corpus is test/integration/published-corpus.test.ts.
describe('cross-check with kubeconform -strict on published manifests', () => {
  const tools = kubeconformTools();
  const root = join(CORPUS_DIR, 'files');
  let kubeconform: KubeconformRun;
  let kubeconformSeconds = 0;
  let ourSeconds = 0;
  let findings: Finding[] = [];
  let objectCount = 0;
  let units = 0;

  beforeAll(async () => {
    units = corpusUnits(restoreCorpus()).length;
    let started = performance.now();
    kubeconform = await runKubeconform(
      tools.bin,
      ['-strict', '-output', 'json', '-summary', '-schema-location', tools.schemas, '-kubernetes-version', KUBERNETES_VERSION, '-ignore-missing-schemas', '.'],
      root,
    );
    kubeconformSeconds = (performance.now() - started) / 1000;
    const off = Object.fromEntries(Object.keys(DEFAULT_POLICY.checks).map((check) => [check, 'off']));
    const settings: PipelineSettings = {
      render: { path: root, renderer: 'plain', environment: '', releaseName: 'release', namespace: '', valuesFiles: [], set: [], setString: [], kubernetesVersion: '1.37' },
      workspace: root,
      images: [],
      labels: [],
      annotations: [],
      namespace: '',
      crdFiles: [],
      unknownKinds: 'error',
      deprecatedApis: 'warning',
      policy: { ...DEFAULT_POLICY, checks: off as PipelineSettings['policy']['checks'] },
      bundleFile: join(tmpdir(), 'kubeline-published-manifests.yaml'),
    };
    const saved = process.env.GITHUB_WORKSPACE;
    process.env.GITHUB_WORKSPACE = root;
    try {
      started = performance.now();
      const result = await renderAndValidate(settings, new CommandLineTools());
      ourSeconds = (performance.now() - started) / 1000;
      findings = result.findings;
      objectCount = result.objects.length;
    } finally {
      if (saved === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = saved;
    }
  });

  test('what kubeconform rejects, we reject; where the two disagree (printed) and the wall time of each', () => {
    // The same object published twice (one release YAML per cloud) is a bundle finding, not the document's.
    const errors = findings.filter((f) => f.severity === 'error' && f.rule !== 'bundle/duplicate-object');
    const ourObjects = new Set(errors.filter((f) => f.object && f.location).map((f) => objectKey(f.location!.file, f.object!.kind, f.object!.name)));
    const ourFiles = new Set(errors.map((f) => f.location?.file));
    const kcObjects = new Set(kubeconform.rejected.filter((r) => !isYamlError(r)).map((r) => objectKey(r.filename, r.kind, r.name)));
    const kcFiles = new Set(kubeconform.rejected.filter(isYamlError).map((r) => r.filename));
    const missed = kubeconform.rejected.filter((r) => (isYamlError(r) ? !ourFiles.has(r.filename) : !ourObjects.has(objectKey(r.filename, r.kind, r.name))));
    const onlyOurs = errors.filter((f) => f.location && (f.object ? !kcObjects.has(objectKey(f.location.file, f.object.kind, f.object.name)) : !kcFiles.has(f.location.file)));
    const byRule = new Map<string, string[]>();
    for (const f of onlyOurs) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), `${f.location!.file}:${f.location!.line} ${f.object ? `${f.object.kind} ${f.object.name}: ` : ''}${f.message.slice(0, 160)}`]);
    console.log(
      [
        `published corpus: ${units} objects; we validated ${objectCount} in ${ourSeconds.toFixed(2)} s, kubeconform -strict took ${kubeconformSeconds.toFixed(2)} s ` +
          `(valid ${kubeconform.summary.valid}, invalid ${kubeconform.summary.invalid}, errors ${kubeconform.summary.errors}, skipped ${kubeconform.summary.skipped}: no schema for custom resources)`,
        `rejected by kubeconform, accepted by us: ${missed.length}`,
        ...missed.map((r) => `  ${describeResult(r)}`),
        `rejected by us, accepted or skipped by kubeconform: ${onlyOurs.length} findings`,
        ...[...byRule].sort(([, a], [, b]) => b.length - a.length).flatMap(([rule, list]) => [`  ${String(list.length).padStart(4)}  ${rule}`, ...list.slice(0, 3).map((e) => `          e.g. ${e}`)]),
      ].join('\n'),
    );
    expect(summarize(missed, (r) => r.kind || 'yaml', describeResult)).toEqual(NONE);
  });
});

/** A failure list as counts per group and a few examples: readable when it is long. */
function summarize<T>(items: T[], group: (x: T) => string, describe: (x: T) => string): { count: number; byGroup: Record<string, number>; examples: string[] } {
  const byGroup: Record<string, number> = {};
  for (const x of items) byGroup[group(x)] = (byGroup[group(x)] ?? 0) + 1;
  return { count: items.length, byGroup, examples: items.slice(0, 12).map(describe) };
}
const NONE = { count: 0, byGroup: {}, examples: [] };

function describeResult(r: KubeconformResult): string {
  return `${r.filename}: ${r.kind || '(no kind)'} ${r.name || '(no name)'}: kubeconform: ${r.msg.replace(/jsonschema validation failed with '[^']*' - /, '').slice(0, 300)}`;
}

function describeMistake(m: SeededMistake): string {
  return `${m.file}:${m.lines[0]}-${m.lines[1]} (document ${m.doc}${m.item !== undefined ? `, item ${m.item}` : ''}) ${m.kind} ${m.name}: ${m.category}: ${m.what}`;
}
