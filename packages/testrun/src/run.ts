import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DockerCli, DockerContainers } from '@kubeline/docker';
import { ConfigurationError, ExternalError, Inputs, annotate, tail, writeSummary } from '@kubeline/toolkit';
import { JUnitParseError, type TestReport, mergeReports, parseJUnit, reportAnnotations, reportSummaryMarkdown } from './junit';

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
  /** As given: absolute, or relative to the image's WORKDIR; empty means the image's WORKDIR. */
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
const STATE_ENV_DIR = 'env-dir';
const SERVICE_KEYS = ['image', 'env', 'command'];

export function readTestRunSettings(inputs: Inputs): TestRunSettings {
  const script = inputs.multiline('run');
  if (!script.trim()) throw new ConfigurationError('is required: give the test commands, one per line.', 'run');
  const network = inputs.string('network');
  const services = parseServices(inputs.multiline('services'));
  if (services.length && network) {
    throw new ConfigurationError(`cannot be combined with 'services': the tests join the services' private network. Drop one of them.`, 'network');
  }
  const env = inputs.keyValues('env');
  for (const [k] of env) checkEnvName(k, `'${k}'`, 'env');
  return {
    image: inputs.required('image', 'Pass the `image` output of build-test-image.'),
    script,
    shell: inputs.string('shell', 'sh'),
    workingDirectory: inputs.string('working-directory'),
    env,
    results: inputs.string('results'),
    timeoutMinutes: inputs.integer('timeout-minutes', 30, 1, 360),
    network,
    services,
    sourceDir: inputs.string('source-dir', '.'),
  };
}

function checkEnvName(name: string, what: string, input: string): void {
  if (/\s/.test(name)) throw new ConfigurationError(`variable name ${what} contains whitespace; use NAME=value with no spaces in NAME.`, input);
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
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new ConfigurationError(`service name '${name}' must be a valid host name.`, 'services');
    const s = (typeof spec === 'string' ? { image: spec } : spec) as Record<string, unknown> | null;
    if (!s || typeof s !== 'object' || Array.isArray(s) || typeof s.image !== 'string' || !s.image) {
      throw new ConfigurationError(`service '${name}' needs an image, e.g. "${name}: { image: postgres:16 }".`, 'services');
    }
    const unknown = Object.keys(s).filter((k) => !SERVICE_KEYS.includes(k));
    if (unknown.length) {
      throw new ConfigurationError(`service '${name}' has ${unknown.map((k) => `'${k}'`).join(', ')}, which run-tests does not know; a service takes ${SERVICE_KEYS.join(', ')}.`, 'services');
    }
    let env: Array<[string, string]> = [];
    if (s.env !== undefined && s.env !== null) {
      if (typeof s.env !== 'object' || Array.isArray(s.env)) {
        throw new ConfigurationError(`the env of service '${name}' must map names to values, e.g. "env: { POSTGRES_PASSWORD: x }".`, 'services');
      }
      env = Object.entries(s.env as Record<string, unknown>).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]);
      for (const [k] of env) checkEnvName(k, `'${k}' of service '${name}'`, 'services');
    }
    let command: string[] = [];
    if (Array.isArray(s.command)) command = s.command.map(String);
    else if (typeof s.command === 'string') command = splitCommand(s.command, name);
    else if (s.command !== undefined && s.command !== null) {
      throw new ConfigurationError(`the command of service '${name}' must be a string or a list of arguments.`, 'services');
    }
    return { name, image: s.image, env, command };
  });
}

/** A command line split into arguments as a shell would: quotes and backslashes, no expansion. */
export function splitCommand(line: string, service = ''): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      inArg = true;
      const end = c === "'" ? line.indexOf("'", i + 1) : closingDoubleQuote(line, i + 1);
      if (end === -1) {
        throw new ConfigurationError(`the command of service '${service}' has an unclosed ${c === "'" ? 'single' : 'double'} quote: ${line}`, 'services');
      }
      const body = line.slice(i + 1, end);
      current += c === "'" ? body : body.replace(/\\(["\\$`])/g, '$1');
      i = end;
    } else if (c === '\\' && i + 1 < line.length) {
      inArg = true;
      current += line[++i];
    } else if (/\s/.test(c)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      inArg = true;
      current += c;
    }
  }
  if (inArg) args.push(current);
  return args;
}

function closingDoubleQuote(line: string, from: number): number {
  for (let i = from; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '"') return i;
  }
  return -1;
}

/** The shell line that runs the script so that any failing line fails the run. */
export function shellCommand(shell: string, script: string): string[] {
  if (shell === 'sh') return ['sh', '-e', '-c', script];
  if (shell === 'bash') return ['bash', '-e', '-o', 'pipefail', '-c', script];
  return [...shell.split(/\s+/).filter(Boolean), '-c', script];
}

