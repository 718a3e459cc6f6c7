// Benchmark report helpers shared by the bench scripts.
import os from 'node:os';
import type { WorkloadReport } from '../../test/support/workload';
import type { Timeline } from './timeline';

/** An integer from the environment within [min, max], or the default when unset. */
export function intEnv(name: string, dflt: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${raw}: expected an integer from ${min} to ${max}`);
  return n;
}

/** BENCH_MODE: `local` (default: members on loopback) or `ssh` (three test hosts, provider ssh). */
export function benchMode(): 'local' | 'ssh' {
  const m = process.env.BENCH_MODE || 'local';
  if (m !== 'local' && m !== 'ssh') throw new Error(`BENCH_MODE=${m}: expected local or ssh`);
  return m;
}

/** Milliseconds as seconds with two decimals. */
export const secs = (ms: number) => (ms / 1000).toFixed(2);

/** The machine's 1/5/15-minute load, printed beside results on a shared machine. */
export function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** Median of the finite values (NaN when there are none). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The median of each step of etcdfleet's timelines: step, activity and queue times, gaps between steps. */
export function printTimelineBreakdown(
  runs: { timeline?: Timeline; timelineError?: string }[],
  say: (line: string) => void,
  pollMs: number,
): void {
  const tls = runs.map((r) => r.timeline).filter((t): t is Timeline => t !== undefined);
  const errors = runs.filter((r) => r.timelineError).map((r) => r.timelineError);
  if (errors.length) say(`etcdfleet breakdown: ${errors.length} run(s) without a timeline (${errors[0]})`);
  if (tls.length === 0) return;
  const col = (label: string) => label.padEnd(34);
  const m = (f: (t: Timeline) => number) => `${Math.round(median(tls.map(f)))} ms`.padStart(8);
  say(
    `etcdfleet breakdown, median of ${tls.length} run(s) (step = workflow task times; activity = last attempt run time; queue = scheduled -> last attempt started):`,
  );
  say(`  ${col('POST -> 202 (update-with-start)')}${m((t) => t.postMs)}`);
  say(`  ${col('POST -> first step started')}${m((t) => t.toFirstStepMs)}`);
  const names = tls[0].steps.map((s) => s.name);
  for (const [i, name] of names.entries()) {
    const at = (t: Timeline) => t.steps[i];
    const gap = median(tls.map((t) => at(t)?.gapBeforeMs ?? NaN));
    if (gap >= 5) say(`  ${col(`  (between steps, before ${name})`)}${`${Math.round(gap)} ms`.padStart(8)}`);
    const act = median(tls.map((t) => at(t)?.activityMs ?? NaN));
    const queue = median(tls.map((t) => at(t)?.queueMs ?? NaN));
    const attempts = Math.max(...tls.map((t) => at(t)?.attempts ?? 0));
    const n = at(tls[0])?.activities ?? 0;
    const detail = Number.isFinite(act)
      ? `   activity ${Math.round(act)} ms, queue ${Math.round(queue)} ms, ${n} activit${n === 1 ? 'y' : 'ies'}${attempts > 1 ? `, up to ${attempts} attempts` : ''}`
      : '';
    say(`  ${col(name)}${m((t) => at(t)?.ms ?? NaN)}${detail}`);
  }
  say(`  ${col('last step -> workflow completed')}${m((t) => t.lastStepToCompletedMs)}`);
  say(
    `  ${col('workflow completed -> Running seen')}${m((t) => t.completedToRunningMs)}   (entity workflow task + poll every ${pollMs} ms)`,
  );
  say(`  ${col('total')}${m((t) => t.totalMs)}`);
}

/** One side of an upgrade run: its total time and what the client workload saw. */
export function workloadLine(what: string, r: { ms: number; report: WorkloadReport }): string {
  const failed = r.report.failedWrites + r.report.failedReads;
  return `${what.padEnd(10)} total ${secs(r.ms)} s  longest unavailability ${r.report.maxUnavailableMs} ms  failed requests ${failed} (of ${r.report.writes + r.report.reads + failed})  lost writes ${r.report.lost.length}`;
}
