// Hostile request bodies: every one is answered 4xx, quickly, and the process
// survives. "Quickly" is relative to a benign body of the same size handled in
// the same run (a loaded CI machine slows both alike); the point is the order
// of magnitude (the quadratic duplicate-key check took 14 s for the largest
// allowed body; nested brackets killed the process).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../infra/config';
import { MAX_BODY_BYTES, ValidationError, parseBody } from '../../common/parse';
import { MAX_BODY_DEPTH } from '../../common/limits';
import { STUB_TOKEN, startStubApp, type StubApp } from '../support/stub-app';
import { rejection } from '../support/rejection';

const run = promisify(execFile);

/** Milliseconds `fn` takes (best of `n`, so a scheduler hiccup does not fail the test). */
function bestOf(n: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/** A benign YAML body of about `length` characters: many small mappings, nothing hostile. */
const benignOfLength = (length: number) => '- k: 1\n'.repeat(Math.max(1, Math.round(length / 7)));
/** The budget for a hostile body: a few times what a benign one of the same size took, plus slack for a scheduler hiccup. */
const budget = (benignMs: number) => 5 * benignMs + 1500;

const keys = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => `${prefix}${i}: 1`);
/** ~190 KB: 20 000 keys in one mapping, the last one repeating the first. */
const duplicateKeyBody = [...keys(20_000), 'k0: 2'].join('\n');
/** ~100 KB, the size of the issue's report (seconds of blocked event loop). */
const duplicateKey100k = [...keys(10_000), 'k0: 2'].join('\n');
/** The same keys spread over single-key mappings: the same parsing work without a big mapping. */
const sameSizeBaseline = keys(20_000)
  .map((l) => `- ${l}`)
  .join('\n');

