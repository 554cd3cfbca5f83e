// What a hostile or careless input does to run-tests and push-image, against
// the real engine: an image reference or registry that looks like a docker flag
// is refused before any docker call, a report folder never hands the next step
// a symbolic link into the host, and a line break in a service's env value
// cannot add a variable.
import { randomInt } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { act, demoDir, expectNoStackTrace, firstError, removeRunTestsLeftovers, runTestsLeftovers, testbed } from '../support/actions';

const bed = testbed();

const runId = String(900_000_000 + randomInt(99_000_000));
const env = { GITHUB_RUN_ID: runId };
const prefix = `kubeline-${runId}-`;


const leftovers = () => runTestsLeftovers(prefix);

const temps: string[] = [];
function runnerTemp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeline-inj-temp-'));
  temps.push(dir);
  return dir;
}

afterEach(() => {
  expect(leftovers()).toEqual({ containers: [], networks: [] });
});

afterAll(() => {
  removeRunTestsLeftovers(prefix);
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function refused(r: Awaited<ReturnType<typeof act>>): string {
  expectNoStackTrace(r);
  expect(r.conclusion).toBe('failure');
  return firstError(r);
}

describe('image references that look like docker flags', () => {
  test("a service image '--volume=/:/host' is refused, and the host's root is never mounted", async () => {
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        run: 'echo tests-ran',
        // Were the image a flag, the command's first word would become the image, with / mounted at /host.
        services: `db: { image: "--volume=/:/host", command: "${bed.busybox} sh -c 'ls /host/etc >/dev/null && echo HOST-ROOT-MOUNTED; sleep 30'" }`,
      },
      { env },
    );
    expect(refused(r)).toMatch(/^run-tests: input 'services': service 'db' has image '--volume=\/:\/host', which is not an image reference: it starts with '-'\. /);
    expect(r.log).not.toContain('tests-ran');
    expect(r.log).not.toContain("Service 'db' is up");
  });

  test.each([
    ['--help', "it starts with '-'"],
    ['Local/BusyBox:1', 'the repository must be lowercase'],
    ['busybox:1 --privileged', 'it contains whitespace'],
  ])("run-tests image '%s' is refused with the input's name", async (image, why) => {
    const r = await act('run-tests', { image, run: 'echo tests-ran' }, { env });
    expect(refused(r)).toContain(`run-tests: input 'image': '${image}' is not an image reference: ${why}.`);
    expect(r.log).not.toMatch(/JSON|tests-ran/);
  });

  test("push-image registry '--help' is refused, not 'logged in to --help'", async () => {
    const r = await act('push-image', { context: demoDir, repositories: `${bed.registry}/inj`, registry: '--help', username: bed.user, password: bed.password });
    expect(refused(r)).toContain("push-image: input 'registry': '--help' is not a registry host: it starts with '-'.");
    expect(r.log).not.toContain('Logged in to');
  });
});

describe('report folders', () => {
  test('symbolic links in the results are not copied to the host, and each is named in a warning', async () => {
    const temp = runnerTemp();
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        run: [
          'mkdir -p /r/sub',
          'ln -s /etc/shadow /r/evil.xml',
          'ln -s / /r/root',
          'ln -s ../good.xml /r/sub/again.xml',
          "printf '%s' '<testsuite tests=\"1\"><testcase classname=\"t\" name=\"ok\"/></testsuite>' > /r/good.xml",
        ].join('\n'),
        results: '/r',
      },
      { env: { ...env, RUNNER_TEMP: temp } },
    );
    expectNoStackTrace(r);
    expect(r.conclusion).toBe('success');
    expect(r.outputs).toMatchObject({ passed: '1', failed: '0' });
    const report = r.outputs.report;
    expect(report.startsWith(temp)).toBe(true);
    const entries = readdirSync(report, { recursive: true, encoding: 'utf8' }).sort();
    const links = entries.filter((e) => lstatSync(join(report, e)).isSymbolicLink());
    expect(links).toEqual([]);
    expect(entries).toEqual(['r', 'r/good.xml', 'r/sub']);
    expect(r.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        message: expect.stringMatching(/^Left 3 symbolic links out of the test report \(the next step would follow them on the runner\): \/r\/evil\.xml, \/r\/root, \/r\/sub\/again\.xml\./),
      }),
    );
  });
});

describe('service environment', () => {
  test('a line break in a service env value is refused: it cannot set a second variable', async () => {
    const r = await act(
      'run-tests',
      {
        image: bed.busybox,
        run: 'echo tests-ran',
        // Exits 7 when B reached the service, so an injection shows as its exit code.
        services: `db: { image: ${bed.busybox}, env: { A: "x\\nB=y" }, command: "sh -c 'test -z \\"$B\\" || exit 7; sleep 30'" }`,
      },
      { env },
    );
    const msg = refused(r);
    expect(msg).not.toContain('exited with code 7');
    expect(msg).toBe(
      "run-tests: input 'services': the env value of 'A' in service 'db' contains a line break, which would start another variable; give it on one line.",
    );
    expect(r.log).not.toContain('tests-ran');
  });
});
