import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DockerCli, DockerContainers } from '@kubeline/docker';
import { ConfigurationError, ExternalError, Inputs, annotate, tail, writeSummary } from '@kubeline/toolkit';
import { type TestReport, mergeReports, parseJUnit, reportAnnotations, reportSummaryMarkdown } from './junit';

export interface ServiceSpec {
  name: string;
  image: string;
  env: Array<[string, string]>;
  command: string[];
}

export interface TestRunSettings {
  image: string;
  script: string;
  shell: string;
  workingDirectory: string;
  env: Array<[string, string]>;
  results: string;
  timeoutMinutes: number;
  network: string;
  services: ServiceSpec[];
  /** Repository folder that the container's working directory holds, for annotation paths. */
  sourceDir: string;
}

export interface TestRunOutcome {
  exitCode: number;
  timedOut: boolean;
  report?: TestReport;
  reportDir: string;
}

const STATE_CONTAINERS = 'containers';
const STATE_NETWORK = 'network';

export function readTestRunSettings(inputs: Inputs): TestRunSettings {
  const script = inputs.multiline('run');
  if (!script.trim()) throw new ConfigurationError('is required: give the test commands, one per line.', 'run');
  const network = inputs.string('network');
  const services = parseServices(inputs.multiline('services'));
  if (services.length && network) {
    throw new ConfigurationError(`cannot be combined with 'services': the tests join the services' private network. Drop one of them.`, 'network');
  }
  return {
    image: inputs.required('image', 'Pass the `image` output of build-test-image.'),
    script,
    shell: inputs.string('shell', 'sh'),
    workingDirectory: inputs.string('working-directory'),
    env: inputs.keyValues('env'),
    results: inputs.string('results'),
    timeoutMinutes: inputs.integer('timeout-minutes', 30, 1, 360),
    network,
    services,
    sourceDir: inputs.string('source-dir', '.'),
  };
}

