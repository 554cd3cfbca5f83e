/** `docker login` with a throw-away DOCKER_CONFIG, the post step's logout, and credentials from a docker config. */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, ExternalError, log, stepState, tail } from '@kubeline/toolkit';
import { DockerCli } from './docker';
import { checkRegistryHost } from './image-reference';

export interface LoginSettings {
  registry: string;
  username: string;
  password: string;
}

const STATE_CONFIG = 'docker-config';
const STATE_REGISTRY = 'docker-registry';

/**
 * Logs in with a throw-away DOCKER_CONFIG under RUNNER_TEMP so the credential
 * never lands in ~/.docker; the post step logs out and deletes it. The user's
 * existing config, CLI plugins and buildx builders stay visible.
 */
export async function login(docker: DockerCli, settings: LoginSettings): Promise<void> {
  log.mask(settings.password);
  // Whoever built the settings, the host reaches `docker login` as an argument.
  checkRegistryHost(settings.registry, 'registry');
  const userConfig = process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  const dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'kubeline-docker-config-'));
  stepState.save(STATE_CONFIG, dir);
  stepState.save(STATE_REGISTRY, settings.registry);
  if (existsSync(join(userConfig, 'config.json'))) cpSync(join(userConfig, 'config.json'), join(dir, 'config.json'));
  for (const shared of ['cli-plugins', 'buildx', 'contexts']) {
    if (existsSync(join(userConfig, shared))) symlinkSync(join(userConfig, shared), join(dir, shared));
  }
  docker.setConfigDir(dir);
  const result = await docker.login(settings.registry, settings.username, settings.password);
  if (result.exitCode !== 0) {
    const said = tail(result.stderr, 3);
    if (/unauthorized|401|denied|incorrect username or password/i.test(said)) {
      throw new ConfigurationError(
        `${settings.registry} rejected the credentials of user '${settings.username}'. Check 'username' and 'password' (a token needs permission to push).`,
        'password',
      );
    }
    throw new ExternalError(`login to ${settings.registry} failed`, said);
  }
  log.info(`Logged in to ${settings.registry} as ${settings.username} (temporary docker config).`);
}

/** Post step: log out and delete the temporary docker config. */
export async function logoutFromState(docker: DockerCli): Promise<void> {
  const dir = stepState.get(STATE_CONFIG);
  if (!dir) return;
  docker.setConfigDir(dir);
  const registry = stepState.get(STATE_REGISTRY);
  if (registry) await docker.logout(registry);
  rmSync(dir, { recursive: true, force: true });
  log.info(`Logged out of ${registry} and removed the temporary docker config.`);
}

/**
 * Credentials for a registry from the docker config in use (plain `auths`
 * entries, as `docker login` writes them without a credential helper).
 */
export function dockerConfigCredentials(registry: string, configDir = process.env.DOCKER_CONFIG || join(homedir(), '.docker')): { username: string; password: string } | undefined {
  try {
    const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { auths?: Record<string, { auth?: string }> };
    const auth = config.auths?.[registry]?.auth ?? config.auths?.[`https://${registry}`]?.auth;
    if (!auth) return undefined;
    const decoded = Buffer.from(auth, 'base64').toString();
    const colon = decoded.indexOf(':');
    return colon > 0 ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined;
  } catch {
    return undefined;
  }
}
