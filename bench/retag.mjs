#!/usr/bin/env node
// Benchmark of promote's registry mode (copyImage, packages/docker/src/registry-copy.ts) — it
// reports, it is not a test. Alone (the lead wires it into bench/run.mjs as section `retag`):
//   eval "$(scripts/testbed env)" && PATH=$PWD/node_modules/.bin:$PATH node bench/retag.mjs [--rounds N] [--size-mb M]
//
// The subject: an image of local/busybox:1 plus one layer of --size-mb (default 100) MB of random
// bytes (`head -c 100M /dev/urandom`, so gzip cannot shrink it), copied from the test bed's
// registry without auth (A) by digest to a fresh repository
//   (same)  in the same registry A: copyImage mounts every blob, then PUTs the manifest;
//   (other) in the registry with auth B: copyImage streams the blobs B lacks from A, then the manifest;
// against what a promote step without it types, in the same run, to the same kind of target:
//   docker pull A/src@sha256:… && docker tag … T && docker push T   (own DOCKER_CONFIG, login by stdin)
// with the image absent from the engine before each docker run (a CI runner starts without it).
// and, as the floor of the cross-registry case, the registry's own ingest of the big layer: one
// POST + PATCH (the bytes from memory) + PUT into B, direct — what any client pays, however fast.
// Rounds: --rounds (default 3) rounds, each with a fresh image (built and pushed to A untimed, then
// removed from the engine), so neither side can reuse the blob from an earlier round (the engine
// remembers which repositories hold a blob and would mount from them); within a round the five
// runs are interleaved, their order rotating by round. Medians.
// Time: copyImage in this process, bundled from the TypeScript source with ncc as the actions are
// (bench/lib.mjs importFromSource), from call to return (no node start-up: the start-up section
// measures that, ~50–100 ms); docker: the three commands, each timed spawn → exit.
// Bytes sent: every byte from the client to a registry (requests, headers and bodies; the client
// is this process for copyImage, dockerd for docker), counted by a TCP proxy in front of each
// registry (a child process, so relaying does not share copyImage's event loop) that both subjects
// go through, by the same names (docker mounts within one registry only when the names match).
// copyImage's own count of the body bytes it sent (`bytesSent`: blobs and manifests) is beside it.
// Targets: (same) copyImage sends the manifest's bytes and no blob bytes (`bytesSent` = the
// manifest's size; on the wire at most the manifest + 16 kB of request headers); both scenarios
// ≥ 10× faster than docker. A missed target or a failed check exits 1 (what the lead asked of this
// script; bench/run.mjs itself exits 1 only on a wide miss).
// Leaves behind: repositories kubeline-bench/retag-<id>-* in both registries (about --size-mb MB
// per round in each; the registries are shared, so nothing is garbage-collected); it removes its
// local images and temporary docker config.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bytes, forkedService, importFromSource, median, pushLayers, round, run, sourceHash, summarize, table, quietly } from './lib.mjs';

export const RETAG_TARGET = { speedup: 10, mountWireOverManifest: 16_000 };

const epoch = () => performance.now();