/**
 * Environment for containers, as env files in a private folder (0700, files
 * 0600) removed after the run, and by the post step after a cancel: values
 * reach neither argv nor the log, and a variable meant for the tests
 * (DOCKER_HOST, DOCKER_CONFIG, HOME, …) does not redirect the docker CLI that
 * starts them, as it would if it travelled in the CLI's own environment.
 */
class EnvFiles {
  private dir?: string;
  private count = 0;

  constructor(private readonly parent: string) {}

  args(env: Array<[string, string]>): string[] {
    if (!env.length) return [];
    if (!this.dir) {
      this.dir = mkdtempSync(join(this.parent, 'kubeline-env-'));
      core.saveState(STATE_ENV_DIR, this.dir);
    }
    const file = join(this.dir, `env-${this.count++}`);
    writeFileSync(file, env.map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
    return ['--env-file', file];
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs the tests inside the test image, with services on a private network,
 * copies the JUnit results out and reports them. Containers and the network
 * are removed afterwards, and again by the post step if the job is cancelled.
 */
export async function runTests(docker: DockerCli, settings: TestRunSettings): Promise<TestRunOutcome> {
  const containers = new DockerContainers(docker);
  const inspected = await docker.inspectImage(settings.image);
  if (!inspected) {
    throw new ConfigurationError(`'${settings.image}' is not in the Docker engine. Pass the 'image' output of build-test-image, or pull the image first.`, 'image');
  }
  const imageWorkdir = inspected.workingDir || '/';
  const workdir = !settings.workingDirectory
    ? imageWorkdir
    : posix.isAbsolute(settings.workingDirectory)
      ? posix.normalize(settings.workingDirectory)
      : posix.join(imageWorkdir, settings.workingDirectory);
  const id = `kubeline-${process.env.GITHUB_RUN_ID ?? 'local'}-${randomBytes(3).toString('hex')}`;
  // Service containers get their own prefix, so that no service name can take the tests' name.
  const testName = `${id}-tests`;
  const serviceName = (s: ServiceSpec): string => `${id}-svc-${s.name}`;
  const names = [testName, ...settings.services.map(serviceName)];
  core.saveState(STATE_CONTAINERS, JSON.stringify(names));
  const network = settings.services.length ? id : settings.network;
  const temp = process.env.RUNNER_TEMP || tmpdir();
  const reportDir = join(temp, 'kubeline-test-results', id);
  const envFiles = new EnvFiles(temp);
  try {
    if (settings.services.length) {
      core.saveState(STATE_NETWORK, id);
      await containers.createNetwork(id);
      let unchecked = false;
      for (const s of settings.services) unchecked = !(await startService(docker, containers, s, serviceName(s), id, envFiles)) || unchecked;
      // A process that is up may still be about to crash: without a HEALTHCHECK, give it a moment to show it.
      if (unchecked) {
        await sleep(SERVICE_SETTLE_MS);
        for (const s of settings.services) {
          const state = await containers.health(serviceName(s));
          if (!state.running) throw await serviceError(containers, s, serviceName(s), `exited with code ${state.exitCode} before the tests started`);
        }
      }
    }
    const args = ['run', '--name', testName, '--label', 'kubeline=run-tests', ...envFiles.args(settings.env)];
    if (network) args.push('--network', network);
    if (settings.workingDirectory) args.push('--workdir', workdir);
    args.push('--entrypoint', '', settings.image, ...shellCommand(settings.shell, settings.script));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      core.info(`The tests ran longer than ${minutes(settings.timeoutMinutes)} ('timeout-minutes'); stopping them.`);
      void containers.kill(testName);
    }, settings.timeoutMinutes * 60_000);
    const result = await docker
      .exec(args, { group: `Run tests in ${settings.image}`, allowFailure: true })
      .finally(() => clearTimeout(timer));
    if (!timedOut) explainStartFailure(result.exitCode, result.stderr, settings);
    let report: TestReport | undefined;
    if (settings.results) {
      const containerPath = posix.isAbsolute(settings.results) ? settings.results : posix.join(workdir, settings.results);
      mkdirSync(reportDir, { recursive: true });
      if (await containers.copyOut(testName, containerPath, reportDir)) {
        report = readReports(reportDir, containerPath, workdir, settings.sourceDir);
      } else {
        core.warning(`No test results at ${containerPath} in the container ('results' input).`);
      }
    }
    return { exitCode: result.exitCode, timedOut, report, reportDir };
  } finally {
    envFiles.remove();
    await cleanup(containers, names, settings.services.length ? id : undefined);
    // Nothing is left for the post step to remove.
    core.saveState(STATE_CONTAINERS, '[]');
    core.saveState(STATE_NETWORK, '');
    core.saveState(STATE_ENV_DIR, '');
  }
}

const SERVICE_SETTLE_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const minutes = (n: number): string => `${n} minute${n === 1 ? '' : 's'}`;

/**
 * Docker answers 125 when it cannot create the container, 126/127 when the
 * shell cannot be started; the tests' own exit codes (127: a command not
 * found in the script) come without docker's "Error response" line.
 */
function explainStartFailure(exitCode: number, stderr: string, settings: TestRunSettings): void {
  if (exitCode < 125 || exitCode > 127) return;
  const dockerLine = stderr.split('\n').find((l) => /^docker: |OCI runtime (create|exec) failed/.test(l));
  if (!dockerLine) return;
  const missing = /exec: "([^"]+)": (executable file not found|permission denied|no such file)/.exec(stderr);
  if (missing) {
    throw new ConfigurationError(
      `'${missing[1]}' cannot be run in '${settings.image}' (${missing[2]}). ` +
        (settings.shell === 'bash' ? `Use 'shell: sh', or install bash in the test stage.` : `Install it in the test stage, or use 'shell: sh'.`),
      'shell',
    );
  }
  throw new ExternalError('docker could not start the test container', tail(stderr, 5));
}

