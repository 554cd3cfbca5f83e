// run-tests against the real engine, as a user of the action would notice it:
// which lines run, which exit code decides, where the environment goes, where
// the tests run, what the JUnit results become, that services are reachable
// and gone afterwards, and that a timeout or a cancelled job leaves nothing.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFileCommands } from '@kubeline/runner';
import { act, expectNoStackTrace, firstError, removeRunTestsLeftovers, repoRoot, runTestsLeftovers, testbed } from '../support/actions';
import { runnerFiles } from '../support/runner-files';

const bed = testbed();
const PYTHON = process.env.KUBELINE_BASE_PYTHON ?? 'local/python:3';

// Container and network names carry the run id: this file's leftovers can be
// told from those of anyone else using the same engine.
const runId = String(800_000_000 + randomInt(99_000_000));
const env = { GITHUB_RUN_ID: runId };
const prefix = `kubeline-${runId}-`;

const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const lines = (r: { log: string }): string[] => r.log.split('\n');

const leftovers = () => runTestsLeftovers(prefix);

const images: string[] = [];
/** A tiny image from the local busybox, built for this file. */
function buildImage(dockerfile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-rt-image-'));
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  const tag = `kubeline-test/run-tests-${randomBytes(3).toString('hex')}:1`;
  execFileSync('docker', ['build', '--quiet', '--tag', tag, dir], { env: { ...process.env, DOCKER_BUILDKIT: '1' }, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  images.push(tag);
  return tag;
}

const temps: string[] = [];
/** A RUNNER_TEMP that outlives the run, to look into afterwards. */
function runnerTemp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-rt-temp-'));
  temps.push(dir);
  return dir;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

let appImage = '';
beforeAll(() => {
  appImage = buildImage(`FROM ${bed.busybox}\nWORKDIR /app\nRUN mkdir -p sub && echo in-sub > sub/marker\n`);
});

afterEach(() => {
  // Every run, whatever its outcome, removes its containers and network.
  expect(leftovers()).toEqual({ containers: [], networks: [] });
});

afterAll(() => {
  removeRunTestsLeftovers(prefix);
  for (const image of images) execFileSync('docker', ['rmi', '--force', image], { stdio: 'ignore' });
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('the run script', () => {
  test('stops at the first failing line (set -e): the step fails and later lines never run', async () => {
    const r = await act('run-tests', { image: bed.busybox, run: 'echo before\ntrue\nfalse\necho after' }, { env });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs['exit-code']).toBe('1');
    expect(firstError(r)).toBe('run-tests: the tests exited with code 1');
    expect(lines(r)).toContain('before');
    expect(lines(r)).not.toContain('after');
  });

  test("shell: bash fails on a failing command inside a pipeline (pipefail); sh's default does not", async () => {
    const script = 'false | cat\necho after-pipeline';
    const bash = await act('run-tests', { image: PYTHON, shell: 'bash', run: script }, { env });
    expect(bash.conclusion).toBe('failure');
    expect(bash.outputs['exit-code']).toBe('1');
    expect(lines(bash)).not.toContain('after-pipeline');

    // The same script under sh: a pipeline's status is its last command's.
    const sh = await act('run-tests', { image: PYTHON, run: script }, { env });
    expect(sh.conclusion).toBe('success');
    expect(lines(sh)).toContain('after-pipeline');
  });

  test('shell: bash in an image without bash names the shell input and the fix', async () => {
    const r = await act('run-tests', { image: bed.busybox, shell: 'bash', run: 'echo hi' }, { env });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(firstError(r)).toBe(
      `run-tests: input 'shell': 'bash' cannot be run in '${bed.busybox}' (executable file not found). Use 'shell: sh', or install bash in the test stage.`,
    );
  });
});

describe('the exit code decides', () => {
  test('exit 0 with no results: success, exit-code 0, the summary says so', async () => {
    const r = await act('run-tests', { image: bed.busybox, run: 'echo ok\nexit 0' }, { env });
    expect(r.conclusion).toBe('success');
    expect(r.outputs).toMatchObject({ 'exit-code': '0', passed: '0', failed: '0', skipped: '0', report: '' });
    expect(r.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(r.summary).toContain(`\`${bed.busybox}\`: tests exited with code 0.`);
  });

  test('exit 3: failure, exit-code 3, and the message names the code', async () => {
    const r = await act('run-tests', { image: bed.busybox, run: 'echo ok\nexit 3' }, { env });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs['exit-code']).toBe('3');
    expect(firstError(r)).toBe('run-tests: the tests exited with code 3');
    expect(r.summary).toContain('tests exited with code 3');
  });

  test('a command missing from the image is the tests failing (127), not a docker error', async () => {
    const r = await act('run-tests', { image: bed.busybox, run: 'no-such-test-runner --all' }, { env });
    expect(r.conclusion).toBe('failure');
    expect(r.outputs['exit-code']).toBe('127');
    expect(firstError(r)).toBe('run-tests: the tests exited with code 127');
  });
});

describe('env', () => {
  test('values reach the tests but never the docker command line, the log or the disk', async () => {
    const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
    const digest = createHash('sha256').update(secret).digest('hex');
    const temp = runnerTemp();
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        // The tests print a hash of the value, never the value.
        run: 'printf %s "$API_TOKEN" | sha256sum\necho "spaced=[$SPACED]"\necho "docker-host=$DOCKER_HOST"',
        // DOCKER_HOST is for the tests (e.g. testcontainers): it must not redirect the docker CLI that starts them.
        env: `API_TOKEN=${secret}\nSPACED=a b=c\nDOCKER_HOST=tcp://docker.invalid:2375`,
      },
      { env: { ...env, RUNNER_TEMP: temp } },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.log).toContain(digest);
    expect(lines(r)).toContain('spaced=[a b=c]');
    expect(lines(r)).toContain('docker-host=tcp://docker.invalid:2375');
    const command = lines(r).find((l) => l.startsWith('[command]') && / run /.test(l));
    expect(command).toMatch(/docker run --name=kubeline-/);
    expect(command).not.toContain(secret);
    expect(r.log).not.toContain(secret);
    // The env file the values went through is gone with the run.
    expect(readdirSync(temp).filter((f) => f.startsWith('kubeline-env-'))).toEqual([]);
  });

  test('a variable name with a space names the env input', async () => {
    const r = await act('run-tests', { image: bed.busybox, run: 'true', env: 'API TOKEN=x' }, { env });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(firstError(r)).toBe("run-tests: input 'env': variable name 'API TOKEN' contains whitespace; use NAME=value with no spaces in NAME.");
  });
});

describe('working-directory', () => {
  const pwd = (r: { log: string }) => lines(r).find((l) => l.startsWith('PWD='));

  test("by default the tests run in the image's WORKDIR", async () => {
    const r = await act('run-tests', { image: appImage, run: 'echo "PWD=$(pwd)"\ncat sub/marker' }, { env });
    expect(r.conclusion).toBe('success');
    expect(pwd(r)).toBe('PWD=/app');
    expect(lines(r)).toContain('in-sub');
    const plain = await act('run-tests', { image: bed.busybox, run: 'echo "PWD=$(pwd)"' }, { env });
    expect(pwd(plain)).toBe('PWD=/');
  });

  test('an absolute working-directory is used as given', async () => {
    const r = await act('run-tests', { image: appImage, run: 'echo "PWD=$(pwd)"', 'working-directory': '/tmp' }, { env });
    expect(r.conclusion).toBe('success');
    expect(pwd(r)).toBe('PWD=/tmp');
  });

  test("a relative working-directory is taken from the image's WORKDIR", async () => {
    const r = await act('run-tests', { image: appImage, run: 'echo "PWD=$(pwd)"\ncat marker', 'working-directory': 'sub' }, { env });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(pwd(r)).toBe('PWD=/app/sub');
    expect(lines(r)).toContain('in-sub');
  });
});

describe('results', () => {
  // Two JUnit files written by the tests; one test fails at tests/test_calc.py:14.
  const WRITE_REPORTS = [
    'mkdir -p reports',
    "cat > reports/junit-calc.xml <<'EOF'",
    '<?xml version="1.0" encoding="utf-8"?>',
    '<testsuite name="calc" tests="3" failures="1" skipped="1" time="0.05">',
    '  <testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py" line="3" time="0.01"/>',
    '  <testcase classname="tests.test_calc" name="test_div" file="tests/test_calc.py" line="10" time="0.02">',
    '    <failure message="assert 2 == 3">def test_div():',
    '&gt;       assert 6 / 3 == 3',
    'E       assert 2.0 == 3',
    '',
    'tests/test_calc.py:14: AssertionError</failure>',
    '  </testcase>',
    '  <testcase classname="tests.test_calc" name="test_later" file="tests/test_calc.py" line="20"><skipped message="not yet"/></testcase>',
    '</testsuite>',
    'EOF',
    "printf '%s' '<testsuite name=\"io\" tests=\"1\"><testcase classname=\"tests.test_io\" name=\"test_read\"/></testsuite>' > reports/junit-io.xml",
  ].join('\n');

  test('a folder of JUnit XML becomes outputs, a report folder, an annotation at file:line and a summary table', async () => {
    const temp = runnerTemp();
    const r = await act(
      'run-tests',
      // `results` relative to the WORKDIR (/app); the container's /app is the repository's svc/ folder.
      { image: appImage, run: `${WRITE_REPORTS}\nexit 1`, results: 'reports', 'source-dir': 'svc' },
      { env: { ...env, RUNNER_TEMP: temp } },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(r.outputs).toMatchObject({ 'exit-code': '1', passed: '2', failed: '1', skipped: '1' });
    // The step's own error comes after the test's annotation.
    expect(r.annotations.filter((a) => a.level === 'error' && !a.file).map((a) => a.message)).toEqual(['run-tests: 1 test(s) failed: test_div']);

    // The report output is a host folder holding the files the tests wrote.
    const report = r.outputs.report;
    expect(report.startsWith(temp)).toBe(true);
    expect(filesUnder(report).map((f) => f.split('/').pop())).toEqual(['junit-calc.xml', 'junit-io.xml']);
    const calc = filesUnder(report).find((f) => f.endsWith('junit-calc.xml'))!;
    expect(readFileSync(join(report, calc), 'utf8')).toContain('name="test_div"');

    const failure = r.annotations.find((a) => a.level === 'error' && a.file);
    expect(failure).toMatchObject({ file: 'svc/tests/test_calc.py', line: 14 });
    expect(failure?.title).toContain('test_div');
    expect(failure?.message).toContain('assert 2 == 3');
    expect(r.annotations.filter((a) => a.level === 'error' && a.file)).toHaveLength(1);

    expect(r.summary).toContain('2 passed, 1 failed, 1 skipped of 4 tests');
    const row = r.summary.split('\n').find((l) => l.startsWith('|') && l.includes('test_div'));
    expect(row).toContain('`svc/tests/test_calc.py:14`');
    expect(row).toContain('assert 2 == 3');
  });

  test('exit 0 with green results: success and the totals', async () => {
    const r = await act(
      'run-tests',
      { image: appImage, run: "mkdir -p /out\nprintf '%s' '<testsuite tests=\"1\"><testcase classname=\"t\" name=\"ok\"/></testsuite>' > /out/one.xml", results: '/out/one.xml' },
      { env },
    );
    expect(r.conclusion).toBe('success');
    expect(r.outputs).toMatchObject({ 'exit-code': '0', passed: '1', failed: '0', skipped: '0' });
    expect(r.summary).toContain('1 passed of 1 tests');
  });

  test('a missing results path is a warning; the exit code still decides', async () => {
    const r = await act('run-tests', { image: bed.busybox, run: 'true', results: '/nowhere' }, { env });
    expect(r.conclusion).toBe('success');
    expect(r.outputs.report).toBe('');
    expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'warning', message: "No test results at /nowhere in the container ('results' input)." }));
  });

  test('a broken report file and symbolic links in the results do not sink the run', async () => {
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        run: [
          'mkdir -p /r',
          // A link loop and a link to / would lead the host into itself or its own root filesystem.
          'ln -s . /r/loop',
          'ln -s / /r/root',
          "echo '<testsuite><testcase name=a>' > /r/broken.xml",
          "printf '%s' '<testsuite tests=\"1\"><testcase classname=\"t\" name=\"ok\"/></testsuite>' > /r/good.xml",
        ].join('\n'),
        results: '/r',
      },
      { env },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.outputs).toMatchObject({ 'exit-code': '0', passed: '1', failed: '0' });
    const warning = r.annotations.find((a) => a.level === 'warning');
    expect(warning?.message).toMatch(/^Skipped a test report that cannot be read: \/r\/broken\.xml: not well-formed XML at line 1/);
  });
});

