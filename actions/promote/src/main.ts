import { runParseWorkerIfAny } from '@kubeline/manifests';
import { readPromoteSettings } from '@kubeline/promote';
import { runAction, stepState } from '@kubeline/toolkit';

// The runner cancels a job with SIGINT, then SIGTERM: stop soaking or waiting, leave a clear state, unlock.
const cancel = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => cancel.abort());

// Staging's kubeconfig file (from-kubeconfig) is kept under its own state names, apart from production's.
const stagingState = { saveState: (name: string, value: string) => stepState.save(`staging-${name}`, value), getState: (name: string) => stepState.get(`staging-${name}`) };

// This bundle is also the entry of the threads that parse big production bundles in parallel.
// The inputs are read first; the rest (client-node, undici, Octokit: most of the bundle) is loaded
// after them, so a start, and a mistake in the inputs, costs none of it.
if (!runParseWorkerIfAny()) await runAction(
  'promote',
  async () => {
    const settings = readPromoteSettings(undefined, undefined, import.meta.url);
    await (await import('./step')).promoteStep(settings, stagingState, cancel.signal);
  },
  async () => (await import('./step')).promotePost(stagingState),
);