const hostile: [string, string, string | undefined][] = [
  ['2 KB of [ as YAML', '['.repeat(2048), 'application/yaml'],
  ['2 KB of [ as JSON', '['.repeat(2048), 'application/json'],
  ['2 KB of [ sniffed', '['.repeat(2048), undefined],
  ['closed deep JSON arrays', '['.repeat(5000) + ']'.repeat(5000), 'application/json'],
  ['deep YAML flow mappings', '{a: '.repeat(1000) + '1' + '}'.repeat(1000), 'application/yaml'],
  ['deep YAML block mappings', Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1', 'application/yaml'],
  ['deep YAML block sequences', Array.from({ length: 200 }, (_, i) => `${' '.repeat(2 * i)}- `).join('\n') + '1', 'application/yaml'],
  ['a 100 KB mapping with a duplicate key', duplicateKey100k, 'application/yaml'],
  ['the same in flow style', `{${[...keys(10_000), 'k0: 2'].join(', ')}}`, 'application/yaml'],
  [
    'alias bomb',
    `a: &a [1,1,1,1,1,1,1,1,1]\n${Array.from(
      { length: 9 },
      (_, i) =>
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(9)
          .fill(i ? `*${'b'.repeat(i)}` : '*a')
          .join(',')}]`,
    ).join('\n')}`,
    'application/yaml',
  ],
];

describe('hostile bodies (parser)', () => {
  test.each(hostile)('%s: 400, in about the time of a benign body of its size', (_name, body, ct) => {
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const benign = benignOfLength(body.length);
    const benignMs = bestOf(2, () => parseBody(benign, 'application/yaml'));
    let e: ValidationError | undefined;
    const ms = bestOf(1, () => {
      e = rejection(() => parseBody(body, ct));
    });
    expect(e!.status).toBe(400);
    expect(ms).toBeLessThan(budget(benignMs));
  });

  test('nesting deeper than the bound is named, with its position', () => {
    expect(rejection(() => parseBody('['.repeat(MAX_BODY_DEPTH + 1), 'application/json')).issues).toEqual([
      { path: '', message: `malformed JSON at line 1, column ${MAX_BODY_DEPTH + 1}: nesting deeper than ${MAX_BODY_DEPTH} levels` },
    ]);
    expect(rejection(() => parseBody('['.repeat(MAX_BODY_DEPTH + 1), 'application/yaml')).issues[0].message).toBe(
      `malformed YAML at line 1, column ${MAX_BODY_DEPTH + 1}: nesting deeper than ${MAX_BODY_DEPTH} levels`,
    );
    // At the bound: fine. Brackets inside strings do not count.
    const atBound = '['.repeat(MAX_BODY_DEPTH) + ']'.repeat(MAX_BODY_DEPTH);
    expect(parseBody(atBound, 'application/json')).toBeDefined();
    expect(parseBody(atBound, 'application/yaml')).toBeDefined();
    expect(parseBody(JSON.stringify({ a: '['.repeat(1000) }), 'application/json')).toEqual({ a: '['.repeat(1000) });
    expect(parseBody(`a: "${'{'.repeat(1000)}"\nb: '${'['.repeat(1000)}'\n`, 'application/yaml')).toEqual({
      a: '{'.repeat(1000),
      b: '['.repeat(1000),
    });
  });

  test('the duplicate-key check is linear: a 20 000-key mapping costs about what the same keys in small mappings cost', () => {
    bestOf(1, () => parseBody(sameSizeBaseline, 'application/yaml')); // warm-up
    const baseline = bestOf(2, () => parseBody(sameSizeBaseline, 'application/yaml'));
    const big = bestOf(2, () => rejection(() => parseBody(duplicateKeyBody, 'application/yaml')));
    // Quadratic, this was ~10× the baseline (14 s against 1.5 s on a loaded machine).
    expect(big).toBeLessThan(3 * baseline + 200);
  });

  test('duplicate keys are found in nested mappings and keep the yaml package semantics', () => {
    expect(rejection(() => parseBody('a:\n  b: 1\n  c: 2\n  b: 3\n', 'application/yaml')).issues[0].message).toBe(
      'malformed YAML at line 4, column 3: Map keys must be unique',
    );
    expect(parseBody('1: a\n"1": b\n', 'application/yaml')).toEqual({ 1: 'b' }); // 1 and "1" are different keys
    expect(parseBody('a: &x {p: 1}\nb:\n  <<: *x\n  <<: *x\n  q: 2\n', 'application/yaml')).toBeDefined();
  });

  test('the process survives hostile bodies in a row under tsx (a fatal V8 error before)', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'hostile', 'parse-twice.ts')], {
      cwd: REPO_ROOT,
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual([400, 400, 400, 400, 400, 400]);
  }, 90_000);
});

describe('hostile bodies (through the API)', () => {
  let app: StubApp;
  beforeAll(async () => {
    app = await startStubApp();
  });
  afterAll(() => app.close());

  const post = (url: string, body: string, ct?: string) =>
    fetch(app.base + url, {
      method: 'POST',
      headers: { authorization: `Bearer ${STUB_TOKEN}`, ...(ct ? { 'content-type': ct } : {}) },
      body,
    });

  test.each(hostile)('%s: 4xx problem on both create routes, in about the time of a benign body', async (_name, body, ct) => {
    const timed = async (url: string, b: string, type?: string) => {
      const t = performance.now();
      const r = await post(url, b, type);
      return { r, ms: performance.now() - t };
    };
    for (const url of ['/v1/clusters', '/v1/imports/taskserv']) {
      const benign = await timed(url, benignOfLength(body.length), 'application/yaml');
      const { r, ms } = await timed(url, body, ct);
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(ms).toBeLessThan(budget(benign.ms));
    }
    expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
  });

  test('a body over the limit is a 413', async () => {
    const r = await post('/v1/clusters', `a: "${'x'.repeat(MAX_BODY_BYTES)}"`, 'application/yaml');
    expect(r.status).toBe(413);
  });
});
