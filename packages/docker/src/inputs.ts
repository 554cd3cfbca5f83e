/** The action inputs of build-test-image and push-image, read and checked into settings. */
import { ConfigurationError, Inputs } from '@kubeline/toolkit';
import { checkRegistryHost } from './image-reference';
import { splitReference } from './registry';
import type { BuildSettings } from './build';

/** The build inputs build-test-image and push-image share, with the same names. */
export function readBuildSettings(inputs: Inputs): BuildSettings {
  return {
    context: inputs.string('context', '.'),
    file: inputs.string('file'),
    target: inputs.string('target'),
    buildArgs: inputs.keyValues('build-args'),
    secrets: inputs.keyValues('secrets'),
    labels: inputs.keyValues('labels'),
    cacheFrom: inputs.list('cache-from', { commas: false }),
    cacheTo: inputs.list('cache-to', { commas: false }),
    noCache: inputs.boolean('no-cache', false),
    platform: inputs.string('platform'),
  };
}

/** push-image's inputs, validated before any work. */
/** Inputs renamed for one vocabulary across the actions (new name → old name), kept for one minor version. */
const RENAMED = { repositories: 'images' };

export function readPushSettings(given: Inputs): import('./push').PushSettings {
  const inputs = given.withRenamed(RENAMED);
  const images = inputs.list('repositories');
  if (images.length === 0) {
    throw new ConfigurationError('is required: list one or more repositories, e.g. ghcr.io/acme/app.', 'repositories');
  }
  const username = inputs.string('username');
  const password = inputs.string('password');
  // `docker login <registry>` takes it as an argument: a '-' in front would make it a flag.
  // docker login (and login-action) also take `https://ghcr.io/`: keep accepting it, as the host.
  const host = inputs.string('registry').replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  const registry = host ? checkRegistryHost(host, 'registry') : '';
  if (Boolean(username) !== Boolean(password)) {
    throw new ConfigurationError(`'username' and 'password' go together; ${username ? "'password'" : "'username'"} is empty.`, username ? 'password' : 'username');
  }
  return {
    build: readBuildSettings(inputs),
    images,
    tags: inputs.multiline('tags'),
    flavor: inputs.multiline('flavor'),
    shaLength: inputs.integer('sha-length', 7, 4, 40),
    push: inputs.boolean('push', true),
    pushByDigest: inputs.boolean('push-by-digest', false),
    retries: inputs.integer('retries', 4, 0, 10),
    login: username ? { registry: registry || splitReference(images[0]).registry, username, password } : undefined,
  };
}
