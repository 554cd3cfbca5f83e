/** push-image's work: build the final stage, tag it by the rules, push every tag with retries, and verify the digests. */
import { ConfigurationError, ExternalError, type RunContext, isTransientMessage, log, tail, table, withRetries } from '@kubeline/toolkit';
import { type BuildOutcome, type BuildSettings, type LoadedDockerfile, buildStage, chooseStage, loadDockerfile } from './build';
import type { DockerfileStage } from './dockerfile';
import { DockerCli, digestFromPushOutput } from './docker';
import { type LoginSettings, dockerConfigCredentials, login } from './login';
import { type ImageMetadata, computeMetadata } from './tags';
import { RegistryClient, type RegistryCredentials, RegistryHttpError, splitReference } from './registry';

export interface PushSettings {
  build: BuildSettings;
  images: string[];
  tags: string;
  flavor: string;
  shaLength: number;
  push: boolean;
  /** Push by digest only, no tag (promotion flows); needs buildx. */
  pushByDigest: boolean;
  login?: LoginSettings;
  /** Attempts after the first for each push. */
  retries: number;
}

export interface PushedRef {
  ref: string;
  digest: string;
}

export interface PushOutcome {
  build: BuildOutcome;
  metadata: ImageMetadata;
  digest: string;
  imageRef: string;
  pushed: PushedRef[];
}

/**
 * Builds the final stage (reusing the test build's cache), tags it with the
 * metadata rules, pushes every tag with bounded retries, and proves the push
 * by resolving each tag on its registry to the same digest.
 */
export async function pushImage(docker: DockerCli, settings: PushSettings, context: RunContext): Promise<PushOutcome> {
  const metadata = computeMetadata({
    images: settings.images,
    tags: settings.tags,
    flavor: settings.flavor,
    shaLength: settings.shaLength,
    labels: settings.build.labels.map(([k, v]) => `${k}=${v}`),
    context,
  });
  // The commit's date, not the clock's: the same commit builds the same image
  // config, so a rerun pushes the same digest.
  metadata.labels['org.opencontainers.image.created'] = context.commitDate.toISOString();
  metadata.annotations['org.opencontainers.image.created'] = context.commitDate.toISOString();
  const loaded = loadDockerfile(settings.build);
  if (settings.push && !settings.pushByDigest && metadata.tags.length === 0) {
    throw new ConfigurationError('no tag rule is enabled for this event, so there is nothing to push. Add a rule such as type=sha.', 'tags');
  }
  const stages = loaded.dockerfile.stages;
  const stage = chooseStage(loaded, settings.build.target || stages[stages.length - 1].name);
  if (settings.pushByDigest) await requireDigestPush(docker);
  if (settings.login) await login(docker, settings.login);

  if (settings.pushByDigest) return pushByDigest(docker, settings, loaded, stage, metadata);
  const build = await buildStage(docker, settings.build, loaded, stage, metadata.tags, metadata.labels);
  log.info(`Built ${build.imageId} from stage '${build.target}': ${build.cachedSteps} steps from cache, ${build.ranSteps} run.`);
  if (!settings.push) {
    return { build, metadata, digest: '', imageRef: metadata.tags[0] ?? build.imageId, pushed: [] };
  }

  const clients = registryClients(settings.login);
  for (const registry of new Set(metadata.tags.map((ref) => splitReference(ref).registry))) {
    await clients(registry).waitUntilUp(settings.retries);
  }
  const pushed: PushedRef[] = [];
  for (const ref of metadata.tags) {
    const digest = await pushWithRetries(docker, ref, settings, clients(splitReference(ref).registry));
    pushed.push({ ref, digest });
  }
  const digests = new Set(pushed.map((p) => p.digest));
  if (digests.size !== 1) {
    throw new ExternalError(`the pushed tags point at different digests: ${pushed.map((p) => `${p.ref} → ${p.digest}`).join(', ')}`);
  }
  const digest = pushed[0].digest;
  await verifyPushed(pushed, clients);
  const first = splitReference(pushed[0].ref);
  const imageRef = `${pushed[0].ref.slice(0, pushed[0].ref.length - first.reference.length - 1)}@${digest}`;
  return { build, metadata, digest, imageRef, pushed };
}

/**
 * Pushes from the build itself, by digest, with no tag: buildx's
 * push-by-digest output. The build is cached, so a retry only pushes again.
 */
async function pushByDigest(
  docker: DockerCli,
  settings: PushSettings,
  loaded: LoadedDockerfile,
  stage: DockerfileStage,
  metadata: ImageMetadata,
): Promise<PushOutcome> {
  const repositories = settings.images.map((i) => i.toLowerCase());
  const clients = registryClients(settings.login);
  for (const registry of new Set(repositories.map((repo) => splitReference(repo).registry))) {
    await clients(registry).waitUntilUp(settings.retries);
  }
  const build = await withRetries(
    // A failed push inside the build surfaces as the build's error message.
    () => buildStage(docker, settings.build, loaded, stage, [], metadata.labels, repositories),
    {
      what: `push by digest to ${repositories.join(', ')}`,
      retries: settings.retries,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      isRetryable: (err) => err instanceof ExternalError && isTransientMessage(err.message),
    },
  );
  const digest = build.pushedDigest;
  if (!digest) throw new ExternalError('buildx pushed but reported no digest');
  const pushed = repositories.map((repo) => ({ ref: `${repo}@${digest}`, digest }));
  await verifyPushed(pushed, clients);
  return { build, metadata: { ...metadata, tags: [], tagNames: [] }, digest, imageRef: pushed[0].ref, pushed };
}

