/** run-tests' inputs: one readonly settings object, and the parsers of the `services` YAML and of a service's command line. */
import { parse as parseYaml } from 'yaml';
import { IMAGE_REFERENCE_FORM, checkImageReference, imageReferenceProblem } from '@kubeline/docker';
import { ConfigurationError, Inputs, log, parseDuration } from '@kubeline/toolkit';

export interface ServiceSpec {
  readonly name: string;
  readonly image: string;
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly command: readonly string[];
}

export interface TestRunSettings {
  readonly image: string;
  readonly script: string;
  readonly shell: string;
  /** As given: absolute, or relative to the image's WORKDIR; empty means the image's WORKDIR. */
  readonly workingDirectory: string;
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly results: string;
  /** How long the tests may run before they are stopped. */
  readonly timeoutMs: number;
  readonly network: string;
  readonly services: readonly ServiceSpec[];
  /** Repository folder that the container's working directory holds, for annotation paths. */
  readonly sourceDir: string;
}

const SERVICE_KEYS = ['image', 'env', 'command'];

/** run-tests' inputs, checked before anything starts a container. */
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
    image: checkImageReference(inputs.required('image', 'Pass the `image` output of build-test-image.'), 'image', 'the `image` output of build-test-image'),
    script,
    shell: inputs.string('shell', 'sh'),
    workingDirectory: inputs.string('working-directory'),
    env,
    results: inputs.string('results'),
    timeoutMs: readTimeout(inputs),
    network,
    services,
    sourceDir: inputs.string('source-dir', '.'),
  };
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const MAX_TIMEOUT_MS = 6 * 3_600_000; // a GitHub-hosted job's own limit

/**
 * `timeout` is a duration, as in deploy (`30m`, `90s`). It was `timeout-minutes`, a number of
 * minutes: the old name is still read as minutes for one minor version, with a warning.
 */
function readTimeout(inputs: Inputs): number {
  const value = inputs.string('timeout');
  if (value) {
    const ms = parseDuration(value, 'timeout');
    if (ms > MAX_TIMEOUT_MS) throw new ConfigurationError(`'${value}' is longer than 6h, a job's limit; use a shorter duration.`, 'timeout');
    return ms;
  }
  if (!inputs.string('timeout-minutes')) return DEFAULT_TIMEOUT_MS;
  log.warning("input 'timeout-minutes' is deprecated and will be removed in the next minor version; use 'timeout' (a duration such as 30m) instead.");
  return inputs.integer('timeout-minutes', 30, 1, 360) * 60_000;
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
    // The image reaches `docker run` as an argument: '--volume=/:/host' would be a flag.
    const problem = imageReferenceProblem(s.image);
    if (problem) {
      throw new ConfigurationError(`service '${name}' has image '${s.image}', which is not an image reference: ${problem}. ${IMAGE_REFERENCE_FORM}.`, 'services');
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
      for (const [k, v] of env) {
        checkEnvName(k, `'${k}' of service '${name}'`, 'services');
        // The env file is one NAME=value a line: a line break would start another variable.
        if (/[\r\n]/.test(v)) {
          throw new ConfigurationError(`the env value of '${k}' in service '${name}' contains a line break, which would start another variable; give it on one line.`, 'services');
        }
      }
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
