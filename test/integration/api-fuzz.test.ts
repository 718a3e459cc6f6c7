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
import { ensureSchemathesis } from '../../infra/schemathesis';
import { startStack, TOKEN, type Stack } from '../support/stack';

const MAX_EXAMPLES = Number(process.env.ETCDFLEET_FUZZ_EXAMPLES ?? 5);
const MAX_SECONDS = Number(process.env.ETCDFLEET_FUZZ_SECONDS ?? 40);

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

it(
  'answers every generated request without a 5xx and as its OpenAPI document says',
  async () => {
    const bin = await ensureSchemathesis();
    const args = [
      'run',
      `${stack.base}/openapi.json`,
      '--header',
      `Authorization: Bearer ${TOKEN}`,
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      String(MAX_EXAMPLES),
      '--max-time',
      String(MAX_SECONDS),
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
        { cwd: workDir, timeout: (MAX_SECONDS + 120) * 1000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, SCHEMATHESIS_HOOKS: '' } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    console.log(result.output.slice(-4000));
    if (result.code !== 0) throw new Error(`schemathesis found problems (exit ${result.code}):\n${result.output.slice(-12_000)}`);
    expect(result.output).toMatch(/\d+ generated, \d+ passed/);
    expect(result.output).not.toMatch(/ failed/);
    // The budget is short: every selected operation must still have been tested, through the coverage and fuzzing phases.
    const selected = /Selected: (\d+)\/\d+/.exec(result.output)?.[1];
    expect(selected).toBeDefined();
    expect(/Tested: (\d+)/.exec(result.output)?.[1]).toBe(selected);
    expect(result.output).toMatch(/✅\s+Coverage/);
    expect(result.output).toMatch(/✅\s+Fuzzing/);
  },
  (MAX_SECONDS + 300) * 1000,
);
