/** Render, inject images, validate and lint: everything the action does short of writing files. */
import { readFileSync, statSync } from 'node:fs';
import { ConfigurationError, displayPath } from '@kubeline/toolkit';
import { CustomResources } from './crds';
import { containerImages, type FieldPath, inInstallOrder, isRecord, type KubeObject, locateField, objectRef, type ObjectRef, parseYamlStream, refKey, type YamlDocument } from '@kubeline/k8s';
import { applyImageOverrides, type ImageOverride, type ImageReplacement } from './images';
import { checkPolicies, type PolicyConfig } from './policies';
import { render, type RenderedStream, type RenderSettings } from './render';
import { bundledVersions, compareVersions, KubernetesSchemas } from './schemas';
import { manifestFiles, readManifestFile } from './sources';
import type { RenderTools } from './tools';
import { type Finding, type Manifest } from './types';
import { type UnknownKinds, validateObject } from './validate';
import { type Bundle, serializeBundle } from './bundle';
import { type ParsedFile, parseFiles } from './parallel';

export interface PipelineSettings {
  render: RenderSettings;
  workspace: string;
  images: readonly ImageOverride[];
  labels: ReadonlyArray<[string, string]>;
  annotations: ReadonlyArray<[string, string]>;
  /** Namespace for namespaced objects that have none (empty: leave them). */
  namespace: string;
  /** Absolute paths of CRD files or folders. */
  crdFiles: readonly string[];
  unknownKinds: UnknownKinds;
  deprecatedApis: 'error' | 'warning';
  policy: PolicyConfig;
  /** Where the bundle will be written: findings in rendered objects that cannot be traced point there. */
  bundleFile: string;
  /** The script a parse worker thread runs (the action's bundle); without one, files are parsed here. */
  workerEntry?: string;
}

export interface PipelineResult {
  renderer: string;
  description: string;
  kubernetesVersion: string;
  schemaSource: string;
  /** The bundle in apply order, Namespaces and CRDs first. */
  manifests: Manifest[];
  objects: ObjectRef[];
  images: string[];
  replacements: ImageReplacement[];
  findings: Finding[];
  bundle: Bundle;
}

/** Where an object's document is, so a field path can become a line. */
interface Placement {
  document: YamlDocument;
  /** Path of the object inside its document (items of a List). */
  prefix: FieldPath;
  file: string;
  /** The source file the renderer traced the document to. */
  source?: string;
  /** Output of kustomize or Helm, not a file of the user's. */
  rendered: boolean;
}

/**
 * Render, inject images, validate and lint: everything the action does short of writing outputs.
 * Problems in the user's files are findings with a location; only a mistake in the inputs throws.
 */
