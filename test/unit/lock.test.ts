// The one cross-process lock (infra/lock.ts): a holder that is a zombie (killed,
// not yet reaped by its parent) no longer holds it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { acquireLock, pidAlive, processStartTime, type LockHolder } from '../../infra/lock';

let tmp: string;
let parent: ChildProcess | undefined;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-lock-'));
});
afterEach(() => {
  if (parent?.pid) process.kill(parent.pid, 'SIGKILL'); // the only process this test started; reaps the zombie too
  parent = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A zombie: a child that exited under a parent (exec'd sleep) that never waits for it. */
async function zombie(): Promise<number> {
  parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => parent!.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  for (let i = 0; i < 100; i++) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.charAt(stat.lastIndexOf(')') + 2) === 'Z') return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`pid ${pid} did not become a zombie`);
}

const linux = fs.existsSync('/proc/self/stat') ? test : test.skip;

describe('zombie-aware lock', () => {
  linux('a zombie is not alive, though kill(pid, 0) still answers', async () => {
    const pid = await zombie();
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(pidAlive(pid)).toBe(false);
    expect(pidAlive(process.pid)).toBe(true);
  });

  linux('a lock held by a zombie is broken', async () => {
    const pid = await zombie();
    const lock = path.join(tmp, 'z.lock');
    const holder: LockHolder = {
      pid,
      host: os.hostname(),
      procStart: processStartTime(pid),
      createdAt: new Date().toISOString(),
      token: 'zombie',
    };
    fs.writeFileSync(lock, JSON.stringify(holder));
    const release = await acquireLock(lock, { timeoutMs: 1000, pollMs: 50 });
    expect(JSON.parse(fs.readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    release();
    expect(fs.existsSync(lock)).toBe(false);
  });
});
