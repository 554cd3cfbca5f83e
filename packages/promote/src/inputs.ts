/** promote's inputs: where the proof comes from, the mode, and each mode's settings, checked before any work. */
import { DEPLOY_RENAMED, type DeploySettings, readDeploySettings, readGradualSettings } from '@kubeline/kube';
import { type ManifestSettings, readManifestSettings } from '@kubeline/manifests';
import { ConfigurationError, envInputs, Inputs, type InputSource, parseDuration } from '@kubeline/toolkit';
import { digestOf } from './proof';

export const MODES = ['deploy', 'registry', 'gitops'] as const;
export type PromoteMode = (typeof MODES)[number];

export const CHANGES = ['kustomize-image', 'helm-value', 'container-image'] as const;
export type GitopsChange = (typeof CHANGES)[number];

export interface PromoteSettings {
  readonly mode: PromoteMode;
  /** The cluster promote deploys to (mode deploy), and where staging is unless `from-kubeconfig` says otherwise. */
  readonly cluster: { readonly kubeconfig: string; readonly context: string };
  readonly from: {
    readonly namespace: string;
    readonly release: string;
    /** Empty: the same cluster as `kubeconfig` / `kube-context`. */
    readonly kubeconfig: string;
    readonly context: string;
  };
  readonly soakMs: number;
  /** `name=ref@sha256:…` or `ref@sha256:…` lines: the digests to promote, instead of staging's latest. */
  readonly images: readonly { name?: string; reference: string }[];
  readonly requireProven: boolean;
  /** registry: targets to copy each proven image to (`registry/repo:tag`), optionally `name=target`. */
  readonly toImages: readonly { name?: string; target: string }[];
  readonly registry: { readonly username: string; readonly password: string; readonly fromUsername: string; readonly fromPassword: string };
  /** deploy: the rendered bundle given, or the render settings to make it (production manifests). */
  readonly render?: ManifestSettings;
  /** deploy: deploy's own settings; `manifests` is the bundle promote renders when `path` is given. */
  readonly deploy?: DeploySettings;
  readonly gitops?: {
    readonly repository: string;
    readonly branch: string;
    readonly token: string;
    readonly file: string;
    readonly change: GitopsChange;
    /** kustomize-image: the `images:` entry name; container-image: the repository to match. Default: each image's repository. */
    readonly imageName: string;
    /** helm-value: the key path (default `image.digest`). */
    readonly valuesKey: string;
    readonly pullRequest: boolean;
    readonly environment: string;
  };
}

/** Marks "not given" for deploy's required `manifests` while promote renders the bundle itself. */
const RENDERED_LATER = '.kubeline-promote-rendered.yaml';

/** `0`, `0s` or a duration. */
function parseSoak(value: string): number {
  return /^0+(\.0+)?(ms|s|m|h)?$/.test(value) ? 0 : parseDuration(value, 'soak');
}

function digestLines(inputs: Inputs): { name?: string; reference: string }[] {
  return inputs.list('images', { commas: false }).map((line) => {
    const eq = line.indexOf('=');
    const [name, reference] = eq > 0 ? [line.slice(0, eq).trim(), line.slice(eq + 1).trim()] : [undefined, line];
    if (!digestOf(reference)) throw new ConfigurationError(`"${line}" has no digest: promote moves exact images, so give ref@sha256:… (push-image's image-ref output).`, 'images');
    return { name, reference };
  });
}

function targetLines(inputs: Inputs): { name?: string; target: string }[] {
  return inputs.list('to-images', { commas: false }).map((line) => {
    const eq = line.indexOf('=');
    const [name, target] = eq > 0 ? [line.slice(0, eq).trim(), line.slice(eq + 1).trim()] : [undefined, line];
    if (!target.includes('/')) throw new ConfigurationError(`"${line}" is not an image reference; write registry/repository:tag (e.g. registry.example.com/prod/app:production).`, 'to-images');
    return { name, target };
  });
}

