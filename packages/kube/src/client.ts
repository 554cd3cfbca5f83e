/** The one Kubernetes API client: transport with client-node's credentials, retries, error answers, and the verbs. */
import { IsomorphicFetchHttpLibrary, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { type KubeObject, objectRef, type ObjectRef } from '@kubeline/k8s';
import { ExternalError, errorMessage, networkErrorCode, parseRetryAfter, type RetryOptions, sleep, withRetries } from '@kubeline/toolkit';
import { createHash } from 'node:crypto';
import type https from 'node:https';
import { type ApiStatus, apiErrorMessage, isTransient, KubeApiError, type RequestTarget, UnreachableError } from './api-errors';
import { Discovery, type ResourceInfo } from './discovery';

/** One request to the API server, as `KubeClient.request` takes it. */
export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The path below the server URL, starting with `/`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON (JSON is YAML too, so it serves apply patches). */
  body?: unknown;
  contentType?: string;
  accept?: string;
  target?: RequestTarget;
  /** Statuses returned to the caller instead of thrown (404 to read what may not exist). */
  allow?: readonly number[];
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  /** Stops the request and its retries: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A response with a 2xx (or allowed) status: its body parsed from JSON when it is JSON. */
export interface KubeResponse<T = KubeObject> {
  status: number;
  body: T;
  headers: Record<string, string>;
}

/** How a KubeClient retries, times out and names things. */
export interface ClientOptions {
  /** Retries of a transient failure (connection refused/reset, 5xx, 429); default 4. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  /** The user named in messages when the server does not say (the kubeconfig's user). */
  user?: string;
  /** Namespace for namespaced objects that have none: the context's, else `default`. */
  defaultNamespace?: string;
  sleep?: (ms: number) => Promise<void>;
}

/** The innermost message of an error's cause chain (`connect ECONNREFUSED 127.0.0.1:1`). */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && (e as { cause?: unknown })?.cause; depth++) e = (e as { cause: unknown }).cause;
  // Errors from undici may come from another realm (instanceof Error fails): read the message as a field.
  const message = (e as { message?: unknown })?.message;
  return typeof message === 'string' && message ? message : errorMessage(e);
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|HOSTNAME|ALTNAME|DEPTH_ZERO/;

function tlsCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODES.test(code)) return code;
  }
  return undefined;
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The server's clock from a response's Date header (whole seconds), when it sent one. */
function serverDate(headers: Record<string, string>): number | undefined {
  const date = Date.parse(headers.date ?? '');
  return Number.isNaN(date) ? undefined : date;
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** Keeps the connection pool client-node makes instead of setting it on the request. */
class CapturingContext extends RequestContext {
  captured?: Dispatcher;
  override setDispatcher(dispatcher: Dispatcher): void {
    this.captured = dispatcher;
  }
}

/**
 * The one wrapper around the Kubernetes API. It takes authentication from client-node's KubeConfig
 * (client certificates, tokens, token files, exec credential plugins, proxies) and sends requests
 * itself with JSON bodies as written: client-node's typed serializer drops fields its models do not
 * know, which under server-side apply would silently remove them from the live object. Every call
 * retries transient failures (bounded, honouring Retry-After) and ends in a message that says what
 * to do. Discovery (kind → resource, scope) is cached and refreshed on a miss, so CRDs applied in
 * the same run are found once they are Established.
 */
export class KubeClient {
  readonly server: string;
  readonly user?: string;
  readonly defaultNamespace: string;
  /** Requests sent, retries included: for the benchmark. */
  requests = 0;
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly dispatchers = new Map<string, Dispatcher | undefined>();
  private readonly discovery: Discovery;
  private readonly retry: Omit<RetryOptions, 'what' | 'isRetryable'>;
  private readonly timeoutMs: number;

  constructor(
    /** Exposed for client-node's Watch, which the wait half uses with the same credentials. */
    readonly kubeConfig: KubeConfig,
    options: ClientOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('KubeClient: the kubeconfig has no current cluster (connect() checks this first)');
    this.server = cluster.server.replace(/\/+$/, '');
    this.user = options.user ?? kubeConfig.getCurrentUser()?.name;
    const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
    this.defaultNamespace = options.defaultNamespace || context?.namespace || 'default';
    this.discovery = new Discovery((request) => this.request(request), this.defaultNamespace);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = {
      retries: options.retries ?? 4,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 8_000,
      retryAfterMs: (err) => (err instanceof KubeApiError ? err.retryAfterMs : undefined),
      sleep: options.sleep,
    };
  }

  /** One request, retried when transient; error answers become KubeApiError unless allowed. */
  async request<T = KubeObject>(options: RequestOptions): Promise<KubeResponse<T>> {
    const what = `${options.method} ${options.path}`;
    const { signal } = options;
    let attempts = 0;
    try {
      return await withRetries(
        () => {
          attempts++;
          return this.send<T>(options);
        },
        {
          ...this.retry,
          what: `Kubernetes API ${what}`,
          isRetryable: (err) => !signal?.aborted && isTransient(err),
          // Cut short when the caller stops: the next attempt then rejects with the signal's reason.
          sleep: this.retry.sleep ?? ((ms) => sleep(ms, signal)),
        },
      );
    } catch (err) {
      if (err instanceof UnreachableError) {
        throw new UnreachableError(
          `cannot reach the Kubernetes API server at ${this.server}: ${err.message} (${attempts} attempt${attempts === 1 ? '' : 's'}). ` +
            'Check the server address in the kubeconfig and that this runner can reach it (a private cluster endpoint is not reachable from GitHub-hosted runners: use a self-hosted runner in its network or an authorized network).',
        );
      }
      throw err;
    }
  }

  private async send<T>(options: RequestOptions): Promise<KubeResponse<T>> {
    const ctx = new RequestContext(`${this.server}${options.path}${queryString(options.query)}`, options.method);
    ctx.setHeaderParam('Accept', options.accept ?? 'application/json');
    ctx.setHeaderParam('User-Agent', 'kubeline');
    if (options.body !== undefined) {
      ctx.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      ctx.setBody(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    }
    const { signal } = options;
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs);
    ctx.setSignal(signal ? AbortSignal.any([signal, timeout]) : timeout);
    try {
      await this.authenticate(ctx);
    } catch (err) {
      throw this.credentialError(err);
    }
    this.requests++;
    let status: number;
    let headers: Record<string, string>;
    let text: string;
    try {
      const response = await this.http.send(ctx).toPromise();
      status = response.httpStatusCode;
      headers = response.headers;
      text = await response.body.text();
    } catch (err) {
      // Stopped by the caller: not a network failure to retry.
      if (signal?.aborted) throw signal.reason;
      const tls = tlsCode(err);
      if (tls) {
        throw new ExternalError(
          `TLS with the API server at ${this.server} failed (${tls}: ${rootMessage(err)}): the kubeconfig's certificate-authority-data does not match the server's certificate, or the server address is not one its certificate names.`,
        );
      }
      const code = networkErrorCode(err);
      if (code) throw new UnreachableError(code === 'ETIMEDOUT' ? `no answer in ${(options.timeoutMs ?? this.timeoutMs) / 1000} s` : rootMessage(err));
      throw err;
    }
    let body: unknown = text;
    if (text && /json/.test(headers['content-type'] ?? '')) {
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
    }
    if ((status >= 200 && status < 300) || options.allow?.includes(status)) return { status, body: body as T, headers };
    const apiStatus: ApiStatus = typeof body === 'object' && body !== null && (body as { kind?: string }).kind === 'Status' ? (body as ApiStatus) : {};
    // The body of a 404 for an unknown path is `404 page not found`: nothing to add.
    if (!apiStatus.message && typeof body === 'string' && body.trim() && status !== 404) apiStatus.message = body.trim().slice(0, 500);
    const retryAfterMs = parseRetryAfter(headers['retry-after']) ?? (apiStatus.details?.retryAfterSeconds !== undefined ? apiStatus.details.retryAfterSeconds * 1000 : undefined);
    throw new KubeApiError(apiErrorMessage(status, apiStatus, options.target, this.user), status, apiStatus.reason ?? '', apiStatus, options.target, retryAfterMs);
  }

  /**
   * Credentials for one request. client-node's applySecurityAuthentication builds a new connection
   * pool (undici Agent) for every request, so every request paid a TLS handshake: the headers are
   * taken fresh each time (tokens rotate, exec plugins refresh), the pool is reused for as long as
   * the TLS material (CA, client certificate and key) stays the same.
   */
  private async authenticate(ctx: RequestContext): Promise<void> {
    const opts: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(opts);
    for (const [name, value] of Object.entries(opts.headers ?? {})) if (value !== undefined) ctx.setHeaderParam(name, String(value));
    if (typeof opts.auth === 'string') ctx.setHeaderParam('Authorization', `Basic ${Buffer.from(opts.auth).toString('base64')}`);
    const key = createHash('sha256')
      .update(JSON.stringify([opts.ca, opts.cert, opts.key, opts.pfx, opts.rejectUnauthorized, opts.servername]))
      .digest('hex');
    if (!this.dispatchers.has(key)) {
      const probe = new CapturingContext(this.server, 'GET');
      await this.kubeConfig.applySecurityAuthentication(probe);
      this.dispatchers.set(key, probe.captured);
    }
    const dispatcher = this.dispatchers.get(key);
    if (dispatcher) ctx.setDispatcher(dispatcher);
  }

  /** Closes the connections this client keeps open. */
  async close(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(all.map((d) => d?.close().catch(() => undefined)));
  }

  private credentialError(err: unknown): Error {
    const user = this.kubeConfig.getCurrentUser();
    const exec = (user?.exec as { command?: string } | undefined)?.command;
    const detail = errorMessage(err).trim();
    if (exec) return new ExternalError(`the exec credential plugin '${exec}' of kubeconfig user "${user?.name}" failed${detail ? `: ${detail}` : ''}. Run it by hand on the runner to see why (expired cloud credentials are the usual cause).`);
    return new ExternalError(`could not load the credentials of kubeconfig user "${user?.name ?? '?'}": ${detail}`);
  }

  /** Forget what discovery said (all of it, or one group version): after CRDs are Established. */
  forgetDiscovery(apiVersion?: string): void {
    this.discovery.forget(apiVersion);
  }

  /** Kind → resource and scope; a kind the server does not serve fails saying its CRD or API is missing. */
  resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    return this.discovery.resourceFor(apiVersion, kind);
  }

  /** The collection URL of a kind (in a namespace for namespaced kinds) and what discovery says of it. */
  collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<{ path: string; info: ResourceInfo; namespace?: string }> {
    return this.discovery.collectionPath(apiVersion, kind, namespace);
  }

  /** The URL of one object, and the target naming it in errors. */
  objectPath(ref: ObjectRef, verb: string): Promise<{ path: string; info: ResourceInfo; target: RequestTarget }> {
    return this.discovery.objectPath(ref, verb);
  }

  /** The live object, or undefined when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const { path, target } = await this.objectPath(ref, 'get');
    const r = await this.request({ method: 'GET', path, target, allow: [404] });
    return r.status === 404 ? undefined : r.body;
  }

  /**
   * A GET of a path as it is (one list page with its resourceVersion and `continue`, a path built
   * elsewhere): the body, and the server's clock (its Date header) for callers that compare their
   * time with the server's. Error answers are thrown as KubeApiError unless allowed.
   */
  async read<T = KubeObject>(
    path: string,
    options: Pick<RequestOptions, 'query' | 'target' | 'allow' | 'accept' | 'timeoutMs' | 'signal'> = {},
  ): Promise<{ status: number; body: T; date?: number }> {
    const r = await this.request<T>({ ...options, method: 'GET', path });
    return { status: r.status, body: r.body, date: serverDate(r.headers) };
  }

  /**
   * The last lines of a container's log (pods/log), as text. The API server reads them from the
   * node's kubelet; when it cannot, its answer is thrown as KubeApiError like any other.
   */
  async podLog(
    namespace: string,
    pod: string,
    options: { container: string; previous?: boolean; tailLines?: number; limitBytes?: number; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<string> {
    const r = await this.request<unknown>({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
      query: { container: options.container, tailLines: options.tailLines, limitBytes: options.limitBytes, previous: options.previous ? true : undefined },
      accept: '*/*',
      target: { verb: 'get', resource: 'pods', subresource: 'log', namespace, name: pod, kind: 'Pod' },
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    return typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  }

  /** All objects of a kind (in a namespace), following `continue` pages. `metadataOnly` reads PartialObjectMetadata. */
  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string; metadataOnly?: boolean } = {},
  ): Promise<KubeObject[]> {
    const { path, info, namespace } = await this.collectionPath(apiVersion, kind, options.namespace);
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const r = await this.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>({
        method: 'GET',
        path,
        query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: 500, continue: token },
        accept: options.metadataOnly ? 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' : undefined,
        target: { verb: 'list', group: info.group, resource: info.resource, namespace, kind },
      });
      items.push(...(r.body.items ?? []));
      token = r.body.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  /**
   * Server-side apply of one object under `fieldManager`. `created` is true when the object did not
   * exist before (the server answers 201); `date` is the server's clock (its Date header).
   */
  async apply(
    object: KubeObject,
    options: { fieldManager: string; force?: boolean; dryRun?: boolean },
  ): Promise<{ object: KubeObject; created: boolean; date?: number }> {
    const { path, target } = await this.objectPath(objectRef(object), 'patch');
    const r = await this.request({
      method: 'PATCH',
      path,
      query: { fieldManager: options.fieldManager, force: options.force ? true : undefined, dryRun: options.dryRun ? 'All' : undefined, fieldValidation: 'Strict' },
      body: object,
      contentType: 'application/apply-patch+yaml',
      target,
    });
    return { object: r.body, created: r.status === 201, date: serverDate(r.headers) };
  }

  /** Creates an object (POST); a 409 AlreadyExists is thrown as a KubeApiError. */
  async create(object: KubeObject, options: { dryRun?: boolean; fieldManager?: string } = {}): Promise<KubeObject> {
    const ref = objectRef(object);
    const { path, info, namespace } = await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace);
    const r = await this.request({
      method: 'POST',
      path,
      query: { dryRun: options.dryRun ? 'All' : undefined, fieldManager: options.fieldManager },
      body: object,
      target: { verb: 'create', group: info.group, resource: info.resource, namespace, name: ref.name, kind: ref.kind },
    });
    return r.body;
  }

  /** Replaces an object (PUT); with metadata.resourceVersion set, a concurrent change is a 409. */
  async replace(object: KubeObject, options: { fieldManager?: string } = {}): Promise<KubeObject> {
    const { path, target } = await this.objectPath(objectRef(object), 'update');
    const r = await this.request({ method: 'PUT', path, body: object, query: { fieldManager: options.fieldManager }, target });
    return r.body;
  }

  /** A JSON merge patch (labels, annotations). */
  async mergePatch(ref: ObjectRef, patch: unknown, options: { fieldManager?: string } = {}): Promise<KubeObject> {
    const { path, target } = await this.objectPath(ref, 'patch');
    const r = await this.request({ method: 'PATCH', path, body: patch, contentType: 'application/merge-patch+json', query: { fieldManager: options.fieldManager }, target });
    return r.body;
  }

  /**
   * Deletes an object; false when it was already gone. Preconditions make sure it is the object
   * that was checked (uid) and unchanged since (resourceVersion): a mismatch is a 409.
   */
  async delete(
    ref: ObjectRef,
    options: { uid?: string; resourceVersion?: string; propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; dryRun?: boolean } = {},
  ): Promise<boolean> {
    const { path, target } = await this.objectPath(ref, 'delete');
    const preconditions = options.uid || options.resourceVersion ? { uid: options.uid, resourceVersion: options.resourceVersion } : undefined;
    const r = await this.request({
      method: 'DELETE',
      path,
      // With a body, the server reads the options from it alone: dryRun in the query would be ignored.
      body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: options.propagationPolicy ?? 'Background', preconditions, ...(options.dryRun ? { dryRun: ['All'] } : {}) },
      target,
      allow: [404],
    });
    return r.status !== 404;
  }
}
