// How an action is bundled (esbuild): one folder dist/<name>/ with index.js, the chunks it loads
// lazily, licenses.txt. Used by scripts/build.mjs, and by the bench for its reference bundles.
//
// Why esbuild and not ncc (issue 12, measured side by side with `npm run bench -- startup size`):
// ncc (webpack) keeps every module a package does not itself declare free of side effects, and
// offers no way to say so for it. So @actions/core's OIDC client (@actions/http-client → undici)
// was evaluated at every start (a bare @actions/core action bundled with ncc: +72 ms above bare
// node; with esbuild: +4 ms, same run), and @kubernetes/client-node's KubeConfig kept its whole
// generated API (deploy with ncc: 5.71 MB, +393 ms; now 0.74 MB in all, +20 ms to its input read). esbuild tree-shakes ESM, and its plugin API can mark what we know
// to be free of side effects; `splitting` puts what an action imports with import() into chunks
// that load only when that code runs.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * What @kubernetes/client-node takes from undici (config.js: Agent, ProxyAgent; the fetch library,
 * Watch: fetch), and @actions/github and @actions/http-client too (fetch, ProxyAgent), without the
 * rest of undici's index: mock agents, cache stores, WebSocket, EventSource, interceptors, which
 * nothing here uses (about 180 kB). Of the dispatcher API methods undici's index puts on Dispatcher
 * (request, stream, pipeline, upgrade, connect), only connect is called here (ProxyAgent opens its
 * tunnel with it; everything else goes through fetch): the other four and their body reader stay
 * out (16 kB).
 */
const UNDICI_ENTRY = `'use strict'
const Dispatcher = require('./lib/dispatcher/dispatcher')
Dispatcher.prototype.connect = require('./lib/api/api-connect')
const { fetch: fetchImpl } = require('./lib/web/fetch')
module.exports.Agent = require('./lib/dispatcher/agent')
module.exports.ProxyAgent = require('./lib/dispatcher/proxy-agent')
module.exports.fetch = function fetch (input, init = undefined) { return fetchImpl(input, init) }
`;

/**
 * client-node calls one function of js-yaml: `load`, in KubeConfig.loadFromString (connect() has
 * already read the same text with @kubeline/k8s's reader and refused what is not one kubeconfig
 * document). The yaml package, in every bundle anyway, reads it the same way (YAML 1.2 core schema,
 * as js-yaml 4+; merge keys and duplicate keys as js-yaml treats them), so js-yaml's 47 kB stay out.
 */
const JS_YAML_ENTRY = `import { parse } from 'yaml';
export function load(text) {
  return parse(text, { merge: true, uniqueKeys: true });
}
`;

/** The facts the plugin relies on, checked at every build so that none goes stale silently. */
function checkAssumptions(root) {
  // Workspace barrels are marked free of side effects: they must only re-export.
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const index = join(root, 'packages', pkg, 'src', 'index.ts');
    if (!existsSync(index)) continue;
    const code = readFileSync(index, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const other = code.split('\n').map((l) => l.trim()).filter((l) => l && !/^export (type )?(\*|\{[^}]*\})( as \w+)? from '[^']+';$/.test(l));
    if (other.length) throw new Error(`packages/${pkg}/src/index.ts must only re-export (scripts/bundle.mjs marks it free of side effects); found: ${other[0]}`);
  }
  // client-node's config.js must still use js-yaml for `load` alone.
  const config = readFileSync(join(root, 'node_modules', '@kubernetes', 'client-node', 'dist', 'config.js'), 'utf8');
  const uses = [...new Set(config.match(/\byaml\.\w+/g) ?? [])];
  if (uses.join() !== 'yaml.load') throw new Error(`@kubernetes/client-node's config.js uses ${uses.join(', ')} of js-yaml; scripts/bundle.mjs provides load only`);
}

