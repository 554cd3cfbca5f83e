import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The empty files the GitHub runner gives a step (GITHUB_OUTPUT, …), made in
 * `dir`, with the base environment a bundle run bare needs.
 */
export function runnerFiles(dir: string): Record<string, string> {
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    DOCKER_HOST: process.env.DOCKER_HOST ?? '',
    ...files,
  };
}
