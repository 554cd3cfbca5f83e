/** Discovery: which resource, scope and URL the API server serves a kind under, cached and refreshed on a miss. */
import { type ObjectRef, splitApiVersion } from '@kubeline/k8s';
import { MissingResourceTypeError, type RequestTarget } from './api-errors';
import type { KubeResponse, RequestOptions } from './client';

/** A resource type as the API server's discovery describes it. */
export interface ResourceInfo {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** The plural resource name used in URLs and RBAC rules: `deployments`. */
  resource: string;
  namespaced: boolean;
  verbs: string[];
}

/** The URL prefix of a group version: `/api/v1`, `/apis/apps/v1`. */
const groupVersionPath = (apiVersion: string): string => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);

/** How discovery sends its requests: the client's `request`, with its retries and errors. */
export type SendRequest = <T>(options: RequestOptions) => Promise<KubeResponse<T>>;

/**
 * What the API server serves, per group version: kind → resource and scope. Cached, and asked
 * again on a miss, so CRDs applied in the same run are found once they are Established.
 */
export class Discovery {
  private readonly cache = new Map<string, Promise<ResourceInfo[] | undefined>>();

  constructor(
    private readonly send: SendRequest,
    /** Namespace for namespaced objects that have none. */
    private readonly defaultNamespace: string,
  ) {}

  /** The resource list of one group version, cached; undefined when the server does not serve it. */
  private groupVersion(apiVersion: string, refresh = false): Promise<ResourceInfo[] | undefined> {
    let cached = this.cache.get(apiVersion);
    if (!cached || refresh) {
      cached = this.send<{ resources?: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }> }>({
        method: 'GET',
        path: groupVersionPath(apiVersion),
        allow: [404],
        target: { verb: 'get', resource: apiVersion },
      }).then((r) => {
        if (r.status === 404) return undefined;
        const { group, version } = splitApiVersion(apiVersion);
        return (r.body.resources ?? [])
          .filter((x) => !x.name.includes('/'))
          .map((x) => ({ group, version, kind: x.kind, resource: x.name, namespaced: x.namespaced, verbs: x.verbs ?? [] }));
      });
      // A failed discovery is not cached.
      cached.catch(() => this.cache.delete(apiVersion));
      this.cache.set(apiVersion, cached);
    }
    return cached;
  }

  /** Forget what discovery said (all of it, or one group version): after CRDs are Established. */
  forget(apiVersion?: string): void {
    if (apiVersion) this.cache.delete(apiVersion);
    else this.cache.clear();
  }

  /** Kind → resource and scope; a kind the server does not serve fails saying its CRD or API is missing. */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let list = await this.groupVersion(apiVersion);
    let found = list?.find((r) => r.kind === kind);
    if (!found) {
      list = await this.groupVersion(apiVersion, true);
      found = list?.find((r) => r.kind === kind);
    }
    if (found) return found;
    const { group } = splitApiVersion(apiVersion);
    let served = '';
    if (group && !list) {
      const g = await this.send<{ versions?: Array<{ groupVersion: string }> }>({ method: 'GET', path: `/apis/${group}`, allow: [404] });
      const versions = g.status === 200 ? (g.body.versions ?? []).map((v) => v.groupVersion) : [];
      if (versions.length) served = ` The server serves ${group} as ${versions.join(', ')}: change apiVersion.`;
    } else if (list) {
      served = ` ${apiVersion} has no kind ${kind} (check the spelling; it has ${list.map((r) => r.kind).slice(0, 12).join(', ')}${list.length > 12 ? ', …' : ''}).`;
    }
    const missing = group && !group.endsWith('.k8s.io') && !['apps', 'batch', 'policy', 'autoscaling'].includes(group);
    throw new MissingResourceTypeError(
      `the cluster has no API for kind ${kind} in ${apiVersion}.${served}` +
        (missing && !served ? ` Install its CustomResourceDefinition first, or put the CRD in the same bundle (it is applied and Established before the objects that use it).` : '') +
        (!missing && !served ? ' The API may have been removed in this Kubernetes version.' : ''),
      404,
      'NotFound',
      {},
      { verb: 'get', kind, resource: apiVersion },
    );
  }

  /** The collection URL of a kind (in a namespace for namespaced kinds) and what discovery says of it. */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<{ path: string; info: ResourceInfo; namespace?: string }> {
    const info = await this.resourceFor(apiVersion, kind);
    const ns = info.namespaced ? (namespace ?? this.defaultNamespace) : undefined;
    const base = groupVersionPath(apiVersion);
    return { path: ns ? `${base}/namespaces/${encodeURIComponent(ns)}/${info.resource}` : `${base}/${info.resource}`, info, namespace: ns };
  }

  /** The URL of one object, and the target naming it in errors. */
  async objectPath(ref: ObjectRef, verb: string): Promise<{ path: string; info: ResourceInfo; target: RequestTarget }> {
    const { path, info, namespace } = await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace);
    return {
      path: `${path}/${encodeURIComponent(ref.name)}`,
      info,
      target: { verb, group: info.group, resource: info.resource, namespace, name: ref.name, kind: ref.kind },
    };
  }
}
