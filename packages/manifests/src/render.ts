/** Rendering plain YAML, kustomize and Helm into YAML streams for one environment. */
import { existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ConfigurationError, displayPath } from '@kubeline/toolkit';
import { isRecord, parseYamlStream, type YamlDocument } from '@kubeline/k8s';
import { isWithin, manifestFiles, refuseLinkOut, refuseLinksOut } from './sources';
import { RenderError, type RenderTools } from './tools';

export type Renderer = 'auto' | 'plain' | 'kustomize' | 'helm';
export const RENDERERS: readonly Renderer[] = ['auto', 'plain', 'kustomize', 'helm'];

export interface RenderSettings {
  /** Absolute path of the file or folder (already checked to be inside the workspace). */
  path: string;
  renderer: Renderer;
  environment: string;
  /** Helm only. */
  releaseName: string;
  namespace: string;
  valuesFiles: readonly string[];
  set: ReadonlyArray<[string, string]>;
  setString: ReadonlyArray<[string, string]>;
  /** Target Kubernetes minor, for Helm's `.Capabilities.KubeVersion`. */
  kubernetesVersion: string;
}

/** One stream of YAML to parse: a source file (plain) or a renderer's output. */
export interface RenderedStream {
  /** The file findings point at: the source file, or the kustomization/chart folder for renderer output. */
  file: string;
  text: string;
  /** The source file a document came from, where the renderer says it. */
  sourceOf?: (document: YamlDocument) => string | undefined;
  /** sourceOf changes the parsed value (removes kustomize's origin annotation). */
  rewritesDocuments?: boolean;
}

