/** deploy's inputs, checked before anything talks to a cluster (nothing here needs @kubernetes/client-node). */
import { ConfigurationError, Inputs, parseDuration } from '@kubeline/toolkit';
import { isAbsolute, resolve } from 'node:path';
import { type GradualSettings, readGradualSettings } from './gradual/settings';
import { type PullSecretSettings, readPullSecret } from './pull-secret';

/** A release name: a DNS label of at most 53 characters (it goes into Secret, Lease and label values). */
export function checkReleaseName(name: string, input = 'release'): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 53) {
    throw new ConfigurationError(`"${name}" is not a valid release name: use lowercase letters, digits and '-', start and end with a letter or digit, at most 53 characters.`, input);
  }
  return name;
}

/** deploy's inputs, parsed and checked. */
export interface DeploySettings {
  /** Absolute path of the rendered bundle (file or folder); '' when a paused rollout is resumed or aborted without it. */
  manifests: string;
  release: string;
  namespace: string;
  createNamespace: boolean;
  kubeconfig: string;
  context: string;
  timeoutMs: number;
  dryRun: boolean;
  forceConflicts: boolean;
  prune: boolean;
  rollbackOnFailure: boolean;
  firstReleaseFailure: 'keep' | 'delete';
  history: number;
  lockTimeoutMs: number;
  /** `strategy` and the canary / blue-green inputs. */
  gradual: GradualSettings;
  /** Delete the release instead of deploying it (a preview environment's end). */
  delete: boolean;
  /** `image-pull-secret`: the Secret to make from registry credentials and name in the pod specs. */
  pullSecret?: PullSecretSettings;
}

/** Inputs renamed for one vocabulary across the actions (new name → old name), kept for one minor version. */
export const DEPLOY_RENAMED = { 'kube-context': 'context' };

/** deploy's inputs, checked before anything talks to a cluster. */
export function readDeploySettings(given: Inputs, env: NodeJS.ProcessEnv = process.env): DeploySettings {
  const inputs = given.withRenamed(DEPLOY_RENAMED);
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const gradual = readGradualSettings(inputs);
  const remove = inputs.boolean('delete', false);
  if (remove && (gradual.resume || gradual.abort)) throw new ConfigurationError(`conflicts with ${gradual.resume ? 'resume' : 'abort'}: delete removes the release, paused rollout included.`, 'delete');
  if (remove && inputs.boolean('dry-run', false)) throw new ConfigurationError('conflicts with dry-run: delete removes what the release records list; run it without dry-run.', 'delete');
  // A paused rollout's bundle is in its release record: resume and abort need no manifests; delete reads the records.
  const manifests =
    gradual.resume || gradual.abort || remove ? inputs.string('manifests') : inputs.required('manifests', 'Pass the `manifests` output of render-and-validate-manifests, or a file or folder of YAML.');
  const namespace = inputs.string('namespace');
  if (namespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace))
    throw new ConfigurationError(`"${namespace}" is not a valid namespace name (lowercase letters, digits and "-").`, 'namespace');
  return {
    manifests: !manifests || isAbsolute(manifests) ? manifests : resolve(workspace, manifests),
    release: checkReleaseName(inputs.required('release', 'Name the release, e.g. the app name.')),
    namespace,
    createNamespace: inputs.boolean('create-namespace', false),
    kubeconfig: inputs.string('kubeconfig'),
    context: inputs.string('kube-context'),
    timeoutMs: parseDuration(inputs.string('timeout', '5m'), 'timeout'),
    dryRun: inputs.boolean('dry-run', false),
    forceConflicts: inputs.boolean('force-conflicts', false),
    prune: inputs.boolean('prune', true),
    rollbackOnFailure: inputs.boolean('rollback-on-failure', true),
    firstReleaseFailure: inputs.choice('first-release-failure', ['keep', 'delete'] as const, 'keep'),
    history: inputs.integer('history', 10, 1, 100),
    lockTimeoutMs: parseDuration(inputs.string('lock-timeout', '5m'), 'lock-timeout'),
    gradual,
    delete: remove,
    pullSecret: readPullSecret({ name: inputs.string('image-pull-secret'), registry: inputs.string('registry'), username: inputs.string('registry-username'), password: inputs.string('registry-password') }),
  };
}

