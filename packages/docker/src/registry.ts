/** The registry HTTP client (Distribution API): reference parsing, auth, the checks around a push, and manifests and blobs. */
import { createHash } from 'node:crypto';
import { ExternalError, isTransientStatus, networkErrorCode, parseRetryAfter, withRetries } from '@kubeline/toolkit';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** An HTTP status from a registry, or no answer at all (status 0, with the network error as `cause`). */
export class RegistryHttpError extends ExternalError {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs?: number,
    cause?: unknown,
    /** What the registry said (`401 UNAUTHORIZED: authentication required`), when it answered. */
    readonly answer?: string,
  ) {
    super(message);
    if (cause !== undefined) this.cause = cause;
  }
}

/** Worth another attempt, by the toolkit's one classifier: a transient status, or a connection that broke on the way. */
function isTransientRegistryFailure(err: unknown): boolean {
  return (err instanceof RegistryHttpError && isTransientStatus(err.status)) || networkErrorCode(err) !== undefined;
}

const retryAfter = (err: unknown): number | undefined => (err instanceof RegistryHttpError ? err.retryAfterMs : undefined);

/**
 * Runs `fn` in the toolkit's retry loop with the registry client's classifier (a transient
 * status, a connection that broke) and the registry's Retry-After: for work made of several
 * requests that must be retried as a whole, such as a blob streamed from one registry to another.
 */
export function withRegistryRetries<T>(what: string, fn: (attempt: number) => Promise<T>, retries = 4): Promise<T> {
  return withRetries(fn, { what, retries, baseDelayMs: 500, maxDelayMs: 10_000, isRetryable: isTransientRegistryFailure, retryAfterMs: retryAfter });
}

/** A manifest as the registry stores it: its exact bytes (its digest is theirs), its media type, and that digest. */
export interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/** The digest of `bytes` with the algorithm of `like` (`sha256:…` by default, `sha512:…` too). */
export function digestOf(bytes: Uint8Array, like = 'sha256:'): string {
  const algorithm = like.slice(0, like.indexOf(':')) || 'sha256';
  if (algorithm !== 'sha256' && algorithm !== 'sha512') throw new ExternalError(`unsupported digest algorithm '${algorithm}' in ${like}`);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** What a registry said with an error status: `CODE: message` of its JSON errors, else the status line. */
async function registryAnswer(r: Response): Promise<string> {
  const line = `${r.status}${r.statusText ? ` ${r.statusText}` : ''}`;
  const text = await r.text().catch(() => '');
  try {
    const errors = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors ?? [];
    const said = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean);
    if (said.length) return `${r.status} ${said.join('; ')}`;
  } catch {
    // not JSON: the status line (and a short plain-text body) will do
  }
  const plain = text.trim().split('\n')[0].slice(0, 200);
  return plain && !plain.startsWith('<') ? `${line}: ${plain}` : line;
}

/** Extra request settings: a body (a stream is sent once, never replayed) and token scopes beyond the challenge's. */
interface RequestExtra {
  body?: Uint8Array | ReadableStream<Uint8Array>;
  scopes?: readonly string[];
}

/** registry host, repository path and reference of `host/name[:tag|@digest]`. */
export function splitReference(ref: string): { registry: string; repository: string; reference: string } {
  const at = ref.indexOf('@');
  let name = at >= 0 ? ref.slice(0, at) : ref;
  let reference = at >= 0 ? ref.slice(at + 1) : '';
  if (!reference) {
    const colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/')) {
      reference = name.slice(colon + 1);
      name = name.slice(0, colon);
    } else reference = 'latest';
  }
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return { registry: first, repository: name.slice(slash + 1), reference };
  }
  return { registry: 'docker.io', repository: name.includes('/') ? name : `library/${name}`, reference };
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * The one wrapper around a registry's HTTP API (Distribution spec): the
 * checks after a push and the probes that read Retry-After. Basic auth and
 * the bearer-token dance are both handled.
 */
export class RegistryClient {
  private token?: string;
  /** The token server of the last bearer challenge, and every scope asked for so far. */
  private bearer?: { realm: string; service?: string };
  private readonly scopes = new Set<string>();
  private readonly retries: number;

  constructor(
    readonly registry: string,
    private readonly credentials?: RegistryCredentials,
    private readonly fetchImpl: typeof fetch = fetch,
    /** `retries`: attempts after the first for the manifest and blob calls (default 4). */
    options: { retries?: number } = {},
  ) {
    this.retries = options.retries ?? 4;
  }

