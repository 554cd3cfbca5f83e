// The reusable workflows (.github/workflows/pipeline.yml, pr.yml, preview.yml) run end to end by a
// real workflow engine — nektos/act, jobs on this host as on a self-hosted runner — against the test
// bed's Docker engine, registry and Kubernetes control plane, called from a caller repository's
// workflow in the ten lines the README shows. Test-only stand-ins replace actions/checkout and
// codeql-action/upload-sarif, which cannot be fetched here (test/support/workflow-engine.ts). Both
// linters (actionlint, zizmor) must find nothing in any workflow of the repository.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, KubeClient } from '../../packages/kube/src/index';
import { demoDir, registryDigest, repoRoot, testbed, uniqueName } from '../support/actions';
import { startGitHubApi } from '../support/github-api';
import { actionStepsMs, callerRepository, runWorkflow, type WorkflowRun } from '../support/workflow-engine';
import { act } from '../support/actions';

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
  console.log(`pipeline.yml under act: ${(run.durationMs / 1000).toFixed(1)} s wall; its kubeline steps one by one: ${(actionStepsMs(run) / 1000).toFixed(1)} s`);
});

/** A pull_request event payload for `number`. */
const pullRequest = (action: string, number: number) => ({
  action,
  number,
  pull_request: { number, state: action === 'closed' ? 'closed' : 'open', head: { ref: 'feature', sha: '0'.repeat(40) }, base: { ref: 'main' } },
  repository: { full_name: 'acme/app', name: 'app', owner: { login: 'acme' }, default_branch: 'main' },
});

