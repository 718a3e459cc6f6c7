import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fitsInMemory, stagedSnapshotPath } from '../../activities/backup/staging';

const GiB = 1 << 30;

describe('where a restore stages its snapshot', () => {
  let state: string;
  beforeEach(() => (state = fs.mkdtempSync(path.join(os.tmpdir(), 'staging-'))));
  afterEach(() => fs.rmSync(state, { recursive: true, force: true }));

  it('keeps a reserve of memory: 1 GiB and a quarter of the machine', () => {
    const mem = { total: 16 * GiB, available: 10 * GiB };
    expect(fitsInMemory(5 * GiB, mem)).toBe(true);
    expect(fitsInMemory(5 * GiB + 1, mem)).toBe(false);
  });

  it('stages an unknown size on disk under the state dir, 0700', async () => {
    const file = await stagedSnapshotPath(state, 'op/1 x');
    expect(file).toBe(path.join(state, 'restore', 'op_1_x.db'));
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('stages a small snapshot in a 0700 directory of this user in /dev/shm when there is one', async () => {
    const file = await stagedSnapshotPath(state, 'small', 1024);
    if (!fs.existsSync('/dev/shm')) return expect(file.startsWith(state)).toBe(true);
    expect(path.dirname(file)).toBe(`/dev/shm/etcdfleet-${process.getuid!()}`);
    const st = fs.lstatSync(path.dirname(file));
    expect(st.isDirectory() && st.uid === process.getuid!() && (st.mode & 0o777) === 0o700).toBe(true);
  });
});