describe('services', () => {
  test('a service is reachable by its name, gets its env, and is gone with its network afterwards', async () => {
    const services = [
      'web:',
      `  image: ${bed.busybox}`,
      '  env: { GREETING: hello from web }',
      // A command string is split as a shell would split it: the quoted part is one argument.
      `  command: sh -c 'echo "$GREETING" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'`,
    ].join('\n');
    const run = [
      'for i in $(seq 20); do wget -qO- http://web:8080/index.html > /tmp/got && break; sleep 0.5; done',
      'echo "got=$(cat /tmp/got)"',
    ].join('\n');
    const r = await act('run-tests', { image: bed.busybox, run, services }, { env });
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.log).toContain(`Service 'web' is up (${bed.busybox}), reachable as 'web'.`);
    expect(lines(r)).toContain('got=hello from web');
    // afterEach: no container, no network left.
  });

  test('the same through the httpd of the brief: /etc/passwd served by name', async () => {
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        services: `web: { image: ${bed.busybox}, command: "httpd -f -p 8080 -h /etc" }`,
        run: 'for i in $(seq 20); do wget -qO- http://web:8080/passwd && exit 0; sleep 0.5; done\nexit 1',
      },
      { env },
    );
    expect(r.conclusion).toBe('success');
    expect(lines(r)).toContain('root:x:0:0:root:/root:/bin/sh');
  });

  test('a service may be called "tests"', async () => {
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        services: `tests: { image: ${bed.busybox}, command: "httpd -f -p 8080 -h /etc" }`,
        run: 'for i in $(seq 20); do wget -qO- http://tests:8080/hostname > /dev/null && exit 0; sleep 0.5; done\nexit 1',
      },
      { env },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
  });

  test('a service that exits at once fails the step with its name and its logs; the tests never run', async () => {
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        services: `db: { image: ${bed.busybox}, command: "sh -c 'echo cannot bind port 5432 >&2; exit 3'" }`,
        run: 'echo TESTS-RAN',
      },
      { env },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(firstError(r)).toBe(`run-tests: service 'db' (${bed.busybox}) exited with code 3 before the tests started. Its last lines:\ncannot bind port 5432`);
    expect(r.log).not.toContain('TESTS-RAN');
  });

  test('a service that crashes a moment after it started fails the step too', async () => {
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        services: `db: { image: ${bed.busybox}, command: "sh -c 'sleep 0.3; echo no config file >&2; exit 4'" }`,
        run: 'echo TESTS-RAN',
      },
      { env },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('failure');
    expect(firstError(r)).toBe(`run-tests: service 'db' (${bed.busybox}) exited with code 4 before the tests started. Its last lines:\nno config file`);
    expect(r.log).not.toContain('TESTS-RAN');
  });

  test('a service spec with a key run-tests does not know is refused before any work', async () => {
    const r = await act('run-tests', { image: bed.busybox, run: 'true', services: `db: { image: ${bed.busybox}, environment: { A: b } }` }, { env });
    expectNoStackTrace(r);
    expect(firstError(r)).toBe(
      "run-tests: input 'services': service 'db' has 'environment', which run-tests does not know; a service takes image, env, command.",
    );
  });
});

