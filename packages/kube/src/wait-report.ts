/** How a wait reads for people: progress lines, one line per target at the end, and why it failed the deploy. */
import { formatDuration } from '@kubeline/toolkit';
import type { WaitOutcome, WaitProgress, WaitResult, WaitTarget } from './wait';

/** Why a wait that did not end ready fails the deploy: each target not ready, and its reason. */
export function describeWaitFailure(wait: WaitResult): string {
  const bad = wait.targets.filter((t) => t.state !== 'ready');
  const what = bad.map((t) => `${t.target.kind} ${t.target.name}: ${t.reason}`).join('; ');
  if (wait.outcome === 'timeout') return `timed out after ${formatDuration(wait.durationMs)} waiting for ${what}`;
  if (wait.outcome === 'cancelled') return `cancelled while waiting for ${what}`;
  return `rollout failed: ${what}`;
}

/** What a target is called in lines for people: `Deployment web`. */
export const targetLabel = (t: WaitTarget): string => `${t.kind} ${t.name}`;

/** One progress line: `waiting for 2 of 5 (12s): Deployment web: 1 of 3 updated replicas available; …`. */
export function progressLine(p: WaitProgress): string {
  const what = p.waiting.map((w) => `${targetLabel(w.target)}: ${w.reason}`).join('; ');
  return `waiting for ${p.waiting.length} of ${p.total} (${formatDuration(p.elapsedMs)}): ${what}`;
}

/** Lines for the log once the wait is over: one per target, then what happened. */
export function waitResultLines(result: WaitResult): string[] {
  const lines = result.targets.map((t) => {
    const took = t.durationMs !== undefined ? ` after ${formatDuration(Math.max(0, t.durationMs))}` : '';
    const word = t.state === 'ready' ? `ready${took}` : t.state === 'failed' ? `FAILED${took}` : 'not ready';
    return `${targetLabel(t.target)}${t.target.namespace ? ` (${t.target.namespace})` : ''}: ${word}: ${t.reason}`;
  });
  const verdict: Record<WaitOutcome, string> = {
    ready: 'everything is ready',
    failed: 'a rollout failed',
    timeout: 'timed out',
    cancelled: 'cancelled',
  };
  lines.push(`${verdict[result.outcome]} (${formatDuration(result.durationMs)})`);
  return lines;
}
