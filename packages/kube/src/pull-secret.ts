/**
 * `image-pull-secret`: a `kubernetes.io/dockerconfigjson` Secret made from registry credentials in
 * every namespace the bundle's pods go to, and named in their pod specs' `imagePullSecrets`. The
 * credentials never enter the release record (only the Secret's name does, in the pod specs).
 */
import { clone, isRecord, type KubeObject, objectRef, podSpecs } from '@kubeline/k8s';
import { ConfigurationError, log } from '@kubeline/toolkit';
import type { KubeClient } from './client';
import { FIELD_MANAGER, MANAGED_BY, MANAGED_BY_LABEL } from './ownership';

/** The label that says which release a pull secret was made for (delete mode removes it with the release). */
export const PULL_SECRET_LABEL = 'kubeline.dev/pull-secret-for';

/** What the pull secret is made of. */
export interface PullSecretSettings {
  name: string;
  registry: string;
  username: string;
  password: string;
}

/** The `image-pull-secret` inputs, checked; undefined when no pull secret is asked for. */
export function readPullSecret(values: { name: string; registry: string; username: string; password: string }): PullSecretSettings | undefined {
  if (!values.name) {
    for (const [input, value] of [['registry', values.registry], ['registry-username', values.username], ['registry-password', values.password]] as const) {
      if (value) throw new ConfigurationError(`is set, but image-pull-secret is not: name the Secret to create from the registry credentials, e.g. image-pull-secret: registry-pull.`, input);
    }
    return undefined;
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(values.name) || values.name.length > 253) {
    throw new ConfigurationError(`"${values.name}" is not a valid Secret name: lowercase letters, digits, '-' and '.'.`, 'image-pull-secret');
  }
  if (!values.registry) throw new ConfigurationError('is required with image-pull-secret: the registry server the pods pull from, e.g. myregistry.azurecr.io.', 'registry');
  if (/^-|[\s/]/.test(values.registry.replace(/^https?:\/\//, '').replace(/\/+$/, ''))) {
    throw new ConfigurationError(`"${values.registry}" is not a registry host: give host[:port], e.g. myregistry.azurecr.io.`, 'registry');
  }
  if (!values.username || !values.password) {
    throw new ConfigurationError('and registry-password are required with image-pull-secret: the credentials the pods pull with (a read-only token is best).', 'registry-username');
  }
  log.mask(values.password);
  log.mask(Buffer.from(`${values.username}:${values.password}`).toString('base64'));
  return { name: values.name, registry: values.registry.replace(/^https?:\/\//, '').replace(/\/+$/, ''), username: values.username, password: values.password };
}

/** The bundle with the pull secret named in every pod spec (once), and the namespaces those pods go to. */
export function withPullSecret(objects: readonly KubeObject[], secret: PullSecretSettings, defaultNamespace: string): { objects: KubeObject[]; namespaces: string[] } {
  const namespaces = new Set<string>();
  const out = objects.map((object) => {
    const specs = podSpecs(object);
    if (!specs.length) return object;
    const copy = clone(object);
    for (const at of podSpecs(copy)) {
      const list = Array.isArray(at.spec.imagePullSecrets) ? (at.spec.imagePullSecrets as Array<{ name?: string }>) : [];
      if (!list.some((s) => s.name === secret.name)) at.spec.imagePullSecrets = [...list, { name: secret.name }];
    }
    namespaces.add(objectRef(copy).namespace ?? defaultNamespace);
    return copy;
  });
  return { objects: out, namespaces: [...namespaces] };
}

/** The Secret itself, applied (created or updated) in each namespace. */
export async function applyPullSecret(client: KubeClient, secret: PullSecretSettings, namespaces: readonly string[], release: string): Promise<void> {
  const auth = Buffer.from(`${secret.username}:${secret.password}`).toString('base64');
  const config = JSON.stringify({ auths: { [secret.registry]: { username: secret.username, password: secret.password, auth } } });
  for (const namespace of namespaces) {
    await client.apply(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/dockerconfigjson',
        metadata: { name: secret.name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [PULL_SECRET_LABEL]: release } },
        data: { '.dockerconfigjson': Buffer.from(config).toString('base64') },
      },
      { fieldManager: FIELD_MANAGER, force: true },
    );
    log.info(`image pull secret ${namespace}/${secret.name} for ${secret.registry} applied`);
  }
}

/** The pull secrets made for a release in a namespace (delete mode). */
export async function pullSecretsOf(client: KubeClient, namespace: string, release: string): Promise<KubeObject[]> {
  return (await client.list('v1', 'Secret', { namespace, labelSelector: `${PULL_SECRET_LABEL}=${release}` })).filter((s) => isRecord(s.metadata));
}