  /** Whether credentials were given (for error messages; never the credentials themselves). */
  get authenticated(): boolean {
    return this.credentials !== undefined;
  }

  private get base(): string {
    const host = this.registry === 'docker.io' ? 'registry-1.docker.io' : this.registry;
    // Like Docker, treat loopback registries as plain HTTP.
    const insecure = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(host);
    return `${insecure ? 'http' : 'https'}://${host}`;
  }

  /**
   * One request, authenticated: Basic, or a bearer token fetched on the registry's challenge.
   * `path` is a path under the registry or an absolute URL it gave (an upload's Location);
   * credentials go only to the registry's own origin.
   */
  private async request(method: string, path: string, headers: Record<string, string> = {}, extra: RequestExtra = {}): Promise<Response> {
    const url = new URL(path, this.base);
    const ours = url.origin === new URL(this.base).origin;
    const stream = extra.body instanceof ReadableStream;
    const send = (auth?: string): Promise<Response> =>
      this.fetchImpl(url, {
        method,
        headers: { ...headers, ...(auth && ours ? { authorization: auth } : {}) },
        ...(extra.body ? { body: extra.body, ...(stream ? { duplex: 'half' as const } : {}) } : {}),
      });
    const wanted = extra.scopes ?? [];
    // A token that lacks a scope this request needs (a mount's source) is replaced before the request.
    if (this.bearer && wanted.some((s) => !this.scopes.has(s))) await this.fetchToken(this.bearer, wanted);
    let response = await send(this.authHeader());
    // A stream body is gone once sent: its 401 goes back to the caller, who starts over.
    if (response.status === 401 && !stream) {
      const challenge = response.headers.get('www-authenticate') ?? '';
      await response.body?.cancel();
      if (/^bearer/i.test(challenge)) {
        const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        if (params.realm) {
          this.bearer = { realm: params.realm, service: params.service };
          await this.fetchToken(this.bearer, [...(params.scope ? params.scope.split(' ') : []), ...wanted]);
        }
      }
      response = await send(this.authHeader(/^basic/i.test(challenge)));
    }
    return response;
  }

  private authHeader(forceBasic = false): string | undefined {
    if (this.token && !forceBasic) return `Bearer ${this.token}`;
    if (this.credentials) {
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    }
    return undefined;
  }

