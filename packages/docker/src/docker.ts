/** The one wrapper around the Docker CLI (argument arrays, engine errors, builder choice) and its container chores. */
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExternalError, errorMessage, run, tail, type RunOptions, type RunResult } from '@kubeline/toolkit';

/** What the CLI says when no engine answers (20.10 to 28). */
const ENGINE_UNREACHABLE = /Cannot connect to the Docker daemon|error during connect|Is the docker daemon running/i;

/** The folders the Docker CLI searches for plugins, user's first. */
function cliPluginDirs(configDir = process.env.DOCKER_CONFIG || join(homedir(), '.docker')): string[] {
  return [
    join(configDir, 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ];
}

function findCliPlugin(name: string, configDir?: string): string | undefined {
  for (const dir of cliPluginDirs(configDir || undefined)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export type Builder = 'buildx' | 'classic';

export interface BuildRequest {
  context: string;
  file: string;
  /** Stage name; undefined builds the last stage (which may have no name). */
  target?: string;
  buildArgs: Array<[string, string]>;
  /** Secret id → file holding the value (0600, removed by the caller). */
  secretFiles: Array<[string, string]>;
  labels: Record<string, string>;
  tags: string[];
  cacheFrom: string[];
  cacheTo: string[];
  noCache: boolean;
  platform?: string;
  /** Where BuildKit writes the image id. */
  iidFile: string;
  /**
   * buildx only: push straight from the build by digest, with no tag, to
   * these repositories, writing the result to `metadataFile`.
   */
  pushByDigest?: { repositories: string[]; metadataFile: string };
}

/**
 * The one wrapper around the Docker CLI. Every call is an argument array;
 * credentials travel by stdin only.
 */
export class DockerCli {
  private builderKind?: Builder;

  constructor(
    readonly command = 'docker',
    /** DOCKER_CONFIG for every call (a temporary one while logged in). */
    private configDir?: string,
  ) {}

  setConfigDir(dir: string | undefined): void {
    this.configDir = dir;
  }

  /**
   * Runs the CLI. An engine that does not answer is reported the same way
   * whichever call meets it first, so no separate probe is spent on it.
   */
  async exec(args: string[], options: RunOptions = {}): Promise<RunResult> {
    const env = this.configDir ? { DOCKER_CONFIG: this.configDir, ...options.env } : options.env;
    let result: RunResult;
    try {
      result = await run(this.command, args, { ...options, env, allowFailure: true });
    } catch (err) {
      throw new ExternalError(`Cannot run '${this.command}' (${errorMessage(err)}). Install the Docker CLI or put it on PATH.`);
    }
    if (result.exitCode !== 0 && ENGINE_UNREACHABLE.test(result.stderr)) {
      throw new ExternalError(
        `Cannot reach the Docker engine at ${process.env.DOCKER_HOST || 'unix:///var/run/docker.sock'}. Start Docker, or set DOCKER_HOST to a reachable engine.`,
        tail(result.stderr, 3),
      );
    }
    if (result.exitCode !== 0 && !options.allowFailure) {
      throw new ExternalError(`docker ${args[0] ?? ''} exited with code ${result.exitCode}`, tail(result.stderr || result.stdout));
    }
    return result;
  }

  /**
   * buildx where the plugin is installed (GitHub-hosted runners), else the
   * engine's BuildKit via `docker build`. Looked up where the CLI looks for
   * plugins rather than by starting `docker buildx version` (~40 ms a step).
   */
  async builder(): Promise<Builder> {
    this.builderKind ??= findCliPlugin('docker-buildx', this.configDir) ? 'buildx' : 'classic';
    return this.builderKind;
  }

  /** The current buildx builder's driver (`docker`, `docker-container`, …). */
  async buildxDriver(): Promise<string> {
    const r = await this.exec(['buildx', 'inspect'], { silent: true, allowFailure: true });
    return /^Driver:\s*(\S+)/m.exec(r.stdout)?.[1] ?? 'unknown';
  }

  buildArgs(req: BuildRequest, builder: Builder): string[] {
    // Every value joined to its flag (`--tag=…`): one that starts with `-` stays that flag's value, never an option of its own.
    const args = builder === 'buildx' ? ['buildx', 'build'] : ['build'];
    if (builder === 'buildx' && req.pushByDigest) {
      const names = req.pushByDigest.repositories.join(',');
      args.push(`--output=type=image,"name=${names}",push-by-digest=true,name-canonical=true,push=true`);
      args.push(`--metadata-file=${req.pushByDigest.metadataFile}`);
    } else if (builder === 'buildx') args.push('--load');
    args.push('--progress=plain', `--file=${req.file}`, `--iidfile=${req.iidFile}`);
    if (req.target) args.push(`--target=${req.target}`);
    for (const [k, v] of req.buildArgs) args.push(`--build-arg=${k}=${v}`);
    for (const [id, file] of req.secretFiles) args.push(`--secret=id=${id},src=${file}`);
    for (const [k, v] of Object.entries(req.labels)) args.push(`--label=${k}=${v}`);
    for (const t of req.tags) args.push(`--tag=${t}`);
    for (const c of req.cacheFrom) args.push(`--cache-from=${c}`);
    if (builder === 'buildx') for (const c of req.cacheTo) args.push(`--cache-to=${c}`);
    // The classic builder can only export an inline cache, embedded in the image.
    else if (req.cacheTo.length) args.push('--build-arg=BUILDKIT_INLINE_CACHE=1');
    if (req.noCache) args.push('--no-cache');
    if (req.platform) args.push(`--platform=${req.platform}`);
    args.push(req.context);
    return args;
  }

  async build(req: BuildRequest, options: RunOptions = {}): Promise<RunResult> {
    const builder = await this.builder();
    const env = builder === 'classic' ? { DOCKER_BUILDKIT: '1', ...options.env } : options.env;
    return this.exec(this.buildArgs(req, builder), { ...options, env, allowFailure: true });
  }

  async inspectImage(ref: string): Promise<ImageInspect | undefined> {
    const r = await this.exec(['image', 'inspect', '--format', '{{json .}}', ref], { silent: true, allowFailure: true });
    if (r.exitCode !== 0) return undefined;
    const raw = JSON.parse(r.stdout) as {
      Id: string;
      RepoDigests?: string[];
      Config?: { WorkingDir?: string; Labels?: Record<string, string> | null };
    };
    return { id: raw.Id, repoDigests: raw.RepoDigests ?? [], workingDir: raw.Config?.WorkingDir ?? '', labels: raw.Config?.Labels ?? {} };
  }

  async tag(source: string, target: string): Promise<void> {
    await this.exec(['tag', source, target], { silent: true });
  }

  /** `docker push`; the caller decides about retries from the result. */
  push(ref: string, options: RunOptions = {}): Promise<RunResult> {
    return this.exec(['push', ref], { ...options, allowFailure: true });
  }

  login(registry: string, username: string, password: string): Promise<RunResult> {
    return this.exec(['login', '--username', username, '--password-stdin', registry], {
      stdin: password,
      secrets: [password],
      silent: true,
      allowFailure: true,
    });
  }

  async logout(registry: string): Promise<void> {
    await this.exec(['logout', registry], { silent: true, allowFailure: true });
  }
}

export interface ImageInspect {
  id: string;
  repoDigests: string[];
  workingDir: string;
  labels: Record<string, string>;
}

/** `digest: sha256:… size: N` from docker push output. */
export function digestFromPushOutput(output: string): string | undefined {
  return /digest:\s*(sha256:[a-f0-9]{64})/.exec(output)?.[1];
}

/** Container and network chores for run-tests, on the same wrapper. */
export class DockerContainers {
  constructor(private readonly docker: DockerCli) {}

  async createNetwork(name: string): Promise<void> {
    await this.docker.exec(['network', 'create', '--label', 'kubeline=run-tests', name], { silent: true });
  }

  async removeNetwork(name: string): Promise<void> {
    await this.docker.exec(['network', 'rm', name], { silent: true, allowFailure: true });
  }

  async remove(names: string[]): Promise<void> {
    if (names.length) await this.docker.exec(['rm', '--force', '--volumes', ...names], { silent: true, allowFailure: true });
  }

  async kill(name: string): Promise<void> {
    await this.docker.exec(['kill', name], { silent: true, allowFailure: true });
  }

  /** Copies a path out of a (stopped) container; false when it does not exist. */
  async copyOut(container: string, path: string, hostDir: string): Promise<boolean> {
    const r = await this.docker.exec(['cp', '--follow-link', `${container}:${path}`, hostDir], { silent: true, allowFailure: true });
    return r.exitCode === 0;
  }

  async health(name: string): Promise<{ running: boolean; health?: string; exitCode: number }> {
    const r = await this.docker.exec(['inspect', '--format', '{{json .State}}', name], { silent: true, allowFailure: true });
    if (r.exitCode !== 0) return { running: false, exitCode: -1 };
    const s = JSON.parse(r.stdout) as { Running: boolean; ExitCode: number; Health?: { Status: string } };
    return { running: s.Running, health: s.Health?.Status, exitCode: s.ExitCode };
  }

  async logs(name: string): Promise<string> {
    const r = await this.docker.exec(['logs', '--tail', '30', name], { silent: true, allowFailure: true });
    return (r.stdout + r.stderr).trim();
  }
}