/** A TCP proxy that counts the bytes clients send upstream (and back). */
async function countingProxy(upstream) {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  const open = new Set();
  const counts = { up: 0, down: 0 };
  const server = net.createServer((client) => {
    const server = net.connect({ host, port });
    open.add(client).add(server);
    const end = () => {
      client.destroy();
      server.destroy();
      open.delete(client);
      open.delete(server);
    };
    client.on('data', (d) => (counts.up += d.length));
    server.on('data', (d) => (counts.down += d.length));
    for (const s of [client, server]) s.on('error', end).on('close', end);
    client.pipe(server);
    server.pipe(client);
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  return {
    host: `127.0.0.1:${server.address().port}`,
    counts,
    close: () => new Promise((ok) => {
      for (const s of open) s.destroy();
      server.close(ok);
    }),
  };
}

/**
 * The counting proxy in a process of its own, so that relaying the bytes does not share an event
 * loop with copyImage (docker's bytes do not either). `counts()` asks it for its figures.
 */
async function proxyProcess(upstream) {
  const s = await forkedService(fileURLToPath(import.meta.url), ['--counting-proxy', upstream], 'host');
  return { host: s.value, counts: s.counts, close: s.close };
}

/**
 * Runs the section; prints its tables and returns what goes into results.json under `retag`.
 * Problems (a failed check, a missed target) go to `problems`, the rest to `notes`.
 */
export async function retagBench({ root, rounds = 3, sizeMb = 100, notes = [], problems = [] }) {
  const { KUBELINE_REGISTRY, KUBELINE_REGISTRY_USER, KUBELINE_REGISTRY_PASSWORD, KUBELINE_REGISTRY_NOAUTH } = process.env;
  const busybox = process.env.KUBELINE_BASE_BUSYBOX ?? 'local/busybox:1';
  const entry = 'packages/docker/src/index.ts';
  const bundled = await importFromSource(root, entry, 'docker');
  const { copyImage } = bundled.module;
  const id = Math.random().toString(16).slice(2, 8);
  const work = mkdtempSync(join(tmpdir(), 'kubeline-retag-'));
  const dockerConfig = mkdtempSync(join(tmpdir(), 'kubeline-retag-docker-'));
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
  const A = await proxyProcess(KUBELINE_REGISTRY_NOAUTH);
  const B = await proxyProcess(KUBELINE_REGISTRY);
  const creds = { username: KUBELINE_REGISTRY_USER ?? 'kubeline', password: KUBELINE_REGISTRY_PASSWORD };
  const credentials = (registry) => (registry === B.host ? creds : undefined);
  const out = { image: { sizeMb }, rounds: [], loadavg: [], bundle: bundled.id };
  const localRefs = new Set();
  const docker = async (args, input) => {
    const r = await run('docker', args, { env, input });
    if (r.code !== 0) throw new Error(`docker ${args[0]} failed (${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return r;
  };
  const rmi = async (...refs) => {
    await run('docker', ['rmi', '--force', ...refs], { env });
    for (const r of refs) localRefs.delete(r);
  };
  const headDigest = async (registry, repository, reference, auth) => {
    const r = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json', ...(auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {}) },
    });
    return r.ok ? r.headers.get('docker-content-digest') : undefined;
  };
  const quiet = quietly;

  const sent = async () => (await A.counts()).up + (await B.counts()).up;

  try {
    // Logged in once, through the proxy's name, by stdin.
    await docker(['login', '--username', creds.username, '--password-stdin', B.host], creds.password);
    for (let n = 0; n < rounds; n++) {
      out.loadavg.push(round(os.loadavg()[0], 2));
      // A fresh image: busybox and one layer of random bytes.
      const ctx = mkdtempSync(join(work, `r${n}-`));
      const fd = openSync(join(ctx, 'payload'), 'w');
      const head = spawnSync('head', ['-c', `${sizeMb}M`, '/dev/urandom'], { stdio: ['ignore', fd, 'inherit'] });
      closeSync(fd);
      if (head.status !== 0) throw new Error('head -c /dev/urandom failed');
      writeFileSync(join(ctx, 'Dockerfile'), `FROM ${busybox}\nCOPY payload /payload\n`);
      const srcRepo = `kubeline-bench/retag-${id}-src${n}`;
      const built = `${KUBELINE_REGISTRY_NOAUTH}/${srcRepo}:src`;
      await docker(['build', '-q', '-t', built, ctx]);
      localRefs.add(built);
      await docker(['push', built]);
      await rmi(built);
      rmSync(ctx, { recursive: true, force: true });
      const digest = await headDigest(KUBELINE_REGISTRY_NOAUTH, srcRepo, 'src');
      const manifest = await fetch(`http://${KUBELINE_REGISTRY_NOAUTH}/v2/${srcRepo}/manifests/${digest}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      const manifestBody = await manifest.arrayBuffer();
      const manifestBytes = manifestBody.byteLength;
      const source = `${A.host}/${srcRepo}@${digest}`;
      const round_ = { n, digest, manifestBytes, runs: {} };

      const subjects = {
        'ours-same': async () => {
          const repo = `kubeline-bench/retag-${id}-ours-same${n}`;
          const before = await sent();
          const t0 = epoch();
          const { value: r, lines } = await quiet(() => copyImage(source, [`${A.host}/${repo}:production`], { credentials }));
          const ms = epoch() - t0;
          const ok = (await headDigest(KUBELINE_REGISTRY_NOAUTH, repo, 'production')) === digest && r.digest === digest;
          return { ms, wire: (await sent()) - before, payload: r.bytesSent, target: r.targets[0], ok, log: lines };
        },
        'ours-other': async () => {
          const repo = `kubeline-bench/retag-${id}-ours-other${n}`;
          const before = await sent();
          const t0 = epoch();
          const { value: r, lines } = await quiet(() => copyImage(source, [`${B.host}/${repo}:production`], { credentials }));
          const ms = epoch() - t0;
          const ok = (await headDigest(KUBELINE_REGISTRY, repo, 'production', creds)) === digest && r.digest === digest;
          return { ms, wire: (await sent()) - before, payload: r.bytesSent, target: r.targets[0], ok, log: lines };
        },
        // What any client pays to put the layer into B: one PATCH of its bytes from memory (read from A untimed), direct.
        'floor-other': async () => {
          const big = JSON.parse(Buffer.from(manifestBody).toString('utf8')).layers.reduce((a, b) => (b.size > a.size ? b : a));
          const bytes_ = Buffer.from(await (await fetch(`http://${KUBELINE_REGISTRY_NOAUTH}/v2/${srcRepo}/blobs/${big.digest}`)).arrayBuffer());
          const repo = `kubeline-bench/retag-${id}-floor${n}`;
          const auth = { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` };
          const t0 = epoch();
          const post = await fetch(`http://${KUBELINE_REGISTRY}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
          const patch = await fetch(new URL(post.headers.get('location'), `http://${KUBELINE_REGISTRY}`), { method: 'PATCH', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: bytes_ });
          const put = new URL(patch.headers.get('location'), `http://${KUBELINE_REGISTRY}`);
          put.searchParams.set('digest', big.digest);
          const done = await fetch(put, { method: 'PUT', headers: auth });
          return { ms: epoch() - t0, bytes: bytes_.length, ok: done.status === 201 };
        },
        'docker-same': () => dockerRetag(`${A.host}/kubeline-bench/retag-${id}-docker-same${n}:production`, KUBELINE_REGISTRY_NOAUTH),
        'docker-other': () => dockerRetag(`${B.host}/kubeline-bench/retag-${id}-docker-other${n}:production`, KUBELINE_REGISTRY, creds),
      };
      async function dockerRetag(target, direct, auth) {
        const before = await sent();
        const pull = await docker(['pull', source]);
        localRefs.add(source);
        const tag = await docker(['tag', source, target]);
        localRefs.add(target);
        const push = await docker(['push', target]);
        const wire = (await sent()) - before;
        await rmi(target, source);
        const [, ...path] = target.split("/");
        const pushedDigest = await headDigest(direct, path.join('/').replace(/:production$/, ''), 'production', auth);
        return { ms: pull.ms + tag.ms + push.ms, pullMs: pull.ms, pushMs: push.ms, wire, layers: pushLayers(push.stdout), ok: Boolean(pushedDigest), sameDigest: pushedDigest === digest };
      }
      const names = Object.keys(subjects);
      const order = names.map((_, i) => names[(i + n) % names.length]);
      for (const name of order) round_.runs[name] = await subjects[name]();
      out.rounds.push(round_);
      const r = round_.runs;
      console.error(`[retag] round ${n + 1}/${rounds}: ` + order.map((k) => `${k} ${(r[k].ms / 1000).toFixed(2)} s${r[k].wire === undefined ? '' : ` ${bytes(r[k].wire)}`}`).join(', '));
      // Checks: the copies are what they claim.
      for (const k of names) if (!r[k].ok) problems.push(`retag: round ${n + 1}: ${k} did not leave ${digest} at its target`);
      const blobs = r['ours-same'].target.mounted + r['ours-same'].target.copied + r['ours-same'].target.skipped;
      if (r['ours-same'].target.mounted !== blobs) problems.push(`retag: round ${n + 1}: the same-registry copy mounted ${r['ours-same'].target.mounted} of ${blobs} blobs`);
      if (r['ours-other'].target.copied !== blobs) problems.push(`retag: round ${n + 1}: the cross-registry copy copied ${r['ours-other'].target.copied} of ${blobs} blobs`);
    }
    out.loadavg.push(round(os.loadavg()[0], 2));

    // ── figures ──
    const med = (k, f) => median(out.rounds.map((r) => f(r.runs[k])));
    const manifestBytes = median(out.rounds.map((r) => r.manifestBytes));
    const stats = {};
    for (const k of ['ours-same', 'ours-other', 'docker-same', 'docker-other', 'floor-other']) {
      stats[k] = { time: summarize(out.rounds.map((r) => r.runs[k].ms)), wire: k.startsWith('floor') ? NaN : med(k, (x) => x.wire), payload: k.startsWith('ours') ? med(k, (x) => x.payload) : undefined };
    }
    const speedup = { same: stats['docker-same'].time.median / stats['ours-same'].time.median, other: stats['docker-other'].time.median / stats['ours-other'].time.median };
    const mountBytesMet = out.rounds.every((r) => r.runs['ours-same'].payload === r.manifestBytes && r.runs['ours-same'].wire <= r.manifestBytes + RETAG_TARGET.mountWireOverManifest);
    out.stats = stats;
    out.speedup = { same: round(speedup.same, 1), other: round(speedup.other, 1) };
    out.met = { mountBytes: mountBytesMet, speedupSame: speedup.same >= RETAG_TARGET.speedup, speedupOther: speedup.other >= RETAG_TARGET.speedup };
    const dockerLayers = (k) => {
      const l = out.rounds.map((r) => r.runs[k].layers);
      return `${median(l.map((x) => x.pushed))} pushed, ${median(l.map((x) => x.mounted))} mounted, ${median(l.map((x) => x.exists))} existed`;
    };
    const oursBlobs = (k) => {
      const t = out.rounds.map((r) => r.runs[k].target);
      return `${median(t.map((x) => x.copied))} copied, ${median(t.map((x) => x.mounted))} mounted, ${median(t.map((x) => x.skipped))} existed`;
    };
    const s = (x) => `${(x / 1000).toFixed(2)} s`;
    console.log(`\nretag: a ${sizeMb} MB image (busybox + ${sizeMb} MB random layer; manifest ${manifestBytes} B) copied by digest to a fresh repository, ${rounds} interleaved rounds, medians`);
    console.log(`  load average (1 min) per round: ${out.loadavg.join(', ')}; ${os.cpus().length} CPUs\n`);
    const row = (scenario, k, label, blobsCol) => [
      scenario,
      label,
      s(stats[k].time.median),
      `${s(stats[k].time.min)}–${s(stats[k].time.max)}`,
      bytes(stats[k].wire),
      stats[k].payload === undefined ? '—' : bytes(stats[k].payload),
      blobsCol,
    ];
    console.log(
      table(
        ['scenario', 'subject', 'time', 'min–max', 'bytes sent (wire)', 'bytesSent (ours)', 'blobs'],
        [
          row('same registry', 'ours-same', 'copyImage (mount)', oursBlobs('ours-same')),
          row('same registry', 'docker-same', 'docker pull + tag + push', dockerLayers('docker-same')),
          row('other registry', 'ours-other', 'copyImage (stream)', oursBlobs('ours-other')),
          row('other registry', 'docker-other', 'docker pull + tag + push', dockerLayers('docker-other')),
          row('other registry', 'floor-other', 'floor: 1 PATCH from memory', 'the big layer only, direct'),
        ],
      ),
    );
    const pullShare = (k) => `${Math.round((100 * med(k, (x) => x.pullMs)) / med(k, (x) => x.ms))} %`;
    console.log(`\n  docker's time is pull + tag + push; the pull (download and extract) is ${pullShare('docker-same')} of it (same), ${pullShare('docker-other')} (other).`);
    console.log(`  floor: the registry's own ingest of the ${sizeMb} MB layer (POST, one PATCH of the bytes from memory, PUT), direct: no client can copy faster.`);
    console.log(`  So at most ${(stats['docker-other'].time.median / stats['floor-other'].time.median).toFixed(1)}× faster than docker is possible across registries here; copyImage is at ${(stats['ours-other'].time.median / stats['floor-other'].time.median).toFixed(2)}× the floor.`);
    console.log(`  docker's push left the source digest: ${out.rounds.every((r) => r.runs['docker-same'].sameDigest && r.runs['docker-other'].sameDigest) ? 'yes' : 'no (it rebuilt the manifest)'}; copyImage's always (checked).\n`);
    console.log(
      table(
        ['target', 'figure', 'target', 'result'],
        [
          ['same registry: bytes sent ≈ manifest', `${bytes(stats['ours-same'].payload)} body (manifest ${manifestBytes} B), ${bytes(stats['ours-same'].wire)} on the wire`, `= manifest; wire ≤ manifest + ${RETAG_TARGET.mountWireOverManifest / 1000} kB`, mountBytesMet ? 'met' : 'MISSED'],
          ['same registry: faster than docker', `${speedup.same.toFixed(1)}×`, `≥ ${RETAG_TARGET.speedup}×`, out.met.speedupSame ? 'met' : 'MISSED'],
          ['other registry: faster than docker', `${speedup.other.toFixed(1)}×`, `≥ ${RETAG_TARGET.speedup}×`, out.met.speedupOther ? 'met' : 'MISSED'],
        ],
      ),
    );
    if (!mountBytesMet) problems.push(`retag: the same-registry copy sent more than the manifest (${bytes(stats['ours-same'].payload)} body, ${bytes(stats['ours-same'].wire)} wire; manifest ${manifestBytes} B)`);
    if (!out.met.speedupSame) problems.push(`retag: same registry ${speedup.same.toFixed(1)}× faster than docker, target ≥ ${RETAG_TARGET.speedup}×`);
    if (!out.met.speedupOther) problems.push(`retag: other registry ${speedup.other.toFixed(1)}× faster than docker, target ≥ ${RETAG_TARGET.speedup}×`);
  } catch (err) {
    problems.push(`retag: ${err.stack ?? err}`);
    out.failed = String(err.message ?? err);
  } finally {
    if (localRefs.size) await rmi(...localRefs);
    await run('docker', ['logout', B.host], { env });
    rmSync(dockerConfig, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    await A.close();
    await B.close();
    if (`docker-${sourceHash(root, entry)}` !== bundled.id) notes.push(`retag: packages/*/src changed while it ran: its figures are of the sources bundled at its start (${bundled.id})`);
  }
  return out;
}

// ── alone ───────────────────────────────────────────────────────────────────────────────────────

if (process.argv[2] === '--counting-proxy') {
  // The child of proxyProcess.
  const proxy = await countingProxy(process.argv[3]);
  process.on('message', (m) => m === 'counts' && process.send({ counts: proxy.counts }));
  process.on('disconnect', () => process.exit(0));
  process.send({ host: proxy.host });
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, 'size-mb': { type: 'string', default: '100' } } });
  if (!process.env.KUBELINE_REGISTRY || !process.env.KUBELINE_REGISTRY_NOAUTH || !process.env.DOCKER_HOST) {
    console.error('retag bench: the test bed is not up: `eval "$(scripts/testbed env)"` (after `scripts/testbed up`), then again.');
    process.exit(2);
  }
  const notes = [];
  const problems = [];
  await retagBench({ root: resolve(import.meta.dirname, '..'), rounds: Number(args.rounds), sizeMb: Number(args['size-mb']), notes, problems });
  for (const n of notes) console.log(`note: ${n}`);
  for (const p of problems) console.log(`problem: ${p}`);
  process.exitCode = problems.length ? 1 : 0;
}
