import { ConfigurationError, Inputs, objectInputs } from '@kubeline/toolkit';
import { parseServices, readTestRunSettings, splitCommand } from '../src/inputs';

const settings = (values: Record<string, string>) => readTestRunSettings(new Inputs(objectInputs(values)));

/** The message a ConfigurationError carries, or a failure when none is thrown. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigurationError');
}

describe('splitCommand', () => {
  test.each([
    ['httpd -f -p 8080 -h /etc', ['httpd', '-f', '-p', '8080', '-h', '/etc']],
    ['  spaced   out  ', ['spaced', 'out']],
    [`sh -c 'echo "$A"; exit 3'`, ['sh', '-c', 'echo "$A"; exit 3']],
    [`sh -c "echo \\"hi\\" \\$HOME"`, ['sh', '-c', 'echo "hi" $HOME']],
    [`a\\ b c`, ['a b', 'c']],
    [`--opt='' x`, ['--opt=', 'x']],
    [`"" x`, ['', 'x']],
    [`pre'quoted part'post`, ['prequoted partpost']],
  ])('%s', (line, args) => {
    expect(splitCommand(line)).toEqual(args);
  });
  test('an unclosed quote names the service', () => {
    expect(refusal(() => splitCommand(`sh -c 'echo`, 'db'))).toBe("input 'services': the command of service 'db' has an unclosed single quote: sh -c 'echo");
    expect(refusal(() => splitCommand(`sh -c "echo`, 'db'))).toContain('unclosed double quote');
  });
});

describe('parseServices', () => {
  test('none', () => {
    expect(parseServices('')).toEqual([]);
    expect(parseServices('  \n')).toEqual([]);
  });

  test('maps, short forms, env and both command forms', () => {
    const text = [
      'db:',
      '  image: postgres:16',
      '  env: { POSTGRES_PASSWORD: x, PORT: 5432, EMPTY: }',
      'cache: redis:7',
      `web: { image: busybox, command: "sh -c 'httpd -f -p 80'" }`,
      'worker: { image: busybox, command: [sleep, 60] }',
    ].join('\n');
    expect(parseServices(text)).toEqual([
      { name: 'db', image: 'postgres:16', env: [['POSTGRES_PASSWORD', 'x'], ['PORT', '5432'], ['EMPTY', '']], command: [] },
      { name: 'cache', image: 'redis:7', env: [], command: [] },
      { name: 'web', image: 'busybox', env: [], command: ['sh', '-c', 'httpd -f -p 80'] },
      { name: 'worker', image: 'busybox', env: [], command: ['sleep', '60'] },
    ]);
  });

  test.each([
    ['db: { image: [x', /^input 'services': is not valid YAML: /],
    ['- db', /^input 'services': must map service names to \{ image, env, command \}/],
    ['just text', /^input 'services': must map service names/],
    ['"bad name": x', /^input 'services': service name 'bad name' must be a valid host name\.$/],
    ['db: {}', /^input 'services': service 'db' needs an image, e\.g\. "db: \{ image: postgres:16 \}"\.$/],
    ['db:', /^input 'services': service 'db' needs an image/],
    ['db: [a, b]', /^input 'services': service 'db' needs an image/],
    ['db: { image: x, ports: ["5432:5432"] }', /^input 'services': service 'db' has 'ports', which run-tests does not know; a service takes image, env, command\.$/],
    ['db: { image: x, env: [A=b] }', /^input 'services': the env of service 'db' must map names to values/],
    ['db: { image: x, env: { "A B": c } }', /^input 'services': variable name 'A B' of service 'db' contains whitespace/],
    ['db: { image: x, command: 5 }', /^input 'services': the command of service 'db' must be a string or a list of arguments\.$/],
    ['db: x\ndb: y', /^input 'services': is not valid YAML: /],
    // Option injection: an image that docker would read as a flag.
    ['db: { image: "--volume=/:/host", command: "busybox sleep 30" }', /^input 'services': service 'db' has image '--volume=\/:\/host', which is not an image reference: it starts with '-'\. Give /],
    ['db: "-v"', /^input 'services': service 'db' has image '-v', which is not an image reference: it starts with '-'\./],
    ['db: { image: "postgres:16 --privileged" }', /^input 'services': service 'db' has image 'postgres:16 --privileged', which is not an image reference: it contains whitespace\./],
    ['db: Postgres:16', /^input 'services': service 'db' has image 'Postgres:16', which is not an image reference: the repository must be lowercase\./],
    // A line break in an env value would start another variable in the env file.
    ['db: { image: x, env: { A: "x\\nB=y" } }', /^input 'services': the env value of 'A' in service 'db' contains a line break, which would start another variable; give it on one line\.$/],
    ['db: { image: x, env: { A: "x\\rB=y" } }', /^input 'services': the env value of 'A' in service 'db' contains a line break/],
  ])('%j is refused', (text, message) => {
    expect(refusal(() => parseServices(text))).toMatch(message);
  });
});

describe('readTestRunSettings', () => {
  test('defaults', () => {
    expect(settings({ image: 'app:test', run: 'make test\n' })).toEqual({
      image: 'app:test',
      script: 'make test',
      shell: 'sh',
      workingDirectory: '',
      env: [],
      results: '',
      timeoutMs: 30 * 60_000,
      network: '',
      services: [],
      sourceDir: '.',
    });
  });

  test('env keeps values with spaces and =', () => {
    expect(settings({ image: 'i', run: 'x', env: 'A=1\nB= x y=z\n# comment' }).env).toEqual([
      ['A', '1'],
      ['B', ' x y=z'],
    ]);
  });

  test.each([
    [{ run: 'x' }, "input 'image': is required but was empty. Pass the `image` output of build-test-image."],
    [{ image: 'i' }, "input 'run': is required: give the test commands, one per line."],
    [{ image: 'i', run: '  \n ' }, "input 'run': is required: give the test commands, one per line."],
    [{ image: 'i', run: 'x', env: 'NOVALUE' }, "input 'env': 'NOVALUE' is not of the form key=value."],
    [{ image: '--help', run: 'x' }, "input 'image': '--help' is not an image reference: it starts with '-'. Give [registry[:port]/]repository[:tag][@sha256:digest] in lowercase, e.g. ghcr.io/acme/app:1.2 (the `image` output of build-test-image)."],
    [{ image: 'App:test', run: 'x' }, "input 'image': 'App:test' is not an image reference: the repository must be lowercase. Give [registry[:port]/]repository[:tag][@sha256:digest] in lowercase, e.g. ghcr.io/acme/app:1.2 (the `image` output of build-test-image)."],
    [{ image: 'i', run: 'x', env: 'MY VAR=1' }, "input 'env': variable name 'MY VAR' contains whitespace; use NAME=value with no spaces in NAME."],
    [{ image: 'i', run: 'x', timeout: 'soon' }, "input 'timeout': 'soon' is not a duration. Use a number with a unit, e.g. 90s, 5m, 1m30s or 1h (a plain number is seconds)."],
    [{ image: 'i', run: 'x', timeout: '7h' }, "input 'timeout': '7h' is longer than 6h, a job's limit; use a shorter duration."],
    [{ image: 'i', run: 'x', 'timeout-minutes': '0' }, "input 'timeout-minutes': 0 is out of range; use a number from 1 to 360."],
    [{ image: 'i', run: 'x', 'timeout-minutes': 'soon' }, "input 'timeout-minutes': 'soon' is not a whole number."],
    [
      { image: 'i', run: 'x', network: 'ci', services: 'db: postgres:16' },
      "input 'network': cannot be combined with 'services': the tests join the services' private network. Drop one of them.",
    ],
  ])('%j is refused', (values, message) => {
    expect(refusal(() => settings(values as Record<string, string>))).toBe(message);
  });
});

describe('timeout', () => {
  test.each([
    [{}, 30 * 60_000],
    [{ timeout: '90s' }, 90_000],
    [{ timeout: '1h' }, 3_600_000],
    // The old name keeps its old unit, minutes, for one minor version.
    [{ 'timeout-minutes': '5' }, 5 * 60_000],
    [{ timeout: '2m', 'timeout-minutes': '5' }, 2 * 60_000],
  ])('%j → %i ms', (values, ms) => {
    expect(settings({ image: 'i', run: 'x', ...values } as Record<string, string>).timeoutMs).toBe(ms);
  });
});
