// Continuous backups (issue 12): chunk and manifest encoding, the
// point-in-time chain selection with its refusals, the replay window and
// batching.
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { keyId } from '../../activities/backup/backup';
import { planPointInTime, ChainError, type BaseBackup } from '../../activities/backup/continuous-chain';
import {
  changeKeys,
  decodeChunk,
  encodeChunk,
  parseChunkManifest,
  type ChangeEvent,
  type ChunkManifest,
} from '../../activities/backup/continuous-format';
import { inWindow, Replayer } from '../../activities/backup/continuous-replay';
import { Decrypt, IntegrityError } from '../../activities/backup/stream';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const T0 = Date.parse('2026-01-01T00:00:00Z');
const ev = (r: number, op: 'put' | 'del', k: string, v?: string, t = T0 + r * 1000): ChangeEvent =>
  op === 'put' ? { r, t, op, k: b64(k), v: b64(v ?? '') } : { r, t, op, k: b64(k) };
const key = crypto.randomBytes(32);

describe('chunk encoding', () => {
  const events = [ev(11, 'put', 'a', '1'), ev(12, 'put', 'b', '2'), ev(12, 'del', 'c'), ev(14, 'put', 'a', '3')];

  it('round-trips plain and encrypted chunks, with a manifest naming the range', () => {
    for (const encryption of [undefined, { key, id: keyId(key) }]) {
      const { body, manifest } = encodeChunk({
        cluster: 'c1',
        prefix: 'p/',
        fromRevision: 11,
        events,
        coveredUntil: new Date(T0 + 20_000),
        encryption,
      });
      expect(manifest).toMatchObject({
        fromRevision: 11,
        toRevision: 14,
        events: 4,
        encryption: encryption ? { keyId: encryption.id } : null,
      });
      expect(manifest.object).toBe(changeKeys('p/', 'c1').chunk(11, 14, !!encryption).object);
      expect(manifest.object.startsWith('p/c1/changes/00000000000000000011-00000000000000000014.jsonl.gz')).toBe(true);
      expect(decodeChunk(body, manifest, key)).toEqual(events);
      expect(parseChunkManifest(JSON.stringify(manifest))).toEqual(manifest);
    }
    expect(parseChunkManifest('{"formatVersion":1}')).toBeUndefined();
  });

  it('uses the full backups encryption format (stream.ts Decrypt opens a chunk)', async () => {
    const { body } = encodeChunk({
      cluster: 'c1',
      prefix: '',
      fromRevision: 11,
      events,
      coveredUntil: new Date(),
      encryption: { key, id: keyId(key) },
    });
    const out: Buffer[] = [];
    await pipeline(Readable.from([body]), new Decrypt(key), async (src: AsyncIterable<Buffer>) => {
      for await (const b of src) out.push(b as Buffer);
    });
    expect(Buffer.concat(out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
  });

  it('refuses altered, truncated or wrongly keyed chunks', () => {
    const { body, manifest } = encodeChunk({
      cluster: 'c1',
      prefix: '',
      fromRevision: 11,
      events,
      coveredUntil: new Date(),
      encryption: { key, id: keyId(key) },
    });
    const altered = Buffer.from(body);
    altered[altered.length - 20] ^= 1;
    expect(() => decodeChunk(altered, manifest, key)).toThrow(IntegrityError);
    expect(() => decodeChunk(altered, { ...manifest, sha256: crypto.createHash('sha256').update(altered).digest('hex') }, key)).toThrow(
      /authentication/,
    );
    expect(() => decodeChunk(body.subarray(0, 10), manifest, key)).toThrow(/sha256/);
    expect(() => decodeChunk(body, manifest, crypto.randomBytes(32))).toThrow(/encrypted with key/);
    expect(() => decodeChunk(body, manifest)).toThrow(/no backup key/);
  });

  it('refuses events out of revision order', () => {
    expect(() =>
      encodeChunk({
        cluster: 'c',
        prefix: '',
        fromRevision: 11,
        events: [ev(12, 'put', 'a'), ev(11, 'put', 'b')],
        coveredUntil: new Date(),
      }),
    ).toThrow(/order/);
    expect(() =>
      encodeChunk({ cluster: 'c', prefix: '', fromRevision: 13, events: [ev(12, 'put', 'a')], coveredUntil: new Date() }),
    ).toThrow(/order/);
  });
});

describe('point-in-time chain', () => {
  const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
  const chunk = (from: number, to: number, covered = to): ChunkManifest =>
    encodeChunk({
      cluster: 'c',
      prefix: '',
      fromRevision: from,
      events: [ev(to, 'put', `k${to}`)],
      coveredUntil: new Date(T0 + covered * 1000),
    }).manifest;
  const backups: BaseBackup[] = [
    { id: 'b10', revision: 10, createdAt: iso(10) },
    { id: 'b30', revision: 30, createdAt: iso(30) },
  ];
  const chunks = [chunk(11, 15), chunk(16, 22), chunk(23, 35), chunk(36, 40)];

  it('picks the newest backup at or before a revision and the chunks up to it', () => {
    const p = planPointInTime({ backups, chunks, backup: 'latest', point: { revision: 20 } });
    expect(p).toMatchObject({ backup: 'b10', baseRevision: 10, untilRevision: 20 });
    expect(p.chunks.map((c) => [c.fromRevision, c.toRevision])).toEqual([
      [11, 15],
      [16, 22],
    ]);
    const q = planPointInTime({ backups, chunks, backup: 'latest', point: { revision: 38 } });
    expect(q.backup).toBe('b30');
    expect(q.chunks.map((c) => c.fromRevision)).toEqual([23, 36]);
    expect(planPointInTime({ backups, chunks, backup: 'latest', point: { revision: 30 } }).chunks).toEqual([]);
  });

  it('resolves a time to the newest backup taken before it and the chunks that cover it', () => {
    const p = planPointInTime({ backups, chunks, backup: 'latest', point: { time: iso(20) } });
    expect(p).toMatchObject({ backup: 'b10', untilTime: iso(20) });
    expect(p.chunks.map((c) => c.toRevision)).toEqual([15, 22]);
    expect(planPointInTime({ backups, chunks, backup: 'latest', point: { time: iso(33) } }).backup).toBe('b30');
  });

  it('refuses a hole in the chain, naming the missing revisions', () => {
    const holey = [chunk(11, 15), chunk(19, 22)];
    expect(() => planPointInTime({ backups, chunks: holey, backup: 'latest', point: { revision: 20 } })).toThrow(
      /revisions 16–18 are missing/,
    );
    expect(() => planPointInTime({ backups, chunks: holey, backup: 'latest', point: { time: iso(21) } })).toThrow(ChainError);
    // Up to the hole is fine.
    expect(planPointInTime({ backups, chunks: holey, backup: 'latest', point: { revision: 15 } }).chunks).toHaveLength(1);
    // The drill's "as far as it goes" reports the hole instead.
    expect(planPointInTime({ backups: backups.slice(0, 1), chunks: holey, backup: 'latest', point: { tip: true } })).toMatchObject({
      recordedRevision: 15,
      gap: { from: 16, to: 18 },
    });
  });

  it('refuses a point past the record, or before every backup', () => {
    expect(() => planPointInTime({ backups, chunks, backup: 'latest', point: { revision: 41 } })).toThrow(/recorded up to revision 40/);
    expect(() => planPointInTime({ backups, chunks, backup: 'latest', point: { time: iso(45) } })).toThrow(/recorded up to revision 40/);
    expect(() => planPointInTime({ backups, chunks, backup: 'latest', point: { revision: 5 } })).toThrow(
      /no backup at or before revision 5; the oldest is b10/,
    );
    expect(() => planPointInTime({ backups, chunks, backup: 'b30', point: { revision: 20 } })).toThrow(
      /backup b30 .* is later than revision 20/,
    );
    expect(() => planPointInTime({ backups, chunks, backup: 'nope', point: { revision: 20 } })).toThrow(/no backup nope/);
    expect(() => planPointInTime({ backups: [], chunks, backup: 'latest', point: { revision: 20 } })).toThrow(/no verified backup/);
  });

  it('the head extends the covered time of the chain it ends', () => {
    const head = { formatVersion: 1 as const, cluster: 'c', revision: 40, coveredUntil: iso(60) };
    expect(planPointInTime({ backups, chunks, head, backup: 'latest', point: { time: iso(55) } }).recordedUntil).toBe(iso(60));
    // A head of another chain (after a hole) says nothing about this one.
    expect(() => planPointInTime({ backups, chunks, head: { ...head, revision: 99 }, backup: 'latest', point: { time: iso(55) } })).toThrow(
      ChainError,
    );
  });
});

describe('replay', () => {
  it('takes the changes in the window and says when it ended', () => {
    const events = [ev(10, 'put', 'a'), ev(11, 'put', 'b'), ev(12, 'del', 'a'), ev(13, 'put', 'c')];
    expect(inWindow(events, { afterRevision: 10, untilRevision: 12 })).toEqual({ take: events.slice(1, 3), end: true });
    expect(inWindow(events, { afterRevision: 9, untilRevision: 99 })).toEqual({ take: events, end: false });
    expect(inWindow(events, { afterRevision: 9, untilRevision: 99, untilTime: T0 + 11_000 }).take.map((e) => e.r)).toEqual([10, 11]);
  });

  it('keeps the last change per key of a chunk and writes distinct keys in transactions, without leases', async () => {
    type Op = { request_put?: { key: Buffer; value: Buffer; lease?: unknown }; request_delete_range?: { key: Buffer } };
    const txns: { success: Op[] }[] = [];
    const client = { kv: { txn: async (t: { success: Op[] }) => void txns.push(t) } } as never;
    const show = (o: Op) => (o.request_put ? `put ${o.request_put.key}=${o.request_put.value}` : `del ${o.request_delete_range!.key}`);
    const r = new Replayer(client, 10);
    await r.add([ev(11, 'put', 'a', '1'), ev(12, 'put', 'b', '2'), ev(13, 'put', 'a', '3'), ev(14, 'del', 'b'), ev(15, 'put', 'c', '4')]);
    await r.flush();
    expect(txns.map((t) => t.success.map(show))).toEqual([['put a=3', 'del b', 'put c=4']]);
    expect(txns.flatMap((t) => t.success).some((o) => o.request_put?.lease !== undefined)).toBe(false);
    expect(r.result).toMatchObject({ applied: 5, writes: 3, revision: 15, at: new Date(T0 + 15_000).toISOString() });
    // The next chunk comes after: b is put again.
    await r.add([ev(16, 'put', 'b', '5')]);
    await r.flush();
    expect(txns.map((t) => t.success.map(show))[1]).toEqual(['put b=5']);
    const many = new Replayer(client, 0);
    txns.length = 0;
    await many.add(Array.from({ length: 300 }, (_, i) => ev(i + 1, 'put', `k${i}`)));
    await many.flush();
    expect(txns.map((t) => t.success.length).sort((x, y) => y - x)).toEqual([128, 128, 44]);
  });
});
