/** The three ways a digest goes into an environment repository's file: kustomization images, Helm values, container images. */
import { type Document, isAlias, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import { canonicalName, containerImages, containersOf, describeObject, formatPath, isRecord, objectRef, parseImage, podSpecs } from '@kubeline/k8s';
import { ConfigurationError } from '@kubeline/toolkit';
import { deletePair, insertPairs, keysOf, lineOf, type Patch, pairOf, parseYamlFile, patchAndVerify, renameKey, replaceScalar, type YamlFile } from './yaml-patch';

/** What to change in `file`. */
export type FileChange =
  /** The kustomization's `images:` entry named `name`: `digest` set, a conflicting `newTag` removed, `newName` set when given. */
  | { kind: 'kustomize-image'; name: string; newName?: string }
  /** A Helm values key path (`image.digest`, `app.image.tag`; `\.` for a dot inside a key) set to `value` (default: the digest). */
  | { kind: 'helm-value'; key: string; value?: string }
  /** Every container (init and ephemeral too) whose image is `repository`, in every document: set to `repository@digest`. */
  | { kind: 'container-image'; repository: string };

/** One field the edit changed (or would change), for logs and the job summary. */
export interface FieldChange {
  /** `images[app].digest`, `image.digest`, `Deployment web container "app" image`. */
  field: string;
  /** 1-based line in the file before the edit. */
  line: number;
  before?: string;
  /** undefined: the field was removed (a `newTag` next to a digest). */
  after?: string;
}

/** The edited text and what changed; no changes means the digest is already there. */
export interface EditOutcome {
  text: string;
  changes: FieldChange[];
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Checks a digest before anything is cloned. */
export function checkDigest(digest: string): void {
  if (!DIGEST.test(digest)) throw new ConfigurationError(`"${digest}" is not an image digest; give sha256: and 64 hex digits (the digest output of push-image).`, 'digest');
}

/**
 * Applies `change` to the YAML text of `path`, keeping every byte outside the changed scalars
 * (comments, quoting, indentation, blank lines, other documents).
 */
export function editFile(path: string, text: string, change: FileChange, digest: string): EditOutcome {
  checkDigest(digest);
  const file = parseYamlFile(path, text);
  switch (change.kind) {
    case 'kustomize-image':
      return editKustomization(file, change.name, change.newName, digest);
    case 'helm-value':
      return editValues(file, change.key, change.value ?? digest);
    case 'container-image':
      return editContainers(file, change.repository, digest);
  }
}

/** Collects the patches and the matching setIn/deleteIn on a clone, the oracle the result is checked against. */
class Edit {
  readonly patches: Patch[] = [];
  readonly changes: FieldChange[] = [];
  private readonly clones = new Map<Document.Parsed, Document>();
  constructor(readonly file: YamlFile) {}

  clone(doc: Document.Parsed): Document {
    const copy = this.clones.get(doc) ?? doc.clone();
    this.clones.set(doc, copy);
    return copy;
  }

  /** A patch and the field change it makes. */
  record(patch: Patch, change: Omit<FieldChange, 'line'>, at: unknown): void {
    this.patches.push(patch);
    this.note(change, at);
  }

  /** A field change made by a patch already recorded (several pairs inserted at once). */
  note(change: Omit<FieldChange, 'line'>, at: unknown): void {
    this.changes.push({ ...change, line: lineOf(this.file.text, (at as Node).range?.[0] ?? 0) });
  }

  finish(): EditOutcome {
    if (this.patches.length === 0) return { text: this.file.text, changes: [] };
    const expected = this.file.docs.map((d) => (this.clones.get(d) ?? d).toJS());
    return { text: patchAndVerify(this.file, this.patches, expected), changes: this.changes };
  }
}

/** The file's one document; a kustomization or a values file with several is a mistake. */
function onlyDocument(file: YamlFile, what: string): Document.Parsed {
  const docs = file.docs.filter((d) => d.contents !== null);
  if (docs.length !== 1) throw new ConfigurationError(`${file.path} holds ${docs.length} YAML documents; a ${what} is one document. Check the path.`, 'repository-file');
  return docs[0];
}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) && node.value !== null ? String(node.value) : undefined;
}

