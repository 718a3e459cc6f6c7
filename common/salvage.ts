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

/** The blamed paths as a tree: `whole` where a path ends (everything below it is blamed too). */
interface Node {
  whole?: boolean;
  children: Map<PropertyKey, Node>;
}

/** The tree of the paths the issues so far blame; an unknown key is blamed at its own path (the rest of its object is fine). */
function blamedTree(issues: readonly PendingIssue[]): Node {
  const root: Node = { children: new Map() };
  const add = (path: readonly PropertyKey[]) => {
    let n = root;
    for (const seg of path) {
      if (n.whole) return;
      let next = n.children.get(seg);
      if (!next) n.children.set(seg, (next = { children: new Map() }));
      n = next;
    }
    n.whole = true;
  };
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') for (const k of i.keys ?? []) add([...(i.path ?? []), k]);
    else add(i.path ?? []);
  }
  return root;
}

/** `value` without what the tree blames: an object field removed, an array item set to undefined (indices stay). One pass. */
function prune(value: unknown, node: Node): unknown {
  if (node.whole) return undefined;
  if (node.children.size === 0 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy = value.slice();
    for (const [seg, child] of node.children) {
      if (typeof seg === 'number' && seg >= 0 && seg < copy.length) copy[seg] = prune(copy[seg], child);
    }
    return copy;
  }
  const copy: Record<PropertyKey, unknown> = { ...(value as Record<PropertyKey, unknown>) };
  for (const [seg, child] of node.children) {
    if (!(seg in copy)) continue;
    if (child.whole) delete copy[seg];
    else copy[seg] = prune(copy[seg], child);
  }
  return copy;
}

/**
 * The value as far as it parsed: each blamed field left out, and `blamed` to
 * tell a left-out field from an absent one (an absent port override means the
 * cluster's port; a bad one means nothing is known). Undefined when the value
 * itself is blamed (not an object at all). Linear in the issues and the
 * containers they touch (a body with thousands of unknown keys stays cheap).
 */
export function salvage(value: unknown, issues: readonly PendingIssue[]): { value: unknown; blamed: Blamed } {
  const tree = blamedTree(issues);
  const blamed: Blamed = (path) => {
    let n: Node | undefined = tree;
    for (const seg of path) {
      if (n.whole) return true;
      n = n.children.get(seg);
      if (!n) return false;
    }
    return n.whole === true || n.children.size > 0;
  };
  return { value: prune(value, tree), blamed };
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
