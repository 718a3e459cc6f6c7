// `npm run bench:backup`: backup throughput and memory.
//
// One etcd v3.5.10 member (plain http on 127.0.59.1, from the cached release)
// is filled with ≥ 256 MiB of incompressible values. Then, alternating in the
// same run:
//   ours:     a separate node process runs etcdfleet's backup path
//             (Maintenance.Snapshot stream → BackupEncoder: etcd trailer
//             check, SHA-256 → multipart upload to the SeaweedFS S3 gateway),
//             then verifies the stored object (download → hashes → temp file
//             → etcdutl status); the same again into a directory (the
//             embedded default target);
//   baseline: `etcdctl snapshot save` to a local file;
//   S3 ceiling: that same file uploaded by the AWS SDK's own `Upload`
//             (@aws-sdk/lib-storage, its default parts and queue) from a file
//             stream, and by the AWS CLI (`aws s3 cp`, from PyPI, its
//             defaults), both without per-part checksums like ours.
// Throughput = snapshot bytes / wall time of the transfer (ours: until the
// upload completed; verification is reported apart). Memory: the backup
// process samples its RSS every 10 ms; "over idle" is the peak minus the RSS
// just before the snapshot starts (modules loaded, clients created). Each run
// line carries the 1-minute load average (2 shared cores).
//
// Environment: BENCH_DB_MIB (256), BENCH_RUNS (3), BENCH_ENCRYPT=1 (AES-256-GCM
// on our side), BENCH_KEEP=1 keeps the work dir. Goals: S3 ≥ 0.9 of the best
// ceiling, directory ≥ 0.9 of etcdctl, memory over idle < 64 MiB. Exits 0
// whatever the numbers; non-zero only on failure.
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
import { ensureAwsCli } from '../infra/awscli';
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
  // multipart upload (two parts) and a streamed download load the SDK's code paths.
  const { S3_PART_BYTES } = await import('../activities/backup/target');
  await target.put('warmup.bin', Readable.from([crypto.randomBytes(S3_PART_BYTES + MIB)]));
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