export async function renderAndValidate(settings: PipelineSettings, tools: RenderTools): Promise<PipelineResult> {
  const schemas = new KubernetesSchemas(settings.render.kubernetesVersion);
  const olderSchemas = bundledVersions()
    .filter((v) => compareVersions(v, schemas.minor) < 0)
    .map((v) => new KubernetesSchemas(v));
  const rendered = await render(settings.render, tools, settings.workspace);
  const findings: Finding[] = [];
  const placements = new Map<KubeObject, Placement>();
  const manifests: Manifest[] = [];

  const plain = rendered.streams.filter((s) => !s.text && !s.sourceOf);
  const parsed = await parseFiles(plain.map((s) => ({ path: s.file, size: statSync(s.file).size })), settings.workerEntry);
  const parsedOf = new Map(plain.map((s, i) => [s, parsed[i]]));
  for (const stream of rendered.streams) collect(stream, parsedOf.get(stream), manifests, placements, findings);
  if (manifests.length === 0 && !findings.some((f) => f.severity === 'error'))
    findings.push({ rule: 'input/empty', severity: 'error', message: `${rendered.description} rendered no Kubernetes objects`, fix: 'Check `path`, `environment` and the chart values: an empty bundle would deploy nothing.' });

  addMetadata(manifests, settings);
  const { replacements, findings: imageFindings } = applyImageOverrides(manifests, settings.images);
  findings.push(...imageFindings);

  const crds = new CustomResources(schemas);
  for (const file of settings.crdFiles) for (const crd of readCrdFiles(file, findings)) crds.add(crd);
  for (const { object } of manifests) if (CustomResources.isCrd(object)) crds.add(object);

  const options = { schemas, crds, unknownKinds: settings.unknownKinds, deprecatedApis: settings.deprecatedApis, olderSchemas };
  for (const manifest of manifests) for (const finding of validateObject(manifest.object, options)) findings.push(withObject(finding, manifest.object));
  findings.push(...duplicates(manifests));
  const cel = celNotEvaluated(manifests, crds);
  if (cel) findings.push(cel);
  const byRef = objectsByRef(manifests);
  for (const finding of checkPolicies(manifests, settings.policy, { workspace: settings.workspace, embedsPodSpec: (object, path) => crds.embedsPodSpec(object, path) })) findings.push(withObject(finding, finding.object && byRef.get(refKey(finding.object))));

  const ordered = inInstallOrder(manifests, (m) => String(m.object.kind));
  const bundle = serializeBundle(ordered);
  const inBundle = new Map<KubeObject, Pick<YamlDocument, 'text' | 'firstLine'>>(ordered.map((m, i) => [m.object, { text: bundle.documents[i], firstLine: bundle.lines[i] }]));
  for (const finding of findings) locate(finding, placements, (object) => inBundle.get(object), settings.bundleFile);

  return {
    renderer: rendered.renderer,
    description: rendered.description,
    kubernetesVersion: schemas.minor,
    schemaSource: schemas.source,
    manifests: ordered,
    objects: ordered.map((m) => objectRef(m.object)),
    images: containerImages(ordered.map((m) => m.object)),
    replacements,
    findings,
    bundle,
  };
}

// Findings carry the object they are about by reference until locations are resolved.
const findingObjects = new WeakMap<Finding, KubeObject>();
function withObject(finding: Finding, object: KubeObject | undefined): Finding {
  if (object) findingObjects.set(finding, object);
  return finding;
}
/** Objects by identity (the first of duplicates), to give policy findings their object back. */
function objectsByRef(manifests: readonly Manifest[]): Map<string, KubeObject> {
  const map = new Map<string, KubeObject>();
  for (const { object } of manifests) {
    const key = refKey(objectRef(object));
    if (!map.has(key)) map.set(key, object);
  }
  return map;
}

function collect(stream: RenderedStream, parsed: ParsedFile | undefined, manifests: Manifest[], placements: Map<KubeObject, Placement>, findings: Finding[]): void {
  const file = displayPath(stream.file);
  if (parsed && 'finding' in parsed) {
    findings.push(parsed.finding);
    return;
  }
  for (const document of parsed ? parsed.documents : parseYamlStream(stream.text)) {
    const source = stream.sourceOf?.(document);
    const where = source ? displayPath(source) : file;
    if (document.error) {
      const { message, line, column } = document.error;
      findings.push({
        rule: 'yaml/syntax',
        severity: 'error',
        message: `invalid YAML at line ${line}, column ${column}: ${message}`,
        fix: message.includes('duplicated mapping key') ? 'Remove or rename the duplicate key: Kubernetes would keep only one of them.' : 'Fix the YAML syntax (indentation, quotes, ":" after keys).',
        location: source ? { file: where, line: 1 } : { file, line, column },
      });
      continue;
    }
    if (document.value === undefined) continue;
    const add = (object: unknown, prefix: FieldPath) => {
      if (!isRecord(object)) {
        findings.push({
          rule: 'yaml/not-an-object',
          severity: 'error',
          message: `document ${document.index + 1} is a ${Array.isArray(object) ? 'list' : typeof object}, not a Kubernetes object`,
          fix: 'Each YAML document must be one object with apiVersion, kind and metadata; separate objects with "---".',
          location: { file: where, ...locateField(document, prefix) },
        });
        return;
      }
      // kustomize output loses its origin annotation when read: only untouched documents keep their text.
      const text = prefix.length === 0 && !(stream.sourceOf && source && stream.rewritesDocuments) ? document.text : undefined;
      manifests.push({ object, origin: { file: stream.file, document: document.index, source }, text });
      placements.set(object, { document, prefix, file: stream.file, source, rendered: stream.sourceOf !== undefined });
    };
    const value = document.value;
    // `kind: List` (what `kubectl get -o yaml` writes) and typed lists (`RoleBindingList`) hold their
    // objects in items; kubectl applies each of them.
    if (isListDocument(value))
      value.items.forEach((item, i) => add(item, ['items', i]));
    else add(value, []);
  }
}

