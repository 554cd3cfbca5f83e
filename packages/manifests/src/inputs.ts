/** render-and-validate-manifests' inputs, parsed and checked before any work. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigurationError, Inputs } from '@kubeline/toolkit';
import { parseImageOverrides } from './images';
import type { PipelineSettings } from './pipeline';
import { DEFAULT_POLICY, parsePolicyConfig } from './policies';
import { RENDERERS } from './render';
import { resolveKubernetesVersion } from './schemas';
import { labelValueProblem, qualifiedNameProblem } from './k8s-rules';
import { insideWorkspace } from './sources';

export interface ManifestSettings extends PipelineSettings {
  failOn: 'error' | 'warning';
  /** Folder for the bundle and the SARIF and JUnit reports. */
  outputDir: string;
}

const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Inputs renamed for one vocabulary across the actions (new name → old name), kept for one minor version. */
const RENAMED = { release: 'release-name' };

/** render-and-validate-manifests' inputs, checked before any work. */
export function readManifestSettings(given: Inputs, env: NodeJS.ProcessEnv = process.env): ManifestSettings {
  const inputs = given.withRenamed(RENAMED);
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const path = insideWorkspace('path', inputs.required('path', 'Point it at a folder of YAML files, a kustomization or a Helm chart.'), workspace);
  const environment = inputs.string('environment');
  if (environment && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(environment))
    throw new ConfigurationError(`"${environment}" is not a valid environment name (letters, digits, ".", "_", "-").`, 'environment');
  const releaseName = inputs.string('release', 'release');
  if (releaseName.length > 53 || !RELEASE_NAME.test(releaseName))
    throw new ConfigurationError(`"${releaseName}" is not a valid Helm release name (lowercase letters, digits and "-", at most 53 characters).`, 'release');
  const namespace = inputs.string('namespace');
  if (namespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace))
    throw new ConfigurationError(`"${namespace}" is not a valid namespace name (lowercase letters, digits and "-").`, 'namespace');
  const policyFile = inputs.string('policy');
  const policy = policyFile ? parsePolicyConfig(readFileSync(insideWorkspace('policy', policyFile, workspace), 'utf8'), policyFile) : DEFAULT_POLICY;
  const labels = inputs.keyValues('labels');
  const annotations = inputs.keyValues('annotations');
  // Added to every object after validation's own checks would see them: checked here instead.
  for (const [name, pairs] of [['labels', labels], ['annotations', annotations]] as const)
    for (const [key, value] of pairs) {
      const valueProblem = name === 'labels' ? labelValueProblem(value) : undefined;
      const problem = qualifiedNameProblem(key) ?? (valueProblem && `the value ${valueProblem}`);
      if (problem) throw new ConfigurationError(`"${key}=${value}": ${problem}.`, name);
    }
  if (inputs.boolean('provenance', true)) annotations.push(...provenance(env, environment));
  const outputDir = resolve(workspace, inputs.string('output-dir', join(env.RUNNER_TEMP || join(workspace, '.kubeline'), 'kubeline-manifests', environment || 'default')));
  return {
    workspace,
    render: {
      path,
      renderer: inputs.choice('renderer', RENDERERS, 'auto'),
      environment,
      releaseName,
      namespace,
      valuesFiles: inputs.list('values', { commas: false }).map((f) => insideWorkspace('values', f, workspace)),
      set: inputs.keyValues('set'),
      setString: inputs.keyValues('set-string'),
      kubernetesVersion: resolveKubernetesVersion(inputs.string('kubernetes-version')),
    },
    images: parseImageOverrides(inputs.keyValues('images')),
    labels,
    annotations,
    namespace,
    crdFiles: inputs.list('crds', { commas: false }).map((f) => insideWorkspace('crds', f, workspace)),
    unknownKinds: inputs.choice('unknown-kinds', ['error', 'warning', 'skip'] as const, 'error'),
    deprecatedApis: inputs.choice('deprecated-apis', ['error', 'warning'] as const, 'warning'),
    policy,
    failOn: inputs.choice('fail-on', ['error', 'warning'] as const, 'error'),
    outputDir,
    bundleFile: join(outputDir, 'manifests.yaml'),
  };
}

/** Annotations that tie every object to the commit and run that rendered it. */
function provenance(env: NodeJS.ProcessEnv, environment: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (env.GITHUB_SHA) out.push(['kubeline.dev/commit', env.GITHUB_SHA]);
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID)
    out.push(['kubeline.dev/run-url', `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`]);
  if (environment) out.push(['kubeline.dev/environment', environment]);
  return out;
}

