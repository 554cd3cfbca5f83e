/** promote: prove staging's images, then move those exact digests on — deploy, registry retag or GitOps commit. */
import { copyImage, type RegistryCopyResult, splitReference } from '@kubeline/docker';
import { promoteByCommit, type PromoteResult as GitopsResult } from '@kubeline/gitops';
import { parseImage } from '@kubeline/k8s';
import { deploy, type DeployCluster, deployFailure, type DeployOutcome, ReleaseStore } from '@kubeline/kube';
import type { RenderTools } from '@kubeline/manifests';
import { ConfigurationError, ExternalError, log, StepFailure } from '@kubeline/toolkit';
import type { PromoteSettings } from './inputs';
import { checkGivenBundle, renderProduction } from './production-bundle';
import { digestOf, type Proof, proveStaging, Refusal, type StagingRelease } from './proof';

export type PromoteStatus = 'promoted' | 'unchanged' | 'refused' | 'failed' | 'paused' | 'aborted';

export interface PromoteOutcome {
  status: PromoteStatus;
  proof?: Proof;
  /** The images promoted (after a retag: at their new place), each by digest. */
  images: string[];
  /** Why promote refused or failed. */
  failure?: string;
  retagged: RegistryCopyResult[];
  deploy?: DeployOutcome;
  gitops: GitopsResult[];
}

export interface PromoteDeps {
  staging: StagingRelease;
  /** Production, for mode deploy. */
  production?: DeployCluster;
  tools: RenderTools;
}