export interface RenderResult {
  renderer: Exclude<Renderer, 'auto'>;
  /** What was rendered, for the log: the overlay, the chart with its values files. */
  description: string;
  streams: RenderedStream[];
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';

function isKustomization(dir: string): boolean {
  return KUSTOMIZATION_FILES.some((f) => existsSync(join(dir, f)));
}

function isChart(dir: string): boolean {
  return existsSync(join(dir, 'Chart.yaml'));
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** Which renderer a path needs, when `renderer: auto`. */
function detectRenderer(path: string, environment: string): Exclude<Renderer, 'auto'> {
  if (!isDirectory(path)) return 'plain';
  if (isChart(path)) return 'helm';
  if (isKustomization(path)) return 'kustomize';
  if (environment && kustomizeOverlayCandidates(path, environment).some(isKustomization)) return 'kustomize';
  return 'plain';
}

function kustomizeOverlayCandidates(path: string, environment: string): string[] {
  return [join(path, 'overlays', environment), join(path, environment)];
}

/** Renders the source into YAML streams; the environment picks the overlay, values file or folder. */
export async function render(settings: RenderSettings, tools: RenderTools, workspace = process.env.GITHUB_WORKSPACE || process.cwd()): Promise<RenderResult> {
  const renderer = settings.renderer === 'auto' ? detectRenderer(settings.path, settings.environment) : settings.renderer;
  switch (renderer) {
    case 'plain':
      return renderPlain(settings, workspace);
    case 'kustomize':
      return renderKustomize(settings, tools, workspace);
    case 'helm':
      return renderHelm(settings, tools, workspace);
  }
}

function renderPlain(settings: RenderSettings, workspace: string): RenderResult {
  let root = settings.path;
  // A folder per environment (manifests/staging, manifests/production) when there is one.
  if (settings.environment && isDirectory(join(root, settings.environment))) {
    root = join(root, settings.environment);
    refuseLinkOut(root, workspace, 'environment');
  }
  const files = manifestFiles(root);
  return {
    renderer: 'plain',
    description: `${files.length} file(s) under ${displayPath(root)}`,
    streams: files.map((file) => ({ file, text: '' })),
  };
}

async function renderKustomize(settings: RenderSettings, tools: RenderTools, workspace: string): Promise<RenderResult> {
  let dir = settings.path;
  if (settings.environment && !isKustomization(dir)) {
    const candidates = kustomizeOverlayCandidates(dir, settings.environment);
    const overlay = candidates.find(isKustomization);
    if (!overlay)
      throw new ConfigurationError(
        `no kustomize overlay for "${settings.environment}": looked for a kustomization in ${candidates.map((c) => displayPath(c)).join(' and ')}.`,
        'environment',
      );
    dir = overlay;
  }
  if (!isKustomization(dir)) throw new ConfigurationError(`${displayPath(dir)} has no kustomization.yaml; set \`renderer\` to plain or helm, or point \`path\` at a kustomization.`, 'path');
  refuseKustomizationsOut(dir, workspace);
  const { text, wrapper } = await kustomizeWithOrigins(dir, tools).catch((error: unknown) => {
    throw explainLoadRestriction(error);
  });
  return {
    renderer: 'kustomize',
    description: `kustomize overlay ${displayPath(dir)}`,
    streams: [{ file: join(dir, KUSTOMIZATION_FILES.find((f) => existsSync(join(dir, f)))!), text, sourceOf: (doc) => takeOrigin(doc.value, wrapper), rewritesDocuments: true }],
  };
}

/** A kustomize remote reference: a URL, `github.com/owner/repo//path?ref=…`, `git@host:…`. */
const REMOTE = /^(https?:\/\/|git::|ssh:\/\/|git@|(github|gitlab|bitbucket)\.(com|org)\/)|\?ref=|\/\/.+\?/;

// Fields whose entries may be kustomization folders: each gets its own load root.
const KUSTOMIZATION_REFERENCES = ['resources', 'bases', 'components', 'generators', 'transformers', 'validators'];

/**
 * kustomize's default load restriction (LoadRestrictionsRootOnly) keeps the files a kustomization
 * reads (patches, generator files and envs, CRDs, OpenAPI schemas) inside its own folder, links
 * resolved, but lets it name other kustomization folders anywhere. Each kustomization folder it
 * would load is checked here to be inside the workspace, so together the files stay inside it.
 * Remote references (a URL, a git repository) are refused: the render is offline.
 */
function refuseKustomizationsOut(dir: string, workspace: string): void {
  const root = realpathSync(workspace);
  const seen = new Set<string>();
  const walk = (folder: string) => {
    const real = realpathSync(folder);
    if (seen.has(real)) return;
    seen.add(real);
    const name = KUSTOMIZATION_FILES.find((f) => existsSync(join(folder, f)));
    if (!name) return;
    const file = join(folder, name);
    const [document] = parseYamlStream(readFileSync(file, 'utf8'));
    if (!document || document.error || !isRecord(document.value)) return;
    const kustomization = document.value;
    for (const field of KUSTOMIZATION_REFERENCES) {
      const entries = kustomization[field];
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        if (typeof entry !== 'string' || !entry) continue;
        const target = resolve(real, entry);
        if (!lstatSync(target, { throwIfNoEntry: false })) {
          // Not on disk: kustomize would fetch it (git clone, HTTP), and the render is offline and reproducible.
          if (REMOTE.test(entry))
            throw new ConfigurationError(
              `${displayPath(file)}: ${field} entry "${entry}" is remote; the render is offline and reads the repository only. Vendor it (copy that kustomization into the repository, pinned to the commit you use), then point ${field} at the copy.`,
              'path',
            );
          continue;
        }
        let leadsTo = target;
        try {
          leadsTo = realpathSync(target);
        } catch {
          // A dangling link: kustomize reports it.
        }
        if (!isWithin(root, leadsTo))
          throw new ConfigurationError(
            `${displayPath(file)}: ${field} entry "${entry}" is outside the workspace (${root}); kustomize would read it into the bundle. Keep bases, components and the files they use inside the repository.`,
            'path',
          );
        if (isDirectory(leadsTo)) walk(leadsTo);
      }
    }
  };
  if (!isWithin(root, realpathSync(dir)))
    throw new ConfigurationError(`${displayPath(dir)} leads to ${realpathSync(dir)}, outside the workspace (${root}). Keep the overlay inside the repository.`, 'environment');
  walk(dir);
}

/**
 * kustomize records where each object came from only when a kustomization asks for
 * `buildMetadata: [originAnnotations]`. A throwaway kustomization around the user's one asks for
 * it, so findings point at the base file and the user's files stay untouched. The wrapper names the
 * user's folder as a resource, which kustomize loads with its own root: the default load restriction
 * still applies to every file under it. If that fails, the plain build runs, so the user sees
 * kustomize's own message about their files.
 */
async function kustomizeWithOrigins(dir: string, tools: RenderTools): Promise<{ text: string; wrapper?: string }> {
  const wrapper = mkdtempSync(join(tmpdir(), 'kubeline-kustomize-'));
  try {
    writeFileSync(join(wrapper, 'kustomization.yaml'), `resources:\n  - ${JSON.stringify(relative(wrapper, dir))}\nbuildMetadata: [originAnnotations]\n`);
    const text = await tools.kustomizeBuild(wrapper).catch(() => undefined);
    // Origin paths are relative to the wrapper's folder; the folder itself is not needed any more.
    if (text !== undefined) return { text, wrapper };
  } finally {
    rmSync(wrapper, { recursive: true, force: true });
  }
  return { text: await tools.kustomizeBuild(dir) };
}

/** kustomize's load restriction names the file and the folder, not the fix: add it. */
function explainLoadRestriction(error: unknown): unknown {
  if (!(error instanceof RenderError)) return error;
  const refused = /security; file '([^']+)' is not in or below '([^']+)'/.exec(error.message);
  if (!refused) return error;
  const [, file, root] = refused;
  return new ConfigurationError(
    `kustomize refused to read ${displayPath(file)}: it is not in or below the kustomization folder ${displayPath(root)} (links resolved): kustomize reads nothing from elsewhere on the runner. Move the file into that folder, as a real file rather than a link.`,
    'path',
  );
}

/** Reads and removes kustomize's origin annotation: it is ours, not the user's. */
function takeOrigin(object: unknown, wrapper: string | undefined): string | undefined {
  if (!isRecord(object) || !isRecord(object.metadata) || !isRecord(object.metadata.annotations)) return undefined;
  const annotations = object.metadata.annotations;
  const origin = annotations[ORIGIN_ANNOTATION];
  if (typeof origin !== 'string' || !wrapper) return undefined;
  delete annotations[ORIGIN_ANNOTATION];
  if (Object.keys(annotations).length === 0) delete object.metadata.annotations;
  const path = /^path:\s*(.+)$/m.exec(origin)?.[1]?.trim();
  return path ? resolve(wrapper, path.replace(/^['"]|['"]$/g, '')) : undefined;
}

function helmValuesFor(chart: string, environment: string): string | undefined {
  const candidates = [`values-${environment}.yaml`, `values.${environment}.yaml`, join('values', `${environment}.yaml`)].map((f) => join(chart, f));
  const found = candidates.find((f) => existsSync(f));
  if (!found)
    throw new ConfigurationError(`no values file for "${environment}" in ${displayPath(chart)}: looked for ${candidates.map((c) => basename(dirname(c)) === 'values' ? 'values/' + basename(c) : basename(c)).join(', ')}.`, 'environment');
  return found;
}

interface ChartYaml {
  name?: string;
  dependencies?: Array<{ name?: string; repository?: string }>;
}

/** Chart.yaml, read as Helm reads it (sigs.k8s.io/yaml: YAML 1.1, as our reader does). */
function readChartYaml(file: string): ChartYaml {
  const [document] = parseYamlStream(readFileSync(file, 'utf8'));
  if (document?.error) {
    const { message, line, column } = document.error;
    throw new ConfigurationError(`${displayPath(file)}: invalid YAML at line ${line}, column ${column}: ${message}`);
  }
  return isRecord(document?.value) ? (document.value as ChartYaml) : {};
}

async function renderHelm(settings: RenderSettings, tools: RenderTools, workspace: string): Promise<RenderResult> {
  const chart = settings.path;
  if (!isChart(chart)) throw new ConfigurationError(`${displayPath(chart)} has no Chart.yaml; point \`path\` at a chart folder.`, 'path');
  // Helm follows links in a chart (`.Files.Get`, templates, subcharts): none may leave the workspace.
  refuseLinksOut(chart, workspace, 'path');
  const meta = readChartYaml(join(chart, 'Chart.yaml'));
  // Local (file://) dependencies are packed into charts/ first, as `helm dependency build` does.
  const deps = (meta.dependencies ?? []).filter((d) => d.name);
  for (const dep of meta.dependencies ?? []) {
    if (typeof dep.repository !== 'string' || !dep.repository.startsWith('file://')) continue;
    const local = resolve(chart, dep.repository.slice('file://'.length));
    if (!existsSync(local)) continue;
    refuseLinkOut(local, workspace, 'path');
    refuseLinksOut(local, workspace, 'path');
  }
  if (deps.length && deps.some((d) => !existsSync(join(chart, 'charts', d.name!)) && !existsSync(join(chart, 'charts')))) await tools.helmDependencyBuild(chart);

  const values = [...settings.valuesFiles];
  if (settings.environment) {
    const environmentValues = helmValuesFor(chart, settings.environment)!;
    refuseLinkOut(environmentValues, workspace, 'environment');
    values.push(environmentValues);
  }
  const args = [settings.releaseName, chart, '--kube-version', `${settings.kubernetesVersion}.0`];
  if (settings.namespace) args.push('--namespace', settings.namespace);
  for (const file of values) args.push('--values', file);
  for (const [key, value] of settings.set) args.push('--set', `${key}=${value}`);
  for (const [key, value] of settings.setString) args.push('--set-string', `${key}=${value}`);
  const text = await tools.helmTemplate(args, chart);
  const chartName = meta.name ?? basename(chart);
  return {
    renderer: 'helm',
    description: `Helm chart ${displayPath(chart)} as release ${settings.releaseName}${values.length ? ` with ${values.map((v) => displayPath(v)).join(', ')}` : ''}`,
    streams: [{ file: join(chart, 'Chart.yaml'), text, sourceOf: helmSources(chart, chartName) }],
  };
}

/** Helm writes `# Source: <chart>/templates/x.yaml` at the top of each document: map it back to the chart folder. */
function helmSources(chart: string, chartName: string): (doc: YamlDocument) => string | undefined {
  return (doc) => {
    const source = /^# Source: (.+)$/m.exec(doc.text)?.[1]?.trim();
    if (!source) return undefined;
    return source.startsWith(`${chartName}/`) ? join(chart, source.slice(chartName.length + 1)) : join(dirname(chart), source);
  };
}