/** `services` is YAML: name → { image, env, command }, like a workflow's services. */
export function parseServices(text: string): ServiceSpec[] {
  if (!text.trim()) return [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigurationError(`is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'services');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigurationError('must map service names to { image, env, command }, e.g. "db: { image: postgres:16 }".', 'services');
  }
  return Object.entries(doc as Record<string, unknown>).map(([name, spec]) => {
    const s = (typeof spec === 'string' ? { image: spec } : spec) as { image?: unknown; env?: unknown; command?: unknown } | null;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new ConfigurationError(`service name '${name}' must be a valid host name.`, 'services');
    if (!s || typeof s.image !== 'string' || !s.image) throw new ConfigurationError(`service '${name}' needs an image.`, 'services');
    const env = s.env && typeof s.env === 'object' ? Object.entries(s.env as Record<string, unknown>).map(([k, v]) => [k, String(v)] as [string, string]) : [];
    const command = Array.isArray(s.command) ? s.command.map(String) : typeof s.command === 'string' ? s.command.split(/\s+/).filter(Boolean) : [];
    return { name, image: s.image, env, command };
  });
}

/** The shell line that runs the script so that any failing line fails the run. */
export function shellCommand(shell: string, script: string): string[] {
  if (shell === 'sh') return ['sh', '-e', '-c', script];
  if (shell === 'bash') return ['bash', '-e', '-o', 'pipefail', '-c', script];
  return [...shell.split(/\s+/).filter(Boolean), '-c', script];
}

/**
 * Runs the tests inside the test image, with services on a private network,
 * copies the JUnit results out and reports them. Containers and the network
 * are removed afterwards, and again by the post step if the job is cancelled.
 */
export async function runTests(docker: DockerCli, settings: TestRunSettings): Promise<TestRunOutcome> {
  const containers = new DockerContainers(docker);
  await docker.ping();
  const inspected = await docker.inspectImage(settings.image);
  if (!inspected) {
    throw new ConfigurationError(`'${settings.image}' is not in the Docker engine. Pass the 'image' output of build-test-image, or pull the image first.`, 'image');
  }
  const id = `kubeline-${process.env.GITHUB_RUN_ID ?? 'local'}-${randomBytes(3).toString('hex')}`;
  const testName = `${id}-tests`;
  const names = [testName, ...settings.services.map((s) => `${id}-${s.name}`)];
  core.saveState(STATE_CONTAINERS, JSON.stringify(names));
  const network = settings.services.length ? id : settings.network;
  const reportDir = join(process.env.RUNNER_TEMP || tmpdir(), 'kubeline-test-results', id);
  try {
    if (settings.services.length) {
      core.saveState(STATE_NETWORK, id);
      await containers.createNetwork(id);
      for (const s of settings.services) await startService(docker, containers, s, `${id}-${s.name}`, id);
    }
    const args = ['run', '--name', testName, '--label', 'kubeline=run-tests'];
    if (network) args.push('--network', network);
    if (settings.workingDirectory) args.push('--workdir', settings.workingDirectory);
    // Values travel in the environment of the docker CLI, not in its argv.
    for (const [k] of settings.env) args.push('--env', k);
    args.push('--entrypoint', '', settings.image, ...shellCommand(settings.shell, settings.script));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      core.error(`The tests ran longer than ${settings.timeoutMinutes} minutes; stopping them.`);
      void containers.kill(testName);
    }, settings.timeoutMinutes * 60_000);
    const result = await docker
      .exec(args, { group: `Run tests in ${settings.image}`, env: Object.fromEntries(settings.env), allowFailure: true })
      .finally(() => clearTimeout(timer));
    let report: TestReport | undefined;
    if (settings.results) {
      const containerPath = posix.isAbsolute(settings.results)
        ? settings.results
        : posix.join(settings.workingDirectory || inspected.workingDir || '/', settings.results);
      mkdirSync(reportDir, { recursive: true });
      if (await containers.copyOut(testName, containerPath, reportDir)) {
        report = readReports(reportDir, settings.workingDirectory || inspected.workingDir, settings.sourceDir);
      } else {
        core.warning(`No test results at ${containerPath} in the container ('results' input).`);
      }
    }
    if (result.exitCode === 125) {
      throw new ExternalError('docker could not start the test container', tail(result.stderr, 5));
    }
    return { exitCode: result.exitCode, timedOut, report, reportDir };
  } finally {
    await cleanup(containers, names, settings.services.length ? id : undefined);
  }
}

async function startService(docker: DockerCli, containers: DockerContainers, s: ServiceSpec, name: string, network: string): Promise<void> {
  const args = ['run', '--detach', '--name', name, '--label', 'kubeline=run-tests', '--network', network, '--network-alias', s.name];
  for (const [k] of s.env) args.push('--env', k);
  args.push(s.image, ...s.command);
  const r = await docker.exec(args, { silent: true, allowFailure: true, env: Object.fromEntries(s.env) });
  if (r.exitCode !== 0) throw new ExternalError(`service '${s.name}' (${s.image}) did not start`, tail(r.stderr, 5));
  // Wait for a HEALTHCHECK when the image has one; otherwise just for the process to be up.
  for (let i = 0; i < 120; i++) {
    const state = await containers.health(name);
    if (!state.running) {
      throw new ExternalError(`service '${s.name}' exited with code ${state.exitCode}`, await containers.logs(name));
    }
    if (!state.health || state.health === 'healthy') {
      core.info(`Service '${s.name}' is up (${s.image}), reachable as '${s.name}'.`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new ExternalError(`service '${s.name}' did not become healthy in 2 minutes`, await containers.logs(name));
}

async function cleanup(containers: DockerContainers, names: string[], network?: string): Promise<void> {
  await containers.remove(names);
  if (network) await containers.removeNetwork(network);
}

/** Post step: remove whatever a cancelled run left behind. */
export async function cleanupFromState(docker: DockerCli): Promise<void> {
  const names = JSON.parse(core.getState(STATE_CONTAINERS) || '[]') as string[];
  const network = core.getState(STATE_NETWORK) || undefined;
  if (!names.length && !network) return;
  await cleanup(new DockerContainers(docker), names, network);
  core.info(`Removed test containers ${names.join(', ')}${network ? ` and network ${network}` : ''}.`);
}

function readReports(dir: string, containerWorkdir: string, sourceDir: string): TestReport | undefined {
  const files = listXml(dir);
  if (!files.length) return undefined;
  const reports = files.map((f) => parseJUnit(readFileSync(f, 'utf8'), f));
  const merged = mergeReports(reports);
  // Map paths inside the container to paths in the repository for annotations.
  const prefix = containerWorkdir.replace(/\/?$/, '/');
  for (const c of merged.cases) {
    if (!c.file) continue;
    const inRepo = c.file.startsWith(prefix) ? c.file.slice(prefix.length) : c.file.replace(/^\.\//, '');
    c.file = sourceDir && sourceDir !== '.' && !posix.isAbsolute(inRepo) ? posix.join(sourceDir, inRepo) : inRepo;
  }
  return merged;
}

function listXml(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return path.endsWith('.xml') ? [path] : [];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listXml(join(path, name)));
}

/** Summary, annotations and the step's verdict: the tests' exit code decides. */
export async function reportTestRun(outcome: TestRunOutcome, settings: TestRunSettings): Promise<void> {
  const r = outcome.report;
  if (r) {
    for (const a of reportAnnotations(r)) annotate('error', a.message, { file: a.file, line: a.line, title: a.title });
    await writeSummary(`### run-tests\n\n${reportSummaryMarkdown(r)}`);
  } else {
    await writeSummary(`### run-tests\n\n\`${settings.image}\`: tests exited with code ${outcome.exitCode}.\n`);
  }
  if (outcome.timedOut) throw new ExternalError(`the tests did not finish within ${settings.timeoutMinutes} minutes ('timeout-minutes').`);
  if (outcome.exitCode !== 0) {
    const failedNames = r?.cases.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => c.name) ?? [];
    throw new ExternalError(
      failedNames.length
        ? `${failedNames.length} test(s) failed: ${failedNames.slice(0, 10).join(', ')}${failedNames.length > 10 ? ', …' : ''}`
        : `the tests exited with code ${outcome.exitCode}`,
    );
  }
}