test('pr.yml: every environment validated (SARIF to code scanning), the staging dry-run diff commented on the pull request, one comment kept up to date', async () => {
  const staging = namespace('wf-pr');
  const image = `ghcr.io/acme/demo@sha256:${'3'.repeat(64)}`;
  // Staging runs the app with 1 replica; the pull request asks for 2.
  const files = demoOverlays(staging, namespace('wf-pr-production'));
  const live = await act('render-and-validate-manifests', { path: 'app/deploy', environment: 'staging', images: `demo=${image}`, 'output-dir': mkdtempSync(join(tmpdir(), 'kubeline-pr-live-')) }, { workspace: callerRepository(files, [{ from: demoDir, to: 'app' }]) });
  expect(live.conclusion).toBe('success');
  expect((await act('deploy', { manifests: live.outputs.manifests, release: 'demo', namespace: staging, 'create-namespace': 'true', kubeconfig: readFileSync(kubeconfigPath, 'utf8') })).outputs.status).toBe('deployed');
  const token = 'ghs_prworkflowtoken';
  const github = await startGitHubApi({ token, owner: 'acme', repo: 'app' });
  try {
    files['app/deploy/overlays/staging/kustomization.yaml'] = files['app/deploy/overlays/staging/kustomization.yaml'].replace(/count: 1/, 'count: 2');
    files['.github/workflows/pr.yml'] = `name: pr
on: pull_request
jobs:
  manifests:
    uses: kubeline/kubeline/.github/workflows/pr.yml@v0
    with:
      manifests: app/deploy
      images: demo=${image}
      release: demo
      namespace: ${staging}
      api-url: ${github.url}
    secrets: inherit
`;
    const caller = callerRepository(files, [{ from: demoDir, to: 'app' }]);
    const runPr = () =>
      runWorkflow({ workspace: caller, workflow: '.github/workflows/pr.yml', event: 'pull_request', payload: pullRequest('synchronize', 7), secrets: { STAGING_KUBECONFIG: kubeconfig64, GITHUB_TOKEN: token }, env: stepEnv });
    const first = await runPr();
    if (first.exitCode !== 0 || first.failed.length) throw new Error(explain(first));
    // Both environments validated and their findings handed to upload-sarif.
    expect(first.log.match(/upload-sarif stand-in: \d+ results in \S+\.sarif/g)?.length).toBe(2);
    expect(github.comments).toHaveLength(1);
    const comment = github.comments[0];
    expect(comment.issue).toBe(7);
    expect(comment.body).toContain(`### kubeline: staging (${staging})`);
    expect(comment.body).toMatch(/```diff\n[\s\S]*-\s+replicas: 1\n\+\s+replicas: 2/);
    // Nothing changed in the cluster: the dry run is a dry run.
    expect(((await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: staging, name: 'demo' })) as any).spec.replicas).toBe(1);
    // A second push updates the same comment.
    const second = await runPr();
    expect(second.exitCode).toBe(0);
    expect(github.comments).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'PATCH' && /\/issues\/comments\//.test(r.path))).toHaveLength(1);
    expect(github.requests.every((r) => r.authorization === `token ${token}`)).toBe(true);
  } finally {
    await github.close();
  }
});

test('preview.yml: a pull request gets its namespace with the app and a smoke test; closing it deletes all of it', async () => {
  const number = 1000 + Math.floor(Math.random() * 8000);
  const ns = `pr-${number}`;
  namespaces.push(ns);
  const image = `ghcr.io/acme/demo@sha256:${'4'.repeat(64)}`;
  const caller = callerRepository(
    {
      '.github/workflows/preview.yml': `name: preview
on:
  pull_request:
    types: [opened, synchronize, reopened, closed]
jobs:
  preview:
    uses: kubeline/kubeline/.github/workflows/preview.yml@v0
    with:
      manifests: app/deploy
      images: demo=${image}
      release: demo
      smoke-test: test "$KUBELINE_IMAGES" = "${image}" && test "$KUBELINE_NAMESPACE" = "pr-$PR_NUMBER" && echo "smoke test passed in $KUBELINE_NAMESPACE"
    secrets: inherit
`,
    },
    [{ from: demoDir, to: 'app' }],
  );
  const preview = (action: string) =>
    runWorkflow({ workspace: caller, workflow: '.github/workflows/preview.yml', event: 'pull_request', payload: pullRequest(action, number), secrets: { PREVIEW_KUBECONFIG: kubeconfig64 }, env: stepEnv });
  const opened = await preview('opened');
  if (opened.exitCode !== 0 || opened.failed.length) throw new Error(explain(opened));
  expect(opened.log).toContain(`smoke test passed in ${ns}`);
  expect(await liveImage(ns)).toBe(image);
  const closed = await preview('closed');
  if (closed.exitCode !== 0 || closed.failed.length) throw new Error(explain(closed));
  expect(closed.log).toMatch(new RegExp(`Deleted namespace ${ns}: deploy created it for release demo`));
  const gone = (await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })) as any;
  expect(gone === undefined || gone.status.phase === 'Terminating').toBe(true);
});

/**
 * An example's own workflow run as its users run it, in a copy of the example as the repository,
 * with `replace` pairs applied to its files for the test bed (the registry instead of ghcr.io,
 * unique namespaces) and the registry password passed as REGISTRY_PASSWORD.
 */
async function runExample(
  example: string,
  workflow: string,
  replace: Array<[string, string]>,
  options: { event?: string; payload?: Record<string, unknown>; secrets?: Record<string, string>; vars?: Record<string, string>; withApp?: boolean } = {},
): Promise<WorkflowRun> {
  const dir = join(repoRoot, 'examples', example);
  const files: Record<string, string> = {};
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, file);
    if (!statSync(path).isFile()) continue;
    let text = readFileSync(path, 'utf8');
    for (const [from, to] of replace) text = text.split(from).join(to);
    files[file] = text;
  }
  // Examples without an app of their own deploy the demo app, as `app/`.
  const caller = callerRepository(files, options.withApp ? [{ from: demoDir, to: 'app' }] : []);
  return runWorkflow({
    workspace: caller,
    workflow,
    event: options.event ?? 'push',
    payload: options.payload ?? { ref: 'refs/heads/main', repository: { full_name: 'acme/app', default_branch: 'main' } },
    secrets: { REGISTRY_PASSWORD: bed.password, STAGING_KUBECONFIG: kubeconfig64, PRODUCTION_KUBECONFIG: kubeconfig64, ...options.secrets },
    env: stepEnv,
    vars: options.vars,
  });
}

describe('examples, run under act on the test bed', () => {
  test('1. Jenkins + Ansible, Go: go test in the toolchain image, the build number and latest tags, one digest in staging and production', async () => {
    const staging = namespace('hello-staging');
    const production = namespace('hello-production');
    const repository = `${bed.registry}/acme/${uniqueName('hello')}`;
    const run = await runExample('jenkins-ansible-go', '.github/workflows/ci.yml', [
      ['ghcr.io/${{ github.repository }}/hello', repository],
      ['staging-namespace: hello-staging', `staging-namespace: ${staging}`],
      ['production-namespace: hello-production', `production-namespace: ${production}\n      registry-username: ${bed.user}`],
      ['namespace: hello-staging\n', `namespace: ${staging}\n`],
      ['namespace: hello-production\n', `namespace: ${production}\n`],
      ['# REGISTRY_PASSWORD: not given, so GITHUB_TOKEN pushes to ghcr.io', 'REGISTRY_PASSWORD: ${{ secrets.REGISTRY_PASSWORD }}'],
    ]);
    if (run.exitCode !== 0 || run.failed.length) throw new Error(explain(run));
    expect(run.log).toMatch(/ok\s+example\.com\/hello/); // go test's own line, from the test image
    const digest = await registryDigest(bed.registry, repository.slice(bed.registry.length + 1), 'latest', { user: bed.user, password: bed.password });
    expect(await registryDigest(bed.registry, repository.slice(bed.registry.length + 1), 'build-1', { user: bed.user, password: bed.password })).toBe(digest);
    expect(await liveImage(staging, 'hello')).toBe(`${repository}@${digest}`);
    expect(await liveImage(production, 'hello')).toBe(`${repository}@${digest}`);
    console.log(`example 1 under act: ${(run.durationMs / 1000).toFixed(1)} s wall; its kubeline steps one by one: ${(actionStepsMs(run) / 1000).toFixed(1)} s`);
  });

  test('5. CircleCI, ECR and EKS: the pull request\'s image pushed, deployed into pr-<number> and smoke-tested; closing it deletes everything', async () => {
    const number = 1000 + Math.floor(Math.random() * 8000);
    namespaces.push(`pr-${number}`);
    const registry = `${bed.registry}/acme/${uniqueName('preview')}`;
    const vars = { REGISTRY: registry, REGISTRY_USERNAME: bed.user };
    const opened = await runExample('circleci-ecr-eks', '.github/workflows/preview.yml', [], { event: 'pull_request', payload: pullRequest('opened', number), secrets: { PREVIEW_KUBECONFIG: kubeconfig64 }, vars, withApp: true });
    if (opened.exitCode !== 0 || opened.failed.length) throw new Error(explain(opened));
    const digest = await registryDigest(bed.registry, `${registry.slice(bed.registry.length + 1)}/app`, `pr-${number}`, { user: bed.user, password: bed.password });
    expect(digest).toMatch(/^sha256:/);
    expect(await liveImage(`pr-${number}`, 'app')).toBe(`${registry}/app@${digest}`);
    expect(opened.log).toContain(`smoke test of ${registry}/app@${digest} in pr-${number} passed`);
    const closed = await runExample('circleci-ecr-eks', '.github/workflows/preview.yml', [], { event: 'pull_request', payload: pullRequest('closed', number), secrets: { PREVIEW_KUBECONFIG: kubeconfig64 }, vars, withApp: true });
    if (closed.exitCode !== 0 || closed.failed.length) throw new Error(explain(closed));
    const ns = (await client.get({ apiVersion: 'v1', kind: 'Namespace', name: `pr-${number}` })) as any;
    expect(ns === undefined || ns.status.phase === 'Terminating').toBe(true);
  });

  test('8. A private registry and a migration Job: the migration completes before the Deployment exists, both pull with the Secret deploy made', async () => {
    const ns = namespace('app-production');
    const vars = { REGISTRY: bed.registry, REGISTRY_USERNAME: bed.user };
    const run = await runExample('private-registry-migration', '.github/workflows/deploy.yml', [['namespace: app-production', `namespace: ${ns}`], [`${'${{ vars.REGISTRY }}'}/acme/app`, `${'${{ vars.REGISTRY }}'}/acme/${uniqueName('private')}`]], { vars, withApp: true });
    if (run.exitCode !== 0 || run.failed.length) throw new Error(explain(run));
    const job = (await client.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'app-migrate' })) as any;
    const app = (await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'app' })) as any;
    expect(job.status.succeeded).toBe(1);
    expect(Date.parse(app.metadata.creationTimestamp)).toBeGreaterThanOrEqual(Date.parse(job.status.completionTime));
    expect(app.spec.template.spec.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);
    expect(job.spec.template.spec.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);
    const secret = (await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'registry-pull' })) as any;
    expect(Object.keys(JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString()).auths)).toEqual([bed.registry]);
    expect(app.spec.template.spec.containers[0].image).toMatch(new RegExp(`^${bed.registry.replace(/\./g, '\\.')}/acme/private-\\w+@sha256:`));
  });

  test('9. Cloud Build with Helm: a v1.2.3 tag pushes 1.2.3 and 1.2, and the chart rendered with that digest runs in staging and production', async () => {
    const staging = namespace('app-staging');
    const production = namespace('app-production');
    const repository = `${bed.registry}/acme/${uniqueName('chart')}`;
    const run = await runExample(
      'cloud-build-helm',
      '.github/workflows/release.yml',
      [
        ['ghcr.io/${{ github.repository }}/app', repository],
        ['staging-namespace: app-staging', `staging-namespace: ${staging}`],
        ['production-namespace: app-production', `production-namespace: ${production}\n      registry-username: ${bed.user}`],
        ['# REGISTRY_PASSWORD: not given, so GITHUB_TOKEN pushes to ghcr.io', 'REGISTRY_PASSWORD: ${{ secrets.REGISTRY_PASSWORD }}'],
      ],
      { payload: { ref: 'refs/tags/v1.2.3', repository: { full_name: 'acme/app', default_branch: 'main' } }, withApp: true },
    );
    if (run.exitCode !== 0 || run.failed.length) throw new Error(explain(run));
    const name = repository.slice(bed.registry.length + 1);
    const digest = await registryDigest(bed.registry, name, '1.2.3', { user: bed.user, password: bed.password });
    expect(digest).toMatch(/^sha256:/);
    expect(await registryDigest(bed.registry, name, '1.2', { user: bed.user, password: bed.password })).toBe(digest);
    for (const ns of [staging, production]) expect(await liveImage(ns, 'app')).toBe(`${repository}@${digest}`);
  });
});
