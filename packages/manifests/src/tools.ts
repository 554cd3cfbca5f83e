/** The renderer programs (kustomize, helm) behind one wrapper. */
import { ConfigurationError, ExternalError, log, run, tail, which } from '@kubeline/toolkit';

/** The renderers' programs: one wrapper, argument arrays only. */
export interface RenderTools {
  /** `kustomize build` with kustomize's default load restriction (files stay under each kustomization). */
  kustomizeBuild(dir: string): Promise<string>;
  helmTemplate(args: readonly string[], cwd: string): Promise<string>;
  helmDependencyBuild(chart: string): Promise<void>;
}

const INSTALL_HINT: Record<string, string> = {
  kustomize: 'Install it before this step (GitHub-hosted Ubuntu runners have it; elsewhere e.g. `go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2`), or set `renderer: plain`.',
  helm: 'Install it before this step (GitHub-hosted Ubuntu runners have it; elsewhere e.g. azure/setup-helm), or set `renderer: plain`.',
};


function tool(name: 'kustomize' | 'helm'): string {
  const found = which(name);
  if (!found) throw new ConfigurationError(`${name} is not installed (not on PATH). ${INSTALL_HINT[name]}`, 'renderer');
  return found;
}

/** kustomize and helm as installed on the runner. */
export class CommandLineTools implements RenderTools {
  async kustomizeBuild(dir: string): Promise<string> {
    return this.output(tool('kustomize'), ['build', dir], 'kustomize build');
  }

  async helmTemplate(args: readonly string[], cwd: string): Promise<string> {
    return this.output(tool('helm'), ['template', ...args], 'helm template', cwd, true);
  }

  async helmDependencyBuild(chart: string): Promise<void> {
    await this.output(tool('helm'), ['dependency', 'build', chart, '--skip-refresh'], 'helm dependency build');
  }

  private async output(command: string, args: string[], what: string, cwd?: string, showWarnings = false): Promise<string> {
    const result = await run(command, args, { silent: true, allowFailure: true, cwd });
    // The tool's own message is what the user needs: a renderer error is a problem in their files.
    if (result.exitCode !== 0) throw new RenderError(`${what} failed:\n${tail(result.stderr || result.stdout, 40)}`);
    // Helm's warnings (a symbolic link in the chart, a skipped file) go to stderr: shown, not dropped.
    if (showWarnings && result.stderr.trim()) log.warning(`${what}: ${tail(result.stderr.trim(), 20)}`);
    return result.stdout;
  }
}

/** The renderer refused the user's kustomization or chart: reported as a finding, not a crash. */
export class RenderError extends ExternalError {}
