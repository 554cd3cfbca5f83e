/** Finding manifest files inside the workspace, refusing paths that leave it and files too big to read. */
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigurationError, displayPath } from '@kubeline/toolkit';
import type { Finding } from './types';

/** Files bigger than this are refused rather than read: memory stays bounded. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
// Files in a manifests folder that are not Kubernetes objects.
const NOT_MANIFESTS = /^(kustomization|Kustomization)\.ya?ml$|^Chart\.ya?ml$|^values(-[^/]*)?\.ya?ml$|^\./;

/** An absolute path for a user-given path, refused when it leaves the workspace. */
export function insideWorkspace(input: string, value: string, workspace: string): string {
  const root = realpathSync(workspace);
  const full = resolve(root, value);
  let real = full;
  try {
    real = realpathSync(full);
  } catch {
    throw new ConfigurationError(`"${value}" does not exist (looked at ${full}).`, input);
  }
  const rel = relative(root, real);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new ConfigurationError(`"${value}" is outside the workspace (${root}). Use a path inside the repository.`, input);
  return real;
}

/** Whether an absolute path is `root` or below it (by name: resolve links first). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Where a path really leads: its real path, or for a dangling link the path its target names. */
function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(dirname(path), readlinkSync(path));
  }
}

/**
 * Refuses `path` when it, or a link on the way to it, leads out of the workspace: a renderer
 * follows links, so a file in the checkout may not stand for one elsewhere on the runner.
 * Never reads the file.
 */
export function refuseLinkOut(path: string, workspace: string, input?: string): void {
  const root = realpathSync(workspace);
  const real = realTarget(path);
  if (!isWithin(root, real))
    throw new ConfigurationError(`${displayPath(path)} leads to ${real}, outside the workspace (${root}); it would be read into the bundle. Replace the link with the file itself, inside the repository.`, input);
}

/**
 * Refuses every symbolic link under a folder that leads out of the workspace (Helm follows links in
 * a chart, `.Files.Get` included). Links to folders inside the workspace are walked too.
 */
export function refuseLinksOut(dir: string, workspace: string, input?: string): void {
  const seen = new Set<string>();
  const walk = (folder: string) => {
    const real = realpathSync(folder);
    if (seen.has(real)) return;
    seen.add(real);
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isSymbolicLink()) {
        refuseLinkOut(full, workspace, input);
        if (statSync(full, { throwIfNoEntry: false })?.isDirectory()) walk(full);
      } else if (entry.isDirectory()) walk(full);
    }
  };
  if (lstatSync(dir).isSymbolicLink()) refuseLinkOut(dir, workspace, input);
  walk(dir);
}

/** YAML and JSON files under a folder, recursively, in a stable order; a file is itself. */
export function manifestFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && YAML_EXTENSIONS.has(extname(entry.name).toLowerCase()) && !NOT_MANIFESTS.test(entry.name)) out.push(full);
    }
  };
  walk(path);
  return out;
}

/** A file's text, or a finding saying why it cannot be read as YAML (too big, binary). */
export function readManifestFile(file: string, display: string, maxBytes = MAX_FILE_BYTES): { text: string } | { finding: Finding } {
  const size = statSync(file).size;
  if (size > maxBytes)
    return { finding: fileFinding('input/too-large', display, `is ${(size / 1048576).toFixed(1)} MiB, over the ${maxBytes / 1048576} MiB limit per file`, 'Split it into smaller files.') };
  const buffer = Buffer.alloc(size);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, size, 0);
  } finally {
    closeSync(fd);
  }
  if (buffer.includes(0)) return { finding: fileFinding('input/binary', display, 'is a binary file, not YAML', 'Remove it from the manifests folder or point `path` at the YAML files only.') };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(buffer) };
  } catch {
    return { finding: fileFinding('input/binary', display, 'is not UTF-8 text', 'Save it as UTF-8.') };
  }
}

function fileFinding(rule: string, file: string, message: string, fix: string): Finding {
  return { rule, severity: 'error', message: `${file} ${message}`, fix, location: { file, line: 1 } };
}