  /** A token for every scope asked for so far plus `scopes` (a token server grants what the credentials allow). */
  private async fetchToken(server: { realm: string; service?: string }, scopes: readonly string[]): Promise<void> {
    for (const scope of scopes) this.scopes.add(scope);
    const url = new URL(server.realm);
    if (server.service) url.searchParams.set('service', server.service);
    for (const scope of this.scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    const basic = this.authHeader(true);
    if (basic) headers.authorization = basic;
    const r = await this.fetchImpl(url, { headers });
    if (r.ok) {
      const body = (await r.json()) as { token?: string; access_token?: string };
      this.token = body.token ?? body.access_token;
    } else await r.body?.cancel();
  }

  /** GET /v2/: 200 when the registry is up and the credentials work. */
  async ping(): Promise<{ status: number; retryAfterMs?: number }> {
    const r = await this.request('GET', '/v2/');
    await r.body?.cancel();
    return { status: r.status, retryAfterMs: parseRetryAfter(r.headers.get('retry-after')) };
  }

  /**
   * Waits, within the retry budget, until the registry answers at all (any
   * status but a transient one: 408, 429, most 5xx). The engine retries a
   * failing layer upload for about a minute on its own, so a registry that is
   * down must be caught here, quickly.
   */
  async waitUntilUp(retries: number): Promise<void> {
    await withRetries(
      async () => {
        let probe: { status: number; retryAfterMs?: number };
        try {
          probe = await this.ping();
        } catch (err) {
          const code = networkErrorCode(err) ?? (err as { cause?: { code?: string } }).cause?.code ?? 'no answer';
          throw new RegistryHttpError(`${this.registry} is not answering (${code})`, 0, undefined, err);
        }
        if (isTransientStatus(probe.status)) {
          throw new RegistryHttpError(`${this.registry} answers ${probe.status}`, probe.status, probe.retryAfterMs);
        }
      },
      {
        what: `reaching ${this.registry}`,
        retries,
        baseDelayMs: 1000,
        maxDelayMs: 30_000,
        isRetryable: isTransientRegistryFailure,
        retryAfterMs: retryAfter,
      },
    );
  }

  /** The digest a tag or digest reference resolves to, or undefined when absent. */
  async resolve(repository: string, reference: string): Promise<string | undefined> {
    return withRetries(
      async () => {
        const r = await this.request('HEAD', `/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_TYPES });
        if (r.status === 404) return undefined;
        if (!r.ok) {
          throw new RegistryHttpError(
            `${this.registry} answered ${r.status} for ${repository}:${reference}`,
            r.status,
            parseRetryAfter(r.headers.get('retry-after')),
          );
        }
        return r.headers.get('docker-content-digest') ?? undefined;
      },
      {
        what: `checking ${repository}:${reference} on ${this.registry}`,
        retries: 4,
        baseDelayMs: 500,
        maxDelayMs: 10_000,
        isRetryable: isTransientRegistryFailure,
        retryAfterMs: retryAfter,
      },
    );
  }

  // ── manifests and blobs (promote's registry mode: packages/docker/src/registry-copy.ts) ──

  /** `fetch` with a connection failure turned into a RegistryHttpError with status 0 (still transient by its cause). */
  private async call(what: string, method: string, path: string, headers: Record<string, string> = {}, extra: RequestExtra = {}): Promise<Response> {
    try {
      return await this.request(method, path, headers, extra);
    } catch (err) {
      const code = networkErrorCode(err) ?? (err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.message : 'no answer');
      throw new RegistryHttpError(`${what} on ${this.registry}: no answer (${code})`, 0, undefined, err);
    }
  }

  /** A RegistryHttpError for an answer that is not the expected one, with what the registry said. */
  private async failure(r: Response, what: string): Promise<RegistryHttpError> {
    const answer = await registryAnswer(r);
    return new RegistryHttpError(`${what}: ${this.registry} answered ${answer}`, r.status, parseRetryAfter(r.headers.get('retry-after')), undefined, answer);
  }

  private retried<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRegistryRetries(what, fn, this.retries);
  }

  /**
   * GET a manifest or index by tag or digest: its exact bytes and media type (the Content-Type,
   * else the document's own `mediaType`), and the digest of those bytes. A digest reference is
   * checked against the bytes. Throws a RegistryHttpError (404 when absent); retried when transient.
   */
  async getManifest(repository: string, reference: string): Promise<StoredManifest> {
    const what = `reading manifest ${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    return this.retried(what, async () => {
      const r = await this.call(what, 'GET', `/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_TYPES });
      if (!r.ok) throw await this.failure(r, what);
      const bytes = new Uint8Array(await r.arrayBuffer());
      const digest = digestOf(bytes, reference.includes(':') ? reference : undefined);
      if (reference.includes(':') && digest !== reference) {
        throw new RegistryHttpError(`${what}: ${this.registry} sent a manifest whose digest is ${digest}, not ${reference}`, r.status);
      }
      let mediaType = (r.headers.get('content-type') ?? '').split(';')[0].trim();
      if (!mediaType || mediaType === 'application/json' || mediaType === 'text/plain') {
        try {
          mediaType = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: string }).mediaType ?? mediaType;
        } catch {
          // not JSON: registry-copy says so when it parses it
        }
      }
      return { bytes, mediaType, digest };
    });
  }

  /**
   * PUT a manifest under a tag or its digest, exactly as given (bytes and media type: re-serialising
   * would change the digest). Returns the registry's Docker-Content-Digest, when it sends one.
   */
  async putManifest(repository: string, reference: string, manifest: Pick<StoredManifest, 'bytes' | 'mediaType'>): Promise<string | undefined> {
    const what = `writing manifest ${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    return this.retried(what, async () => {
      const r = await this.call(what, 'PUT', `/v2/${repository}/manifests/${reference}`, { 'content-type': manifest.mediaType }, { body: manifest.bytes });
      if (r.status !== 201 && r.status !== 200) throw await this.failure(r, what);
      await r.body?.cancel();
      return r.headers.get('docker-content-digest') ?? undefined;
    });
  }

  /** HEAD a blob: whether the repository has it. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const what = `checking blob ${digest} in ${repository}`;
    return this.retried(what, async () => {
      const r = await this.call(what, 'HEAD', `/v2/${repository}/blobs/${digest}`);
      await r.body?.cancel();
      if (r.status === 404) return false;
      if (!r.ok) throw await this.failure(r, what);
      return true;
    });
  }

  /**
   * Cross-repository blob mount (`POST …/blobs/uploads/?mount=&from=`): no bytes move. When the
   * registry declines (202: the source blob is not readable with these credentials, or mounting is
   * off) it opens an upload instead, whose location is returned for a copy.
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const what = `mounting blob ${digest} from ${from} into ${repository}`;
    return this.retried(what, async () => {
      const path = `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
      const r = await this.call(what, 'POST', path, { 'content-length': '0' }, { scopes: [`repository:${repository}:pull,push`, `repository:${from}:pull`] });
      if (r.status === 201) {
        await r.body?.cancel();
        return { mounted: true as const };
      }
      if (r.status !== 202) throw await this.failure(r, what);
      await r.body?.cancel();
      return { mounted: false as const, location: this.location(r, what) };
    });
  }

  /** Opens a blob upload (`POST …/blobs/uploads/`) and returns its location. */
  async startUpload(repository: string): Promise<string> {
    const what = `starting an upload to ${repository}`;
    return this.retried(what, async () => {
      const r = await this.call(what, 'POST', `/v2/${repository}/blobs/uploads/`, { 'content-length': '0' }, { scopes: [`repository:${repository}:pull,push`] });
      if (r.status !== 202) throw await this.failure(r, what);
      await r.body?.cancel();
      return this.location(r, what);
    });
  }

  private location(r: Response, what: string): string {
    const location = r.headers.get('location');
    if (!location) throw new RegistryHttpError(`${what}: ${this.registry} answered ${r.status} without a Location`, r.status);
    return new URL(location, this.base).href;
  }

  /**
   * GET a blob as a stream (redirects to storage are followed; credentials stay with the
   * registry). Not retried here: a stream can only be read once, so the caller retries the copy.
   */
  async getBlob(repository: string, digest: string): Promise<{ body: ReadableStream<Uint8Array>; size?: number }> {
    const what = `reading blob ${digest} from ${repository}`;
    const r = await this.call(what, 'GET', `/v2/${repository}/blobs/${digest}`);
    if (!r.ok || !r.body) throw await this.failure(r, what);
    const length = r.headers.get('content-length');
    return { body: r.body, size: length === null ? undefined : Number(length) };
  }

  /**
   * Streams a blob into an open upload and commits it under `digest` (the registry checks it):
   * one streaming PATCH, or PATCHes of about `chunkSize` bytes with Content-Range when given
   * (for registries that want chunks; memory stays at one chunk), then `PUT ?digest=`.
   * Not retried here (see getBlob). Returns the bytes sent.
   */
  async uploadBlob(location: string, digest: string, body: ReadableStream<Uint8Array>, options: { size?: number; chunkSize?: number } = {}): Promise<number> {
    const what = `uploading blob ${digest}`;
    let url = location;
    let sent = 0;
    const patch = async (chunk: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string>): Promise<void> => {
      const r = await this.call(what, 'PATCH', url, { 'content-type': 'application/octet-stream', ...headers }, { body: chunk });
      if (r.status !== 202) throw await this.failure(r, what);
      await r.body?.cancel();
      url = this.location(r, what);
    };
    if (!options.chunkSize) {
      let counted = 0;
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          counted += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      await patch(body.pipeThrough(counter), options.size === undefined ? {} : { 'content-length': String(options.size) });
      sent = counted;
    } else {
      const reader = body.getReader();
      let parts: Uint8Array[] = [];
      let buffered = 0;
      const flush = async (): Promise<void> => {
        const chunk = Buffer.concat(parts, buffered);
        await patch(chunk, { 'content-length': String(chunk.byteLength), 'content-range': `${sent}-${sent + chunk.byteLength - 1}` });
        sent += chunk.byteLength;
        parts = [];
        buffered = 0;
      };
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          buffered += value.byteLength;
          if (buffered >= options.chunkSize) await flush();
        }
        if (buffered > 0) await flush();
      } finally {
        reader.releaseLock();
      }
    }
    const commit = new URL(url);
    commit.searchParams.set('digest', digest);
    const r = await this.call(what, 'PUT', commit.href, { 'content-length': '0' });
    if (r.status !== 201) throw await this.failure(r, what);
    await r.body?.cancel();
    return sent;
  }
}
