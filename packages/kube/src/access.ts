/**
 * What a deploy needs the right to do, asked before anything changes (SelfSubjectAccessReview): a
 * token that may apply the bundle but not write release records would otherwise apply all of it
 * and fail on the record, leaving objects no record lists.
 */
import { describeObject, type KubeObject, objectRef } from '@kubeline/k8s';
import { ConfigurationError } from '@kubeline/toolkit';
import { MissingResourceTypeError } from './api-errors';
import type { KubeClient } from './client';
import { isCrd, isNamespace } from './ownership';

/** One permission: a verb on a resource (in a namespace). */
export interface Permission {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  /** Why deploy needs it, for the message. */
  why: string;
}

/** The permissions a deploy of `objects` into `namespace` needs: patch (server-side apply) on every kind, and the release records. */
export async function neededPermissions(client: KubeClient, objects: readonly KubeObject[], namespace: string): Promise<Permission[]> {
  const out = new Map<string, Permission>();
  const add = (p: Permission) => out.set(`${p.verb} ${p.group}/${p.resource} ${p.namespace ?? ''}`, out.get(`${p.verb} ${p.group}/${p.resource} ${p.namespace ?? ''}`) ?? p);
  add({ verb: 'create', group: '', resource: 'secrets', namespace, why: 'the release record (one Secret per revision)' });
  add({ verb: 'patch', group: '', resource: 'secrets', namespace, why: "the release record's status" });
  for (const object of objects) {
    const ref = objectRef(object);
    if (isNamespace(ref) || isCrd(ref)) continue;
    try {
      const info = await client.resourceFor(ref.apiVersion, ref.kind);
      add({ verb: 'patch', group: info.group, resource: info.resource, namespace: info.namespaced ? (ref.namespace ?? namespace) : undefined, why: `server-side apply of ${describeObject(ref)}` });
    } catch (err) {
      if (!(err instanceof MissingResourceTypeError)) throw err; // a kind the bundle's own CRD brings: checked by the apply
    }
  }
  return [...out.values()];
}

/** Asks the API server about each permission; throws, naming every one missing and the RBAC rule that grants it, before anything is applied. */
export async function checkPermissions(client: KubeClient, permissions: readonly Permission[]): Promise<void> {
  const denied: Permission[] = [];
  await Promise.all(
    permissions.map(async (p) => {
      const review = await client.request<{ status?: { allowed?: boolean } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, namespace: p.namespace } } },
        // Clusters that do not serve the review cannot tell: the apply will.
        allow: [403, 404],
      });
      if (review.status === 200 || review.status === 201) {
        if (review.body.status?.allowed === false) denied.push(p);
      }
    }),
  );
  if (!denied.length) return;
  const rules = denied.map((p) => `  - ${p.verb} ${p.group ? `${p.group}/` : ''}${p.resource}${p.namespace ? ` in namespace ${p.namespace}` : ' (cluster-wide)'}: ${p.why}`).join('\n');
  throw new ConfigurationError(
    `the identity cannot do what this deploy needs, so nothing was applied:\n${rules}\nGrant them with a Role (and RoleBinding) in the namespace, e.g. rules: [{ apiGroups: [""], resources: [secrets], verbs: [get, list, create, patch, delete] }] for the release records.`,
    'kubeconfig',
  );
}
