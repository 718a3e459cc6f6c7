// Field paths and validation issues as the API reports them
// (`members[1].address`). Pure, no parser imported: workflow code uses it too.
import type { z } from 'zod';

export interface Issue {
  /** Field path into the input, e.g. `members[1].address`; `''` is the whole body. */
  path: string;
  message: string;
}

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Renders a path as `members[1].address`. `prefix` is a rendered path the
 * segments are appended to (`[1]` + `etcd_name` → `[1].etcd_name`).
 */
export function formatPath(segments: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      if (IDENT_RE.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  // zod's "Invalid input: expected string, received undefined" reads better as what it means.
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'required';
  if (issue.code === 'invalid_union' && issue.message === 'Invalid input') {
    const options = issue.errors
      .flat()
      .filter((e) => e.code === 'invalid_value')
      .flatMap((e) => (e as z.core.$ZodIssueInvalidValue).values.map((v) => JSON.stringify(v)));
    if (options.length) return `Invalid option: expected one of ${options.join('|')}`;
  }
  return issue.message;
}

/** One issue per bad field (unknown keys: one per key, at the key's own path). */
export function zodIssues(err: z.ZodError | { issues: readonly z.core.$ZodIssue[] }, pathPrefix = ''): Issue[] {
  const out: Issue[] = [];
  const seen = new Set<string>();
  const push = (path: string, message: string) => {
    const k = `${path}\u0000${message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ path, message });
    }
  };
  for (const issue of err.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) push(formatPath([...issue.path, key], pathPrefix), 'unknown field');
    } else {
      push(formatPath(issue.path, pathPrefix), issueMessage(issue));
    }
  }
  return out;
}