export interface PromoteContext {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/**
 * Promotes: proves the images in staging (or refuses, naming what staging runs), copies them to
 * `to-images` when given, then deploys them to production, or commits them to the environment
 * repository. Never rebuilds. A refusal, a failed deploy, or an outside failure on the way (the
 * production lock held, a registry or git error, a cancellation) ends the outcome with its reason;
 * the caller turns it into the step's verdict after writing outputs and the summary.
 */
export async function promote(settings: PromoteSettings, deps: PromoteDeps, context: PromoteContext = {}): Promise<PromoteOutcome> {
  const env = context.env ?? process.env;
  const outcome: PromoteOutcome = { status: 'failed', images: [], retagged: [], gitops: [] };
  // Outputs and the summary are written for every ending the user can act on: a refusal (not
  // proven), or a failure on the way (lock held, registry or git refused, render invalid,
  // cancelled). Bad input (ConfigurationError) and bugs still end the step at once.
  const ended = (err: unknown): PromoteOutcome => {
    if (err instanceof Refusal) return { ...outcome, status: 'refused', failure: err.message };
    if (err instanceof StepFailure || err instanceof ExternalError) return { ...outcome, status: 'failed', failure: err.message };
    throw err;
  };
  const cancelled = (what: string): PromoteOutcome | undefined =>
    context.signal?.aborted ? { ...outcome, status: 'failed', failure: `cancelled ${what}.` } : undefined;
  const gradual = settings.mode === 'deploy' ? settings.deploy?.gradual : undefined;
  if (gradual && (gradual.resume || gradual.abort)) {
    // The paused production rollout was proven when it started; its bundle and proof are in its release record.
    try {
      outcome.deploy = await deploy({ ...settings.deploy!, manifests: '' }, deps.production!, { signal: context.signal, env });
    } catch (err) {
      return ended(err);
    }
    return deployEnded(outcome, outcome.deploy);
  }
  try {
    outcome.proof = await proveStaging(deps.staging, {
      soakMs: settings.soakMs,
      images: settings.images.length ? settings.images.map((i) => i.reference) : undefined,
      requireProven: settings.requireProven,
      signal: context.signal,
      now: context.now,
    });
  } catch (err) {
    return ended(err);
  }
  const proof = outcome.proof;
  log.info(`Proven in staging (${proof.staging.namespace}/${proof.staging.release} revision ${proof.staging.revision}): ${proof.images.join(', ')}.`);
  outcome.images = proof.images;
  const early = cancelled('after the proof; nothing was promoted');
  if (early) return early;

  if (settings.toImages.length) {
    try {
      await retag(settings, proof.images, outcome.retagged);
    } catch (err) {
      return ended(err);
    }
    outcome.images = outcome.retagged.map((r) => `${repositoryOf(r.targets[0].ref)}@${r.digest}`);
    if (settings.mode !== 'registry') {
      const late = cancelled(`after the retag to ${outcome.retagged.flatMap((r) => r.targets.map((t) => t.ref)).join(', ')}; nothing was ${settings.mode === 'deploy' ? 'deployed' : 'committed'}`);
      if (late) return late;
    }
  }

  if (settings.mode === 'deploy') {
    try {
      outcome.deploy = await deployProduction(settings, deps, outcome.images, proof, context.signal, env);
    } catch (err) {
      return ended(err);
    }
    return deployEnded(outcome, outcome.deploy);
  }
  if (settings.mode === 'gitops') {
    try {
      await commitToRepository(settings, outcome.images, proof, env, outcome.gitops);
    } catch (err) {
      return ended(err);
    }
    return { ...outcome, status: outcome.gitops.some((g) => g.changed) ? 'promoted' : 'unchanged' };
  }
  return { ...outcome, status: 'promoted' };
}

/** promote's status after its production deploy: paused at a gate, aborted, failed or promoted. */
function deployEnded(outcome: PromoteOutcome, result: DeployOutcome): PromoteOutcome {
  const failure = deployFailure(result);
  const status: PromoteStatus = failure ? 'failed' : result.status === 'paused' ? 'paused' : result.status === 'aborted' ? 'aborted' : 'promoted';
  return { ...outcome, status, failure, images: result.images.length ? result.images : outcome.images };
}

/** `registry/repo:tag` or `registry/repo@sha256:…` → `registry/repo`. */
const repositoryOf = (ref: string): string => parseImage(ref).name;

/** Which targets each proven image goes to: `name=target` lines by repository name, bare lines when there is one image. */
function targetsFor(settings: PromoteSettings, images: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>(images.map((i) => [i, []]));
  for (const { name, target } of settings.toImages) {
    const image = name ? images.find((i) => repositoryOf(i) === name || repositoryOf(i).endsWith(`/${name}`)) : images.length === 1 ? images[0] : undefined;
    if (!image) {
      throw new ConfigurationError(
        name
          ? `"${name}=${target}": no proven image is named ${name}; the proven images are ${images.join(', ')}.`
          : `"${target}": ${images.length} images were proven (${images.join(', ')}); say which goes where with name=target lines.`,
        'to-images',
      );
    }
    out.get(image)!.push(target);
  }
  return out;
}

/** Copies each proven image to its targets; `results` grows as each lands, so a later failure still reports the earlier copies. */
async function retag(settings: PromoteSettings, images: readonly string[], results: RegistryCopyResult[]): Promise<void> {
  const { username, password, fromUsername, fromPassword } = settings.registry;
  for (const [image, targets] of targetsFor(settings, images)) {
    if (!targets.length) continue;
    const sourceRegistry = splitReference(image).registry;
    const result = await copyImage(image, targets, {
      credentials: (registry, role) => {
        if (role === 'source' && fromUsername) return { username: fromUsername, password: fromPassword };
        if (username && (role === 'target' || registry === sourceRegistry)) return { username, password };
        return undefined;
      },
    });
    for (const t of result.targets) log.info(`${image} → ${t.ref}: ${t.mounted} blob(s) mounted, ${t.copied} copied, ${t.skipped} already there; ${t.bytes} bytes sent.`);
    results.push(result);
  }
}

async function deployProduction(settings: PromoteSettings, deps: PromoteDeps, images: string[], proof: Proof, signal: AbortSignal | undefined, env: NodeJS.ProcessEnv): Promise<DeployOutcome> {
  if (!deps.production || !settings.deploy) throw new Error('mode deploy needs the production cluster and deploy settings');
  let manifests: string;
  if (settings.render) {
    const staging = new ReleaseStore(deps.staging.client, deps.staging.namespace, deps.staging.release);
    const stagingBundle = proof.staging.revision ? await staging.bundle(proof.staging.revision) : [];
    manifests = await renderProduction(settings.render, deps.tools, stagingBundle, images);
  } else {
    manifests = await checkGivenBundle(settings.deploy.manifests, images);
  }
  return deploy({ ...settings.deploy, manifests }, deps.production, { signal, env, proof: proof as unknown as Record<string, unknown> });
}

/** Commits each proven digest; `results` grows as each lands, so a later failure still reports the earlier commits. */
async function commitToRepository(settings: PromoteSettings, images: readonly string[], proof: Proof, env: NodeJS.ProcessEnv, results: GitopsResult[]): Promise<void> {
  const g = settings.gitops!;
  const runUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
  if (g.imageName && images.length > 1) {
    throw new ConfigurationError(`names one image, but ${images.length} were proven (${images.join(', ')}); promote them one per step, each with its images: line.`, 'image-name');
  }
  for (const image of images) {
    const repository = repositoryOf(image);
    const change =
      g.change === 'kustomize-image'
        ? ({ kind: 'kustomize-image', name: g.imageName || repository } as const)
        : g.change === 'helm-value'
          ? ({ kind: 'helm-value', key: g.valuesKey } as const)
          : ({ kind: 'container-image', repository: g.imageName || repository } as const);
    const result = await promoteByCommit({
      repository: g.repository,
      branch: g.branch,
      token: g.token || undefined,
      file: g.file,
      change,
      digest: digestOf(image)!,
      environment: g.environment || undefined,
      stagingRevision: `${proof.staging.namespace}/${proof.staging.release} revision ${proof.staging.revision}${proof.staging.commit ? ` (commit ${proof.staging.commit})` : ''}`,
      runUrl,
      push: g.pullRequest ? 'pull-request' : 'direct',
    });
    results.push(result);
  }
}
