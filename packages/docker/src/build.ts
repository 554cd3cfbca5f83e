/** BuildKit builds of one Dockerfile stage: checks before the work, secrets as files, failures as annotations. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigurationError, ExternalError, annotate, displayPath, log } from '@kubeline/toolkit';
import { type Builder, DockerCli } from './docker';
import { type Dockerfile, type DockerfileStage, lineOfStep, parseDockerfile, requireStage } from './dockerfile';

/** What both build actions take from their inputs. */
export interface BuildSettings {
  context: string;
  /** Empty means `<context>/Dockerfile`. */
  file: string;
  /** Empty means the action's default stage. */
  target: string;
  buildArgs: Array<[string, string]>;
  secrets: Array<[string, string]>;
  labels: Array<[string, string]>;
  cacheFrom: string[];
  cacheTo: string[];
  noCache: boolean;
  platform: string;
}

export interface BuildOutcome {
  imageId: string;
  target: string;
  stages: string[];
  builder: Builder;
  /** Steps BuildKit took from its cache / ran, from the plain progress log. */
  cachedSteps: number;
  ranSteps: number;
  /** With push by digest: the manifest digest buildx pushed. */
  pushedDigest?: string;
}

export interface LoadedDockerfile {
  file: string;
  dockerfile: Dockerfile;
}

/** Checks paths and reads the Dockerfile before any work starts. */
export function loadDockerfile(settings: BuildSettings): LoadedDockerfile {
  const context = resolve(settings.context);
  if (!isDir(context)) {
    throw new ConfigurationError(`folder '${settings.context}' does not exist. Point 'context' at the folder to build.`, 'context');
  }
  const file = settings.file ? resolve(settings.file) : join(context, 'Dockerfile');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigurationError(
      `no Dockerfile at '${displayPath(file)}'. Set 'file' to the Dockerfile's path, or 'context' to the folder that holds it.`,
      'file',
    );
  }
  const dockerfile = parseDockerfile(text);
  if (dockerfile.stages.length === 0) throw new ConfigurationError(`'${displayPath(file)}' has no FROM line.`, 'file');
  for (const [id] of settings.secrets) {
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new ConfigurationError(`secret id '${id}' may hold only letters, digits, '_', '.' and '-'.`, 'secrets');
  }
  return { file, dockerfile };
}

/**
 * Builds one stage with BuildKit and loads it into the engine. Secrets go to
 * BuildKit as 0600 files in a private folder that is removed afterwards, so
 * they never reach argv, layers or logs. Build failures become annotations on
 * the Dockerfile line BuildKit names.
 */
export async function buildStage(
  docker: DockerCli,
  settings: BuildSettings,
  { file, dockerfile }: LoadedDockerfile,
  stage: DockerfileStage,
  tags: string[],
  extraLabels: Record<string, string> = {},
  pushByDigest?: string[],
): Promise<BuildOutcome> {
  const builder = await docker.builder();
  log.info(
    builder === 'buildx'
      ? 'Building with docker buildx build.'
      : 'Building with DOCKER_BUILDKIT=1 docker build (no buildx plugin; the engine runs BuildKit).',
  );
  const work = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'kubeline-build-'));
  try {
    const secretFiles: Array<[string, string]> = settings.secrets.map(([id, value], i) => {
      log.mask(value);
      const path = join(work, `secret-${i}`);
      writeFileSync(path, value, { mode: 0o600 });
      return [id, path];
    });
    const iidFile = join(work, 'iid');
    const metadataFile = join(work, 'metadata.json');
    const result = await docker.build(
      {
        context: resolve(settings.context),
        file,
        // An unnamed last stage is what a plain build produces anyway.
        target: stage.name === String(stage.index) ? undefined : stage.name,
        buildArgs: settings.buildArgs,
        secretFiles,
        labels: { ...Object.fromEntries(settings.labels), ...extraLabels },
        tags,
        cacheFrom: settings.cacheFrom,
        cacheTo: settings.cacheTo,
        noCache: settings.noCache,
        platform: settings.platform || undefined,
        iidFile,
        pushByDigest: pushByDigest ? { repositories: pushByDigest, metadataFile } : undefined,
      },
      { group: `Build stage '${stage.name}' of ${displayPath(file)}` },
    );
    const progress = result.stderr + result.stdout;
    if (result.exitCode !== 0) {
      const failure = explainBuildFailure(progress, dockerfile);
      annotate('error', failure.message, { file: displayPath(file), line: failure.line, title: 'Docker build failed' });
      // The full log is already in the group above; the message carries the cause.
      throw new ExternalError(`building stage '${stage.name}' failed: ${failure.message}`);
    }
    const imageId = readFileSync(iidFile, 'utf8').trim();
    const counts = countSteps(progress);
    const pushedDigest = pushByDigest
      ? (JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, string>)['containerimage.digest']
      : undefined;
    return { imageId, target: stage.name, stages: dockerfile.stages.map((s) => s.name), builder, pushedDigest, ...counts };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The stage to build, checked before any work: it exists and can be targeted. */
export function chooseStage({ file, dockerfile }: LoadedDockerfile, target: string): DockerfileStage {
  const stage = requireStage(dockerfile, target, displayPath(file));
  const isLast = stage.index === dockerfile.stages.length - 1;
  if (stage.name === String(stage.index) && !isLast) {
    throw new ConfigurationError(`stage ${stage.index} of ${displayPath(file)} has no name, so it cannot be built on its own. Name it (FROM … AS <name>).`, 'target');
  }
  return stage;
}

/** The failing Dockerfile line and BuildKit's reason, from a plain progress log. */
export function explainBuildFailure(progress: string, dockerfile: Dockerfile): { message: string; line?: number } {
  const lines = progress.split('\n');
  const reason =
    [...lines].reverse().find((l) => /^(ERROR|error):/.test(l.trim()) || /failed to solve/.test(l))?.trim() ??
    lines.filter((l) => l.trim()).slice(-1)[0]?.trim() ??
    'unknown error';
  const message = reason.replace(/^(ERROR|error):\s*/, '');
  // Newer BuildKit prints "Dockerfile:12" above an excerpt.
  const pointed = /^\s*(?:\S*Dockerfile\S*):(\d+)\s*$/m.exec(progress);
  if (pointed) return { message, line: Number(pointed[1]) };
  // Otherwise find the step that failed ("#8 ERROR: ...") and its header ("#8 [test 2/3] RUN ...").
  const failed = /^#(\d+) ERROR:/m.exec(progress);
  if (failed) {
    const header = new RegExp(`^#${failed[1]} (\\[.*)$`, 'm').exec(progress);
    if (header) return { message, line: lineOfStep(dockerfile, header[1]) };
  }
  return { message };
}

function countSteps(progress: string): { cachedSteps: number; ranSteps: number } {
  const cached = new Set<string>();
  const ran = new Set<string>();
  for (const m of progress.matchAll(/^#(\d+) CACHED/gm)) cached.add(m[1]);
  for (const m of progress.matchAll(/^#(\d+) \[[^\]]*\] (RUN|COPY|ADD)/gm)) ran.add(m[1]);
  for (const id of cached) ran.delete(id);
  return { cachedSteps: cached.size, ranSteps: ran.size };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
