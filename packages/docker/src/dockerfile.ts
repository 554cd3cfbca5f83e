/** Dockerfile reading: stages, instructions, the default test stage, and BuildKit steps mapped back to lines. */
import { ConfigurationError } from '@kubeline/toolkit';

export interface DockerfileStage {
  /** `AS` name, or the stage's index as a string when unnamed. */
  name: string;
  index: number;
  base: string;
  line: number;
}

export interface DockerfileInstruction {
  keyword: string;
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
  stage: number;
}

export interface Dockerfile {
  stages: DockerfileStage[];
  instructions: DockerfileInstruction[];
}

/**
 * Reads the stages and instructions of a Dockerfile (line continuations,
 * comments, parser directives and heredoc bodies are handled well enough to
 * map BuildKit's steps back to lines).
 */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split(/\r?\n/);
  const stages: DockerfileStage[] = [];
  const instructions: DockerfileInstruction[] = [];
  let escape = '\\';
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const directive = /^#\s*escape\s*=\s*(\S)/i.exec(raw);
    if (directive && instructions.length === 0) escape = directive[1];
    if (/^\s*(#|$)/.test(raw)) continue;
    const start = i;
    let joined = raw;
    while (joined.trimEnd().endsWith(escape) && i + 1 < lines.length) {
      joined = joined.trimEnd().slice(0, -1) + ' ';
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      joined += lines[i];
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(joined);
    if (!m) continue;
    const keyword = m[1].toUpperCase();
    const args = m[2].trim();
    const heredoc = /<<-?["']?([A-Za-z_]+)["']?/.exec(args);
    if (heredoc && keyword !== 'FROM') {
      // Skip the heredoc body so its lines are not read as instructions.
      while (i + 1 < lines.length && lines[i + 1].trim() !== heredoc[1]) i++;
      i++;
    }
    if (keyword === 'FROM') {
      const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
      const as = parts.findIndex((p) => p.toLowerCase() === 'as');
      const index = stages.length;
      stages.push({ name: as >= 0 && parts[as + 1] ? parts[as + 1] : String(index), index, base: parts[0] ?? '', line: start + 1 });
    }
    instructions.push({ keyword, args, line: start + 1, stage: Math.max(0, stages.length - 1) });
  }
  return { stages, instructions };
}

/** Default test target: a stage named `test`, else `build`. */
export function defaultTestTarget(df: Dockerfile, file: string): string {
  for (const wanted of ['test', 'build']) {
    if (df.stages.some((s) => s.name.toLowerCase() === wanted)) return df.stages.find((s) => s.name.toLowerCase() === wanted)!.name;
  }
  throw new ConfigurationError(
    `${file} has no stage named 'test' or 'build' (stages: ${stageList(df)}). Set 'target' to the stage that holds the tests.`,
    'target',
  );
}

export function requireStage(df: Dockerfile, target: string, file: string): DockerfileStage {
  const stage = df.stages.find((s) => s.name.toLowerCase() === target.toLowerCase());
  if (!stage) {
    throw new ConfigurationError(`stage '${target}' is not in ${file}. Stages there: ${stageList(df)}.`, 'target');
  }
  return stage;
}

function stageList(df: Dockerfile): string {
  return df.stages.length ? df.stages.map((s) => s.name).join(', ') : '(none: no FROM line)';
}

/**
 * Finds the Dockerfile line of a BuildKit step such as `[test 3/4] RUN make`.
 * Falls back to undefined when the text cannot be matched.
 */
export function lineOfStep(df: Dockerfile, stepText: string): number | undefined {
  const m = /^\[(?:(\S+)\s+)?\d+\/\d+\]\s+([A-Z]+)\s+(.*)$/.exec(stepText.trim());
  if (!m) return undefined;
  const [, stageName, keyword, args] = m;
  const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
  const stage = stageName ? df.stages.find((s) => s.name === stageName) : undefined;
  const candidates = df.instructions.filter(
    (ins) => ins.keyword === keyword && (stage === undefined || ins.stage === stage.index),
  );
  return (candidates.find((c) => norm(c.args) === norm(args)) ?? candidates.find((c) => norm(args).startsWith(norm(c.args).slice(0, 20))))?.line;
}