/** The S3 server's ceiling here: a snapshot file uploaded by the AWS SDK's `Upload` and by the AWS CLI. */
async function ceilings(s3: Awaited<ReturnType<typeof startS3Server>>, log: (s: string) => void) {
  const { S3Client, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const drop = (Key: string) => client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
  let aws: string | undefined;
  let cliMissing = '';
  try {
    aws = await ensureAwsCli({ log });
  } catch (e) {
    cliMissing = `AWS CLI could not be installed: ${(e as Error).message.split('\n')[0]}`;
    log(cliMissing);
  }
  return {
    cliMissing,
    async sdk(file: string): Promise<number> {
      const t0 = Date.now();
      await new Upload({ client, params: { Bucket: BUCKET, Key: 'ceiling-sdk', Body: fs.createReadStream(file) } }).done();
      const ms = Date.now() - t0;
      await drop('ceiling-sdk');
      return ms;
    },
    async cli(file: string): Promise<number | undefined> {
      if (!aws) return undefined;
      const t0 = Date.now();
      await run(aws, ['--endpoint-url', s3.endpoint, 's3', 'cp', '--only-show-errors', file, `s3://${BUCKET}/ceiling-cli`], {
        env: {
          PATH: process.env.PATH,
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          AWS_DEFAULT_REGION: s3.region,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
        },
        maxBuffer: 10 * MIB,
      });
      const ms = Date.now() - t0;
      await drop('ceiling-cli');
      return ms;
    },
  };
}

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-backup-'));
  const mirror = localMirrorDir();
  const rel = await fetchRelease({ version: VERSION, source: fs.existsSync(mirror) ? `file://${mirror}` : 'github', cacheDir: cacheDir() });
  const bin = rel.binDir;
  // Every run uploads the snapshot three times; SeaweedFS reclaims nothing meanwhile.
  const s3 = await startS3Server({ maxVolumes: 16 + RUNS * 12 });
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
    const ceiling = await ceilings(s3, log);
    const sdk: number[] = [];
    const cli: number[] = [];
    const loads: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const res = await backup('s3');
      ours.push(res);
      const resDir = await backup('dir');
      oursDir.push(resDir);
      const file = path.join(root, `baseline-${r}.db`);
      const t0 = Date.now();
      await run(path.join(bin, 'etcdctl'), [`--endpoints=${endpoint}`, 'snapshot', 'save', file], { maxBuffer: 10 * MIB });
      base.push({ bytes: fs.statSync(file).size, ms: Date.now() - t0 });
      sdk.push(await ceiling.sdk(file));
      const cliMs = await ceiling.cli(file);
      if (cliMs !== undefined) cli.push(cliMs);
      fs.rmSync(file);
      loads.push(os.loadavg()[0]);
      log(
        `run ${r + 1} (load ${loads[r].toFixed(1)}): ours → S3 ${(res.bytes / MIB).toFixed(0)} MiB in ${res.uploadMs} ms (+${res.verifyMs} ms verify), peak RSS +${((res.peakRss - res.idleRss) / MIB).toFixed(1)} MiB; ours → directory ${resDir.uploadMs} ms (+${resDir.verifyMs} ms verify), peak RSS +${((resDir.peakRss - resDir.idleRss) / MIB).toFixed(1)} MiB; etcdctl ${base[r].ms} ms; SDK Upload from the file ${sdk[r]} ms; AWS CLI ${cliMs ?? '-'} ms`,
      );
    }
    const tp = (bytes: number, ms: number) => bytes / MIB / (ms / 1000);
    const oursTp = median(ours.map((o) => tp(o.bytes, o.uploadMs)));
    const baseTp = median(base.map((b) => tp(b.bytes, b.ms)));
    const dirTp = median(oursDir.map((o) => tp(o.bytes, o.uploadMs)));
    const sdkTp = median(sdk.map((ms, i) => tp(base[i].bytes, ms)));
    const cliTp = cli.length ? median(cli.map((ms, i) => tp(base[i].bytes, ms))) : 0;
    const best = Math.max(sdkTp, cliTp);
    const overIdle = Math.max(...[...ours, ...oursDir].map((o) => o.peakRss - o.idleRss)) / MIB;
    const s3Ratio = oursTp / best;
    const dirRatio = dirTp / baseTp;
    const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
    console.log(
      `bench:backup  database ${(Number(st.dbSize) / MIB).toFixed(0)} MiB, ${RUNS} runs, encryption ${process.env.BENCH_ENCRYPT === '1' ? 'on' : 'off'}, load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
    );
    console.log(`  etcdctl snapshot save → local file: ${baseTp.toFixed(1)} MiB/s (median)`);
    console.log(
      `  etcdfleet backup → directory (the embedded default): ${dirTp.toFixed(1)} MiB/s (median), verification ${median(oursDir.map((o) => o.verifyMs))} ms; / etcdctl ${dirRatio.toFixed(2)} (goal ≥ 0.9) ${met(dirRatio >= 0.9)}`,
    );
    console.log(
      `  etcdfleet backup → S3 (SeaweedFS): ${oursTp.toFixed(1)} MiB/s (median), verification ${median(ours.map((o) => o.verifyMs))} ms; / etcdctl ${(oursTp / baseTp).toFixed(2)}`,
    );
    console.log(
      `  S3 ceiling, the etcdctl file uploaded: SDK Upload ${sdkTp.toFixed(1)} MiB/s, AWS CLI ${cli.length ? `${cliTp.toFixed(1)} MiB/s` : `not measured (${ceiling.cliMissing})`} (medians); ours / best ${s3Ratio.toFixed(2)} (goal ≥ 0.9) ${met(s3Ratio >= 0.9)}`,
    );
    console.log(
      `  backup process peak RSS over idle ${overIdle.toFixed(1)} MiB (idle ${(ours[0].idleRss / MIB).toFixed(0)} MiB; goal < 64 MiB) ${met(overIdle < 64)}`,
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
