import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';

/**
 * A tiny stand-in for a registry:
 *   GET  /v2/               200 "ok"
 *   POST /v2/demo/blobs/uploads/  202, Location built from the Host header
 *   PUT  /upload            streams the body, answers its size and sha256;
 *                           signals `firstChunk` as soon as bytes arrive
 *   GET  /slow              sends one chunk, then the rest when `release()` is called
 *   GET  /hang              never answers
 */
interface Upstream {
  host: string;
  server: http.Server;
  seenHosts: string[];
  firstChunk: Promise<void>;
  release: () => void;
  close: () => Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const seenHosts: string[] = [];
  let signalFirstChunk!: () => void;
  const firstChunk = new Promise<void>((r) => (signalFirstChunk = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = http.createServer((req, res) => {
    seenHosts.push(req.headers.host ?? '');
    if (req.method === 'GET' && req.url === '/v2/') {
      res.writeHead(200, { 'content-type': 'text/plain', 'docker-distribution-api-version': 'registry/2.0' }).end('ok');
    } else if (req.method === 'POST' && req.url === '/v2/demo/blobs/uploads/') {
      res.writeHead(202, { location: `http://${req.headers.host}/v2/demo/blobs/uploads/abc?_state=x`, 'content-length': 0 }).end();
    } else if (req.method === 'PUT' && req.url === '/upload') {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        if (size === 0) signalFirstChunk();
        size += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ size, sha256: hash.digest('hex') })));
    } else if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      void released.then(() => res.end('rest'));
    } else if (req.url === '/hang') {
      // never answers
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    server,
    seenHosts,
    firstChunk,
    release,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const noKeepAlive = new http.Agent({ keepAlive: false });

function request(url: string, options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: noKeepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('fault proxy', () => {
  let upstream: Upstream;
  let proxy: FaultProxy;

  beforeEach(async () => {
    upstream = await startUpstream();
    proxy = await startFaultProxy(upstream.host);
  });
  afterEach(async () => {
    upstream.release();
    await proxy.close();
    await upstream.close();
  });

  test('listens on a random 127.0.0.1 port and forwards', async () => {
    expect(proxy.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(proxy.url).toBe(`http://${proxy.host}`);
    const reply = await request(`${proxy.url}/v2/`);
    expect(reply).toMatchObject({ status: 200, body: 'ok' });
    expect(reply.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(proxy.requests).toEqual([{ method: 'GET', path: '/v2/', status: 200, faulted: false, at: expect.any(Number) }]);
  });

  test('passes Host through, so Location URLs point back at the proxy', async () => {
    const reply = await request(`${proxy.url}/v2/demo/blobs/uploads/`, { method: 'POST' });
    expect(reply.status).toBe(202);
    expect(upstream.seenHosts).toEqual([proxy.host]);
    expect(reply.headers.location).toBe(`http://${proxy.host}/v2/demo/blobs/uploads/abc?_state=x`);
  });

  test('503 twice, then the request goes through', async () => {
    proxy.addFault({ path: /^\/v2\/$/, status: 503, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(`${proxy.url}/v2/`)).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(proxy.requests.map((r) => [r.status, r.faulted])).toEqual([
      [503, true],
      [503, true],
      [200, false],
    ]);
    expect(upstream.seenHosts).toHaveLength(1);
  });

  test('429 with Retry-After and a registry-style error body', async () => {
    proxy.addFault({ status: 429, headers: { 'Retry-After': '3' }, times: 1 });
    const reply = await request(`${proxy.url}/v2/`);
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('3');
    expect(JSON.parse(reply.body)).toEqual({ errors: [{ code: 'TOOMANYREQUESTS', message: 'fault-proxy: injected 429' }] });
  });

  test('custom body and headers', async () => {
    proxy.addFault({ status: 500, body: 'boom', headers: { 'Content-Type': 'text/plain' }, times: 1 });
    expect(await request(`${proxy.url}/v2/`)).toMatchObject({ status: 500, body: 'boom', headers: { 'content-type': 'text/plain' } });
  });

  test('stays down until clearFaults()', async () => {
    proxy.addFault({ status: 503, times: Infinity });
    for (let i = 0; i < 5; i++) expect((await request(`${proxy.url}/v2/`)).status).toBe(503);
    proxy.clearFaults();
    expect((await request(`${proxy.url}/v2/`)).status).toBe(200);
  });

  test('matches method and path; rules apply in the order added', async () => {
    proxy.addFault({ method: 'put', path: /\/upload$/, status: 507, times: 1 });
    proxy.addFault({ method: 'PUT', status: 500, times: 1 });
    expect((await request(`${proxy.url}/v2/`)).status).toBe(200);
    expect((await request(`${proxy.url}/upload`, { method: 'PUT', body: 'x' })).status).toBe(507);
    expect((await request(`${proxy.url}/upload`, { method: 'PUT', body: 'x' })).status).toBe(500);
    expect((await request(`${proxy.url}/upload`, { method: 'PUT', body: 'x' })).status).toBe(201);
  });

  test('a faulted upload is drained, so the client reads the answer', async () => {
    proxy.addFault({ method: 'PUT', status: 503, times: 1 });
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    expect((await request(`${proxy.url}/upload`, { method: 'PUT', body: big })).status).toBe(503);
  });

  test('resets the connection', async () => {
    proxy.addFault({ path: /^\/v2\/$/, reset: true, times: 1 });
    await expect(request(`${proxy.url}/v2/`)).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
    expect(proxy.requests[0]).toMatchObject({ status: 0, faulted: true });
    expect((await request(`${proxy.url}/v2/`)).status).toBe(200);
  });

  test('streams a large request body without buffering it', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 1);
    const sent = createHash('sha256');
    const reply = new Promise<Reply>((resolve, reject) => {
      const req = http.request(`${proxy.url}/upload`, { method: 'PUT', agent: noKeepAlive }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      // Chunked upload: the first megabyte must reach the upstream while
      // the client is still holding the rest back.
      req.write(chunk);
      sent.update(chunk);
      void upstream.firstChunk.then(() => {
        for (let i = 0; i < 15; i++) {
          req.write(chunk);
          sent.update(chunk);
        }
        req.end();
      });
    });
    const result = await reply;
    expect(result.status).toBe(201);
    expect(JSON.parse(result.body)).toEqual({ size: 16 * 1024 * 1024, sha256: sent.digest('hex') });
  });

  test('streams the response body', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${proxy.url}/slow`, { agent: noKeepAlive }, (res) => {
        res.once('data', (c: Buffer) => {
          resolve(c.toString());
          res.resume();
        });
      });
      req.on('error', reject);
    });
    // The upstream has not finished the response yet.
    expect(first).toBe('first;');
  });

  test('an unreachable upstream is a 502', async () => {
    await upstream.close();
    const reply = await request(`${proxy.url}/v2/`);
    expect(reply.status).toBe(502);
    expect(reply.body).toMatch(/fault-proxy: upstream 127\.0\.0\.1:\d+ failed/);
    expect(proxy.requests[0]).toMatchObject({ status: 502, faulted: false });
  });

  test('close() ends open connections and requests in flight', async () => {
    const keepAlive = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get(`${proxy.url}/v2/`, { agent: keepAlive }, (res) => res.resume().on('end', resolve)));
    const hanging = new Promise<string>((resolve) => {
      const req = http.get(`${proxy.url}/hang`, { agent: noKeepAlive }, () => resolve('answered'));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    await waitFor(() => proxy.requests.length === 2);
    await proxy.close();
    expect(await hanging).toMatch(/ECONNRESET|socket hang up/);
    await expect(request(`${proxy.url}/v2/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    keepAlive.destroy();
  });

  test('rejects a rule with no faults to give', () => {
    expect(() => proxy.addFault({ status: 503, times: 0 })).toThrow(/times must be a positive number/);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
