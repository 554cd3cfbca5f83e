// The published corpus (issue 14): real manifests from other projects' own release YAML and examples,
// listed in test/corpus/published/MANIFEST.json by repository, commit and path. Their files are not
// committed (they are other projects' data): they are restored from the fetched repositories under
// /work/.mirror (`git show <commit>:<path>`), checked against the recorded sha256.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRecord, type KubeObject, parseYamlStream, type YamlDocument } from '@kubeline/k8s';

export const CORPUS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus', 'published');
const MIRROR = process.env.KUBELINE_MIRROR ?? '/work/.mirror';

export interface CorpusFile {
  /** Path under files/: `<owner>__<name>/<path in the repository>`. */
  file: string;
  repository: string;
  commit: string;
  path: string;
  sha256: string;
  objects: number;
}

/** One object as kubectl would send it: a document, or an item of a `<Kind>List` document. */
export interface CorpusUnit {
  /** `<file>#<document>` or `<file>#<document>.items[<i>]` */
  id: string;
  file: string;
  repository: string;
  document: YamlDocument;
  item?: number;
  /** What our reader read (undefined when it could not read the document). */
  object?: KubeObject;
}

/** The corpus's files, restored where missing or changed. Throws naming what to fetch when a repository is not there. */
export function restoreCorpus(): CorpusFile[] {
  const manifest = JSON.parse(readFileSync(join(CORPUS_DIR, 'MANIFEST.json'), 'utf8')) as { files: CorpusFile[] };
  const missingRepos = new Set<string>();
  const wanted = new Map<string, CorpusFile[]>();
  for (const entry of manifest.files) {
    const target = join(CORPUS_DIR, 'files', entry.file);
    if (existsSync(target) && sha256(readFileSync(target)) === entry.sha256) continue;
    wanted.set(entry.repository, [...(wanted.get(entry.repository) ?? []), entry]);
  }
  for (const [repository, entries] of wanted) {
    const gitDir = join(MIRROR, repository.replace('/', '+'), 'repo');
    if (!existsSync(gitDir)) {
      missingRepos.add(repository);
      continue;
    }
    // One `git cat-file --batch` per repository: `<sha> blob <size>\n<content>\n` for each request.
    const out = execFileSync('git', [`--git-dir=${gitDir}`, 'cat-file', '--batch'], { input: entries.map((e) => `${e.commit}:${e.path}\n`).join(''), maxBuffer: 1 << 30 });
    let at = 0;
    for (const entry of entries) {
      const headerEnd = out.indexOf(10, at);
      const header = out.subarray(at, headerEnd).toString();
      const size = Number(/^[0-9a-f]+ blob (\d+)$/.exec(header)?.[1] ?? NaN);
      if (Number.isNaN(size)) throw new Error(`${repository}@${entry.commit}:${entry.path} is not in ${gitDir} (${header})`);
      const text = out.subarray(headerEnd + 1, headerEnd + 1 + size);
      at = headerEnd + 1 + size + 1;
      if (sha256(text) !== entry.sha256) throw new Error(`${repository}@${entry.commit}:${entry.path} does not match its recorded sha256`);
      const target = join(CORPUS_DIR, 'files', entry.file);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
  }
  if (missingRepos.size)
    throw new Error(`the published corpus needs these repositories under ${MIRROR} (bring them with the search tool's fetch): ${[...missingRepos].join(', ')}`);
  return manifest.files;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every object of the corpus, each document read with the project's own reader. */
export function corpusUnits(files: readonly CorpusFile[]): CorpusUnit[] {
  const units: CorpusUnit[] = [];
  for (const entry of files) {
    const text = readFileSync(join(CORPUS_DIR, 'files', entry.file), 'utf8');
    for (const document of parseYamlStream(text)) {
      const base = { file: entry.file, repository: entry.repository, document };
      if (document.error) {
        units.push({ ...base, id: `${entry.file}#${document.index}` });
        continue;
      }
      const value = document.value;
      if (value === undefined) continue;
      if (isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items))
        value.items.forEach((item, i) => units.push({ ...base, id: `${entry.file}#${document.index}.items[${i}]`, item: i, object: isRecord(item) ? item : undefined }));
      else units.push({ ...base, id: `${entry.file}#${document.index}`, object: isRecord(value) ? value : undefined });
    }
  }
  return units;
}