/** The plugin that carries the decisions above (each rule says why). */
function kubelinePlugin(root) {
  const clientNode = join(root, 'node_modules', '@kubernetes', 'client-node');
  let undiciIndex;
  return {
    name: 'kubeline',
    setup(b) {
      // One undici for every bundle: client-node's (v8), through UNDICI_ENTRY. @actions/github and
      // @actions/http-client (v6) use fetch and ProxyAgent, the same API in v8; two copies were 420 kB.
      b.onResolve({ filter: /^undici$/ }, async (args) => {
        if (args.pluginData === 'kubeline') return undefined;
        undiciIndex ??= (await b.resolve('undici', { kind: 'import-statement', resolveDir: join(clientNode, 'dist'), pluginData: 'kubeline' })).path;
        // Relative to the checkout: esbuild names chunks by a hash that covers this path, and the same
        // sources must build the same dist/ wherever they are checked out.
        return { path: relative(root, undiciIndex), namespace: 'kubeline-undici' };
      });
      b.onLoad({ filter: /.*/, namespace: 'kubeline-undici' }, (args) => ({ contents: UNDICI_ENTRY, resolveDir: dirname(join(root, args.path)), loader: 'js' }));
      // undici's HTTP parser comes as WebAssembly twice, with and without SIMD (72 kB each as base64);
      // the one without SIMD runs on every CPU and parses the same. (undici falls back to it anyway.)
      b.onResolve({ filter: /llhttp_simd-wasm\.js$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.replace('llhttp_simd-wasm.js', 'llhttp-wasm.js')) }));
      b.onResolve({ filter: /^js-yaml$/ }, (args) => (args.importer.startsWith(clientNode) ? { path: 'js-yaml', namespace: 'kubeline-js-yaml' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'kubeline-js-yaml' }, () => ({ contents: JS_YAML_ENTRY, resolveDir: root, loader: 'js' }));
      // yaml's "node" build is CommonJS, which cannot be tree-shaken; its ESM build is the same code.
      b.onResolve({ filter: /^yaml$/ }, () => ({ path: join(root, 'node_modules', 'yaml', 'browser', 'index.js'), sideEffects: false }));
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'kubeline' || args.namespace !== 'file') return undefined;
        const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'kubeline' });
        if (found.errors.length || !found.path) return undefined;
        const path = found.path.split('\\').join('/');
        // @actions/core imports its OIDC client (getIDToken: @actions/http-client, undici) and, for
        // `platform`, @actions/exec at the top; no action uses either from it. These four packages
        // only define functions, classes and constants at load (os.platform() at most): marked free
        // of side effects, what is unused is left out, and @actions/exec is loaded where the toolkit
        // first runs a program (with import(): child_process and net are not needed to read inputs).
        // client-node's index and gen/index re-export the whole generated API (2,700 models, 225
        // API classes): marked free of side effects, only what KubeConfig, Watch and the fetch
        // library use is kept. Its polyfill.js is kept (it sets globalThis.File on old Node).
        // Workspace barrels (packages/*/src/index.ts) only re-export (checkAssumptions): an action
        // imports its inputs from one statically and the rest with import(), in a chunk of its own.
        if (
          /\/node_modules\/@actions\/(core|http-client|exec|io)\//.test(path) ||
          (path.includes('/node_modules/@kubernetes/client-node/dist/') && !path.endsWith('/dist/polyfill.js')) ||
          /\/packages\/[^/]+\/src\/index\.ts$/.test(path)
        ) {
          return { ...found, sideEffects: false };
        }
        return found;
      });
    },
  };
}

/**
 * Bundles `entry` (relative to `root`) into `outdir`: index.js (ESM), its lazily loaded chunks and
 * licenses.txt. Returns the output files (relative to outdir) with their sizes, and esbuild's metafile.
 */
export async function bundleAction({ root, entry, outdir, licenses = true }) {
  checkAssumptions(root);
  const result = await build({
    absWorkingDir: root,
    entryPoints: { index: entry },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    minify: true,
    charset: 'utf8',
    legalComments: 'none',
    chunkNames: '[name]-[hash]',
    // CommonJS dependencies call require(): ESM has none, so each file makes its own.
    banner: { js: "import{createRequire as __kubelineRequire}from'node:module';const require=__kubelineRequire(import.meta.url);" },
    // undici's switch for bundled builds (Node's own build sets it): it leaves out the experimental
    // Milo parser (150 kB of WebAssembly), which is off unless asked for.
    define: { esbuildDetection: 'true' },
    plugins: [kubelinePlugin(root)],
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = new Set();
  const files = [];
  for (const [file, out] of Object.entries(result.metafile.outputs)) {
    files.push({ file: relative(outdir, resolve(root, file)), bytes: out.bytes });
    for (const input of Object.keys(out.inputs)) inputs.add(input);
  }
  if (licenses) writeFileSync(join(outdir, 'licenses.txt'), licenseText(root, inputs));
  // ESM wherever the folder is copied, as ncc's output said too.
  writeFileSync(join(outdir, 'package.json'), JSON.stringify({ type: 'module' }, null, 2) + '\n');
  return { files: files.sort((a, b) => a.file.localeCompare(b.file)), metafile: result.metafile };
}

/** The licence of every package with code in the bundle, as ncc's licenses.txt had them. */
function licenseText(root, inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const path = input.replace(/^[\w-]+:/, '');
    const at = path.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const rest = path.slice(at + 'node_modules/'.length).split('/');
    const dir = resolve(root, path.slice(0, at), 'node_modules', ...rest.slice(0, rest[0].startsWith('@') ? 2 : 1));
    if (packages.has(dir) || !existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    packages.set(dir, { name: pkg.name, license: typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? ''), text: file ? readFileSync(join(dir, file), 'utf8').trim() : '' });
  }
  const seen = new Set();
  const entries = [...packages.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .filter((p) => (seen.has(p.name) ? false : seen.add(p.name)));
  return entries.map((p) => `${p.name}\n${p.license}\n${p.text}`).join('\n\n') + '\n';
}
