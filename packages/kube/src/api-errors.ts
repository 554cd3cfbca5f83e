/** The API server's error answers as messages that say what to do (401, 403 with the RBAC rule, 409, 422, 429, unreachable), and which are transient. */
import { describeObject } from '@kubeline/k8s';
import { ExternalError, isTransientStatus } from '@kubeline/toolkit';

/** What a request is about: named in every error it can end in. */
export interface RequestTarget {
  /** The RBAC verb: get, list, watch, create, update, patch, delete. */
  verb: string;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  kind?: string;
}

/** The `Status` object the API server answers errors with. */
export interface ApiStatus {
  /** `Status` when the API server wrote the answer; absent when something in front of it did. */
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
    retryAfterSeconds?: number;
  };
}

/**
 * An error answer of the API server, with a message that says what to do about it: a 403 names the
 * verb, resource, namespace and user and prints the RBAC rule that would allow it; a 409 apply
 * conflict names the other field managers and their fields; a 422 names the object and lists the
 * server's causes.
 */
export class KubeApiError extends ExternalError {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly apiStatus: ApiStatus = {},
    readonly target?: RequestTarget,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A 404 answer: the object (or its namespace) does not exist. */
export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
/** A 409 answer: an apply conflict, AlreadyExists, or a precondition (resourceVersion, uid) that no longer holds. */
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;
/** A 403 answer: RBAC does not allow the request. */
export const isForbidden = (err: unknown): boolean => err instanceof KubeApiError && err.status === 403;

/** The API server could not be reached (after the retries). */
export class UnreachableError extends ExternalError {}

/** A missing resource type: the CRD is not installed or the apiVersion is wrong. */
export class MissingResourceTypeError extends KubeApiError {}

/**
 * Failures worth another attempt: an unreachable server, and the statuses the toolkit's classifier
 * retries (408, 429, 5xx). On top of it, the one Kubernetes rule: a 500 the API server wrote itself
 * (a Status body) is retried only when its reason says internal error or timeout, because apply's
 * "failed to create typed patch object" is a 500 without a reason that no retry will fix. A 500
 * without a Status body came from something in front of the server, and is retried.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof UnreachableError) return true;
  if (!(err instanceof KubeApiError)) return false;
  if (err.status === 500 && err.apiStatus.kind === 'Status') return ['InternalError', 'ServerTimeout', 'Timeout'].includes(err.apiStatus.reason ?? '');
  return isTransientStatus(err.status);
}

/** `deployments.apps`, `pods`: a resource as RBAC and error messages spell it. */
function qualifiedResource(resource: string, group = ''): string {
  return group ? `${resource}.${group}` : resource;
}

/**
 * The RBAC rule that would allow a denied request, as a Role (or ClusterRole for cluster-scoped
 * resources) to add to the deploying identity.
 */
export function rbacRuleSnippet(target: RequestTarget): string {
  const cluster = !target.namespace;
  const resource = target.subresource ? `${target.resource}/${target.subresource}` : (target.resource ?? '*');
  return [
    'apiVersion: rbac.authorization.k8s.io/v1',
    `kind: ${cluster ? 'ClusterRole' : 'Role'}`,
    'metadata:',
    '  name: kubeline-deploy',
    ...(cluster ? [] : [`  namespace: ${target.namespace}`]),
    'rules:',
    `  - apiGroups: ["${target.group ?? ''}"]`,
    `    resources: ["${resource}"]`,
    `    verbs: ["${target.verb}"]`,
  ].join('\n');
}

/** Reads `User "x" cannot patch resource "deployments" in API group "apps" in the namespace "y"`. */
export function parseForbidden(message: string): Partial<RequestTarget> & { user?: string } {
  const m = /User "([^"]*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/.exec(message);
  if (!m) return {};
  const [resource, subresource] = m[3].split('/');
  return { user: m[1], verb: m[2], resource, subresource, group: m[4] ?? '', namespace: m[5] };
}

