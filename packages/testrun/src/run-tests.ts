/** Running the tests in their image: the test container, its results copied out and read, the step's verdict, and the clean-up. */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { DockerCli, DockerContainers } from '@kubeline/docker';
import { annotate, ConfigurationError, ExternalError, formatDuration, log, StepFailure, stepState, tail, writeSummary } from '@kubeline/toolkit';
import type { ServiceSpec, TestRunSettings } from './inputs';
import { JUnitParseError, type TestReport, mergeReports, parseJUnit } from './junit';
import { reportAnnotations, reportSummaryMarkdown } from './presentation';
import { startServices } from './services';

export interface TestRunOutcome {
  exitCode: number;
  timedOut: boolean;
  report?: TestReport;
  reportDir: string;
}

// What the post step needs to clean up after a cancelled run.
const STATE_CONTAINERS = 'containers';
const STATE_NETWORK = 'network';
const STATE_ENV_DIR = 'env-dir';

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

  args(env: ReadonlyArray<readonly [string, string]>): string[] {
    if (!env.length) return [];
    // One NAME=value a line: a newline in either would start another variable (the inputs refuse it first).
    const split = env.find(([k, v]) => /\n/.test(k + v));
    if (split) throw new ConfigurationError(`the value of '${split[0]}' contains a line break, which would start another variable; give it on one line.`);
    if (!this.dir) {
      this.dir = mkdtempSync(join(this.parent, 'kubeline-env-'));
      stepState.save(STATE_ENV_DIR, this.dir);
    }
    const file = join(this.dir, `env-${this.count++}`);
    writeFileSync(file, env.map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
    return [`--env-file=${file}`];
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
  stepState.save(STATE_CONTAINERS, JSON.stringify(names));
  const network = settings.services.length ? id : settings.network;
  const temp = process.env.RUNNER_TEMP || tmpdir();
  const reportDir = join(temp, 'kubeline-test-results', id);
  const envFiles = new EnvFiles(temp);
  try {
    if (settings.services.length) {
      stepState.save(STATE_NETWORK, id);
      await containers.createNetwork(id);
      await startServices(docker, containers, settings.services, { network: id, containerName: serviceName, envArgs: (env) => envFiles.args(env) });
    }
    // Values joined to their flags: one starting with `-` stays a value.
    const args = ['run', `--name=${testName}`, '--label=kubeline=run-tests', ...envFiles.args(settings.env)];
    if (network) args.push(`--network=${network}`);
    if (settings.workingDirectory) args.push(`--workdir=${workdir}`);
    args.push('--entrypoint=', '--', settings.image, ...shellCommand(settings.shell, settings.script));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      log.info(`The tests ran longer than ${formatDuration(settings.timeoutMs)} ('timeout'); stopping them.`);
      void containers.kill(testName);
    }, settings.timeoutMs);
    const result = await docker
      .exec(args, { group: `Run tests in ${settings.image}`, allowFailure: true })
      .finally(() => clearTimeout(timer));
    if (!timedOut) explainStartFailure(result.exitCode, result.stderr, settings);
    let report: TestReport | undefined;
    if (settings.results) {
      const containerPath = posix.isAbsolute(settings.results) ? settings.results : posix.join(workdir, settings.results);
      mkdirSync(reportDir, { recursive: true });
      if (await containers.copyOut(testName, containerPath, reportDir)) {
        const left = removeLinks(reportDir, containerPath);
        report = readReports(reportDir, containerPath, workdir, settings.sourceDir);
        warnLeftOut(left);
      } else {
        log.warning(`No test results at ${containerPath} in the container ('results' input).`);
      }
    }
    return { exitCode: result.exitCode, timedOut, report, reportDir };
  } finally {
    envFiles.remove();
    await cleanup(containers, names, settings.services.length ? id : undefined);
    // Nothing is left for the post step to remove.
    stepState.save(STATE_CONTAINERS, '[]');
    stepState.save(STATE_NETWORK, '');
    stepState.save(STATE_ENV_DIR, '');
  }
}


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

