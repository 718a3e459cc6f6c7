// `npm run bench:restore`: point-in-time restore against a plain restore.
//
// A source etcd v3.5.10 member (plain http on 127.0.159.1) is filled with
// BENCH_DB_MIB of incompressible values; etcdfleet takes an encrypted full
// backup into a directory target (its backup path: snapshot stream → trailer
// check → AES-256-GCM → manifest, verified with etcdutl), then its recorder
// (the watch behind `backup.continuous`) records BENCH_CHANGE_SECONDS of
// changes (puts, overwrites and deletes) as encrypted chunks. Then, in the
// same run, into a new 3-member cluster (127.0.159.11-13):
//   ours:     download + decrypt + check the backup, `etcdutl snapshot restore`
//             of each member (revision bumped, marked compacted, as the
//             restore runbook does), start, first answer, then plan the chain
//             and replay every recorded change through the etcd API;
//   baseline: `etcdutl snapshot restore` of the same (already local, plain)
//             snapshot for each member, start, first answer; and the same
//             with --bump-revision --mark-compacted (shown, not the baseline),
//             which tells the flags' cost from the rest.
// Each timed part starts after a `sync`, so writes of an earlier part do not
// land in it.
// Both end with the same keys as the source (checked). The library code of
// the activities runs here directly, without Temporal and the API around it.
//
// Environment: BENCH_DB_MIB (128; the goal is ≥ 1024), BENCH_CHANGE_SECONDS
// (20; the issue says 60), BENCH_RUNS (1), BENCH_KEEP=1 keeps the work dir.
// Goal: ours ≤ 1.5 × baseline. Exits 0 whatever the numbers; non-zero only on failure.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Etcd3 } from 'etcd3';
import { cacheDir, localMirrorDir } from '../infra/config';
import { fetchRelease } from '../activities/artifacts';
import { stagedSnapshotPath } from '../activities/backup/staging';
import { fetchToFile, keyId, streamBackup, verifyStored, writeManifest } from '../activities/backup/backup';
import { loadPlan, replayPlan } from '../activities/backup/continuous';
import { recordChanges } from '../activities/backup/continuous-recorder';
import { BUMP_REVISION } from '../activities/backup/restore';
import { DirTarget } from '../activities/backup/target';
import { newEtcdClient } from '../activities/etcd/client';
import { newSnapshotClient } from '../activities/etcd/ops';
import { intEnv, loadavg, median, secs } from './lib/report';

const run = promisify(execFile);
const VERSION = 'v3.5.10';
const MIB = 1024 * 1024;
const DB_MIB = intEnv('BENCH_DB_MIB', 128, 1, 65536);
const CHANGE_SECONDS = intEnv('BENCH_CHANGE_SECONDS', 20, 1, 3600);
const RUNS = intEnv('BENCH_RUNS', 1, 1, 20);
const SRC = '127.0.159.1';
const MEMBERS = [11, 12, 13].map((i) => ({ name: `r${i}`, ip: `127.0.159.${i}` }));
const log = (s: string) => process.stderr.write(`${s}\n`);

function startEtcd(bin: string, name: string, ip: string, dataDir: string, initialCluster: string, extra: string[] = []): ChildProcess {
  const url = (port: number) => `http://${ip}:${port}`;
  return spawn(
    path.join(bin, 'etcd'),
    [
      ...['--name', name, '--data-dir', dataDir, '--listen-client-urls', url(2379), '--advertise-client-urls', url(2379)],
      ...['--listen-peer-urls', url(2380), '--initial-advertise-peer-urls', url(2380), '--initial-cluster', initialCluster],
      ...['--listen-metrics-urls', '', '--quota-backend-bytes', String(8 * 1024 * MIB), ...extra],
    ],
    { stdio: 'ignore' },
  );
}

async function answering(c: Etcd3): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await c.get('bench-probe').exec();
      return;
    } catch (e) {
      if (i > 600) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function stop(procs: ChildProcess[]): Promise<void> {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(undefined) : p.once('exit', r)))));
}

