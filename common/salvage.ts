// Cross-field rules on what did parse. zod skips an object's refinements once a
// field has failed, so duplicate names and the like were reported only after
// every field error was fixed: a second round. Refinements registered with
// `whenever` run anyway, on the parsed value minus every field an issue
// blames, so one answer lists field errors and cross-field errors together.
// Pure, no parser imported: the workflows load the schemas too.
import type { z } from 'zod';

export type Segments = readonly PropertyKey[];
/** Whether an issue blames this path, one of its ancestors or something inside it (the value there is not all known). */
export type Blamed = (path: Segments) => boolean;

interface PendingIssue {
  code: string;
  path?: PropertyKey[];
  keys?: string[];
}

/** The paths the issues so far blame; an unknown key is blamed at its own path (the rest of its object is fine). */
function blamedPaths(issues: readonly PendingIssue[]): Segments[] {
  return issues.flatMap((i) => (i.code === 'unrecognized_keys' ? (i.keys ?? []).map((k) => [...(i.path ?? []), k]) : [i.path ?? []]));
}

/** `value` without what `path` names: an object field removed, an array item set to undefined (indices stay). */
function without(value: unknown, path: Segments): unknown {
  if (path.length === 0) return undefined;
  if (!value || typeof value !== 'object') return value;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    if (typeof head !== 'number' || head < 0 || head >= value.length) return value;
    const copy = value.slice();
    copy[head] = rest.length ? without(value[head], rest) : undefined;
    return copy;
  }
  const obj = value as Record<PropertyKey, unknown>;
  if (!(head in obj)) return value;
  const copy: Record<PropertyKey, unknown> = { ...obj };
  if (rest.length) copy[head] = without(obj[head], rest);
  else delete copy[head];
  return copy;
}

/**
 * The value as far as it parsed: each blamed field left out, and `blamed` to
 * tell a left-out field from an absent one (an absent port override means the
 * cluster's port; a bad one means nothing is known). Undefined when the value
 * itself is blamed (not an object at all).
 */
export function salvage(value: unknown, issues: readonly PendingIssue[]): { value: unknown; blamed: Blamed } {
  const paths = blamedPaths(issues);
  const blamed: Blamed = (path) => paths.some((p) => p.every((seg, i) => i >= path.length || seg === path[i]));
  return { value: paths.reduce(without, value), blamed };
}

/** A superRefine that runs whether or not fields failed, on the salvaged value (`undefined` when nothing is usable). */
export function whenever<T>(rule: (value: T | undefined, blamed: Blamed) => { path: (string | number)[]; message: string }[]) {
  return [
    (_value: unknown, ctx: z.core.$RefinementCtx<unknown>) => {
      const s = salvage(ctx.value, ctx.issues as readonly PendingIssue[]);
      const ok = s.value !== null && typeof s.value === 'object' && !Array.isArray(s.value);
      for (const issue of rule(ok ? (s.value as T) : undefined, s.blamed)) ctx.addIssue({ code: 'custom', ...issue });
    },
    { when: () => true },
  ] as const;
}