/** Starts a service and waits for its HEALTHCHECK, if any, else for it to run; true when a health check vouches for it. */
async function startService(
  docker: DockerCli,
  containers: DockerContainers,
  s: ServiceSpec,
  name: string,
  network: string,
  envFiles: EnvFiles,
): Promise<boolean> {
  const args = ['run', '--detach', '--name', name, '--label', 'kubeline=run-tests', '--network', network, '--network-alias', s.name];
  args.push(...envFiles.args(s.env), s.image, ...s.command);
  const r = await docker.exec(args, { silent: true, allowFailure: true });
  if (r.exitCode !== 0) throw new ExternalError(`service '${s.name}' (${s.image}) did not start`, tail(r.stderr, 5));
  for (let i = 0; i < 120; i++) {
    const state = await containers.health(name);
    if (!state.running) {
      throw await serviceError(containers, s, name, `exited with code ${state.exitCode} before the tests started`);
    }
    if (!state.health || state.health === 'healthy') {
      core.info(`Service '${s.name}' is up (${s.image}), reachable as '${s.name}'.`);
      return state.health === 'healthy';
    }
    await sleep(1000);
  }
  throw await serviceError(containers, s, name, 'did not become healthy in 2 minutes');
}

async function serviceError(containers: DockerContainers, s: ServiceSpec, name: string, what: string): Promise<ExternalError> {
  const logs = await containers.logs(name);
  return new ExternalError(`service '${s.name}' (${s.image}) ${what}${logs ? '. Its last lines:' : ', and printed nothing.'}`, logs);
}

async function cleanup(containers: DockerContainers, names: string[], network?: string): Promise<void> {
  await containers.remove(names);
  if (network) await containers.removeNetwork(network);
}

/** Post step: remove whatever a cancelled run left behind. */
export async function cleanupFromState(docker: DockerCli): Promise<void> {
  const envDir = core.getState(STATE_ENV_DIR);
  if (envDir) rmSync(envDir, { recursive: true, force: true });
  const names = JSON.parse(core.getState(STATE_CONTAINERS) || '[]') as string[];
  const network = core.getState(STATE_NETWORK) || undefined;
  if (!names.length && !network) return;
  await cleanup(new DockerContainers(docker), names, network);
  core.info(`Removed test containers ${names.join(', ')}${network ? ` and network ${network}` : ''}.`);
}

function readReports(dir: string, containerPath: string, containerWorkdir: string, sourceDir: string): TestReport | undefined {
  const files = listXml(dir);
  // Where a copied file was in the container, for messages.
  const inContainer = (f: string): string => posix.join(posix.dirname(containerPath), ...relative(dir, f).split(/[\\/]/));
  if (!files.length) {
    core.warning(`No JUnit XML files (*.xml) in ${containerPath} in the container ('results' input).`);
    return undefined;
  }
  const reports: TestReport[] = [];
  for (const f of files) {
    try {
      reports.push(parseJUnit(readFileSync(f, 'utf8'), inContainer(f)));
    } catch (err) {
      if (!(err instanceof JUnitParseError)) throw err;
      core.warning(`Skipped a test report that cannot be read: ${err.message}`);
    }
  }
  if (!reports.length) return undefined;
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

/** XML files under a copied folder. Symbolic links are not followed: they point into the container, or anywhere on the host. */
function listXml(path: string): string[] {
  const st = lstatSync(path);
  if (st.isFile()) return path.endsWith('.xml') ? [path] : [];
  if (!st.isDirectory()) return [];
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
  if (outcome.timedOut) {
    throw new ExternalError(`the tests did not finish within ${minutes(settings.timeoutMinutes)} and were stopped. Raise 'timeout-minutes' if they need longer.`);
  }
  if (outcome.exitCode !== 0) {
    const failedNames = r?.cases.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => c.name) ?? [];
    throw new ExternalError(
      failedNames.length
        ? `${failedNames.length} test(s) failed: ${failedNames.slice(0, 10).join(', ')}${failedNames.length > 10 ? ', …' : ''}`
        : `the tests exited with code ${outcome.exitCode}`,
    );
  }
}