test('timeout stops tests that hang, says so, and removes the containers', async () => {
  const started = Date.now();
  const r = await act(
    'run-tests',
    { image: bed.busybox, run: 'sleep 600', timeout: '5s', services: `web: { image: ${bed.busybox}, command: "httpd -f -p 8080" }` },
    { env },
  );
  const seconds = (Date.now() - started) / 1000;
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  expect(seconds).toBeGreaterThanOrEqual(5);
  expect(seconds).toBeLessThan(45); // far from the 600 s the tests wanted
  expect(firstError(r)).toBe("run-tests: the tests did not finish within 5s and were stopped. Raise 'timeout' if they need longer.");
  expect(r.annotations.filter((a) => a.level === 'error')).toHaveLength(1);
  // afterEach: containers and network removed.
});

describe('a cancelled job', () => {
  // The runner kills a cancelled step and then runs the post step: here the
  // bundle runs bare (as in test/bundles), is SIGKILLed while the tests run,
  // and the post step gets the state the main step saved.
  const bundle = join(repoRoot, 'dist', 'run-tests', 'index.js');
  let main: ChildProcess | undefined;
  afterAll(() => {
    if (main && main.exitCode === null && main.signalCode === null) main.kill('SIGKILL');
  });

  function stepEnv(dir: string): Record<string, string> {
    return {
      ...runnerFiles(dir),
      GITHUB_RUN_ID: runId,
      GITHUB_WORKSPACE: repoRoot,
      RUNNER_TEMP: join(dir, 'runner-temp'),
    };
  }

  async function until<T>(what: string, probe: () => T | undefined, seconds = 60): Promise<T> {
    const end = Date.now() + seconds * 1000;
    for (;;) {
      const v = probe();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const running = (): string[] =>
    docker('ps', '--filter', 'label=kubeline=run-tests', '--filter', `name=${prefix}`, '--filter', 'status=running', '--format', '{{.Names}}')
      .split('\n')
      .filter(Boolean);

  test('the post step removes the containers, the network and the env file a killed main step left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeline-rt-cancel-'));
    temps.push(dir);
    const stepenv = stepEnv(dir);
    mkdirSync(stepenv.RUNNER_TEMP);
    const inputs = {
      INPUT_IMAGE: bed.busybox,
      INPUT_RUN: 'sleep 600',
      INPUT_ENV: 'API_TOKEN=cancelled-secret',
      INPUT_SERVICES: `web: { image: ${bed.busybox}, command: "httpd -f -p 8080" }`,
    };
    let output = '';
    main = spawn(process.execPath, [bundle], { env: { ...stepenv, ...inputs }, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    main.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    main.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((done) => main!.on('exit', () => done()));

    const names = await until('the test container to run', () => {
      const n = running();
      return n.some((x) => x.endsWith('-tests')) ? n : undefined;
    });
    expect(names.some((n) => /-svc-web$/.test(n))).toBe(true);
    main.kill('SIGKILL');
    await exited;
    expect(main.signalCode).toBe('SIGKILL');

    // What a cancel leaves: the tests still running, the network, the env file.
    expect(running().sort()).toEqual([...names].sort());
    expect(leftovers().networks).toHaveLength(1);
    expect(readdirSync(stepenv.RUNNER_TEMP).filter((f) => f.startsWith('kubeline-env-'))).toHaveLength(1);

    // The runner hands the saved state to the post step as STATE_* variables.
    const state = parseFileCommands(readFileSync(stepenv.GITHUB_STATE, 'utf8'));
    expect(state.isPost).toBe('true');
    const postEnv: Record<string, string> = { ...stepEnv(mkdtempSync(join(dir, 'post-'))), RUNNER_TEMP: stepenv.RUNNER_TEMP };
    for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v;
    const post = await new Promise<{ status: number | null; out: string }>((done) => {
      const p = spawn(process.execPath, [bundle], { env: postEnv, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.on('close', (status) => done({ status, out }));
    });
    expect(post.status).toBe(0);
    expect(post.out).toMatch(new RegExp(`Removed test containers ${prefix}\\w+-tests, ${prefix}\\w+-svc-web and network ${prefix}\\w+\\.`));
    expect(leftovers()).toEqual({ containers: [], networks: [] });
    expect(readdirSync(stepenv.RUNNER_TEMP).filter((f) => f.startsWith('kubeline-env-'))).toEqual([]);
    expect(output).not.toContain('cancelled-secret');
  });

  test('after a run that finished, the post step has nothing to remove and says nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeline-rt-post-'));
    temps.push(dir);
    const r = await act('run-tests', { image: bed.busybox, run: 'true', services: `web: { image: ${bed.busybox}, command: "httpd -f -p 8080" }` }, { env });
    expect(r.conclusion).toBe('success');
    expect(r.postExitCode).toBe(0);
    expect(r.log.slice(r.log.indexOf('Post run-tests'))).not.toContain('Removed');
  });
});
