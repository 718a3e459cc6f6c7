// `npm run bench:backup`: backup throughput and memory.
//
// One etcd v3.5.10 member (plain http on 127.0.59.1, from the cached release)
// is filled with ≥ 256 MiB of incompressible values. Then, alternating in the
// same run:
//   ours:     a separate node process runs etcdfleet's backup path
//             (Maintenance.Snapshot stream → etcd trailer check → SHA-256 →
//             multipart Upload to the SeaweedFS S3 gateway), then verifies the
//             stored object (download → hashes → temp file → etcdutl status);
//             the same again into a directory (the embedded default target);
//   baseline: `etcdctl snapshot save` to a local file.
// Throughput = snapshot bytes / wall time of the transfer (ours: until the
// upload completed; verification is reported apart). Memory: the backup
// process samples its RSS every 10 ms; "over idle" is the peak minus the RSS
// just before the snapshot starts (modules loaded, clients created).
//
// Environment: BENCH_DB_MIB (256), BENCH_RUNS (3), BENCH_ENCRYPT=1 (AES-256-GCM
// on our side), BENCH_KEEP=1 keeps the work dir. Goals: ratio ≥ 0.8, memory
// over idle < 64 MiB. Exits 0 whatever the numbers; non-zero only on failure.
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { cacheDir, localMirrorDir, REPO_ROOT } from '../infra/config';
import { fetchRelease, anyCachedRelease } from '../activities/artifacts';
import { startS3Server } from '../infra/s3-server';
import { median } from './lib/report';

const run = promisify(execFile);
const VERSION = 'v3.5.10';
const ADDR = '127.0.59.1';
const MIB = 1024 * 1024;
const intEnv = (k: string, d: number) => (process.env[k] ? Math.max(1, Number(process.env[k])) : d);
const DB_MIB = intEnv('BENCH_DB_MIB', 256);
const RUNS = intEnv('BENCH_RUNS', 3);
const BUCKET = 'bench-backups';

interface ChildResult {
  bytes: number;
  uploadMs: number;
  verifyMs: number;
  idleRss: number;
  peakRss: number;
}

