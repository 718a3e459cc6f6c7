// The one duration parser. Every duration and timeout a request can set ends
// up as a Temporal timer, an activity timeout, a Schedule interval or a Go
// time.Duration in etcd's config; an unbounded one ("999…9s", 1e306 seconds)
// becomes an infinite or invalid timer that fails a workflow task forever.
// So each field has a maximum, checked in the schema (400 with the field
// path) and again where workflows read the value. Pure: workflows import it.
import { z } from 'zod';

export const DURATION_UNIT_MS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 } as const;
export type DurationUnit = keyof typeof DURATION_UNIT_MS;

const SECOND = 1e3;
const DAY = 86400e3;
/** Recurring work (health checks, schedules, retention): at most a year. */
export const MAX_INTERVAL_MS = 365 * DAY;
/** Waits inside one operation (promote deadlines, grace periods): at most a day. */
export const MAX_TIMEOUT_MS = DAY;
export const MAX_TIMEOUT_SECONDS = MAX_TIMEOUT_MS / SECOND;
/** Backup retention is an age, not a timer: up to ten years. */
export const RETENTION_RULE: DurationRule = { maxMs: 3650 * DAY };
/** etcd's own time.Duration settings (grpc keepalive): 1ms to 24h. */
export const GO_DURATION_RULE: DurationRule = { units: ['ms', 's', 'm', 'h'], minMs: 1, maxMs: MAX_TIMEOUT_MS };

/** Up to 12 digits: enough for a year in milliseconds, never a number that loses precision. */
const DURATION_RE = /^(\d{1,12})(ms|s|m|h|d)$/;

export interface DurationRule {
  /** Units accepted (default s, m, h, d). */
  units?: readonly DurationUnit[];
  minMs?: number;
  maxMs?: number;
}

const DEFAULT_UNITS: readonly DurationUnit[] = ['s', 'm', 'h', 'd'];

/** Renders a bound readably: 365d, 24h, 1s, 500ms. */
export function formatDurationMs(ms: number): string {
  for (const u of ['d', 'h', 'm', 's'] as const)
    if (ms >= DURATION_UNIT_MS[u] && ms % DURATION_UNIT_MS[u] === 0) return `${ms / DURATION_UNIT_MS[u]}${u}`;
  return `${ms}ms`;
}

/** Milliseconds, or a message saying what is wrong (for a field error). */
export function parseDuration(text: unknown, rule: DurationRule = {}): { ms: number } | { error: string } {
  const units = rule.units ?? DEFAULT_UNITS;
  const minMs = rule.minMs ?? SECOND;
  const maxMs = rule.maxMs ?? MAX_INTERVAL_MS;
  const example = units.includes('ms') ? 'like 500ms, 10s, 5m or 2h' : 'like 30s, 5m, 6h or 30d';
  const m = typeof text === 'string' ? DURATION_RE.exec(text) : null;
  if (!m || !units.includes(m[2] as DurationUnit)) return { error: `a duration ${example} (units ${units.join(', ')})` };
  const ms = Number(m[1]) * DURATION_UNIT_MS[m[2] as DurationUnit];
  if (ms < minMs || ms > maxMs) return { error: `must be between ${formatDurationMs(minMs)} and ${formatDurationMs(maxMs)}` };
  return { ms };
}

/** Milliseconds of a valid duration within the rule, else undefined (workflow code falls back to a default). */
export function durationMs(text: unknown, rule?: DurationRule): number | undefined {
  const r = parseDuration(text, rule);
  return 'ms' in r ? r.ms : undefined;
}

/** A zod string field holding a bounded duration. */
export function durationSchema(rule?: DurationRule) {
  return z.string().superRefine((s, ctx) => {
    const r = parseDuration(s, rule);
    if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error });
  });
}

/** A number of seconds within (0, max] (min may be 0 when `allowZero`). */
export function secondsSchema(maxSeconds = MAX_TIMEOUT_SECONDS, opts: { allowZero?: boolean } = {}) {
  const what = `a number of seconds ${opts.allowZero ? 'from 0' : 'above 0'} up to ${maxSeconds}`;
  return z.number({ error: what }).refine((n) => Number.isFinite(n) && (opts.allowZero ? n >= 0 : n > 0) && n <= maxSeconds, what);
}

/** A seconds value as the workflows read it: within bounds, else undefined. */
export function boundedSeconds(v: unknown, maxSeconds = MAX_TIMEOUT_SECONDS, opts: { allowZero?: boolean } = {}): number | undefined {
  return secondsSchema(maxSeconds, opts).safeParse(v).success ? (v as number) : undefined;
}
