/** `npx kubeline run <action>`: the local runner's command line. */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest, repoRootFrom, runLocalAction } from './runner';

const USAGE = `Usage: kubeline run <action> [--<input> <value>]... [--secret-env <input>=<VAR>]... [--json] [--event-name NAME] [--event PATH] [--debug]

Runs an action's bundle from dist/ the way the GitHub runner does, and prints
its outputs and job summary. Multi-line inputs: repeat the flag or use \\n.
  kubeline run build-test-image --context examples/demo
  kubeline run push-image --images 127.0.0.1:5000/demo --tags 'type=sha'
  kubeline list`;

async function main(argv: string[]): Promise<number> {
  const root = repoRootFrom(fileURLToPath(import.meta.url));
  const [command, action, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'list') {
    for (const name of ['build-test-image', 'run-tests', 'push-image', 'render-and-validate-manifests', 'deploy', 'promote']) {
      try {
        console.log(`${name.padEnd(32)} ${readManifest(join(root, 'actions', name)).name}`);
      } catch {
        console.log(`${name.padEnd(32)} (not built yet)`);
      }
    }
    return 0;
  }
  if (command !== 'run' || !action) {
    console.error(USAGE);
    return 2;
  }
  if (Number(process.versions.node.split('.')[0]) < 24) {
    console.error(`kubeline: the actions run on Node 24 (runs.using: node24); this is Node ${process.versions.node}. Run it through npx in this repo, which brings Node 24.`);
    return 2;
  }
  const inputs: Record<string, string> = {};
  let json = false;
  let debug = false;
  let eventName: string | undefined;
  let eventPath: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === '--json') json = true;
    else if (flag === '--debug') debug = true;
    else if (flag === '--event-name') eventName = rest[++i];
    else if (flag === '--event') eventPath = resolve(rest[++i]);
    else if (flag === '--secret-env') {
      // --secret-env password=VAR: the value comes from the environment, never from argv.
      const [name, variable] = (rest[++i] ?? '').split('=');
      const value = variable ? process.env[variable] : undefined;
      if (!name || value === undefined) {
        console.error(`kubeline: --secret-env wants <input>=<VARIABLE> naming a set variable.`);
        return 2;
      }
      inputs[name] = value;
    }
    else if (flag.startsWith('--')) {
      const eq = flag.indexOf('=');
      const name = eq > 0 ? flag.slice(2, eq) : flag.slice(2);
      const value = eq > 0 ? flag.slice(eq + 1) : rest[++i];
      if (value === undefined) {
        console.error(`kubeline: --${name} needs a value.`);
        return 2;
      }
      const text = value.replace(/\\n/g, '\n');
      inputs[name] = name in inputs ? `${inputs[name]}\n${text}` : text;
    } else {
      console.error(`kubeline: unexpected argument '${flag}'.\n${USAGE}`);
      return 2;
    }
  }
  // With --json the log goes to stderr so stdout is one JSON document.
  const log = json ? (l: string) => process.stderr.write(l + '\n') : (l: string) => process.stdout.write(l + '\n');
  let result;
  try {
    result = await runLocalAction({ actionDir: join(root, 'actions', action), inputs, workspace: process.cwd(), eventName, eventPath, log, showDebug: debug });
  } catch (err) {
    console.error(`kubeline: ${(err as Error).message}`);
    return 2;
  }
  if (json) {
    process.stdout.write(JSON.stringify({ action: result.action, conclusion: result.conclusion, outputs: result.outputs, annotations: result.annotations, summary: result.summary }, null, 2) + '\n');
  } else {
    console.log(`\n── ${result.action}: ${result.conclusion}`);
    for (const [k, v] of Object.entries(result.outputs)) console.log(`  ${k} = ${v.includes('\n') ? v.split('\n').join('\n      ') : v}`);
    if (result.summary.trim()) console.log(`\n── summary\n${result.summary.trim()}`);
  }
  return result.exitCode === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
