// The README's main job (scripts/demo) chains the actions through the local
// runner — build, test, push, render staging, deploy staging, promote
// production — and stops at the first failing step, as a workflow does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { connect, KubeClient } from '../../packages/kube/src/index';
import { registryDigest, repoRoot, testbed, uniqueName } from '../support/actions';

const bed = testbed();

function demo(args: string[], image: string) {
  return spawnSync(join(repoRoot, 'scripts', 'demo'), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, KUBELINE_DEMO_IMAGE: image },
  });
}

test('the example app goes through build-test-image → run-tests → push-image → render-and-validate-manifests → deploy staging → promote production', async () => {
  const repo = uniqueName('demo-main');
  const r = demo([], `${bed.registry}/${repo}`);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/Tests: \d+ passed, 0 failed/);
  const digest = new RegExp(`Digest: (${bed.registry}/${repo}@sha256:[a-f0-9]{64})`).exec(r.stdout)?.[1];
  expect(digest).toBeDefined();
  const quoted = digest!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expect(r.stdout).toContain('Manifests (staging): 0 errors, 0 warnings');
  const staged = new RegExp(`Deploy \\(staging\\): deployed, revision (\\d+), live ${quoted}\n`).exec(r.stdout);
  expect(staged).not.toBeNull();
  // Production gets the digest that was tested, pushed and proven in staging.
  const promoted = new RegExp(`Promote \\(production\\): promoted, revision (\\d+), live ${quoted}\n`).exec(r.stdout);
  expect(promoted).not.toBeNull();
  expect(r.stdout).toMatch(new RegExp(`Proof: staging release demo in demo-staging, revision ${staged![1]}, .*checks: deployed, available`));

  // What runs in production, and its release record naming the staging revision it came from.
  const kubeconfigPath = process.env.KUBELINE_KUBECONFIG!;
  const client = new KubeClient((await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} })).kubeConfig);
  const live = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'demo-production', name: 'demo' })) as any;
  expect(live.spec.template.spec.containers[0].image).toBe(digest);
  const record = (await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'demo-production', name: `kubeline.release.demo.v${promoted![1]}` })) as any;
  expect(record.metadata.labels['kubeline.dev/status']).toBe('deployed');
  const proof = JSON.parse(record.metadata.annotations['kubeline.dev/proof']);
  expect(proof).toMatchObject({ images: [digest], staging: { namespace: 'demo-staging', release: 'demo', revision: Number(staged![1]), status: 'deployed' } });
});

test('the failing variant stops at run-tests, names the failing test, and pushes nothing', async () => {
  const repo = uniqueName('demo-failing');
  const r = demo(['--failing'], `${bed.registry}/${repo}`);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('Pipeline stopped at run-tests.');
  expect(r.stderr).toMatch(/\| tests\.test_failing › test_greeting_is_polite \| `examples\/demo\/tests\/test_failing\.py:\d+` \|/);
  expect(r.stderr).not.toContain('── push-image');
  const tags = await fetch(`http://${bed.registry}/v2/${repo}/tags/list`, {
    headers: { authorization: `Basic ${Buffer.from(`${bed.user}:${bed.password}`).toString('base64')}` },
  });
  expect(tags.status).toBe(404);
  expect(await registryDigest(bed.registry, repo, 'demo', bed)).toBeUndefined();
});
