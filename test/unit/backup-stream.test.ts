// The backup path's streaming pieces on their own: BackupEncoder (one hash
// unencrypted, trailer check, encryption), the chunk-holding TailKeeping with
// odd chunk sizes, and the durable file writer.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupEncoder } from '../../activities/backup/encode';
import { DurableFileWriter } from '../../activities/backup/file-sink';
import { Decrypt, EtcdTrailerCheck, IntegrityError } from '../../activities/backup/stream';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
function snapshot(bytes: number): Buffer {
  const body = crypto.randomBytes(bytes);
  return Buffer.concat([body, crypto.createHash('sha256').update(body).digest()]);
}
function pieces(buf: Buffer, sizes: number[]): Readable {
  return Readable.from(
    (function* () {
      let i = 0;
      for (let k = 0; i < buf.length; k++) {
        const n = sizes[k % sizes.length];
        yield buf.subarray(i, i + n);
        i += n;
      }
    })(),
  );
}
async function collect(src: Readable, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out.push(c);
      cb();
    },
  });
  await pipeline(src, ...(stages as [NodeJS.ReadWriteStream]), sink);
  return Buffer.concat(out);
}

describe('BackupEncoder', () => {
  const sizes = [[32 * 1024], [1], [31, 33, 5], [100_000], [7, 1, 32, 64]];
  it.each(sizes)('passes a snapshot through unchanged with one hash (chunks %p)', async (...s) => {
    const snap = snapshot(70_000);
    const enc = new BackupEncoder();
    const out = await collect(pieces(snap, s), enc);
    expect(out.equals(snap)).toBe(true);
    expect(enc.sha256).toBe(sha(snap));
    expect(enc.trailer).toBe(snap.subarray(-32).toString('hex'));
    expect([enc.snapshotBytes, enc.storedBytes]).toEqual([snap.length, snap.length]);
  });
  it('encrypts: the stored hash is of the ciphertext, which decrypts to the snapshot', async () => {
    const snap = snapshot(90_000);
    const key = crypto.randomBytes(32);
    const enc = new BackupEncoder({ key });
    const stored = await collect(pieces(snap, [4096, 3]), enc);
    expect(enc.sha256).toBe(sha(stored));
    expect(enc.storedBytes).toBe(stored.length);
    expect(enc.snapshotBytes).toBe(snap.length);
    expect((await collect(pieces(stored, [1000, 17]), new Decrypt(key))).equals(snap)).toBe(true);
  });
  it.each([
    ['altered', (b: Buffer) => ((b[10] ^= 1), b)],
    ['truncated', (b: Buffer) => b.subarray(0, b.length - 100)],
    ['shorter than the trailer', (b: Buffer) => b.subarray(0, 20)],
  ])('fails a %s snapshot', async (_n, damage) => {
    const enc = new BackupEncoder();
    await expect(collect(pieces(damage(snapshot(50_000)), [999]), enc)).rejects.toBeInstanceOf(IntegrityError);
  });
  it('EtcdTrailerCheck (the same chunk holding) accepts odd chunk sizes', async () => {
    const snap = snapshot(10_000);
    const check = new EtcdTrailerCheck();
    expect((await collect(pieces(snap, [1, 31, 32, 33]), check)).equals(snap)).toBe(true);
    expect(check.bytes).toBe(snap.length);
  });
});

describe('DurableFileWriter', () => {
  it('writes every byte in order, with background syncs on the way', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-unit-sink-'));
    try {
      const data = crypto.randomBytes(3_000_000);
      const file = path.join(dir, 'f');
      await pipeline(pieces(data, [32 * 1024, 5, 70_000]), new DurableFileWriter(file, 256 * 1024));
      expect(fs.readFileSync(file).equals(data)).toBe(true);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A fake S3 client: records commands, stores parts (copied, as a server would). */
