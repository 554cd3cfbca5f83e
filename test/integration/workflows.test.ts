// The reusable workflows (.github/workflows/pipeline.yml, pr.yml, preview.yml) run end to end by a
// real workflow engine — nektos/act, jobs on this host as on a self-hosted runner — against the test
// bed's Docker engine, registry and Kubernetes control plane, called from a caller repository's
// workflow in the ten lines the README shows. Test-only stand-ins replace actions/checkout and
// codeql-action/upload-sarif, which cannot be fetched here (test/support/workflow-engine.ts). Both
// linters (actionlint, zizmor) must find nothing in any workflow of the repository.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, KubeClient } from '../../packages/kube/src/index';
import { demoDir, registryDigest, repoRoot, testbed, uniqueName } from '../support/actions';
import { callerRepository, runWorkflow, type WorkflowRun } from '../support/workflow-engine';

const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
const kubeconfig64 = Buffer.from(readFileSync(kubeconfigPath, 'utf8')).toString('base64');
const bed = testbed();

let client: KubeClient;
beforeAll(async () => {
  const connection = await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} });
  client = new KubeClient(connection.kubeConfig);
});
const namespaces: string[] = [];
afterAll(async () => {
  for (const ns of namespaces) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
});
const namespace = (prefix: string): string => {
  const ns = uniqueName(prefix);
  namespaces.push(ns);
  return ns;
};

/** What every step needs from the test bed: its Docker engine and tools on PATH. */
const stepEnv = { DOCKER_HOST: process.env.DOCKER_HOST ?? '', PATH: process.env.PATH ?? '' };

/** The example app as a caller repository's `app/`, its overlays deploying into the given namespaces. */
function demoOverlays(staging: string, production: string): Record<string, string> {
  const overlay = (env: string, ns: string) => readFileSync(join(demoDir, 'deploy', 'overlays', env, 'kustomization.yaml'), 'utf8').replace(`namespace: demo-${env}`, `namespace: ${ns}`);
  return { 'app/deploy/overlays/staging/kustomization.yaml': overlay('staging', staging), 'app/deploy/overlays/production/kustomization.yaml': overlay('production', production) };
}

const liveImage = async (ns: string, name = 'demo'): Promise<string | undefined> =>
  ((await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name })) as any)?.spec.template.spec.containers[0].image;

/** A job's failure, for the assertion message. */
const explain = (run: WorkflowRun): string => {
  const errors = run.log.split('\n').filter((l) => /::error::|❌|level=(error|fatal)/.test(l));
  return `act exited ${run.exitCode}; failed jobs: ${run.failed.join(', ') || 'none'}\n${errors.join('\n')}\n…\n${run.log.split('\n').slice(-40).join('\n')}`;
};

test('actionlint and zizmor find nothing in any workflow', () => {
  const workflows = readdirSync(join(repoRoot, '.github', 'workflows')).filter((f) => f.endsWith('.yml')).map((f) => join('.github', 'workflows', f));
  const examples = readdirSync(join(repoRoot, 'examples'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.github\/workflows\/[^/]+\.ya?ml$/.test(f));
  expect(workflows).toEqual(expect.arrayContaining(['.github/workflows/pipeline.yml', '.github/workflows/pr.yml', '.github/workflows/preview.yml', '.github/workflows/release.yml']));
  const lint = (bin: string | undefined, args: string[]) => {
    if (!bin) throw new Error('KUBELINE_ACTIONLINT / KUBELINE_ZIZMOR are not set: run `eval "$(scripts/testbed env)"`.');
    try {
      return { code: 0, out: execFileSync(bin, args, { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe' }) };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, out: `${e.stdout}${e.stderr}` };
    }
  };
  const actionlint = lint(process.env.KUBELINE_ACTIONLINT, [...workflows, ...examples.map((f) => join('examples', f))]);
  expect(actionlint.out).toBe('');
  expect(actionlint.code).toBe(0);
  const zizmor = lint(process.env.KUBELINE_ZIZMOR, ['--offline', '--no-progress', '.github/workflows', ...new Set(examples.map((f) => join('examples', f.split('/.github/')[0], '.github', 'workflows')))]);
  expect(zizmor.out).toMatch(/No findings to report/);
  expect(zizmor.code).toBe(0);
});

test('pipeline.yml from a caller\'s ten lines: tests, one push, staging, then production running the same digest', async () => {
  const staging = namespace('wf-staging');
  const production = namespace('wf-production');
  const repository = `${bed.registry}/acme/${uniqueName('app')}`;
  const caller = callerRepository(
    {
      '.github/workflows/ci.yml': `name: ci
on: push
jobs:
  pipeline:
    uses: kubeline/kubeline/.github/workflows/pipeline.yml@v0
    with:
      context: app
      image: ${repository}
      test-run: python3 -m pytest --junitxml=/reports/junit.xml
      manifests: app/deploy
      manifests-image: demo
      release: demo
      staging-namespace: ${staging}
      production-namespace: ${production}
      registry-username: ${bed.user}
    secrets: inherit
`,
      ...demoOverlays(staging, production),
    },
    [{ from: demoDir, to: 'app' }],
  );
  const run = await runWorkflow({
    workspace: caller,
    workflow: '.github/workflows/ci.yml',
    event: 'push',
    payload: { ref: 'refs/heads/main', repository: { full_name: 'acme/app', default_branch: 'main' } },
    secrets: { REGISTRY_PASSWORD: bed.password, STAGING_KUBECONFIG: kubeconfig64, PRODUCTION_KUBECONFIG: kubeconfig64 },
    env: stepEnv,
  });
  if (run.exitCode !== 0 || run.failed.length) throw new Error(explain(run));
  // One image, by digest: what the registry holds under the branch tag, what staging and production run.
  const digest = await registryDigest(bed.registry, repository.slice(bed.registry.length + 1), 'main', { user: bed.user, password: bed.password });
  expect(digest).toMatch(/^sha256:/);
  expect(await liveImage(staging)).toBe(`${repository}@${digest}`);
  expect(await liveImage(production)).toBe(`${repository}@${digest}`);
  // The tests ran in the test image, and the image was built once (the push reused the test build's cache).
  expect(run.log).toMatch(/passed/);
  expect((run.log.match(/⭐ Run Main kubeline\/kubeline\/actions\/push-image@v0/g) ?? []).length).toBe(1);
  // Production's release record carries the proof naming staging's revision.
  const record = (await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: production, name: 'kubeline.release.demo.v1' })) as any;
  expect(JSON.parse(record.metadata.annotations['kubeline.dev/proof'])).toMatchObject({ images: [`${repository}@${digest}`], staging: { namespace: staging, release: 'demo', revision: 1 } });
  console.log(`pipeline.yml under act: ${(run.durationMs / 1000).toFixed(1)} s`);
});
