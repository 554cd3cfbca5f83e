import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream';

/**
 * A fault-injecting HTTP reverse proxy for integration tests: put it in front
 * of a real registry (Distribution) and make chosen requests fail — 503 twice
 * then pass, 429 with Retry-After, down for good, connection resets — while
 * everything else streams through untouched.
 *
 *   const proxy = await startFaultProxy('127.0.0.1:5000');
 *   proxy.addFault({ method: 'PUT', path: /\/blobs\/uploads\//, status: 503, times: 2 });
 *   // push to `${proxy.host}/demo:1` ...
 *   await proxy.close();
 *
 * Bodies are piped both ways (blob uploads are large), and the Host header is
 * passed through unchanged, so the absolute Location URLs the registry builds
 * from it point back at the proxy.
 */

export interface FaultRule {
  /** Only requests with this method (any case); all methods when unset. */
  method?: string;
  /** Only requests whose path (with query string) matches; all paths when unset. */
  path?: RegExp;
  /** Status to answer with instead of forwarding (default 503 unless `reset`). */
  status?: number;
  /** Extra response headers, e.g. { 'Retry-After': '2' }. */
  headers?: Record<string, string>;
  /** Response body; default a registry-style JSON error. */
  body?: string;
  /** Reset the connection (TCP RST) instead of answering. */
  reset?: boolean;
  /** How many matching requests to fault; Infinity = until clearFaults(). */
  times: number;
}

export interface ProxiedRequest {
  method: string;
  /** Path with query string, as received. */
  path: string;
  /** Status sent to the client; 0 when the connection was reset or the response never started. */
  status: number;
  /** Whether a fault rule answered it. */
  faulted: boolean;
  /** Arrival time (Date.now()). */
  at: number;
}

export interface FaultProxy {
  /** "127.0.0.1:PORT": use it as the registry host. */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** Rules are tried in the order added; the first one with faults left applies. */
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Every request, in arrival order. */
  requests: ProxiedRequest[];
  /** Stops listening and destroys every open connection, both sides. */
  close(): Promise<void>;
}

/** Headers that belong to one connection and are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // The proxy's own server already answered `100 Continue` to the client.
  'expect',
]);

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const connectionTokens = String(headers.connection ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

function parseUpstream(upstream: string): { hostname: string; port: number } {
  const u = new URL(/^https?:\/\//.test(upstream) ? upstream : `http://${upstream}`);
  if (u.protocol !== 'http:') throw new Error(`fault proxy: upstream must be plain http, got '${upstream}'`);
  return { hostname: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = parseUpstream(upstream);
  const rules: Array<FaultRule & { remaining: number }> = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const outgoing = new Set<http.ClientRequest>();
  // No pooling upstream: each client connection's requests get fresh
  // upstream connections, and nothing lingers after close().
  const agent = new http.Agent({ keepAlive: false });

  const takeFault = (req: http.IncomingMessage): FaultRule | undefined => {
    for (const rule of rules) {
      if (rule.remaining <= 0) continue;
      if (rule.method && rule.method.toUpperCase() !== req.method) continue;
      if (rule.path) {
        rule.path.lastIndex = 0;
        if (!rule.path.test(req.url ?? '')) continue;
      }
      rule.remaining--;
      return rule;
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const entry: ProxiedRequest = { method: req.method ?? '', path: req.url ?? '', status: 0, faulted: false, at: Date.now() };
    requests.push(entry);

    const fault = takeFault(req);
    if (fault) {
      entry.faulted = true;
      if (fault.reset) {
        req.socket.resetAndDestroy();
        return;
      }
      const status = fault.status ?? 503;
      const body =
        fault.body ??
        JSON.stringify({
          errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: `fault-proxy: injected ${status}` }],
        });
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', ...lowerKeys(fault.headers ?? {}) };
      headers['content-length'] = Buffer.byteLength(body);
      entry.status = status;
      // Drain whatever the client is still sending, so it reads our answer
      // rather than a broken pipe.
      req.resume();
      res.writeHead(status, headers);
      res.end(body);
      return;
    }

    const upstreamReq = http.request({
      agent,
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      // Includes Host as the client sent it: the registry's Location URLs
      // must name the proxy, not the upstream.
      headers: forwardable(req.headers),
    });
    outgoing.add(upstreamReq);
    upstreamReq.on('close', () => outgoing.delete(upstreamReq));

    upstreamReq.on('response', (upstreamRes) => {
      const status = upstreamRes.statusCode ?? 502;
      entry.status = status;
      res.writeHead(status, upstreamRes.statusMessage, forwardable(upstreamRes.headers));
      pipeline(upstreamRes, res, (err) => {
        // A client that went away mid-download: stop reading upstream.
        if (err) upstreamReq.destroy();
      });
    });

    let failed = false;
    // Stream the request body; a client that aborts tears down the upstream
    // request, and an upstream failure ends in a 502 (when nothing was sent yet).
    pipeline(req, upstreamReq, (err) => {
      if (!err) return;
      fail(err);
    });
    upstreamReq.on('error', fail);

    function fail(err: Error): void {
      if (failed) return;
      failed = true;
      upstreamReq.destroy();
      if (res.writableFinished) return; // the answer is already out
      if (!res.headersSent && !res.destroyed && !req.socket.destroyed) {
        entry.status = 502;
        const body = `fault-proxy: upstream ${upstream} failed: ${err.message}\n`;
        res.writeHead(502, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), connection: 'close' });
        res.end(body);
      } else {
        res.destroy();
      }
    }
  });

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Malformed requests and resets from clients must not crash the test run.
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  return {
    host,
    url: `http://${host}`,
    requests,
    addFault(rule: FaultRule): void {
      if (!(rule.times > 0)) throw new Error(`fault proxy: times must be a positive number or Infinity, got ${rule.times}`);
      rules.push({ ...rule, remaining: rule.times });
    },
    clearFaults(): void {
      rules.length = 0;
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const r of outgoing) r.destroy();
        for (const s of sockets) s.destroy();
        agent.destroy();
      });
      return closing;
    },
  };
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
