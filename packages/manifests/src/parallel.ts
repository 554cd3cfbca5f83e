/** Reading and parsing manifest files, on worker threads when the YAML is big. */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { displayPath } from '@kubeline/toolkit';
import { parseYamlStream, type YamlDocument } from '@kubeline/k8s';
import { readManifestFile } from './sources';
import type { Finding } from './types';

/** A plain file read and parsed: its text and documents, or why it could not be read. */
export type ParsedFile = { text: string; documents: YamlDocument[] } | { finding: Finding };

/** Below this much YAML, starting a worker costs more than it saves. */
const PARALLEL_FROM_BYTES = 2 * 1024 * 1024;
const WORKER_MARK = 'kubeline-manifests-parse';

/** Reads and parses one file (size, binary and UTF-8 checks included). */
function parseFile(file: string): ParsedFile {
  const read = readManifestFile(file, displayPath(file));
  if ('finding' in read) return read;
  // Offsets are counted without a byte-order mark, as parseYamlStream counts them.
  const text = read.text.charCodeAt(0) === 0xfeff ? read.text.slice(1) : read.text;
  return { text, documents: parseYamlStream(text) };
}

/**
 * Parses plain files, spreading them over worker threads when there is enough YAML to gain from
 * it: parsing is most of the work for big bundles, and each file is independent. `entry` is the
 * script a worker starts (the action's bundle, which calls {@link runParseWorkerIfAny} first);
 * without one everything is parsed here. Results are in the order of `files`.
 */
export async function parseFiles(files: readonly { path: string; size: number }[], entry?: string): Promise<ParsedFile[]> {
  const total = files.reduce((n, f) => n + f.size, 0);
  const workers = Math.min(Math.max(availableParallelism() - 1, 0), 3);
  if (!entry || workers === 0 || total < PARALLEL_FROM_BYTES || files.length < 2) return files.map((f) => parseFile(f.path));

  // Share the bytes: the largest files first, each to the lightest share. Ours (the first) starts
  // with a head start, because a worker first spends time loading the bundle.
  const shares = Array.from({ length: workers + 1 }, (_, i) => ({ bytes: i === 0 ? -total * 0.15 : 0, indexes: [] as number[] }));
  [...files.keys()].sort((a, b) => files[b].size - files[a].size).forEach((i) => {
    const lightest = shares.reduce((min, s) => (s.bytes < min.bytes ? s : min));
    lightest.bytes += files[i].size;
    lightest.indexes.push(i);
  });
  const results: ParsedFile[] = new Array(files.length);
  const [own, ...others] = shares;
  const pending = others
    .filter((share) => share.indexes.length)
    .map(
      (share) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(entry.startsWith('file:') ? fileURLToPath(entry) : entry, {
            workerData: { mark: WORKER_MARK, files: share.indexes.map((i) => files[i].path) },
          });
          worker.once('message', (parsed: ParsedFile[]) => {
            parsed.forEach((p, k) => (results[share.indexes[k]] = withTexts(p)));
            resolve();
          });
          worker.once('error', reject);
          worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a parse worker exited with code ${code}`))));
        }),
    );
  for (const i of own.indexes) results[i] = parseFile(files[i].path);
  await Promise.all(pending);
  return results;
}

/** Documents travel without their text (it is a slice of the file's): put it back. */
function withTexts(parsed: ParsedFile): ParsedFile {
  if ('finding' in parsed) return parsed;
  for (const doc of parsed.documents) doc.text = parsed.text.slice(doc.start, doc.end);
  return parsed;
}

/** In a parse worker: parses the files it was given, posts the results, and returns true. */
export function runParseWorkerIfAny(): boolean {
  if (isMainThread || (workerData as { mark?: string } | null)?.mark !== WORKER_MARK) return false;
  const { files } = workerData as { files: string[] };
  const parsed = files.map(parseFile).map((p) => {
    if ('finding' in p) return p;
    // The text goes once, with the file; each document's is a slice of it.
    for (const doc of p.documents) doc.text = '';
    return p;
  });
  parentPort!.postMessage(parsed);
  return true;
}
