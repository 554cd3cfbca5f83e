// The README's main job (scripts/demo) chains the three actions through the
// local runner and stops at the first failing step, as a workflow does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { registryDigest, repoRoot, testbed, uniqueName } from '../support/actions';

const bed = testbed();

function demo(args: string[], image: string) {
  return spawnSync(join(repoRoot, 'scripts', 'demo'), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, KUBELINE_DEMO_IMAGE: image },
  });
}

test('the example app goes through build-test-image → run-tests → push-image → render-and-validate-manifests → deploy', () => {
  const repo = uniqueName('demo-main');
  const r = demo([], `${bed.registry}/${repo}`);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/Tests: \d+ passed, 0 failed/);
  const digest = new RegExp(`Digest: (${bed.registry}/${repo}@sha256:[a-f0-9]{64})`).exec(r.stdout)?.[1];
  expect(digest).toBeDefined();
  // The digest that was tested and pushed is what runs in both environments.
  for (const env of ['staging', 'production']) {
    expect(r.stdout).toContain(`Manifests (${env}): 0 errors, 0 warnings`);
    expect(r.stdout).toMatch(new RegExp(`Deploy \\(${env}\\): deployed, revision \\d+, live ${digest!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  }
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