/** etcdutl restore of each member, start, first answer; `after` runs against the new cluster. Returns ms and the key count. */
async function restoreInto(bin: string, root: string, snapshot: string, bump: boolean, after?: (c: Etcd3) => Promise<unknown>) {
  const initial = MEMBERS.map((m) => `${m.name}=http://${m.ip}:2380`).join(',');
  const dirs = MEMBERS.map((m) => path.join(root, `restore-${m.name}`));
  const t0 = Date.now();
  await Promise.all(
    MEMBERS.map((m, i) =>
      run(path.join(bin, 'etcdutl'), [
        ...['snapshot', 'restore', snapshot, '--name', m.name, '--data-dir', dirs[i], '--initial-cluster', initial],
        ...['--initial-advertise-peer-urls', `http://${m.ip}:2380`, '--initial-cluster-token', 'bench-restore'],
        ...(bump ? ['--bump-revision', String(BUMP_REVISION), '--mark-compacted'] : []),
      ]),
    ),
  );
  const restoredMs = Date.now() - t0;
  const procs = MEMBERS.map((m, i) => startEtcd(bin, m.name, m.ip, dirs[i], initial));
  const c = newEtcdClient(
    MEMBERS.map((m) => `http://${m.ip}:2379`),
    undefined,
    { timeoutMs: 30_000 },
  );
  try {
    await answering(c);
    const t1 = Date.now();
    await after?.(c);
    const ms = Date.now() - t0;
    const afterMs = Date.now() - t1;
    const keys = Number((await c.kv.range({ key: Buffer.from('\0'), range_end: Buffer.from('\0'), count_only: true } as never)).count);
    return { ms, keys, afterMs, restoredMs, startMs: ms - afterMs - restoredMs };
  } finally {
    c.close();
    await stop(procs);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-restore-'));
  const mirror = localMirrorDir();
  const rel = await fetchRelease({ version: VERSION, source: fs.existsSync(mirror) ? `file://${mirror}` : 'github', cacheDir: cacheDir() });
  const bin = rel.binDir;
  const endpoint = `http://${SRC}:2379`;
  const source = startEtcd(bin, 'src', SRC, path.join(root, 'src'), `src=http://${SRC}:2380`, ['--unsafe-no-fsync']);
  const target = new DirTarget(path.join(root, 'target'));
  const raw = crypto.randomBytes(32);
  const enc = { key: raw, id: keyId(raw) };
  const c = newEtcdClient(endpoint, undefined, { timeoutMs: 30_000 });
  try {
    await answering(c);
    // A leftover etcd on the address would answer instead of ours (and keep its data).
    if (source.exitCode !== null) throw new Error(`the source etcd exited (${source.exitCode}): is another one running on ${SRC}?`);
    log(`filling the source with ${DB_MIB} MiB of random values…`);
    const value = 64 * 1024;
    const n = Math.ceil((DB_MIB * MIB) / value);
    for (let i = 0; i < n; i += 32) {
      await Promise.all(Array.from({ length: Math.min(32, n - i) }, (_, j) => c.put(`/bench/${i + j}`).value(crypto.randomBytes(value))));
    }
    log('full backup (encrypted, directory target)…');
    const snap = newSnapshotClient(endpoint, undefined);
    const { Transform } = await import('node:stream');
    const grpc = (await snap.maintenance.snapshot()) as unknown as NodeJS.ReadableStream;
    const blobs = new Transform({
      writableObjectMode: true,
      transform: (m: { blob: Buffer }, _e, cb) => cb(null, m.blob?.length ? m.blob : undefined),
    });
    grpc.on('error', (e) => blobs.destroy(e));
    grpc.pipe(blobs);
    const m = await streamBackup({ source: { stream: blobs, member: 'src' }, target, cluster: 'bench', prefix: '', encryption: enc });
    snap.close();
    const st = await verifyStored(target, m, path.join(bin, 'etcdutl'), raw);
    m.verified = { at: new Date().toISOString(), ...st };
    await writeManifest(target, '', m);
    log(`backup: ${(m.snapshotBytes / MIB).toFixed(0)} MiB at revision ${st.revision}; recording ${CHANGE_SECONDS} s of changes…`);

    let stopRecorder!: () => void;
    const stopped = new Promise((r) => (stopRecorder = () => r(undefined)));
    const recorder = recordChanges({
      client: c,
      target,
      cluster: 'bench',
      prefix: '',
      encryption: enc,
      startRevision: st.revision + 1,
      flushMs: 1_000,
      maxEvents: 10_000,
      segmentMs: 3_600_000,
      abort: stopped,
    });
    let writes = 0;
    const until = Date.now() + CHANGE_SECONDS * 1000;
    while (Date.now() < until) {
      await Promise.all(
        Array.from({ length: 16 }, (_, j) => {
          const i = writes + j;
          return i % 5 === 4
            ? c
                .delete()
                .key(`/bench/${i % n}`)
                .exec()
            : c.put(`/changes/${i % 5000}`).value(crypto.randomBytes(512));
        }),
      );
      writes += 16;
    }
    await new Promise((r) => setTimeout(r, 1_500));
    stopRecorder();
    const rec = await recorder;
    const want = Number((await c.kv.range({ key: Buffer.from('\0'), range_end: Buffer.from('\0'), count_only: true } as never)).count);
    log(`recorded ${rec.events} changes in ${rec.chunks} chunks up to revision ${rec.revision}; the source has ${want} keys`);

    const plainFile = path.join(root, 'plain.db');
    await fetchToFile(target, m, plainFile, raw);
    const ours: number[] = [];
    const base: number[] = [];
    const flagged: number[] = [];
    let replayed = 0;
    for (let r = 0; r < RUNS; r++) {
      // Where the restore activity stages it (activities/backup/staging.ts).
      const file = await stagedSnapshotPath(path.join(root, 'state'), `bench-restore-${process.pid}-${r}`);
      // The download is part of ours: time it together with the rest.
      // Each timed part starts with no other writes of this run pending (the files written before it flushed).
      const oursRun = async () => {
        await run('sync');
        const t0 = Date.now();
        await fetchToFile(target, m, file, raw);
        const dl = Date.now() - t0;
        const o = await restoreInto(bin, root, file, true, async (client) => {
          const plan = await loadPlan(target, '', 'bench', 'latest', { tip: true });
          replayed = (await replayPlan(client, target, plan, raw)).applied;
        });
        fs.rmSync(file, { force: true });
        if (o.keys !== want) throw new Error(`ours restored ${o.keys} keys, the source has ${want}`);
        return { dl, o };
      };
      const baseRun = async () => {
        await run('sync');
        return restoreInto(bin, root, plainFile, false);
      };
      // The first restore of a run is slower whoever does it (measured apart: 11.0 s, then 4.8-6.9 s for the
      // same three restores): the sides take turns going first.
      let ourRun: Awaited<ReturnType<typeof oursRun>>;
      let b: Awaited<ReturnType<typeof baseRun>>;
      if (r % 2 === 0) [ourRun, b] = [await oursRun(), await baseRun()];
      else [b, ourRun] = [await baseRun(), await oursRun()];
      const { dl, o: o2 } = ourRun;
      ours.push(dl + o2.ms);
      base.push(b.ms);
      // The baseline with the runbook's flags: what --bump-revision --mark-compacted cost on their own.
      await run('sync');
      const f = await restoreInto(bin, root, plainFile, true);
      flagged.push(f.ms);
      log(
        `run ${r + 1} (${r % 2 === 0 ? 'ours' : 'the baseline'} first): ours ${secs(dl + o2.ms)} s (download and decrypt ${secs(dl)} s, etcdutl restore ${secs(o2.restoredMs)} s, start ${secs(o2.startMs)} s, ${replayed} changes replayed in ${secs(o2.afterMs)} s); etcdutl restore + start ${secs(b.ms)} s (restore ${secs(b.restoredMs)} s, start ${secs(b.startMs)} s); with --bump-revision --mark-compacted ${secs(f.ms)} s (restore ${secs(f.restoredMs)} s, start ${secs(f.startMs)} s); load ${loadavg()}`,
      );
    }
    const ratio = median(ours) / median(base);
    console.log(
      `bench:restore  full backup ${(m.snapshotBytes / MIB).toFixed(0)} MiB + ${CHANGE_SECONDS} s of changes (${rec.events} recorded), 3 members, ${RUNS} run(s), load ${loadavg()}`,
    );
    console.log(`  etcdfleet point-in-time restore (download, decrypt, restore, start, replay): ${secs(median(ours))} s (median)`);
    console.log(`  etcdutl snapshot restore + start (same snapshot, local, plain): ${secs(median(base))} s (median)`);
    console.log(`  the same with --bump-revision --mark-compacted (as the restore runbook): ${secs(median(flagged))} s (median)`);
    console.log(`  ratio ${ratio.toFixed(2)} (goal ≤ 1.5) ${ratio <= 1.5 ? 'MET' : 'NOT MET'}`);
  } finally {
    c.close();
    await stop([source]);
    if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