/** A `List` or `<Kind>List` document, whose items kubectl applies one by one. */
function isListDocument(value: unknown): value is { items: unknown[] } {
  return isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

function readCrdFiles(path: string, findings: Finding[]): KubeObject[] {
  const crds: KubeObject[] = [];
  for (const file of manifestFiles(path)) {
    const read = readManifestFile(file, displayPath(file));
    if ('finding' in read) {
      findings.push(read.finding);
      continue;
    }
    for (const doc of parseYamlStream(read.text)) {
      if (doc.error) findings.push({ rule: 'yaml/syntax', severity: 'error', message: `invalid YAML in CRD file: ${doc.error.message}`, fix: 'Fix the CRD file.', location: { file: displayPath(file), line: doc.error.line, column: doc.error.column } });
      else if (isRecord(doc.value) && CustomResources.isCrd(doc.value)) crds.push(doc.value);
    }
  }
  if (crds.length === 0) throw new ConfigurationError(`${displayPath(path)} holds no apiextensions.k8s.io/v1 CustomResourceDefinition.`, 'crds');
  return crds;
}

// Cluster-scoped built-in kinds: they never get a namespace.
const CLUSTER_SCOPED = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'StorageClass', 'PriorityClass',
  'IngressClass', 'RuntimeClass', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding', 'APIService', 'CSIDriver', 'CSINode',
  'VolumeAttachment', 'ComponentStatus', 'CertificateSigningRequest', 'FlowSchema', 'PriorityLevelConfiguration', 'DeviceClass',
  'ResourceSlice', 'VolumeAttributesClass', 'StorageVersionMigration', 'ClusterTrustBundle', 'IPAddress', 'ServiceCIDR',
]);

/** Whether objects of a kind live in a namespace; CRDs in the bundle say so for their kinds in spec.scope. */
function namespacedTest(manifests: readonly Manifest[]): (object: KubeObject) => boolean {
  const clusterScopedCustom = new Set<string>();
  for (const { object } of manifests) {
    const spec = object.spec;
    if (CustomResources.isCrd(object) && isRecord(spec) && spec.scope === 'Cluster' && isRecord(spec.names)) clusterScopedCustom.add(`${spec.group}/${spec.names.kind}`);
  }
  return (object) => {
    const kind = String(object.kind ?? '');
    return !CLUSTER_SCOPED.has(kind) && !clusterScopedCustom.has(`${String(object.apiVersion ?? '').split('/')[0]}/${kind}`);
  };
}

function addMetadata(manifests: readonly Manifest[], settings: PipelineSettings): void {
  const isNamespaced = namespacedTest(manifests);
  for (const manifest of manifests) {
    const object = manifest.object;
    const metadata = isRecord(object.metadata) ? object.metadata : undefined;
    if (!metadata) continue;
    if (settings.namespace && metadata.namespace === undefined && isNamespaced(object)) {
      metadata.namespace = settings.namespace;
      manifest.text = undefined;
    }
    for (const [field, pairs] of [['labels', settings.labels], ['annotations', settings.annotations]] as const) {
      if (!pairs.length) continue;
      manifest.text = undefined;
      const map = isRecord(metadata[field]) ? (metadata[field] as Record<string, unknown>) : (metadata[field] = {});
      for (const [key, value] of pairs) map[key] = value;
    }
  }
}

/**
 * CEL rules (`x-kubernetes-validations`) are not evaluated: Kubernetes' CEL has its own libraries
 * (quantities, URLs, lists, strings, `oldSelf`) that no JavaScript CEL evaluator carries, so a guess
 * would reject what the API server accepts. The summary says how many were left to the API server.
 */
