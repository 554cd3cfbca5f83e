import * as core from '@actions/core';
import { cleanupKubeconfig, connect, DEPLOY_RENAMED, deployPost, KubeClient } from '@kubeline/kube';
import { CommandLineTools, runParseWorkerIfAny } from '@kubeline/manifests';
import { promote, promoteSummary, readPromoteSettings } from '@kubeline/promote';
import { Inputs, runAction, StepFailure, stepState, writeSummary } from '@kubeline/toolkit';

// The runner cancels a job with SIGINT, then SIGTERM: stop soaking or waiting, leave a clear state, unlock.
const cancel = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => cancel.abort());

// Staging's kubeconfig file (from-kubeconfig) is kept under its own state names, apart from production's.
const stagingState = { saveState: (name: string, value: string) => stepState.save(`staging-${name}`, value), getState: (name: string) => stepState.get(`staging-${name}`) };

// This bundle is also the entry of the threads that parse big production bundles in parallel.
if (!runParseWorkerIfAny()) await runAction(
  'promote',
  async () => {
    const settings = readPromoteSettings(undefined, undefined, import.meta.url);
    // Registry passwords and the git token are masked in the log whatever their source (action.yml promises it).
    for (const secret of [settings.registry.password, settings.registry.fromPassword, settings.gitops?.token]) if (secret) core.setSecret(secret);
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
      { signal: cancel.signal },
    );
    core.setOutput('status', outcome.status);
    core.setOutput('images', outcome.images.join('\n'));
    core.setOutput('proof', outcome.proof ? JSON.stringify(outcome.proof) : '');
    core.setOutput('revision', outcome.deploy?.revision === undefined ? '' : String(outcome.deploy.revision));
    core.setOutput('commit', outcome.gitops.map((g) => g.commit).join('\n'));
    core.setOutput('pull-request-url', outcome.gitops.map((g) => g.pullRequestUrl ?? '').filter(Boolean).join('\n'));
    core.setOutput('retagged', outcome.retagged.flatMap((r) => r.targets.map((t) => t.ref)).join('\n'));
    await writeSummary(promoteSummary(outcome, settings));
    if (outcome.failure) throw new StepFailure(outcome.failure);
  },
  async () => {
    await deployPost({ context: new Inputs().withRenamed(DEPLOY_RENAMED).string('kube-context') });
    cleanupKubeconfig(stagingState.getState);
  },
);
