/** Service containers for the tests: started on the tests' private network and waited for until they are up. */
import type { DockerCli, DockerContainers } from '@kubeline/docker';
import { ExternalError, log, sleep, tail } from '@kubeline/toolkit';
import type { ServiceSpec } from './inputs';

/** How long a service without a HEALTHCHECK gets to show that it crashes on start. */
const SERVICE_SETTLE_MS = 1000;
const HEALTH_POLLS = 120;
const HEALTH_POLL_MS = 1000;

export interface ServiceStart {
  network: string;
  /** The container name of a service. */
  containerName: (s: ServiceSpec) => string;
  /** docker run arguments that pass a service its environment. */
  envArgs: (env: ServiceSpec['env']) => string[];
}

/** Starts every service and waits for each to be healthy, or (without a HEALTHCHECK) still running a moment later. */
export async function startServices(docker: DockerCli, containers: DockerContainers, services: readonly ServiceSpec[], how: ServiceStart): Promise<void> {
  let unchecked = false;
  for (const s of services) unchecked = !(await startService(docker, containers, s, how)) || unchecked;
  // A process that is up may still be about to crash: without a HEALTHCHECK, give it a moment to show it.
  if (!unchecked) return;
  await sleep(SERVICE_SETTLE_MS);
  for (const s of services) {
    const state = await containers.health(how.containerName(s));
    if (!state.running) throw await serviceError(containers, s, how.containerName(s), `exited with code ${state.exitCode} before the tests started`);
  }
}

/** Starts a service and waits for its HEALTHCHECK, if any, else for it to run; true when a health check vouches for it. */
async function startService(docker: DockerCli, containers: DockerContainers, s: ServiceSpec, how: ServiceStart): Promise<boolean> {
  const name = how.containerName(s);
  const args = ['run', '--detach', `--name=${name}`, '--label=kubeline=run-tests', `--network=${how.network}`, `--network-alias=${s.name}`];
  // `--` ends docker's options: the image is never read as one, whatever slipped past the input check.
  args.push(...how.envArgs(s.env), '--', s.image, ...s.command);
  const r = await docker.exec(args, { silent: true, allowFailure: true });
  if (r.exitCode !== 0) throw new ExternalError(`service '${s.name}' (${s.image}) did not start`, tail(r.stderr, 5));
  for (let i = 0; i < HEALTH_POLLS; i++) {
    const state = await containers.health(name);
    if (!state.running) {
      throw await serviceError(containers, s, name, `exited with code ${state.exitCode} before the tests started`);
    }
    if (!state.health || state.health === 'healthy') {
      log.info(`Service '${s.name}' is up (${s.image}), reachable as '${s.name}'.`);
      return state.health === 'healthy';
    }
    await sleep(HEALTH_POLL_MS);
  }
  throw await serviceError(containers, s, name, 'did not become healthy in 2 minutes');
}

async function serviceError(containers: DockerContainers, s: ServiceSpec, name: string, what: string): Promise<ExternalError> {
  const logs = await containers.logs(name);
  return new ExternalError(`service '${s.name}' (${s.image}) ${what}${logs ? '. Its last lines:' : ', and printed nothing.'}`, logs);
}
