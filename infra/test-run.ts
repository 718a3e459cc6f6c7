// `npm test`'s runner: jest with every temporary directory of the run under
// one directory of its own (TMPDIR=<tmp>/etcdfleet-testrun-XXXXXX, owned by
// this process), removed when jest ends, whatever the result. A run that
// crashed (its runner gone: killed, the machine restarted) leaves its
// directory behind; the next run removes it before it starts. jest's own
// transform cache stays where it always is.
//
// usage: tsx infra/test-run.ts <jest binary> [jest args...]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { holderRecord, isStale, type LockHolder } from './lock';

export const RUN_PREFIX = 'etcdfleet-testrun-';
const OWNER = 'owner.json';

/** Removes the run directories under `tmp` whose runner no longer runs; returns them. Others' and live runs' stay. */
export function reapTestRuns(tmp: string): string[] {
  const reaped: string[] = [];
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith(RUN_PREFIX)) continue;
    const dir = path.join(tmp, name);
    let owner: LockHolder;
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, OWNER), 'utf8')) as LockHolder;
    } catch {
      // No owner yet (a run between mkdtemp and writing it) or not ours: left alone.
      continue;
    }
    if (!isStale(owner)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}

/** A new run directory under `tmp`, owned by process `pid`. */
export function makeRunDir(tmp: string, pid = process.pid): string {
  const dir = fs.mkdtempSync(path.join(tmp, RUN_PREFIX));
  fs.writeFileSync(path.join(dir, OWNER), JSON.stringify(holderRecord(pid, 'npm test')));
  return dir;
}

async function main(): Promise<number> {
  const [jest, ...args] = process.argv.slice(2);
  if (!jest) throw new Error('usage: tsx infra/test-run.ts <jest binary> [jest args...]');
  const tmp = fs.realpathSync(os.tmpdir());
  for (const d of reapTestRuns(tmp)) console.log(`==> removed ${d} (left by a test run that did not finish)`);
  const dir = makeRunDir(tmp);
  const cache = path.join(tmp, `jest_${(process.getuid?.() ?? 0).toString(36)}`);
  try {
    const child = spawn(jest, [`--cacheDirectory=${cache}`, ...args], { stdio: 'inherit', env: { ...process.env, TMPDIR: dir } });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward(sig));
    return await new Promise<number>((resolve) => {
      child.on('error', (e) => {
        console.error(`cannot run ${jest}: ${e.message}`);
        resolve(127);
      });
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