/** Push by digest needs buildx with a builder that can do it: checked before any work. */
async function requireDigestPush(docker: DockerCli): Promise<void> {
  if ((await docker.builder()) !== 'buildx') {
    throw new ConfigurationError(
      'needs docker buildx (GitHub-hosted runners have it): the classic builder can only push tags. Install the buildx plugin, or push with tags.',
      'push-by-digest',
    );
  }
  const driver = await docker.buildxDriver();
  if (driver === 'docker') {
    throw new ConfigurationError(
      "needs a buildx builder with the docker-container driver; the current builder uses the docker driver, which cannot push by digest. Add docker/setup-buildx-action before this step.",
      'push-by-digest',
    );
  }
}

async function pushWithRetries(docker: DockerCli, ref: string, settings: PushSettings, client: RegistryClient): Promise<string> {
  const { registry } = client;
  return withRetries(
    async (attempt) => {
      const result = await docker.push(ref, { group: `Push ${ref}${attempt ? ` (attempt ${attempt + 1})` : ''}` });
      const output = result.stdout + result.stderr;
      if (result.exitCode !== 0) {
        if (/unauthorized|authentication required|no basic auth credentials|denied/i.test(output)) {
          throw new ConfigurationError(
            `${registry} refused the push of ${ref} (${tail(result.stderr, 1).trim()}). Give 'username' and 'password' for ${registry}, with permission to push to it.`,
            'password',
          );
        }
        throw new ExternalError(`push of ${ref} failed`, tail(output, 5));
      }
      const digest = digestFromPushOutput(output);
      if (!digest) throw new ExternalError(`push of ${ref} reported no digest`, tail(output, 5));
      return digest;
    },
    {
      what: `push of ${ref}`,
      retries: settings.retries,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      isRetryable: (err) => err instanceof ExternalError && isTransientMessage(err.detail),
      // The engine hides the registry's headers; ask the registry itself how long to wait.
      retryAfterMs: async () => (await client.ping().catch(() => undefined))?.retryAfterMs,
    },
  );
}

/** The login input's credentials for that registry, else what the docker config holds for it. */
function credentialsFor(registry: string, loginSettings?: LoginSettings): RegistryCredentials | undefined {
  return loginSettings && loginSettings.registry === registry
    ? { username: loginSettings.username, password: loginSettings.password }
    : dockerConfigCredentials(registry);
}

/** One registry client per registry, with the credentials that belong to it. */
function registryClients(loginSettings?: LoginSettings): (registry: string) => RegistryClient {
  const clients = new Map<string, RegistryClient>();
  return (registry) => {
    let client = clients.get(registry);
    if (!client) clients.set(registry, (client = new RegistryClient(registry, credentialsFor(registry, loginSettings))));
    return client;
  };
}

/** Every tag must resolve on its registry to the digest we pushed: a partial push is a failure. */
async function verifyPushed(pushed: PushedRef[], clients: (registry: string) => RegistryClient): Promise<void> {
  const wrong: string[] = [];
  for (const { ref, digest } of pushed) {
    const { registry, repository, reference } = splitReference(ref);
    const found = await clients(registry)
      .resolve(repository, reference)
      .catch((err: unknown) => {
        if (err instanceof RegistryHttpError && (err.status === 401 || err.status === 403)) {
          throw new ConfigurationError(`${registry} would not let us read back ${ref} to verify the push (${err.status}). Give 'username' and 'password' for ${registry}.`, 'password');
        }
        throw err;
      });
    if (found !== digest) wrong.push(`${ref} resolves to ${found ?? 'nothing'}, expected ${digest}`);
  }
  if (wrong.length) throw new ExternalError(`the registry does not hold what was pushed: ${wrong.join('; ')}`);
}

export function pushSummary(outcome: PushOutcome): string {
  const rows = outcome.pushed.map((p) => [`\`${p.ref}\``, `\`${p.digest}\``]);
  return (
    `### push-image\n\nBuilt stage \`${outcome.build.target}\` with ${outcome.build.builder === 'buildx' ? 'docker buildx' : 'docker build (BuildKit)'}: ` +
    `${outcome.build.cachedSteps} steps from cache, ${outcome.build.ranSteps} run.\n\n` +
    (rows.length ? table(['Pushed', 'Digest'], rows) + `\nImmutable reference: \`${outcome.imageRef}\`\n` : 'Not pushed (`push: false`); loaded into the engine.\n')
  );
}
