// npm test's runner (infra/test-run.ts): every temp dir of a run under one dir
// of its own, removed at the end; a crashed run's dir removed by the next run.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeRunDir, reapTestRuns, RUN_PREFIX } from '../../infra/test-run';

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-testrun-unit-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

it("removes a run dir whose runner is gone, and leaves a live run's, one without an owner and other dirs", async () => {
  const gone = spawn('true');
  await new Promise((r) => gone.on('close', r));
  const crashed = makeRunDir(tmp, gone.pid!);
  fs.writeFileSync(path.join(crashed, 'etcd.log'), 'x');
  const live = makeRunDir(tmp);
  const starting = fs.mkdtempSync(path.join(tmp, RUN_PREFIX));
  const other = fs.mkdtempSync(path.join(tmp, 'etcdfleet-jest-'));
  expect(reapTestRuns(tmp)).toEqual([crashed]);
  for (const d of [live, starting, other]) expect(fs.existsSync(d)).toBe(true);
  expect(fs.existsSync(crashed)).toBe(false);
});

it('runs the command with TMPDIR in its own dir, removes that dir afterwards and answers with its exit code', () => {
  const script = path.join(tmp, 'fake-jest');
  // A stand-in for jest: says where its TMPDIR is, leaves a file there, fails with 3.
  fs.writeFileSync(script, '#!/bin/sh\necho "$TMPDIR"\ntouch "$TMPDIR/left"\nexit 3\n', { mode: 0o755 });
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'infra/test-run.ts', script, '--runInBand'], {
    cwd: path.join(__dirname, '../..'),
    env: { ...process.env, TMPDIR: tmp },
    encoding: 'utf8',
  });
  expect(r.status).toBe(3);
  const runDir = r.stdout.trim().split('\n').at(-1)!;
  expect(path.dirname(runDir)).toBe(fs.realpathSync(tmp));
  expect(path.basename(runDir).startsWith(RUN_PREFIX)).toBe(true);
  expect(fs.existsSync(runDir)).toBe(false);
}, 30_000);
