import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunRequest, type RunResult, runLocalAction } from '@kubeline/runner';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const demoDir = join(repoRoot, 'examples', 'demo');

/** The test bed's addresses (scripts/testbed env); fails clearly when it is not up. */
export function testbed(): { registry: string; user: string; password: string; registryNoAuth: string; busybox: string } {
  const { KUBELINE_REGISTRY, KUBELINE_REGISTRY_USER, KUBELINE_REGISTRY_PASSWORD, KUBELINE_REGISTRY_NOAUTH } = process.env;
  if (!KUBELINE_REGISTRY || !KUBELINE_REGISTRY_PASSWORD || !KUBELINE_REGISTRY_NOAUTH || !process.env.DOCKER_HOST) {
    throw new Error('The test bed is not up: run `eval "$(scripts/testbed env)"` after `scripts/testbed up` (npm test does both).');
  }
  return {
    registry: KUBELINE_REGISTRY,
    user: KUBELINE_REGISTRY_USER ?? 'kubeline',
    password: KUBELINE_REGISTRY_PASSWORD,
    registryNoAuth: KUBELINE_REGISTRY_NOAUTH,
    busybox: process.env.KUBELINE_BASE_BUSYBOX ?? 'local/busybox:1',
  };
}

/** A repository name no other test uses. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

/** Runs an action's dist bundle through the local runner, as the GitHub runner would. */
export function act(
  action: string,
  inputs: Record<string, string>,
  options: { workspace?: string; env?: Record<string, string>; eventName?: string; eventPath?: string; cancelWhen?: (line: string) => boolean; inspect?: RunRequest['inspect'] } = {},
): Promise<RunResult> {
  return runLocalAction({
    actionDir: join(repoRoot, 'actions', action),
    inputs,
    workspace: options.workspace ?? repoRoot,
    env: options.env,
    eventName: options.eventName,
    eventPath: options.eventPath,
    cancelWhen: options.cancelWhen,
    inspect: options.inspect,
    log: process.env.KUBELINE_TEST_LOG ? (l) => process.stderr.write(`[${action}] ${l}\n`) : undefined,
  });
}

/** The first error annotation, or the empty string. */
export const firstError = (r: RunResult): string => r.annotations.find((a) => a.level === 'error')?.message ?? '';

/** Every error message the run printed: they must never carry a stack trace. */
export function expectNoStackTrace(r: RunResult): void {
  if (/\n\s+at .+\(.+:\d+:\d+\)/.test(r.log) || /\bat file:\/\//.test(r.log)) {
    throw new Error(`the log shows a stack trace:\n${r.log}`);
  }
}

/** Reads a manifest digest straight from the registry's HTTP API. */
export async function registryDigest(registry: string, repository: string, tag: string, auth?: { user: string; password: string }): Promise<string | undefined> {
  const headers: Record<string, string> = {
    accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
  };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  const r = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers });
  return r.ok ? (r.headers.get('docker-content-digest') ?? undefined) : undefined;
}

const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8' }).trim();

/** run-tests' containers and networks named with `prefix` that still exist (none should, after a run). */
export function runTestsLeftovers(prefix: string): { containers: string[]; networks: string[] } {
  const names = (out: string) => out.split('\n').filter((n) => n.startsWith(prefix));
  return {
    containers: names(docker('ps', '--all', '--filter', 'label=kubeline=run-tests', '--filter', `name=${prefix}`, '--format', '{{.Names}}')),
    networks: names(docker('network', 'ls', '--filter', 'label=kubeline=run-tests', '--filter', `name=${prefix}`, '--format', '{{.Name}}')),
  };
}

/** Removes what runTestsLeftovers finds: a failed test's containers and network must not stay on a shared engine. */
export function removeRunTestsLeftovers(prefix: string): void {
  const left = runTestsLeftovers(prefix);
  if (left.containers.length) execFileSync('docker', ['rm', '--force', ...left.containers], { stdio: 'ignore' });
  if (left.networks.length) execFileSync('docker', ['network', 'rm', ...left.networks], { stdio: 'ignore' });
}
