/** The registry HTTP client (Distribution API): reference parsing, auth, and the checks around a push. */
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

  constructor(
    readonly registry: string,
    private readonly credentials?: RegistryCredentials,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  private get base(): string {
    const host = this.registry === 'docker.io' ? 'registry-1.docker.io' : this.registry;
    // Like Docker, treat loopback registries as plain HTTP.
    const insecure = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(host);
    return `${insecure ? 'http' : 'https'}://${host}`;
  }

  private async request(method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const send = (auth?: string): Promise<Response> =>
      this.fetchImpl(`${this.base}${path}`, { method, headers: { ...headers, ...(auth ? { authorization: auth } : {}) } });
    let response = await send(this.authHeader());
    if (response.status === 401) {
      const challenge = response.headers.get('www-authenticate') ?? '';
      await response.body?.cancel();
      if (/^bearer/i.test(challenge)) await this.fetchToken(challenge);
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

  private async fetchToken(challenge: string): Promise<void> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!params.realm) return;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
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
}
