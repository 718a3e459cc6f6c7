import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stagedSnapshotPath } from '../../activities/backup/staging';

describe('where a restore stages its snapshot', () => {
  let state: string;
  beforeEach(() => (state = fs.mkdtempSync(path.join(os.tmpdir(), 'staging-'))));
  afterEach(() => fs.rmSync(state, { recursive: true, force: true }));

  it('on disk under the state dir, 0700, whatever its size (not in /dev/shm: slower to restore from here)', async () => {
    const file = await stagedSnapshotPath(state, 'op/1 x');
    expect(file).toBe(path.join(state, 'restore', 'op_1_x.db'));
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });
});