function targetName(target?: RequestTarget): string {
  if (!target) return '';
  if (target.kind && target.name) return describeObject({ apiVersion: '', kind: target.kind, name: target.name, namespace: target.namespace });
  if (target.resource) return `${qualifiedResource(target.resource, target.group)}${target.name ? ` ${target.name}` : ''}${target.namespace ? ` in namespace ${target.namespace}` : ''}`;
  return '';
}

/** The owners of the conflicting fields in a 409 from server-side apply: manager → fields. */
export function parseApplyConflicts(status: ApiStatus): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const cause of status.details?.causes ?? []) {
    if (cause.reason !== 'FieldManagerConflict') continue;
    const manager = /conflict with "([^"]*)"/.exec(cause.message ?? '')?.[1] ?? '(unknown manager)';
    const fields = owners.get(manager) ?? [];
    fields.push(cause.field ?? '(unknown field)');
    owners.set(manager, fields);
  }
  if (owners.size === 0 && status.message) {
    // Old servers put everything in the message: `conflict with "other": .spec.replicas`.
    for (const m of status.message.matchAll(/conflicts? with "([^"]*)"(?: using [^:]+)?: ([^\n]+)/g)) {
      owners.set(m[1], m[2].split(/,\s*/));
    }
  }
  return owners;
}

/** The message for an API error answer: what failed, why, and what to do. */
export function apiErrorMessage(status: number, body: ApiStatus, target: RequestTarget | undefined, user: string | undefined): string {
  const what = targetName(target);
  const server = body.message ?? `HTTP ${status}`;
  switch (status) {
    case 401:
      return `the API server rejected the credentials of ${user ? `user "${user}"` : 'the kubeconfig user'} (401 Unauthorized): the token or client certificate is missing, expired or for another cluster. Refresh the kubeconfig (or the secret it comes from).`;
    case 403: {
      const parsed = parseForbidden(server);
      const t: RequestTarget = { verb: target?.verb ?? 'get', ...target, ...stripUndefined(parsed) };
      const who = parsed.user ?? user ?? 'the deploying identity';
      const where = t.namespace ? `in namespace "${t.namespace}"` : 'at cluster scope';
      const res = qualifiedResource(t.subresource ? `${t.resource}/${t.subresource}` : (t.resource ?? '?'), t.group);
      return (
        `forbidden: ${who} cannot ${t.verb} ${res} ${where}${what ? ` (${what})` : ''}.\n` +
        `Grant it with a ${t.namespace ? 'Role' : 'ClusterRole'} bound to ${who}, for example:\n${rbacRuleSnippet(t)}\n` +
        `(deploy needs get, list, watch, create and patch on what it applies, delete for prune, and get/create/update/delete on leases.coordination.k8s.io for its lock.)\nServer: ${server}`
      );
    }
    case 404:
      return `${what || 'object'} not found: ${server}`;
    case 409: {
      const owners = parseApplyConflicts(body);
      if (owners.size > 0) {
        const list = [...owners].map(([manager, fields]) => `  - "${manager}" owns ${fields.join(', ')}`).join('\n');
        return (
          `${what ? `${what}: ` : ''}server-side apply conflict: fields in the manifest are managed by another field manager:\n${list}\n` +
          `Remove them from the manifest, stop the other manager from changing them, or set force-conflicts: true to take them over.`
        );
      }
      if (body.reason === 'AlreadyExists') return `${what || 'object'} already exists: ${server}`;
      return `${what ? `${what}: ` : ''}conflict: ${server} (someone else changed it at the same time; run again).`;
    }
    case 400:
    case 422: {
      const causes = (body.details?.causes ?? []).map((c) => `  - ${c.field ? `${c.field}: ` : ''}${c.message ?? c.reason ?? ''}`);
      return `${what || 'object'} is invalid${causes.length ? ':\n' + causes.join('\n') : `: ${server}`}${causes.length ? `\nServer: ${server}` : ''}`;
    }
    case 429:
      return `the API server is throttling requests (429 Too Many Requests)${what ? ` for ${what}` : ''}: ${server}`;
    default:
      if (status === 500 && /failed to create typed patch object|field not declared in schema/.test(server)) {
        return `${what || 'object'} is invalid: ${server}`;
      }
      return `${what ? `${what}: ` : ''}the API server answered ${status}: ${server}`;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
