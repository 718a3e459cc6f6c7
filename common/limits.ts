// Hostile request bodies: nesting is bounded before any recursive code (the
// YAML composer, toJS, zod, fingerprints) sees the document, and every check
// here is one linear pass. A 2 KB body of `[` used to exhaust the stack inside
// the YAML composer, and a second one in the same process aborted node itself
// (V8 compiling a regular expression with no stack left). Pure: no Node built-ins.
import { Composer, LineCounter, Parser, isScalar, visit, type CST, type Document } from 'yaml';

/** Deepest nesting of objects/arrays a request body may have; real specs need fewer than 10. */
export const MAX_BODY_DEPTH = 32;

export interface Located {
  offset: number;
  message: string;
}

const depthMessage = `nesting deeper than ${MAX_BODY_DEPTH} levels`;

/** Offset where JSON text nests deeper than MAX_BODY_DEPTH, or -1. Exact for JSON, linear. */
export function jsonDepthViolation(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_BODY_DEPTH) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

export function jsonDepthError(text: string): Located | undefined {
  const at = jsonDepthViolation(text);
  return at < 0 ? undefined : { offset: at, message: depthMessage };
}

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/** First collection nested deeper than MAX_BODY_DEPTH in a YAML CST; the walk is iterative. */
function cstDepthError(tokens: readonly CST.Token[]): Located | undefined {
  const stack: [unknown, number][] = tokens.map((t) => [t, 0]);
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    const t = node as { type?: string; offset?: number; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    if (t.type === 'document') {
      stack.push([t.value, depth]);
    } else if (t.type && COLLECTIONS.has(t.type)) {
      const d = depth + 1;
      if (d > MAX_BODY_DEPTH) return { offset: t.offset ?? 0, message: depthMessage };
      for (const item of t.items ?? []) stack.push([item.key, d], [item.value, d]);
    }
  }
  return undefined;
}

/**
 * Keys repeated in one mapping, found with one hash set per mapping. The yaml
 * package's own `uniqueKeys` compares every key with every earlier one, which
 * took seconds for a 100 KB mapping. Scalars are equal as the package defines
 * it: same type and value (`1` and `"1"` differ), merge keys `<<` exempt.
 */
function duplicateKeyError(doc: Document.Parsed): Located | undefined {
  let found: Located | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || pair.key.value === '<<') continue;
        const v = pair.key.value;
        const k = typeof v === 'string' ? `s:${v}` : typeof v === 'number' || typeof v === 'bigint' ? `n:${String(v)}` : v;
        if (seen.has(k)) {
          found = { offset: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' };
          return visit.BREAK;
        }
        seen.add(k);
      }
      return undefined;
    },
  });
  return found;
}

export type ParsedYaml = { docs: Document.Parsed[]; lineCounter: LineCounter } | { error: Located; lineCounter: LineCounter };

/**
 * Parses YAML the way `parseAllDocuments` does, with the nesting bound checked
 * on the concrete syntax tree before composing and a linear duplicate-key check
 * after. Returns the first problem instead of documents when there is one.
 */
export function parseYamlBounded(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deep = cstDepthError(tokens);
  if (deep) return { error: deep, lineCounter };
  const docs = Array.from(new Composer({ uniqueKeys: false }).compose(tokens));
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) return { error: { offset: err.pos[0], message: err.message }, lineCounter };
    const dup = duplicateKeyError(doc);
    if (dup) return { error: dup, lineCounter };
  }
  return { docs, lineCounter };
}
