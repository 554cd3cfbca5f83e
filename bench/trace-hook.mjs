// Loaded by bench/run.mjs into every node process of its traced pipeline round only
// (NODE_OPTIONS=--import=<this file>), never into a timed round. It appends one JSON line per
// event to $KUBELINE_BENCH_TRACE_FILE:
//   {kind:'process'}  when this hook runs: the process's time origin (≈ exec) and the hook's time,
//                     so spawn→origin→hook is the node bootstrap before any of our code loads;
//   {kind:'spawn'}    each child process (docker, git, node) started through child_process
//                     spawn / spawnSync / execFileSync / execSync, with its start and close times;
//   {kind:'fetch'}    each fetch() (registry HTTP), start → response headers, method, URL, status;
//   {kind:'exit'}     process exit.
// Times are epoch milliseconds with sub-millisecond resolution (performance.timeOrigin + now()).
// Cost: one extra small ESM module per process and a synchronous append per event.
import cp from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const file = process.env.KUBELINE_BENCH_TRACE_FILE;
if (file) {
  const now = () => performance.timeOrigin + performance.now();
  const write = (rec) => {
    try {
      appendFileSync(file, JSON.stringify({ pid: process.pid, ppid: process.ppid, ...rec }) + '\n');
    } catch {
      // tracing must never change what the process does
    }
  };
  write({ kind: 'process', argv: process.argv.slice(1), origin: performance.timeOrigin, hook: now(), state: Boolean(process.env.STATE_isPost) });
  process.on('exit', (code) => write({ kind: 'exit', t: now(), code }));

  const label = (cmd, args) => [String(cmd), ...(Array.isArray(args) ? args.map(String) : [])];

  const spawn = cp.spawn;
  cp.spawn = function (cmd, args, ...rest) {
    const start = now();
    const child = spawn.call(this, cmd, args, ...rest);
    child.once('close', (code) => write({ kind: 'spawn', argv: label(cmd, args), start, end: now(), code }));
    return child;
  };
  for (const name of ['spawnSync', 'execFileSync', 'execSync']) {
    const original = cp[name];
    cp[name] = function (cmd, args, ...rest) {
      const start = now();
      let code = 0;
      try {
        const r = original.call(this, cmd, args, ...rest);
        if (name === 'spawnSync') code = r?.status ?? -1;
        return r;
      } catch (err) {
        code = err?.status ?? -1;
        throw err;
      } finally {
        write({ kind: 'spawn', argv: name === 'execSync' ? [String(cmd)] : label(cmd, args), start, end: now(), code, sync: true });
      }
    };
  }
  syncBuiltinESMExports();

  const fetch = globalThis.fetch;
  globalThis.fetch = async function (input, init) {
    const start = now();
    const url = String(input instanceof Request ? input.url : input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    try {
      const r = await fetch.call(this, input, init);
      write({ kind: 'fetch', method, url: url.replace(/\?.*$/, ''), status: r.status, start, end: now() });
      return r;
    } catch (err) {
      write({ kind: 'fetch', method, url: url.replace(/\?.*$/, ''), status: 0, error: String(err?.cause?.code ?? err), start, end: now() });
      throw err;
    }
  };
}