/**
 * promote's inputs. `source` is how inputs are read (INPUT_* variables on a runner); `workerEntry`
 * is the bundle that parses big production renders on worker threads.
 */
export function readPromoteSettings(source: InputSource = envInputs, env: NodeJS.ProcessEnv = process.env, workerEntry?: string): PromoteSettings {
  const inputs = new Inputs(source);
  const mode = inputs.choice('mode', MODES, 'deploy');
  const release = inputs.string('release');
  const fromRelease = inputs.string('from-release', release);
  if (!fromRelease) throw new ConfigurationError('is required: name the staging release whose images to promote (or set release, when it has the same name).', 'from-release');
  const named = inputs.withRenamed(DEPLOY_RENAMED);
  const settings = {
    mode,
    cluster: { kubeconfig: inputs.string('kubeconfig'), context: named.string('kube-context') },
    from: {
      namespace: inputs.required('from-namespace', 'Name the staging namespace the release was deployed to.'),
      release: fromRelease,
      kubeconfig: inputs.string('from-kubeconfig'),
      context: inputs.string('from-context'),
    },
    soakMs: parseSoak(inputs.string('soak', '0s')),
    images: digestLines(inputs),
    requireProven: inputs.boolean('require-proven', true),
    toImages: targetLines(inputs),
    registry: {
      username: inputs.string('username'),
      password: inputs.string('password'),
      fromUsername: inputs.string('from-username'),
      fromPassword: inputs.string('from-password'),
    },
  };
  if (mode === 'registry' && settings.toImages.length === 0) {
    throw new ConfigurationError('is required with mode: registry: list the references to copy the image to, e.g. registry.example.com/prod/app:production.', 'to-images');
  }
  if (mode === 'deploy') {
    if (!release) throw new ConfigurationError('is required with mode: deploy: the production release to deploy (deploy records it under this name).', 'release');
    const given = inputs.string('manifests');
    const path = inputs.string('path');
    const gate = readGradualSettings(inputs);
    // Resuming or aborting a paused production rollout needs no bundle: it is in the release record.
    if (!given && !path && !gate.resume && !gate.abort) throw new ConfigurationError('is required with mode: deploy, or give manifests: a rendered bundle whose images are all proven digests.', 'path');
    if (given && path) throw new ConfigurationError('conflicts with manifests: path renders the production bundle, manifests is one already rendered; give one of them.', 'path');
    const deploy = readDeploySettings(new Inputs((name) => (name === 'manifests' ? given || RENDERED_LATER : source(name))), env);
    // The staging render's images are replaced by the proven digests; the user's `images` lines are those digests.
    const render = path && !gate.resume && !gate.abort ? { ...readManifestSettings(new Inputs((name) => (name === 'images' ? '' : source(name))), env), workerEntry } : undefined;
    return { ...settings, deploy, render };
  }
  if (mode === 'gitops') {
    const file = inputs.required('repository-file', 'Name the file in the environment repository to change, e.g. apps/demo/production/kustomization.yaml.');
    const change = inputs.choice('change', CHANGES, defaultChange(file));
    return {
      ...settings,
      gitops: {
        repository: inputs.required('repository', 'Give the environment repository: an https URL (with token) or a path.'),
        branch: inputs.string('branch', 'main'),
        token: inputs.string('token'),
        file,
        change,
        imageName: inputs.string('image-name'),
        valuesKey: inputs.string('values-key', 'image.digest'),
        pullRequest: inputs.boolean('pull-request', false),
        environment: inputs.string('environment'),
      },
    };
  }
  return settings;
}

/** A kustomization's images, a Helm values file's key, else container images. */
function defaultChange(file: string): GitopsChange {
  const base = file.split('/').pop() ?? file;
  if (/^kustomization\.ya?ml$/.test(base)) return 'kustomize-image';
  if (/^values([.-].*)?\.ya?ml$/.test(base)) return 'helm-value';
  return 'container-image';
}