function celNotEvaluated(manifests: readonly Manifest[], crds: CustomResources): Finding | undefined {
  let rules = 0;
  let objects = 0;
  for (const { object } of manifests) {
    const n = crds.celRules(object);
    if (n === 0) continue;
    rules += n;
    objects++;
  }
  if (rules === 0) return undefined;
  return {
    rule: 'crd/cel-not-evaluated',
    severity: 'info',
    message: `${rules} CEL rule${rules === 1 ? '' : 's'} (x-kubernetes-validations) in the CRD schemas of ${objects} custom resource${objects === 1 ? '' : 's'} were not evaluated: the API server evaluates them when the objects are applied`,
    fix: 'Run a server-side dry run (the deploy action with `dry-run: true`) to have the API server check them before the real apply.',
  };
}

function duplicates(manifests: readonly Manifest[]): Finding[] {
  const seen = new Map<string, KubeObject>();
  const out: Finding[] = [];
  for (const { object } of manifests) {
    const ref = objectRef(object);
    if (!ref.name || ref.name.endsWith('*')) continue;
    const key = `${ref.apiVersion.split('/').length > 1 ? ref.apiVersion.split('/')[0] : ''}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
    if (seen.has(key))
      out.push(withObject({ rule: 'bundle/duplicate-object', severity: 'error', object: ref, path: ['metadata', 'name'], message: `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} is in the bundle twice; the second would overwrite the first`, fix: 'Rename one of them or remove the copy.' }, object));
    else seen.set(key, object);
  }
  return out;
}

/**
 * Turns a finding's object and field path into file:line: exact in plain files; in the source file
 * kustomize or Helm traced the object to; else in the rendered bundle the action writes.
 */
function locate(finding: Finding, placements: Map<KubeObject, Placement>, inBundle: (object: KubeObject) => Pick<YamlDocument, 'text' | 'firstLine'> | undefined, bundleFile: string): void {
  if (finding.location) return;
  const object = findingObjects.get(finding);
  const placement = object ? placements.get(object) : undefined;
  if (!object || !placement) return;
  const path = finding.path ?? [];
  if (placement.source === undefined && !placement.rendered) {
    finding.location = { file: displayPath(placement.file), ...locateField(placement.document, [...placement.prefix, ...path]) };
    return;
  }
  const traced = placement.source ? locateInSource(placement.source, object, path) : undefined;
  const bundled = inBundle(object);
  finding.location = traced ?? (bundled ? { file: displayPath(bundleFile), ...locateField(bundled, path) } : undefined);
}

/** The document in a traced source file that holds the object (same kind, name ending alike). */
function locateInSource(source: string, object: KubeObject, path: FieldPath): Finding['location'] | undefined {
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch {
    return undefined;
  }
  const ref = objectRef(object);
  const documents = parseYamlStream(text);
  const candidates = documents.filter((d) => isRecord(d.value) && d.value.kind === ref.kind);
  const named = candidates.find((d) => {
    const name = isRecord(d.value) && isRecord(d.value.metadata) ? d.value.metadata.name : undefined;
    return typeof name === 'string' && ref.name.includes(name);
  });
  const doc = named ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (doc) return { file: displayPath(source), ...locateField(doc, path) };
  // A Helm template is not YAML until rendered: find the field's keys in order instead.
  return { file: displayPath(source), line: lineOfKeys(text, path) };
}

/** The line of the last key of `path` found in order in a template (`spec:` … `containers:` … `image:`). */
function lineOfKeys(text: string, path: FieldPath): number {
  const lines = text.split('\n');
  let at = 0;
  let found = 0;
  for (const part of path) {
    if (typeof part !== 'string') continue;
    const key = new RegExp(`^\\s*(-\\s+)?${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`);
    const i = lines.findIndex((line, n) => n >= at && key.test(line));
    if (i < 0) break;
    at = i + 1;
    found = i + 1;
  }
  return Math.max(found, 1);
}
