// Backup streaming, integrity and retention without servers: a synthetic v3
// snapshot (content + sha256 trailer) through the real pipeline into a
// directory target.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  fetchToFile,
  keyId,
  readManifests,
  retentionPlan,
  streamBackup,
  writeManifest,
  type BackupManifest,
} from '../../activities/backup/backup';
import { IntegrityError } from '../../activities/backup/stream';
import { DirTarget } from '../../activities/backup/target';

function snapshot(bytes: number): Buffer {
  const body = crypto.randomBytes(bytes);
  return Buffer.concat([body, crypto.createHash('sha256').update(body).digest()]);
}
function chunks(buf: Buffer, size = 7777): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-unit-backup-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const rawKey = crypto.randomBytes(32);
const key = { key: rawKey, id: keyId(rawKey) };

describe('streamBackup', () => {
  it.each([false, true])('stores a snapshot with hashes (encrypted: %s) and reads it back identical', async (encrypted) => {
    const snap = snapshot(300_000);
    const target = new DirTarget(dir);
    const m = await streamBackup({
      source: { stream: chunks(snap), member: 'm1' },
      target,
      cluster: 'c',
      prefix: '',
      encryption: encrypted ? key : undefined,
    });
    expect(m.snapshotBytes).toBe(snap.length);
    expect(m.etcdSha256).toBe(snap.subarray(-32).toString('hex'));
    const stored = fs.readFileSync(path.join(dir, m.object));
    expect(m.sha256).toBe(crypto.createHash('sha256').update(stored).digest('hex'));
    expect(stored.equals(snap)).toBe(!encrypted);
    const out = path.join(dir, 'out.db');
    await fetchToFile(target, m, out, encrypted ? key.key : undefined);
    expect(fs.readFileSync(out).equals(snap)).toBe(true);
  });

  it.each([
    ['truncated', (s: Buffer) => s.subarray(0, s.length - 1000)],
    ['altered', (s: Buffer) => Buffer.from(s.map((b, i) => (i === 5000 ? b ^ 1 : b)))],
    ['empty', (_s: Buffer) => Buffer.alloc(0)],
  ])('refuses a %s snapshot and leaves nothing behind', async (_what, damage) => {
    const target = new DirTarget(dir);
    await expect(
      streamBackup({ source: { stream: chunks(damage(snapshot(100_000))), member: 'm1' }, target, cluster: 'c', prefix: '' }),
    ).rejects.toThrow(IntegrityError);
    expect(fs.readdirSync(path.join(dir, 'c'))).toEqual([]);
    expect(await readManifests(target, '', 'c')).toEqual([]);
  });

  it('detects a stored object altered or truncated after the backup', async () => {
    const target = new DirTarget(dir);
    for (const enc of [undefined, key]) {
      const m = await streamBackup({
        source: { stream: chunks(snapshot(50_000)), member: 'm1' },
        target,
        cluster: 'c',
        prefix: '',
        encryption: enc,
      });
      const file = path.join(dir, m.object);
      fs.truncateSync(file, m.storedBytes - 10);
      await expect(fetchToFile(target, m, path.join(dir, 'x.db'), enc?.key)).rejects.toThrow(IntegrityError);
      expect(fs.existsSync(path.join(dir, 'x.db'))).toBe(false);
    }
  });

  it('cannot decrypt with another key', async () => {
    const target = new DirTarget(dir);
    const m = await streamBackup({
      source: { stream: chunks(snapshot(50_000)), member: 'm1' },
      target,
      cluster: 'c',
      prefix: '',
      encryption: key,
    });
    await expect(fetchToFile(target, { ...m, encryption: null }, path.join(dir, 'x.db'))).rejects.toThrow(IntegrityError);
  });
});

describe('retentionPlan', () => {
  const now = new Date('2026-01-31T00:00:00Z');
  const at = (d: number) => ({ id: `d${d}`, createdAt: new Date(now.getTime() - d * 86400e3).toISOString() });
  const all = [at(0), at(1), at(10), at(29), at(31), at(45)];
  it('deletes exactly the backups older than the age', () => {
    expect(retentionPlan(all, now, { maxAgeMs: 30 * 86400e3 }).sort()).toEqual(['d31', 'd45']);
  });
  it('keeps at most N, newest first', () => {
    expect(retentionPlan(all, now, { keep: 2 }).sort()).toEqual(['d10', 'd29', 'd31', 'd45']);
  });
  it('never deletes the newest backup', () => {
    expect(retentionPlan([at(100)], now, { maxAgeMs: 1 })).toEqual([]);
  });
  it('lists only verified manifests', async () => {
    const target = new DirTarget(dir);
    const m = { formatVersion: 1, id: 'a', cluster: 'c', createdAt: now.toISOString(), object: 'c/a.db' } as BackupManifest;
    await writeManifest(target, '', m);
    expect(await readManifests(target, '', 'c')).toEqual([]);
    await writeManifest(target, '', { ...m, verified: { at: '', revision: 1, totalKey: 1, hash: 1, totalSize: 1 } });
    expect((await readManifests(target, '', 'c')).map((x) => x.id)).toEqual(['a']);
  });
});