async function cleanup(containers: DockerContainers, names: string[], network?: string): Promise<void> {
  await containers.remove(names);
  if (network) await containers.removeNetwork(network);
}

/** Post step: remove whatever a cancelled run left behind. */
export async function cleanupFromState(docker: DockerCli): Promise<void> {
  const envDir = stepState.get(STATE_ENV_DIR);
  if (envDir) rmSync(envDir, { recursive: true, force: true });
  const names = JSON.parse(stepState.get(STATE_CONTAINERS) || '[]') as string[];
  const network = stepState.get(STATE_NETWORK) || undefined;
  if (!names.length && !network) return;
  await cleanup(new DockerContainers(docker), names, network);
  log.info(`Removed test containers ${names.join(', ')}${network ? ` and network ${network}` : ''}.`);
}

function readReports(dir: string, containerPath: string, containerWorkdir: string, sourceDir: string): TestReport | undefined {
  const files = listXml(dir);
  // Where a copied file was in the container, for messages.
  const inContainer = (f: string): string => containerPathOf(dir, containerPath, f);
  if (!files.length) {
    log.warning(`No JUnit XML files (*.xml) in ${containerPath} in the container ('results' input).`);
    return undefined;
  }
  const reports: TestReport[] = [];
  for (const f of files) {
    try {
      reports.push(parseJUnit(readFileSync(f, 'utf8'), inContainer(f)));
    } catch (err) {
      if (!(err instanceof JUnitParseError)) throw err;
      log.warning(`Skipped a test report that cannot be read: ${err.message}`);
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

/** Where a file copied into `dir` was in the container. */
function containerPathOf(dir: string, containerPath: string, file: string): string {
  return posix.join(posix.dirname(containerPath), ...relative(dir, file).split(/[\\/]/));
}

/**
 * Removes symbolic links (and FIFOs, sockets, devices) from the copied
 * results, before anything reads them; returns where each was in the
 * container. docker cp keeps the container's links as host links, and the
 * next step (an artifact upload, a JUnit reporter) would follow them on the
 * runner: `evil.xml -> /etc/shadow`, `root -> /`. They are dropped rather than
 * resolved, because a link's target is a container path that only the
 * container can resolve, and one that stays inside the results names a file
 * that is copied anyway.
 */
function removeLinks(dir: string, containerPath: string): { links: string[]; special: string[] } {
  const left = { links: [] as string[], special: [] as string[] };
  const walk = (path: string): void => {
    const st = lstatSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else if (!st.isFile()) {
      (st.isSymbolicLink() ? left.links : left.special).push(containerPathOf(dir, containerPath, path));
      rmSync(path, { force: true });
    }
  };
  for (const name of readdirSync(dir).sort()) walk(join(dir, name));
  return left;
}

function warnLeftOut(left: { links: string[]; special: string[] }): void {
  if (left.links.length) {
    log.warning(
      `Left ${left.links.length} symbolic link${left.links.length === 1 ? '' : 's'} out of the test report (the next step would follow them on the runner): ${left.links.join(', ')}. ` +
        `Write the report files themselves into 'results', not links to them.`,
    );
  }
  if (left.special.length) {
    log.warning(`Left ${left.special.length} special file(s) (FIFO, socket or device) out of the test report: ${left.special.join(', ')}.`);
  }
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
    throw new StepFailure(`the tests did not finish within ${formatDuration(settings.timeoutMs)} and were stopped. Raise 'timeout' if they need longer.`);
  }
  if (outcome.exitCode !== 0) {
    const failedNames = r?.cases.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => c.name) ?? [];
    throw new StepFailure(
      failedNames.length
        ? `${failedNames.length} test(s) failed: ${failedNames.slice(0, 10).join(', ')}${failedNames.length > 10 ? ', …' : ''}`
        : `the tests exited with code ${outcome.exitCode}`,
    );
  }
}
