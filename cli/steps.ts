// Pure views of an operation's progress: the plain lines printed per step
// change (no terminal), the size of a step (members done, bytes), bars.
import { Format } from 'cli-progress';
import type { OperationRecord, Step } from '../common/operations';

export type OperationView = OperationRecord & { steps?: Step[] };

export const FINISHED = new Set(['Succeeded', 'Failed', 'Cancelled']);
export const STEP_ENDED = new Set(['done', 'failed', 'skipped']);

/** The lines that tell what changed from `prev` to `next`: the operation's status, then each step whose status changed. */
export function stepChanges(prev: OperationView | undefined, next: OperationView): string[] {
  const lines: string[] = [];
  if (prev?.status !== next.status && !FINISHED.has(next.status)) lines.push(`${next.id}: ${next.status.toLowerCase()}`);
  const before = new Map((prev?.steps ?? []).map((s) => [s.name, s]));
  for (const s of next.steps ?? []) {
    const was = before.get(s.name);
    if (s.status === 'pending' || (was && was.status === s.status)) continue;
    lines.push(
      `${next.id}: [${s.status}] ${s.name}${s.detail && STEP_ENDED.has(s.status) ? ` — ${s.detail}` : ''}${sizeSuffix(next.steps ?? [], s)}`,
    );
  }
  if (FINISHED.has(next.status) && prev?.status !== next.status) lines.push(finalLine(next));
  return lines;
}

/** `demo.1-provision succeeded in 41s`, or the reason it failed. */
export function finalLine(op: OperationView): string {
  const took = op.startedAt && op.finishedAt ? ` in ${seconds(Date.parse(op.finishedAt) - Date.parse(op.startedAt))}` : '';
  if (op.status === 'Succeeded') return `${op.id} succeeded${took}`;
  const failed = (op.steps ?? []).find((s) => s.status === 'failed');
  const reason = op.error ?? (failed ? `${failed.name}: ${failed.detail ?? 'failed'}` : 'no reason given');
  return `${op.id} ${op.status.toLowerCase()}${took}: ${reason}`;
}

function seconds(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export interface StepSize {
  value: number;
  total: number;
  unit: string;
}

/**
 * What a step carries as a size: in a run of steps that start with the same
 * word and each name one member (`Upgrade demo-1`, `Upgrade demo-2 (leader, last)`),
 * how many of those are done; on a step whose detail reports bytes, the bytes.
 */
export function stepSize(steps: Step[], step: Step): StepSize | undefined {
  const bytes = /(\d+) bytes\b/.exec(step.detail ?? '');
  if (bytes) return { value: Number(bytes[1]), total: Number(bytes[1]), unit: 'bytes' };
  const word = firstWord(step.name);
  const group = steps.filter((s) => firstWord(s.name) === word && s.name !== word);
  if (group.length < 2) return undefined;
  return { value: group.filter((s) => s.status === 'done' || s.status === 'skipped').length, total: group.length, unit: 'members' };
}

const firstWord = (name: string) => name.split(' ')[0];

function sizeSuffix(steps: Step[], step: Step): string {
  const size = stepSize(steps, step);
  if (!size || step.status === 'running') return '';
  return size.unit === 'bytes' ? ` (${humanBytes(size.value)})` : ` (${size.value}/${size.total} members done)`;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A bar of `width` cells for value/total, drawn by cli-progress's bar formatter. */
export function bar(value: number, total: number, width = 20): string {
  const progress = total > 0 ? Math.min(1, Math.max(0, value / total)) : 0;
  return Format.BarFormat(progress, {
    barsize: width,
    barCompleteString: '\u2588'.repeat(width),
    barIncompleteString: '\u2591'.repeat(width),
    barGlue: '',
  });
}

/** `██████░░░░ 2/3 members`, or the bytes of a step (known only once it is done: no bar). */
export function sizeLine(size: StepSize): string {
  if (size.unit === 'bytes') return `(${humanBytes(size.value)})`;
  return `${bar(size.value, size.total)} ${size.value}/${size.total} ${size.unit}`;
}
