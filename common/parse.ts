// Request bodies in, validated native specs out. Every rejection is a
// ValidationError carrying field paths (`members[1].address`), which the API
// renders as RFC 9457 problem+json. Pure: no Node built-ins.
import type { z } from 'zod';
import { ClusterSpec, specWarnings } from './spec';
import { formatPath, zodIssues, type Issue } from './issues';
import { jsonDepthError, parseYamlBounded, type Located } from './limits';

export { formatPath, zodIssues, type Issue };

export { specFingerprint, canonicalJson } from './fingerprint';

export const MAX_BODY_BYTES = 256 * 1024;

export class ValidationError extends Error {
  readonly issues: Issue[];
  /** HTTP status the API answers with: 400, or 413 for an oversize body. */
  readonly status: number;

  constructor(issues: Issue[], status = 400) {
    super(summarize(issues));
    this.name = 'ValidationError';
    this.issues = issues;
    this.status = status;
  }
}

export function isValidationError(e: unknown): e is ValidationError {
  return e instanceof ValidationError;
}

function summarize(issues: Issue[]): string {
  const shown = issues.slice(0, 5).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return `invalid input: ${shown.join('; ')}${more}`;
}

/** Joins two rendered paths: `joinPath('[1]', 'etcd_name')` → `[1].etcd_name`. */
export function joinPath(prefix: string, path: string): string {
  if (!prefix) return path;
  if (!path) return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

export function fromZodError(err: z.ZodError | { issues: readonly z.core.$ZodIssue[] }, pathPrefix = '', status = 400): ValidationError {
  return new ValidationError(zodIssues(err, pathPrefix), status);
}

/** UTF-8 length without Buffer/TextEncoder (this module also runs where neither is guaranteed). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function checkSize(text: string): void {
  // Every UTF-16 unit is at least one byte and at most three.
  if (text.length * 3 <= MAX_BODY_BYTES) return;
  const bytes = text.length > MAX_BODY_BYTES ? text.length : utf8ByteLength(text);
  if (bytes > MAX_BODY_BYTES) {
    throw new ValidationError([{ path: '', message: `body is larger than ${MAX_BODY_BYTES} bytes` }], 413);
  }
}

type Syntax = 'json' | 'yaml' | 'sniff';

function syntaxOf(contentType: string | undefined): Syntax {
  if (!contentType) return 'sniff';
  const media = contentType.split(';')[0].trim().toLowerCase();
  if (media === 'application/json' || media.endsWith('+json')) return 'json';
  if (
    media === 'application/yaml' ||
    media === 'application/x-yaml' ||
    media === 'text/yaml' ||
    media === 'text/x-yaml' ||
    media.endsWith('+yaml')
  )
    return 'yaml';
  // text/plain, form-encoded (curl -d's default), octet-stream and the like:
  // people send specs that way by accident, so read the body for what it is.
  return 'sniff';
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, col };
}

/**
 * Offset of the first JSON syntax error, for the messages where V8 names no
 * position ("Unexpected token 'a', ... is not valid JSON"). Only run on failure.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string) => {
    for (const ch of word) {
      if (text[i++] !== ch) {
        i--;
        fail();
      }
    }
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      const ch = text.charCodeAt(i);
      if (ch < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              fail();
            }
          }
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (ch === '"') str();
    else if (ch === 't') lit('true');
    else if (ch === 'f') lit('false');
    else if (ch === 'n') lit('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) num();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (at) {
    if (typeof at === 'number') return Math.min(at, text.length);
    throw at;
  }
}

function malformed(syntax: 'JSON' | 'YAML', text: string, at: Located, line?: { line: number; col: number }): ValidationError {
  const p = line ?? lineCol(text, at.offset);
  return new ValidationError([{ path: '', message: `malformed ${syntax} at line ${p.line}, column ${p.col}: ${at.message}` }]);
}

function parseJson(text: string): unknown {
  // Bounded first: jsonErrorOffset and everything after parsing recurse.
  const deep = jsonDepthError(text);
  if (deep) throw malformed('JSON', text, deep);
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /at position (\d+)/.exec(msg);
    const reason = msg
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/ after JSON at position \d+.*$/s, ' after the JSON value')
      .replace(/ \(line \d+ column \d+\)$/, '')
      .replace(/, ".*" is not valid JSON$/s, '');
    const offset = at ? Number(at[1]) : jsonErrorOffset(text);
    const pos = offset >= 0 ? lineCol(text, offset) : undefined;
    const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    throw new ValidationError([{ path: '', message: `malformed JSON${where}: ${reason}` }]);
  }
}

function yamlReason(message: string): string {
  // The yaml package appends " at line L, column C:" and a code excerpt; the position is reported separately.
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function parseYaml(text: string): unknown {
  const parsed = parseYamlBounded(text);
  if ('error' in parsed)
    throw malformed(
      'YAML',
      text,
      { ...parsed.error, message: yamlReason(parsed.error.message) },
      parsed.lineCounter.linePos(parsed.error.offset),
    );
  const values: unknown[] = [];
  for (const doc of parsed.docs) {
    try {
      // maxAliasCount keeps "billion laughs" alias expansion bounded.
      values.push(doc.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      const p = doc.range ? lineCol(text, doc.range[0]) : undefined;
      const where = p ? ` in the document at line ${p.line}` : '';
      throw new ValidationError([{ path: '', message: `malformed YAML${where}: ${(e as Error).message}` }]);
    }
  }
  // A leading or trailing `---` yields empty documents; they are not configs.
  const present = parsed.docs.length > 1 ? values.filter((v) => v !== null && v !== undefined) : values;
  if (present.length === 0) return null;
  return present.length === 1 ? present[0] : present;
}

/**
 * Parses a JSON or YAML request body. Multi-document YAML becomes an array of
 * the documents. Throws ValidationError (400 malformed or empty, 413 too big).
 */
export function parseBody(text: string, contentType?: string): unknown {
  checkSize(text);
  if (text.trim() === '') throw new ValidationError([{ path: '', message: 'empty body: send a JSON or YAML document' }]);
  const syntax = syntaxOf(contentType);
  let value: unknown;
  if (syntax === 'json') value = parseJson(text);
  else if (syntax === 'yaml') value = parseYaml(text);
  else {
    const t = text.trimStart();
    // JSON that JSON.parse rejects is still reported by the YAML parser, with a position.
    if (t.startsWith('{') || t.startsWith('[')) {
      try {
        if (jsonDepthError(text)) throw new Error('too deep');
        value = JSON.parse(text);
      } catch {
        value = parseYaml(text);
      }
    } else value = parseYaml(text);
  }
  if (value === null || value === undefined) {
    throw new ValidationError([{ path: '', message: 'empty body: send a JSON or YAML document' }]);
  }
  return value;
}

/**
 * Validates a native cluster spec. Returns it normalized (every default filled
 * in, version with its `v`) with its non-fatal warnings; throws
 * ValidationError (400) with one issue per bad field otherwise.
 */
export function parseClusterSpec(input: unknown, pathPrefix = ''): { spec: ClusterSpec; warnings: string[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError([
      {
        path: pathPrefix,
        message: `a cluster spec must be an object, not ${Array.isArray(input) ? 'an array' : input === null ? 'null' : typeof input}`,
      },
    ]);
  }
  const r = ClusterSpec.safeParse(input);
  if (!r.success) throw fromZodError(r.error, pathPrefix);
  return { spec: r.data, warnings: specWarnings(r.data) };
}
