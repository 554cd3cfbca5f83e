// promote's work once its inputs are read: loaded by main.ts with import(), in a chunk of its own.
import { cleanupKubeconfig, connect, DEPLOY_RENAMED, deployPost, KubeClient } from '@kubeline/kube';
import { CommandLineTools } from '@kubeline/manifests';
import { promote, type PromoteSettings, promoteSummary } from '@kubeline/promote';
import { Inputs, log, setOutput, StepFailure, writeSummary } from '@kubeline/toolkit';

/** Where staging's kubeconfig file is remembered for the post step, apart from production's. */
export interface StagingState {
  saveState: (name: string, value: string) => void;
  getState: (name: string) => string;
}

/** Connects to both clusters, promotes, and sets the step's outputs and summary; a failed promotion fails the step. */
export async function promoteStep(settings: PromoteSettings, stagingState: StagingState, signal: AbortSignal): Promise<void> {
  // Registry passwords and the git token are masked in the log whatever their source (action.yml promises it).
  for (const secret of [settings.registry.password, settings.registry.fromPassword, settings.gitops?.token]) if (secret) log.mask(secret);
  const production = await connect({ kubeconfig: settings.cluster.kubeconfig, context: settings.cluster.context });
  const separate = settings.from.kubeconfig || settings.from.context;
  const staging = separate
    ? await connect({ kubeconfig: settings.from.kubeconfig || settings.cluster.kubeconfig, context: settings.from.context || settings.cluster.context, ...stagingState })
    : production;
  const outcome = await promote(
    settings,
    {
      staging: { client: new KubeClient(staging.kubeConfig, { user: staging.user }), namespace: settings.from.namespace, release: settings.from.release, server: staging.server },
      production: settings.deploy
        ? { client: new KubeClient(production.kubeConfig, { user: production.user, defaultNamespace: settings.deploy.namespace }), connection: production }
        : undefined,
      tools: new CommandLineTools(),
    },
    { signal },
  );
  setOutput('status', outcome.status);
  setOutput('images', outcome.images.join('\n'));
  setOutput('proof', outcome.proof ? JSON.stringify(outcome.proof) : '');
  setOutput('revision', outcome.deploy?.revision === undefined ? '' : String(outcome.deploy.revision));
  setOutput('commit', outcome.gitops.map((g) => g.commit).join('\n'));
  setOutput('pull-request-url', outcome.gitops.map((g) => g.pullRequestUrl ?? '').filter(Boolean).join('\n'));
  setOutput('retagged', outcome.retagged.flatMap((r) => r.targets.map((t) => t.ref)).join('\n'));
  await writeSummary(promoteSummary(outcome, settings));
  if (outcome.failure) throw new StepFailure(outcome.failure);
}

/** The post step: unlocks production and removes the kubeconfig files the main step wrote. */
export async function promotePost(stagingState: StagingState): Promise<void> {
  await deployPost({ context: new Inputs().withRenamed(DEPLOY_RENAMED).string('kube-context') });
  cleanupKubeconfig(stagingState.getState);
}
