// The API fuzzed from its own OpenAPI document with schemathesis (property-based):
// no 5xx, and every response's status, content type and body match the
// document. Bounded: every operation goes through the examples, coverage and
// fuzzing phases with a few examples each; the fuzzing phase repeats until
// the time budget is spent, so the budget sets the test's length.
//
// A generated spec that validates would be provisioned by the worker: the
// artifact source is an empty mirror, so such a provision fails at the download
// and no etcd process is ever started by this test.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureSchemathesis, unbannered } from '../../infra/schemathesis';
import { loopback, startStack, TOKEN, type Stack } from '../support/stack';

const MAX_EXAMPLES = Number(process.env.ETCDFLEET_FUZZ_EXAMPLES ?? 5);
const MAX_SECONDS = Number(process.env.ETCDFLEET_FUZZ_SECONDS ?? 40);
const STATEFUL_SECONDS = Number(process.env.ETCDFLEET_FUZZ_STATEFUL_SECONDS ?? 30);

let stack: Stack;
const emptyMirror = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-fuzz-mirror-'));
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-fuzz-'));
beforeAll(async () => {
  process.env.ETCDFLEET_ARTIFACT_SOURCE = `file://${emptyMirror}`;
  stack = await startStack({ label: 'fuzz' });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  delete process.env.ETCDFLEET_ARTIFACT_SOURCE;
  fs.rmSync(emptyMirror, { recursive: true, force: true });
  fs.rmSync(workDir, { recursive: true, force: true });
});

async function schemathesis(phases: string, seconds: number): Promise<string> {
  const bin = await ensureSchemathesis();
  const args = [
    'run',
    `${stack.base}/openapi.json`,
    '--header',
    `Authorization: Bearer ${TOKEN}`,
    '--checks',
    'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
    '--phases',
    phases,
    '--max-examples',
    String(MAX_EXAMPLES),
    '--max-time',
    String(seconds),
    '--request-timeout',
    '40',
    '--workers',
    '1',
    '--no-color',
  ];
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    // cwd: schemathesis keeps its example database in ./.schemathesis; not in the checkout.
    execFile(
      bin,
      args,
      { cwd: workDir, timeout: (seconds + 120) * 1000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, SCHEMATHESIS_HOOKS: '' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  console.log(unbannered(result.output.slice(-4000)));
  if (result.code !== 0) throw new Error(`schemathesis found problems (exit ${result.code}):\n${unbannered(result.output.slice(-12_000))}`);
  expect(result.output).toMatch(/\d+ generated, \d+ passed/);
  expect(result.output).not.toMatch(/ failed/);
  return result.output;
}

it(
  'answers every generated request without a 5xx and as its OpenAPI document says',
  async () => {
    const output = await schemathesis('examples,coverage,fuzzing', MAX_SECONDS);
    // The budget is short: every selected operation must still have been tested, through the coverage and fuzzing phases.
    const selected = /Selected: (\d+)\/\d+/.exec(output)?.[1];
    expect(selected).toBeDefined();
    expect(/Tested: (\d+)/.exec(output)?.[1]).toBe(selected);
    expect(output).toMatch(/✅\s+Coverage/);
    expect(output).toMatch(/✅\s+Fuzzing/);
  },
  (MAX_SECONDS + 300) * 1000,
);

it(
  'follows the response links from clusters to their sub-resources (stateful)',
  async () => {
    // One cluster that exists before the stateful run starts (its provision fails at the empty mirror):
    // the list's links lead the fuzzer to a real cluster, its members and its operations.
    const [address] = loopback(94, 1);
    expect((await stack.api('POST', '/v1/clusters', { name: 'fuzz-seed', members: [{ name: 'seed1', address }] })).status).toBe(202);
    const listed = await stack.api('GET', '/v1/clusters');
    expect((listed.body as { clusters: { name: string }[] }).clusters.map((c) => c.name)).toContain('fuzz-seed');
    // Found by this run: the CA-rotation view of another kind of operation was a 500.
    const notRotation = await stack.api('GET', '/v1/operations/fuzz-seed.1-provision/ca-rotation');
    expect(notRotation.status).toBe(404);
    expect(notRotation.body.detail).toMatch(/provision operation, not rotate-ca/);
    const output = await schemathesis('stateful', STATEFUL_SECONDS);
    expect(output).toMatch(/✅\s+Stateful/);
    const covered = Number(/API Links:\s+(\d+) covered/.exec(output)?.[1]);
    expect(covered).toBeGreaterThan(0);
  },
  (STATEFUL_SECONDS + 300) * 1000,
);