function editKustomization(file: YamlFile, name: string, newName: string | undefined, digest: string): EditOutcome {
  const doc = onlyDocument(file, 'kustomization');
  const root = doc.contents;
  const images = isMap(root) ? root.get('images', true) : undefined;
  if (!isSeq(images)) throw new ConfigurationError(`${file.path} has no images: list. Add an entry for "${name}" (images: [{ name: ${name} }]) or point repository-file at the kustomization that has it.`, 'repository-file');
  const index = images.items.findIndex((e) => isMap(e) && scalarText(e.get('name', true)) === name);
  if (index < 0) {
    const names = images.items.map((e) => (isMap(e) ? scalarText(e.get('name', true)) : undefined)).filter((n): n is string => !!n);
    throw new ConfigurationError(`${file.path} has no images: entry named "${name}"; the names there are ${names.map((n) => `"${n}"`).join(', ') || '(none)'}. Use one of them (kustomize matches the name exactly).`, 'repository-file');
  }
  const entry = images.items[index] as YAMLMap;
  const edit = new Edit(file);
  const at = ['images', index];
  const label = (key: string) => `images[${name}].${key}`;
  const inserts: Array<[string, string]> = [];

  if (newName !== undefined) {
    const found = pairOf(entry, 'newName');
    const before = scalarText(found?.pair.value);
    edit.clone(doc).setIn([...at, 'newName'], newName);
    if (!found) inserts.push(['newName', newName]);
    else if (before !== newName) edit.record(setValue(file, found.pair, newName), { field: label('newName'), before, after: newName }, found.pair.key);
  }

  // With both set, kustomize (v5.8.2 checked) renders `name:newTag@digest`: the stale tag would name
  // an image that is not the one promoted, so the digest takes the tag's place.
  const digestPair = pairOf(entry, 'digest');
  const tagPair = pairOf(entry, 'newTag');
  const before = scalarText(digestPair?.pair.value);
  if (digestPair && before !== digest) edit.record(setValue(file, digestPair.pair, digest), { field: label('digest'), before, after: digest }, digestPair.pair.key);
  if (tagPair && digestPair) {
    edit.record(deletePair(file, entry, tagPair.index), { field: label('newTag'), before: scalarText(tagPair.pair.value) }, tagPair.pair.key);
  } else if (tagPair) {
    edit.record(renameKey(tagPair.pair, 'digest'), { field: label('newTag'), before: scalarText(tagPair.pair.value) }, tagPair.pair.key);
    edit.record(setValue(file, tagPair.pair, digest), { field: label('digest'), after: digest }, tagPair.pair.key);
  } else if (!digestPair) inserts.push(['digest', digest]);
  edit.clone(doc).setIn([...at, 'digest'], digest);
  if (tagPair) edit.clone(doc).deleteIn([...at, 'newTag']);

  if (inserts.length) {
    edit.patches.push(insertPairs(file, entry, inserts));
    for (const [key, value] of inserts) edit.note({ field: label(key), after: value }, entry);
  }
  return edit.finish();
}

function setValue(file: YamlFile, pair: Pair, value: string): Patch {
  if (isAlias(pair.value)) throw new ConfigurationError(`${file.path}:${lineOf(file.text, (pair.key as Node).range?.[0] ?? 0)} takes its value from an alias (*${pair.value.source}); write the value there instead, or point at the anchor.`, 'repository-file');
  if (!isScalar(pair.value)) throw new Error('internal: setValue on a collection');
  return replaceScalar(file, pair.value, value);
}

/** `image.digest` → ['image', 'digest']; `a\.b.c` → ['a.b', 'c']. */
export function splitKeyPath(key: string): string[] {
  const parts = key.split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, '.'));
  if (!key || parts.some((p) => p === '')) throw new ConfigurationError(`"${key}" is not a key path; write keys separated by dots, e.g. image.digest.`, 'key');
  return parts;
}