async function child(): Promise<void> {
  const [endpoint, s3endpoint, key, secret, encrypt, sink] = process.argv.slice(3);
  const { S3Target } = await import('../activities/backup/target');
  const { streamBackup, verifyStored, keyId } = await import('../activities/backup/backup');
  const { newEtcdClient } = await import('../activities/etcd/client');
  const { newSnapshotClient } = await import('../activities/etcd/ops');
  const { Transform } = await import('node:stream');
  const { DirTarget } = await import('../activities/backup/target');
  const s3target = new S3Target(
    {
      bucket: BUCKET,
      prefix: '',
      endpoint: s3endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyIdEnv: 'B_KEY',
      secretAccessKeyEnv: 'B_SECRET',
    },
    { B_KEY: key, B_SECRET: secret },
  );
  const dir = sink === 'dir' ? fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-dir-')) : undefined;
  const target = dir ? new DirTarget(dir) : s3target;
  const c = newSnapshotClient(endpoint, undefined);
  await c.maintenance.status();
  void newEtcdClient;
  const raw = crypto.randomBytes(32);
  const enc = encrypt === '1' ? { key: raw, id: keyId(raw) } : undefined;
  // Warm up: the SDK loads most of its modules on the first requests.
  // A long-lived worker has done this before its next backup: a small
  // multipart upload and a streamed download load the SDK's code paths.
  await target.put('warmup.bin', Readable.from([crypto.randomBytes(6 * 1024 * 1024)]));
  for await (const _ of await target.get('warmup.bin')) void _;
  await target.putText('warmup.json', '{}');
  await target.getText('warmup.json');
  await target.list('warmup');
  await target.delete('warmup.json');
  await target.delete('warmup.bin');
  (global as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const idleRss = process.memoryUsage.rss();
  let peakRss = idleRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 10);
  const t0 = Date.now();
  const grpc = (await c.maintenance.snapshot()) as unknown as NodeJS.ReadableStream;
  const blobs = new Transform({
    writableObjectMode: true,
    transform: (m: { blob: Buffer }, _e, cb) => cb(null, m.blob?.length ? m.blob : undefined),
  });
  grpc.on('error', (e) => blobs.destroy(e));
  grpc.pipe(blobs);
  const m = await streamBackup({ source: { stream: blobs, member: 'bench' }, target, cluster: 'bench', prefix: '', encryption: enc });
  const uploadMs = Date.now() - t0;
  const peakUpload = peakRss;
  const heapAfterUpload = process.memoryUsage();
  const t1 = Date.now();
  await verifyStored(target, m, path.join(anyCachedRelease(cacheDir(), VERSION), 'etcdutl'), enc?.key);
  const verifyMs = Date.now() - t1;
  clearInterval(sampler);
  c.close();
  await target.delete(m.object);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (process.env.BENCH_DEBUG) console.error(JSON.stringify({ peakUpload: (peakUpload - idleRss) / 1048576, heapAfterUpload }));
  const out: ChildResult = { bytes: m.snapshotBytes, uploadMs, verifyMs, idleRss, peakRss };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-backup-'));
  const mirror = localMirrorDir();
  const rel = await fetchRelease({ version: VERSION, source: fs.existsSync(mirror) ? `file://${mirror}` : 'github', cacheDir: cacheDir() });
  const bin = rel.binDir;
  const s3 = await startS3Server();
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  await new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  }).send(new CreateBucketCommand({ Bucket: BUCKET }));
  const endpoint = `http://${ADDR}:2379`;
  const etcd = spawn(
    path.join(bin, 'etcd'),
    [
      '--name',
      'bench',
      '--data-dir',
      path.join(root, 'data'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      `http://${ADDR}:2380`,
      '--initial-advertise-peer-urls',
      `http://${ADDR}:2380`,
      '--initial-cluster',
      `bench=http://${ADDR}:2380`,
      '--listen-metrics-urls',
      '',
      '--quota-backend-bytes',
      String(4 * 1024 * MIB),
      '--unsafe-no-fsync',
    ],
    { stdio: 'ignore' },
  );
  const cleanup = async () => {
    etcd.kill('SIGKILL');
    await s3.stop();
    if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    const { newEtcdClient } = await import('../activities/etcd/client');
    const c = newEtcdClient(endpoint, undefined, { timeoutMs: 30_000 });
    for (let i = 0; ; i++) {
      try {
        await c.maintenance.status();
        break;
      } catch {
        if (i > 100) throw new Error('bench etcd did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    log(`filling etcd with ${DB_MIB} MiB of random values…`);
    const value = 256 * 1024;
    const n = Math.ceil((DB_MIB * MIB) / value);
    for (let i = 0; i < n; i += 16) {
      await Promise.all(Array.from({ length: Math.min(16, n - i) }, (_, j) => c.put(`/bench/${i + j}`).value(crypto.randomBytes(value))));
    }
    const st = await c.maintenance.status();
    c.close();
    log(`database: ${(Number(st.dbSize) / MIB).toFixed(0)} MiB, ${n} keys`);

    const ours: ChildResult[] = [];
    const oursDir: ChildResult[] = [];
    const base: { bytes: number; ms: number }[] = [];
    const backup = async (sink: 's3' | 'dir'): Promise<ChildResult> => {
      const out = await run(
        process.execPath,
        [
          '--expose-gc',
          ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
          '--import',
          'tsx',
          path.join(REPO_ROOT, 'bench/backup.ts'),
          'child',
          endpoint,
          s3.endpoint,
          s3.accessKeyId,
          s3.secretAccessKey,
          process.env.BENCH_ENCRYPT === '1' ? '1' : '0',
          sink,
        ],
        {
          cwd: REPO_ROOT,
          maxBuffer: 10 * MIB,
        },
      );
      if (process.env.BENCH_DEBUG)
        log(
          out.stderr
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .join('\n'),
        );
      return JSON.parse(out.stdout.trim().split('\n').pop()!) as ChildResult;
    };
    for (let r = 0; r < RUNS; r++) {
      const res = await backup('s3');
      ours.push(res);
      const resDir = await backup('dir');
      oursDir.push(resDir);
      const file = path.join(root, `baseline-${r}.db`);
      const t0 = Date.now();
      await run(path.join(bin, 'etcdctl'), [`--endpoints=${endpoint}`, 'snapshot', 'save', file], { maxBuffer: 10 * MIB });
      base.push({ bytes: fs.statSync(file).size, ms: Date.now() - t0 });
      fs.rmSync(file);
      log(
        `run ${r + 1}: ours → S3 ${(res.bytes / MIB).toFixed(0)} MiB in ${res.uploadMs} ms (+${res.verifyMs} ms verify), peak RSS +${((res.peakRss - res.idleRss) / MIB).toFixed(1)} MiB; ours → directory ${resDir.uploadMs} ms (+${resDir.verifyMs} ms verify), peak RSS +${((resDir.peakRss - resDir.idleRss) / MIB).toFixed(1)} MiB; etcdctl ${base[r].ms} ms`,
      );
    }
    // The S3 server's own ceiling on this machine: the same number of bytes
    // uploaded from memory with the same part size and parallelism, no etcd.
    const { Upload } = await import('@aws-sdk/lib-storage');
    const { S3_PART_BYTES, S3_QUEUE_SIZE } = await import('../activities/backup/target');
    const s3c = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const block = crypto.randomBytes(MIB);
    const total = ours[0].bytes;
    const tc = Date.now();
    await new Upload({
      client: s3c,
      params: {
        Bucket: BUCKET,
        Key: 'ceiling',
        Body: Readable.from(
          (function* () {
            for (let i = 0; i < total; i += MIB) yield block.subarray(0, Math.min(MIB, total - i));
          })(),
        ),
      },
      partSize: S3_PART_BYTES,
      queueSize: S3_QUEUE_SIZE,
    }).done();
    const ceilingTp = total / MIB / ((Date.now() - tc) / 1000);
    const oursTp = median(ours.map((o) => o.bytes / MIB / (o.uploadMs / 1000)));
    const baseTp = median(base.map((b) => b.bytes / MIB / (b.ms / 1000)));
    const dirTp = median(oursDir.map((o) => o.bytes / MIB / (o.uploadMs / 1000)));
    const overIdle = Math.max(...[...ours, ...oursDir].map((o) => o.peakRss - o.idleRss)) / MIB;
    const ratio = oursTp / baseTp;
    console.log(
      `bench:backup  database ${(Number(st.dbSize) / MIB).toFixed(0)} MiB, ${RUNS} runs, encryption ${process.env.BENCH_ENCRYPT === '1' ? 'on' : 'off'}`,
    );
    console.log(
      `  etcdfleet backup → S3 (SeaweedFS): ${oursTp.toFixed(1)} MiB/s (median), verification ${median(ours.map((o) => o.verifyMs))} ms`,
    );
    console.log(`  etcdctl snapshot save → local file: ${baseTp.toFixed(1)} MiB/s (median)`);
    console.log(
      `  S3 server ceiling (same bytes from memory, same parts): ${ceilingTp.toFixed(1)} MiB/s; ours / ceiling ${(oursTp / ceilingTp).toFixed(2)}`,
    );
    console.log(
      `  etcdfleet backup → directory (the embedded default): ${dirTp.toFixed(1)} MiB/s (median), verification ${median(oursDir.map((o) => o.verifyMs))} ms; ratio ${(dirTp / baseTp).toFixed(2)}`,
    );
    console.log(
      `  throughput ratio S3 / etcdctl ${ratio.toFixed(2)} (goal ≥ 0.8) ${ratio >= 0.8 ? 'MET' : `NOT MET: the S3 server's own ceiling is ${(ceilingTp / baseTp).toFixed(2)} of etcdctl here`}`,
    );
    console.log(
      `  backup process peak RSS over idle ${overIdle.toFixed(1)} MiB (idle ${(ours[0].idleRss / MIB).toFixed(0)} MiB; goal < 64 MiB) ${overIdle < 64 ? 'MET' : 'NOT MET'}`,
    );
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === 'child') {
  child().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
