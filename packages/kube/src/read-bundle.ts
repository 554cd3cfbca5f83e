/** Reading the bundle: the objects of a manifests file or folder, YAML read as Kubernetes reads it. */
import { isRecord, type KubeObject, parseYamlStream } from '@kubeline/k8s';
import { ConfigurationError, log } from '@kubeline/toolkit';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Invalid UTF-8 is an error, not silently replaced. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The objects of a file or a folder of rendered YAML (the `manifests` output of
 * render-and-validate-manifests fits directly): `.yaml`, `.yml` and `.json` files, a folder read
 * recursively in path order, `kind: List` documents expanded. YAML is read as Kubernetes reads it
 * (YAML 1.1 scalars).
 */
export async function readManifests(path: string, input = 'manifests'): Promise<KubeObject[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ConfigurationError(`${path} does not exist.`, input);
  }
  const files: string[] = [];
  if (info.isDirectory()) {
    const walk = async (dir: string): Promise<void> => {
      const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isSymbolicLink() && MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
          // A link may lead anywhere on the runner: only regular files of the folder are deployed.
          log.warning(`${full} is a symbolic link: skipped. deploy reads the regular files of the manifests folder only; copy the file in instead.`);
        } else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(full);
      }
    };
    await walk(path);
    if (files.length === 0) throw new ConfigurationError(`the folder ${path} has no .yaml, .yml or .json files.`, input);
  } else files.push(path);

  const objects: KubeObject[] = [];
  for (const file of files) {
    const name = info.isDirectory() ? join(relative(process.cwd(), path) || path, relative(path, file)) : file;
    let text: string;
    try {
      text = utf8.decode(await readFile(file));
    } catch {
      throw new ConfigurationError(`${name} is not valid UTF-8: Kubernetes manifests are UTF-8 text. Re-save it as UTF-8 (render-and-validate-manifests refuses it too).`, input);
    }
    for (const doc of parseYamlStream(text)) {
      if (doc.error) throw new ConfigurationError(`${name}:${doc.error.line}:${doc.error.column}: ${doc.error.message}`, input);
      if (doc.value === undefined) continue;
      if (!isRecord(doc.value)) throw new ConfigurationError(`${name}:${doc.firstLine + 1}: the document is not a Kubernetes object (a mapping with apiVersion and kind).`, input);
      const value = doc.value as KubeObject;
      if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
        for (const item of value.items) if (isRecord(item)) objects.push(item as KubeObject);
      } else objects.push(value);
    }
  }
  return objects;
}
