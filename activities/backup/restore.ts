// Restoring data dirs from a snapshot file with `etcdutl snapshot restore`,
// and the restore drill (a throwaway etcd on this machine).
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../common/spec';
import { clusterToken, clusterTopology, initialCluster } from '../../common/topology';
import { hostFiles, type HostProvider } from '../hosts';
import type { Etcd3 } from 'etcd3';
import { newEtcdClient } from '../etcd/client';
import { drillTls } from './drill-tls';

const run = promisify(execFile);

/** How far restored revisions jump, so watchers and caches never see a revision twice. */
export const BUMP_REVISION = 1_000_000_000;

/**
 * Restores one stopped member's data dir from `snapshot` (a file on the
 * worker, copied to the member's host) with the host's own etcdutl. The old
 * data dir is moved aside (`<dataDir>.before-<tag>`), never deleted.
 * Idempotent per tag: a retry after the swap finds the marker and does nothing.
 * Paths in the result are host paths.
 */
export async function restoreMemberDataDir(
  hosts: HostProvider,
  input: { spec: ClusterSpec; member: string; snapshot: string; tag: string },
): Promise<{ dataDir: string; keptAside?: string; alreadyRestored: boolean }> {
  const { spec, member, tag } = input;
  const at = { spec, member };
  if ((await hosts.status({ cluster: spec.name, member, spec })).running) {
    throw ApplicationFailure.nonRetryable(`member ${member} is running: stop it before restoring its data dir`, 'MemberRunning');
  }
  const { dataDir } = hostFiles(spec, member);
  const marker = `${dataDir}.restored`;
  const aside = `${dataDir}.before-${tag}`;
  if ((await hosts.readFile(at, marker))?.toString('utf8').trim() === tag) return { dataDir, alreadyRestored: true };

  const staging = `${dataDir}.restoring-${tag}`;
  const snapshot = `${dataDir}.restoring-${tag}.db`;
  await hosts.removePath(at, staging);
  await hosts.putFile(at, input.snapshot, snapshot, 0o600);
  const topo = clusterTopology(spec);
  const me = topo.find((t) => t.name === member)!;
  try {
    await hosts.exec(
      at,
      'etcdutl',
      [
        'snapshot',
        'restore',
        { hostPath: snapshot },
        '--name',
        member,
        '--data-dir',
        { hostPath: staging },
        '--initial-cluster',
        initialCluster(topo),
        '--initial-cluster-token',
        clusterToken(spec),
        '--initial-advertise-peer-urls',
        me.peerURL,
        '--bump-revision',
        String(BUMP_REVISION),
        '--mark-compacted',
      ],
      { timeoutMs: 600_000 },
    );
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`etcdutl snapshot restore for ${member} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}`);
  } finally {
    await hosts.removePath(at, snapshot);
  }
  let keptAside: string | undefined;
  if (await hosts.exists(at, dataDir)) {
    await hosts.removePath(at, aside);
    await hosts.move(at, dataDir, aside);
    keptAside = aside;
  }
  await hosts.move(at, staging, dataDir);
  await hosts.makeDir(at, dataDir, 0o700);
  await hosts.writeFile(at, marker, `${tag}\n`, 0o644);
  return { dataDir, keptAside, alreadyRestored: false };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The drill: restore `snapshot` into a scratch dir, start an etcd on 127.0.0.1
 * with free ports (clients over TLS with a throwaway CA, so a backup taken with
 * etcd auth on is read as etcdfleet-admin), count the keys, stop it. Measures the restore time.
 */
export async function drill<R = never>(input: {
  snapshot: string;
  binDir: string;
  workDir: string;
  /** Runs once the etcd answers (the change chain of continuous backups), before the keys are counted. */
  replay?: (client: Etcd3) => Promise<R>;
}): Promise<{ keys: number; revision: number; restoreMs: number; startMs: number; replayMs?: number; replayed?: R }> {
  const dataDir = path.join(input.workDir, 'data');
  const [client, peer] = [await freePort(), await freePort()];
  const t0 = Date.now();
  await run(path.join(input.binDir, 'etcdutl'), [
    'snapshot',
    'restore',
    input.snapshot,
    '--name',
    'drill',
    '--data-dir',
    dataDir,
    '--initial-cluster',
    `drill=http://127.0.0.1:${peer}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peer}`,
  ]);
  const restoreMs = Date.now() - t0;
  const tls = await drillTls(input.workDir);
  const proc = spawn(
    path.join(input.binDir, 'etcd'),
    [
      '--name',
      'drill',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      `https://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `https://127.0.0.1:${client}`,
      ...tls.args,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `drill=http://127.0.0.1:${peer}`,
      '--listen-metrics-urls',
      '',
    ],
    { stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  try {
    const c = newEtcdClient(`https://127.0.0.1:${client}`, tls.credentials, { timeoutMs: 2_000 });
    try {
      const deadline = Date.now() + 60_000;
      const count = async () => {
        const r = await c.kv.range({ key: Buffer.from('\0'), range_end: Buffer.from('\0'), count_only: true } as never);
        return { keys: Number(r.count), revision: Number(r.header.revision) };
      };
      let at: { keys: number; revision: number };
      for (;;) {
        try {
          at = await count();
          break;
        } catch (e) {
          if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`drill etcd did not answer: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const startMs = Date.now() - t0 - restoreMs;
      if (!input.replay) return { ...at, restoreMs, startMs };
      // Point-in-time drill: the snapshot's own revision is what is checked; keys are counted after the replay.
      const t1 = Date.now();
      const replayed = await input.replay(c);
      return { ...(await count()), revision: at.revision, restoreMs, startMs, replayMs: Date.now() - t1, replayed };
    } finally {
      c.close();
    }
  } finally {
    proc.kill('SIGKILL');
    await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
  }
}
