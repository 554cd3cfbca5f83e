// Symbolic links in a checkout: outputs are never written through them, and a renderer is never
// let follow one out of the workspace (issue 13, findings 2 and 4).
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { prepareOutputDir, writeOutput } from '../src/render-and-validate-manifests';
import { refuseLinkOut, refuseLinksOut } from '../src/sources';

const temp = (prefix: string) => realpathSync(mkdtempSync(join(tmpdir(), prefix)));

describe('writeOutput', () => {
  it('replaces a symlink at the name instead of writing through it', () => {
    const outside = temp('kubeline-outside-');
    const victim = join(outside, 'victim');
    writeFileSync(victim, 'untouched');
    const dir = temp('kubeline-out-');
    symlinkSync(victim, join(dir, 'manifests.yaml'));
    writeOutput(join(dir, 'manifests.yaml'), 'bundle');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(lstatSync(join(dir, 'manifests.yaml')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, 'manifests.yaml'), 'utf8')).toBe('bundle');
  });

  it('overwrites a regular file', () => {
    const dir = temp('kubeline-out-');
    writeFileSync(join(dir, 'junit.xml'), 'old');
    writeOutput(join(dir, 'junit.xml'), 'new');
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toBe('new');
  });
});

describe('prepareOutputDir', () => {
  it.each([
    ['a folder in the workspace', 'out/x', false],
    ['a folder through a link out of the workspace', 'link/x', true],
    ['the link itself', 'link', true],
  ])('%s', (_, path, refused) => {
    const workspace = temp('kubeline-ws-');
    symlinkSync(temp('kubeline-outside-'), join(workspace, 'link'));
    const run = () => prepareOutputDir(join(workspace, path), workspace, '');
    if (refused) expect(run).toThrow(/outside the workspace[\s\S]*not a link/);
    else expect(run).not.toThrow();
  });

  it('leaves a folder named outside the workspace and RUNNER_TEMP to the workflow', () => {
    expect(() => prepareOutputDir(join(temp('kubeline-elsewhere-'), 'x'), temp('kubeline-ws-'), '')).not.toThrow();
  });
});

describe('refuseLinksOut', () => {
  it('refuses a link anywhere in a chart that leaves the workspace, naming it', () => {
    const workspace = temp('kubeline-ws-');
    mkdirSync(join(workspace, 'chart', 'files'), { recursive: true });
    symlinkSync('/etc/passwd', join(workspace, 'chart', 'files', 'x'));
    expect(() => refuseLinksOut(join(workspace, 'chart'), workspace)).toThrow(/chart\/files\/x leads to \/etc\/passwd, outside the workspace/);
  });

  it('refuses a dangling link out of the workspace', () => {
    const workspace = temp('kubeline-ws-');
    symlinkSync('/nonexistent/kubeline', join(workspace, 'x'));
    expect(() => refuseLinksOut(workspace, workspace)).toThrow(/outside the workspace/);
  });

  it('follows links inside the workspace, and refuses what they lead to', () => {
    const workspace = temp('kubeline-ws-');
    mkdirSync(join(workspace, 'chart'));
    mkdirSync(join(workspace, 'shared'));
    symlinkSync(join(workspace, 'shared'), join(workspace, 'chart', 'shared'));
    writeFileSync(join(workspace, 'shared', 'ok.yaml'), 'a: b');
    expect(() => refuseLinksOut(join(workspace, 'chart'), workspace)).not.toThrow();
    symlinkSync('/etc', join(workspace, 'shared', 'etc'));
    expect(() => refuseLinksOut(join(workspace, 'chart'), workspace)).toThrow(/outside the workspace/);
  });

  it('refuseLinkOut accepts a real file inside the workspace', () => {
    const workspace = temp('kubeline-ws-');
    writeFileSync(join(workspace, 'values-production.yaml'), 'a: b');
    expect(() => refuseLinkOut(join(workspace, 'values-production.yaml'), workspace)).not.toThrow();
  });
});
