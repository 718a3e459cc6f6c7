// flocksByPid: the flock(2) locks per process from /proc/locks, which the
// local stop reads to see that an etcd has closed its backend.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flocksByPid } from '../../activities/hosts/local/process';

it('lists a flock held by a process and not after it released it; blocked waiters are not holders', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-flock-'));
  const file = path.join(dir, 'db');
  fs.writeFileSync(file, '');
  const inode = fs.statSync(file).ino;
  // -o: the lock stays with flock itself, not its command; its own process group, so both end together.
  const holder = spawn('flock', ['-x', '-o', file, 'sleep', '30'], { stdio: 'ignore', detached: true });
  const end = () => {
    try {
      process.kill(-holder.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const waiter = spawn('flock', ['-x', file, 'true'], { stdio: 'ignore' });
  try {
    const held = async () => {
      const locks = await flocksByPid();
      return [...locks].filter(([, s]) => [...s].some((k) => k.endsWith(`:${inode}`))).map(([pid]) => pid);
    };
    for (let i = 0; i < 100 && !(await held()).length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await held()).toEqual([holder.pid]);
    end();
    await new Promise((r) => waiter.once('exit', r));
    for (let i = 0; i < 100 && (await held()).length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await held()).toEqual([]);
  } finally {
    end();
    waiter.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
