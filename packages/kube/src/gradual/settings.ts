/** The gradual-delivery inputs of deploy and promote (`strategy`, `steps`, checks, gates), parsed and checked. */
import { ConfigurationError, type Inputs, parseDuration } from '@kubeline/toolkit';

export const STRATEGIES = ['rolling', 'canary', 'blue-green'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** How canary traffic is split: by ready pods behind the one Service, or by a route's weights. */
export const TRAFFIC = ['auto', 'replicas', 'httproute', 'ingress-nginx'] as const;
export type Traffic = (typeof TRAFFIC)[number];

/** How a gradual rollout goes: its steps, the checks between them, and its manual gate. */
export interface GradualSettings {
  strategy: Strategy;
  /** Canary weights in percent, increasing, ending at 100. */
  steps: number[];
  /** How long each step is watched before the next. */
  stepDurationMs: number;
  traffic: Traffic;
  /** A shell command run on the runner during each step; empty for none. */
  check: string;
  checkIntervalMs: number;
  /** The weight to stop at and end the job successfully (canary: a step; blue-green: 0 = before the switch). */
  pauseAt?: number;
  /** Continue the paused rollout of this release. */
  resume: boolean;
  /** Abort the paused rollout of this release: production goes back to the release before it. */
  abort: boolean;
  /** blue-green: how long the old set stays beside the new one after the switch, checked, for an instant switch back. */
  keepPreviousMs: number;
}

/** `10,25,50,100` (or one per line) → [10, 25, 50, 100]. */
export function parseSteps(value: string): number[] {
  const parts = value.split(/[\s,]+/).filter(Boolean);
  const steps = parts.map((p) => {
    const n = Number(p.replace(/%$/, ''));
    if (!Number.isInteger(n) || n < 1 || n > 100) throw new ConfigurationError(`"${p}" is not a percentage: give whole numbers from 1 to 100, e.g. 10,25,50,100.`, 'steps');
    return n;
  });
  if (!steps.length) throw new ConfigurationError('is empty: give the canary weights in percent, e.g. 10,25,50,100.', 'steps');
  for (let i = 1; i < steps.length; i++) {
    if (steps[i] <= steps[i - 1]) throw new ConfigurationError(`${steps.join(',')}: the steps must increase (${steps[i - 1]} is followed by ${steps[i]}).`, 'steps');
  }
  if (steps[steps.length - 1] !== 100) throw new ConfigurationError(`${steps.join(',')}: the last step must be 100, where the new version takes all the traffic.`, 'steps');
  return steps;
}

/** `0` or a duration. */
const durationOrZero = (value: string, input: string): number => (/^0+(\.0+)?(ms|s|m|h)?$/.test(value) ? 0 : parseDuration(value, input));

/** The gradual-delivery inputs, read from deploy's (or promote's) inputs. */
export function readGradualSettings(inputs: Inputs): GradualSettings {
  const strategy = inputs.choice('strategy', STRATEGIES, 'rolling');
  const steps = parseSteps(inputs.string('steps', '10,25,50,100'));
  const resume = inputs.boolean('resume', false);
  const abort = inputs.boolean('abort', false);
  if (resume && abort) throw new ConfigurationError('conflicts with abort: a paused rollout is either resumed or aborted; set one of them.', 'resume');
  const pauseText = inputs.string('pause-at');
  let pauseAt: number | undefined;
  if (pauseText) {
    pauseAt = Number(pauseText.replace(/%$/, ''));
    if (strategy === 'rolling') throw new ConfigurationError(`needs strategy canary or blue-green: a rolling update has no step to pause at.`, 'pause-at');
    if (strategy === 'canary' && (!steps.includes(pauseAt) || pauseAt === 100)) {
      throw new ConfigurationError(`"${pauseText}" is not one of the steps before 100 (${steps.filter((s) => s < 100).join(', ')}): the rollout can pause only at a step it reaches.`, 'pause-at');
    }
    if (strategy === 'blue-green' && pauseAt !== 0) throw new ConfigurationError(`"${pauseText}": blue-green pauses only at 0, with the new version up and checked before the switch.`, 'pause-at');
  }
  return {
    strategy,
    steps,
    stepDurationMs: durationOrZero(inputs.string('step-duration', '1m'), 'step-duration'),
    traffic: inputs.choice('traffic', TRAFFIC, 'auto'),
    check: inputs.string('check'),
    checkIntervalMs: parseDuration(inputs.string('check-interval', '10s'), 'check-interval'),
    pauseAt,
    resume,
    abort,
    keepPreviousMs: durationOrZero(inputs.string('keep-previous', '1m'), 'keep-previous'),
  };
}
