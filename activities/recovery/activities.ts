// Quorum-loss recovery activities: what every member looks like (process,
// data, applied index and revision; nothing is changed), and a snapshot of
// the most advanced survivor onto the worker. Both go through the host
// provider and the etcd client, so they work for local and ssh members alike.
// The restore itself reuses the backup activities (restoreMemberData).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import type { MemberAssessment } from '../../common/recovery';
import type { ClusterSpec } from '../../common/spec';
import { clusterTopology } from '../../common/topology';
import type { Config } from '../../infra/config';
import { heartbeating } from '../backup/activities';
import { snapshotStatus } from '../backup/backup';
import { EtcdTrailerCheck } from '../backup/stream';
import { stagedSnapshotPath } from '../backup/staging';
import { clientCredentials, newEtcdClient } from '../etcd/client';
import { openSnapshotStream } from '../etcd/ops';
import { hostFiles, providerFor, type HostProvider } from '../hosts';
import { allowedRelease } from '../policy';

const STATUS_TIMEOUT_MS = 3_000;

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

/** One member: its process, whether its data dir holds etcd data, and Maintenance.Status when it answers. */
async function assessMember(
  hosts: HostProvider,
  spec: ClusterSpec,
  creds: Awaited<ReturnType<typeof clientCredentials>>,
  member: string,
): Promise<MemberAssessment> {
  const at = { spec, member };
  const { dataDir } = hostFiles(spec, member);
  const [status, hasData] = await Promise.all([
    hosts.status({ cluster: spec.name, member, spec }).catch(() => ({ running: false })),
    hosts.exists(at, `${dataDir}/member`).catch(() => false),
  ]);
  const base = { name: member, running: status.running, hasData, answers: false };
  if (!status.running) return base;
  const t = clusterTopology(spec).find((x) => x.name === member)!;
  const c = newEtcdClient(t.clientURL, creds, { timeoutMs: STATUS_TIMEOUT_MS });
  try {
    const s = await c.maintenance.status();
    return {
      ...base,
      answers: true,
      appliedIndex: Number(s.raftAppliedIndex ?? s.raftIndex),
      raftIndex: Number(s.raftIndex),
      revision: Number(s.header.revision),
    };
  } catch (e) {
    return { ...base, error: errText(e) };
  } finally {
    c.close();
  }
}

export function recoveryActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);
  return {
    /** Every member as it is now; read-only (a member without quorum still answers Maintenance.Status). */
    async assessMembers({ spec }: { spec: ClusterSpec }): Promise<MemberAssessment[]> {
      const h = hosts(spec);
      const creds = await clientCredentials(h, spec);
      return Promise.all(spec.members.map((m) => assessMember(h, spec, creds, m.name)));
    },

    /**
     * Maintenance.Snapshot of one member (it needs no leader) into a file on
     * the worker, etcd's trailing SHA-256 checked on the way and the file read
     * back with `etcdutl snapshot status`. The file is where staged backups go,
     * so removeStagedBackup removes it.
     */
    async snapshotMember({
      spec,
      member,
      tag,
    }: {
      spec: ClusterSpec;
      member: string;
      tag: string;
    }): Promise<{ file: string; member: string; revision: number; totalKey: number; bytes: number }> {
      const file = await stagedSnapshotPath(cfg.stateDir, tag);
      const etcdutl = path.join((await allowedRelease(cfg, spec.version, spec.artifactSource)).binDir, 'etcdutl');
      return heartbeating(async () => {
        const snap = await openSnapshotStream(hosts(spec), spec, member);
        const check = new EtcdTrailerCheck();
        try {
          await pipeline(snap.stream, check, fs.createWriteStream(file, { mode: 0o600 }));
        } catch (e) {
          await fsp.rm(file, { force: true });
          throw new Error(`snapshot of ${member} failed: ${errText(e)}`);
        } finally {
          snap.close();
        }
        const st = await snapshotStatus(etcdutl, file).catch((e: unknown) => {
          throw ApplicationFailure.nonRetryable(`snapshot of ${member} is not readable: ${errText(e)}`, 'BackupCorrupt');
        });
        return { file, member, revision: st.revision, totalKey: st.totalKey, bytes: check.bytes };
      });
    },
  };
}