function editValues(file: YamlFile, key: string, value: string): EditOutcome {
  const doc = onlyDocument(file, 'Helm values file');
  const parts = splitKeyPath(key);
  const path: Array<string | number> = [];
  let node: unknown = doc.contents;
  for (const [i, part] of parts.entries()) {
    const here = path.length ? formatPath(path) : 'the top level';
    const last = i === parts.length - 1;
    if (isSeq(node) && /^\d+$/.test(part) && Number(part) < node.items.length) {
      path.push(Number(part));
      node = node.items[Number(part)];
      if (last) throw new ConfigurationError(`${key} in ${file.path} names a list item, not a value; name a key inside it.`, 'key');
      continue;
    }
    if (!isMap(node)) throw new ConfigurationError(`${file.path}: ${here} is not a map, so it has no key "${part}" (${key}). Fix the key path.`, 'key');
    const found = pairOf(node, part);
    if (!found && !last) {
      throw new ConfigurationError(`${file.path} has no "${[...path, part].join('.')}" (${key}); keys at ${here}: ${keysOf(node).join(', ') || '(none)'}. Fix the key path, or add the key to the file once.`, 'key');
    }
    path.push(part);
    if (last) return setLeaf(file, doc, node, found?.pair, part, path, key, value);
    node = found!.pair.value;
  }
  throw new Error('internal: empty key path');
}

function setLeaf(file: YamlFile, doc: Document.Parsed, map: YAMLMap, pair: Pair | undefined, part: string, path: Array<string | number>, key: string, value: string): EditOutcome {
  const edit = new Edit(file);
  edit.clone(doc).setIn(path, value);
  if (!pair) {
    // The leaf may be new (a first digest next to repository and tag); its parent must exist, so a typo does not land.
    if (map.items.length === 0 && !map.flow) throw new ConfigurationError(`${file.path}: ${formatPath(path.slice(0, -1))} is empty; write ${part}: there once, then promote.`, 'key');
    edit.record(insertPairs(file, map, [[part, value]]), { field: key, after: value }, map);
    return edit.finish();
  }
  if (isMap(pair.value) || isSeq(pair.value)) {
    const inside = isMap(pair.value) ? `: ${keysOf(pair.value).join(', ')}` : '';
    throw new ConfigurationError(`${key} in ${file.path} is a ${isMap(pair.value) ? 'map' : 'list'}, not a value; name a key inside it${inside}.`, 'key');
  }
  const before = scalarText(pair.value);
  if (before !== value) edit.record(setValue(file, pair, value), { field: key, before, after: value }, pair.key);
  return edit.finish();
}

function editContainers(file: YamlFile, repository: string, digest: string): EditOutcome {
  const wanted = canonicalName(parseImage(repository).name);
  const edit = new Edit(file);
  const objects: Record<string, unknown>[] = [];
  let matched = 0;
  for (const doc of file.docs) {
    const object: unknown = doc.toJS();
    if (!isRecord(object)) continue;
    objects.push(object);
    for (const pod of podSpecs(object)) {
      for (const { container, path } of containersOf(pod)) {
        if (typeof container.image !== 'string') continue;
        const { name } = parseImage(container.image);
        if (canonicalName(name) !== wanted) continue;
        matched++;
        const to = `${name}@${digest}`;
        if (container.image === to) continue;
        const imagePath = [...path, 'image'];
        const node = doc.getIn(imagePath, true);
        if (!isScalar(node)) throw new ConfigurationError(`${file.path}: ${formatPath(imagePath)} of ${describeObject(objectRef(object))} is an alias or not a plain value; write the image there.`, 'repository-file');
        edit.clone(doc).setIn(imagePath, to);
        const field = `${describeObject(objectRef(object))} container "${String(container.name ?? '')}" image`;
        edit.record(replaceScalar(file, node, to), { field, before: container.image, after: to }, node);
      }
    }
  }
  if (matched === 0) {
    const present = [...new Set(containerImages(objects).map((i) => parseImage(i).name))];
    throw new ConfigurationError(
      `no container in ${file.path} runs "${repository}"; ${present.length ? `the images there are ${present.join(', ')}` : 'it has no containers'}. Use one of those repositories, or point file at the right manifest.`,
      'repository-file',
    );
  }
  return edit.finish();
}
