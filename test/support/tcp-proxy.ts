import * as net from 'node:net';

/**
 * A TCP proxy for integration tests: put it in front of a real server (the API server's TLS goes
 * straight through, so certificates for 127.0.0.1 still match) and cut every open connection on
 * demand, or refuse new ones for a while — the faults a watch meets when a load balancer or the
 * network drops it.
 *
 *   const proxy = await startTcpProxy('127.0.0.1', 6443);
 *   // point a client at `https://${proxy.host}` …
 *   proxy.cutAll();          // every open connection reset, both sides
 *   proxy.refuse(true);      // new connections are closed at once until refuse(false)
 *   await proxy.close();
 */
export interface TcpProxy {
  /** "127.0.0.1:PORT" */
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Resets every open connection (client and upstream side); returns how many were cut. */
  cutAll(): number;
  /** While true, new connections are destroyed as soon as they are accepted. */
  refuse(on: boolean): void;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let accepted = 0;
  let refusing = false;

  const server = net.createServer((client) => {
    accepted++;
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: targetHost, port: targetPort });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;

  const cutAll = (): number => {
    const n = pairs.size;
    for (const [client, upstream] of [...pairs]) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
    return n;
  };

  return {
    host: `127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    cutAll,
    refuse(on: boolean) {
      refusing = on;
    },
    close() {
      cutAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
