/** build-test-image's work: build the Dockerfile's test stage into a local image for run-tests. */
import { basename, resolve } from 'node:path';
import { ConfigurationError, type RunContext, log, table } from '@kubeline/toolkit';
import { type BuildOutcome, type BuildSettings, buildStage, chooseStage, loadDockerfile } from './build';
import { defaultTestTarget } from './dockerfile';
import { DockerCli } from './docker';

export interface TestImageOutcome extends BuildOutcome {
  /** The local reference run-tests takes. */
  image: string;
}

/** Name for the test image when the user gives none: local, per commit. */
function defaultTestImageName(context: string, run: RunContext): string {
  const name = basename(resolve(context)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'app';
  const tag = (run.commitSha || 'local').slice(0, 12);
  return `kubeline-test/${name}:${tag}`;
}

/** Builds the test stage of a multi-stage Dockerfile and loads it into the engine. */
export async function buildTestImage(
  docker: DockerCli,
  settings: BuildSettings,
  image: string,
  run: RunContext,
): Promise<TestImageOutcome> {
  const loaded = loadDockerfile(settings);
  const name = image || defaultTestImageName(settings.context, run);
  if (!/^[a-z0-9]+([._/:-][a-z0-9]+)*(:[\w][\w.-]{0,127})?$/.test(name.replace(/^[^/]+:\d+\//, 'x/'))) {
    throw new ConfigurationError(`'${name}' is not a valid image name (lowercase letters, digits, '.', '_', '-', '/', optional ':tag').`, 'image');
  }
  const stage = chooseStage(loaded, settings.target || defaultTestTarget(loaded.dockerfile, loaded.file));
  const outcome = await buildStage(docker, settings, loaded, stage, [name], run.commitSha ? { 'org.opencontainers.image.revision': run.commitSha } : {});
  log.info(`Test image ${name} (${outcome.imageId}) built from stage '${outcome.target}'.`);
  return { ...outcome, image: name };
}

export function testImageSummary(o: TestImageOutcome): string {
  return (
    `### build-test-image\n\n` +
    table(
      ['Image', 'Stage', 'Builder', 'Steps from cache', 'Steps run'],
      [[`\`${o.image}\``, o.target, o.builder === 'buildx' ? 'docker buildx build' : 'DOCKER_BUILDKIT=1 docker build', o.cachedSteps, o.ranSteps]],
    )
  );
}
