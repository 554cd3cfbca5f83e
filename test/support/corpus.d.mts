// Types of bench/corpus.mjs, for the TypeScript tests that import it.

/** One mistake seeded in the corpus. Paths are relative to the corpus folder. */
export interface SeededMistake {
  file: string;
  /** 0-based index of the YAML document in the file. */
  doc: number;
  /** 0-based index of the item, for objects inside a `kind: List` document. */
  item?: number;
  /** First and last line (1-based) of the document, its `---` line included. */
  lines: [number, number];
  kind: string;
  namespace?: string;
  name: string;
  category: string;
  /** Whether kubeconform -strict with the built-in schemas can catch it. */
  kubeconform: boolean;
  /** The field at fault (object-level mistakes). */
  path?: string;
  what: string;
}

export interface CorpusManifest {
  generator: string;
  seed: string;
  invalidRate: number;
  objects: number;
  /** Folder of the YAML and JSON files, inside the corpus folder. */
  root: string;
  files: number;
  bytes: number;
  bySection: Record<string, number>;
  byKind: Record<string, number>;
  helm: { chart: string; renders: number; releases: number };
  crdFiles: string[];
  mistakes: SeededMistake[];
  mistakeCounts: Record<string, number>;
}

export interface CorpusOptions {
  /** Objects to write (List items count one each); default 12,000. */
  objects?: number;
  seed?: string | number;
  /** Share of the objects that get a mistake; default 0.05. */
  invalidRate?: number;
  /** The helm binary; default from PATH, $KUBELINE_HELM or the test bed. */
  helm?: string;
}

export function generateCorpus(dir: string, options?: CorpusOptions): CorpusManifest;
export function findHelm(): string | undefined;
