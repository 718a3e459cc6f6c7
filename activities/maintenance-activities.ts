// maintenance activities, bound to the worker's configuration (spread into createActivities).
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import type { ClusterSpec } from '../common/spec';
import { RETENTION_RULE, durationMs } from '../common/duration';
import { base64KeyOf, persistedSecret, type Config } from '../infra/config';
import { allowedRelease, assertBackupAllowed, assertPathsAllowed } from './policy';
import { clusterHealth } from './etcd/client';
import { providerFor, type HostProvider } from './hosts';
import { moveLeader } from './etcd/membership';
import {
  deleteBackup,
  keyId,
  readManifests,
  retentionPlan,
  streamBackup,
  verifyStored,
  withTempDir,
  writeManifest,
  fetchToFile,
  snapshotStatus,
  type BackupManifest,
  type EncryptionKey,
} from './backup/backup';
import { IntegrityError } from './backup/stream';
import { openTarget as openAnyTarget, type BackupSettings } from './backup/target';
import { compactTo, currentRevision, defragmentMember, disarmAlarms, memberStatuses, openSnapshotStream } from './maintenance/etcd-ops';
import { drill, restoreMemberDataDir } from './maintenance/restore';
import { MaintenanceSchedules } from './maintenance/schedules';

/** Where a backup lives: the settings of the cluster that took it (S3 or dir) and its manifest. */
export interface BackupRef {
  cluster: string;
  settings?: BackupSettings;
  id: string;
}

export interface BackupSummary {
  id: string;
  createdAt: string;
  member: string;
  revision?: number;
  totalKey?: number;
  snapshotBytes: number;
  storedBytes: number;
  sha256: string;
  encrypted: boolean;
  object: string;
}

export function summarize(m: BackupManifest): BackupSummary {
  return {
    id: m.id,
    createdAt: m.createdAt,
    member: m.member,
    revision: m.verified?.revision ?? m.revision,
    totalKey: m.verified?.totalKey,
    snapshotBytes: m.snapshotBytes,
    storedBytes: m.storedBytes,
    sha256: m.sha256,
    encrypted: !!m.encryption,
    object: m.object,
  };
}

/** The backup encryption key: ETCDFLEET_BACKUP_KEY (base64, 32 bytes) or generated into the state dir. */
export function backupKey(cfg: Pick<Config, 'stateDir'>, env = process.env): EncryptionKey {
  const b64 = persistedSecret(cfg.stateDir, 'backup.key', env.ETCDFLEET_BACKUP_KEY, () => crypto.randomBytes(32).toString('base64'), {
    env: 'ETCDFLEET_BACKUP_KEY',
    check: base64KeyOf(32),
  });
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw ApplicationFailure.nonRetryable('ETCDFLEET_BACKUP_KEY must be 32 bytes, base64', 'BadBackupKey');
  return { key, id: keyId(key) };
}

function heartbeatEvery(ms: number): () => void {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return () => undefined;
  }
  const t = setInterval(() => ctx!.heartbeat(), ms);
  return () => clearInterval(t);
}

function integrity<T>(p: Promise<T>): Promise<T> {
  return p.catch((e) => {
    if (e instanceof IntegrityError) throw ApplicationFailure.create({ type: 'BackupCorrupt', message: e.message, nonRetryable: true });
    throw e;
  });
}

export function createMaintenanceActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);
  const defaultDir = cfg.policy.backupRoot;
  const prefixOf = (s?: BackupSettings) => s?.s3?.prefix ?? '';
  /** Only targets the policy allows (dir under the backup root, allowed S3 endpoint and credential variables). */
  const openTarget = (settings: BackupSettings | undefined, dir: string) => {
    assertBackupAllowed(cfg, settings);
    return openAnyTarget(settings, dir);
  };
  /** Tools of the cluster's own release, verified like an install. */
  const binDirFor = async (version: string, source?: string) => (await allowedRelease(cfg, version, source)).binDir;
  const etcdutlFor = async (version: string, source?: string) => path.join(await binDirFor(version, source), 'etcdutl');
  let schedules: Promise<MaintenanceSchedules> | undefined;
  const scheduleClient = () =>
    (schedules ??= (async () => {
      const { dataConverterFor } = await import('../worker/temporal');
      const connection = await Connection.connect({ address: cfg.temporalAddress });
      return new MaintenanceSchedules(
        new Client({ connection, namespace: cfg.namespace, dataConverter: dataConverterFor(cfg) }),
        cfg.taskQueue,
      );
    })());

  async function findManifest(ref: BackupRef): Promise<BackupManifest> {
    const target = openTarget(ref.settings, defaultDir);
    const all = await readManifests(target, prefixOf(ref.settings), ref.cluster);
    const m = ref.id === 'latest' ? all[0] : all.find((x) => x.id === ref.id);
    if (!m)
      throw ApplicationFailure.create({
        type: 'NotFound',
        message: `no backup ${ref.id} of cluster ${ref.cluster} in ${target.describe}`,
        nonRetryable: true,
      });
    return m;
  }

  return {
    /**
     * Streams a snapshot from one healthy member (a follower when there is
     * one) into the target, verifies the stored object with etcdutl, then
     * writes the manifest: a backup without a manifest is never listed.
     */
    async takeBackup({ spec, member }: { spec: ClusterSpec; member?: string }): Promise<BackupManifest> {
      const h = await clusterHealth(hosts(spec), spec);
      const healthy = h.members.filter((m) => m.healthy && !m.isLearner);
      const source = member ? healthy.find((m) => m.name === member) : (healthy.find((m) => !m.isLeader) ?? healthy[0]);
      if (!source)
        throw ApplicationFailure.retryable(
          `no healthy member to take a snapshot from${member ? ` (asked for ${member})` : ''}`,
          'NotHealthy',
        );
      const settings = spec.backup;
      const target = openTarget(settings, defaultDir);
      const enc = settings?.encryption ? backupKey(cfg) : undefined;
      const stop = heartbeatEvery(5_000);
      try {
        const snap = await openSnapshotStream(hosts(spec), spec, source.name);
        let m: BackupManifest;
        try {
          m = await integrity(
            streamBackup({
              source: { stream: snap.stream, member: source.name, etcdVersion: snap.version, revision: snap.revision },
              target,
              cluster: spec.name,
              prefix: prefixOf(settings),
              encryption: enc,
            }),
          );
        } finally {
          snap.close();
        }
        try {
          const st = await integrity(verifyStored(target, m, await etcdutlFor(spec.version, spec.artifactSource), enc?.key));
          m.verified = { at: new Date().toISOString(), ...st };
        } catch (e) {
          await target.delete(m.object).catch(() => undefined);
          throw e;
        }
        await writeManifest(target, prefixOf(settings), m);
        return m;
      } finally {
        stop();
      }
    },

    /** Age and count retention after a successful backup; returns what remains. */
    async applyBackupRetention({
      spec,
      now,
    }: {
      spec: ClusterSpec;
      now?: string;
    }): Promise<{ deleted: string[]; remaining: BackupSummary[]; location: string }> {
      const settings = spec.backup;
      const target = openTarget(settings, defaultDir);
      const all = await readManifests(target, prefixOf(settings), spec.name);
      const del = new Set(
        retentionPlan(all, now ? new Date(now) : new Date(), {
          maxAgeMs: durationMs(settings?.retention ?? '30d', RETENTION_RULE),
          keep: settings?.keep,
        }),
      );
      for (const m of all) if (del.has(m.id)) await deleteBackup(target, prefixOf(settings), m);
      return { deleted: [...del], remaining: all.filter((m) => !del.has(m.id)).map(summarize), location: target.describe };
    },

    async listBackups({ ref }: { ref: Omit<BackupRef, 'id'> }): Promise<BackupSummary[]> {
      const target = openTarget(ref.settings, defaultDir);
      return (await readManifests(target, prefixOf(ref.settings), ref.cluster)).map(summarize);
    },

    /** Downloads, decrypts and verifies a backup into a local file for restore; integrity failures are final. */
    async stageBackup({
      ref,
      version,
      tag,
      source,
    }: {
      ref: BackupRef;
      version: string;
      tag: string;
      source?: string;
    }): Promise<{ manifest: BackupSummary; file: string; totalKey: number; revision: number }> {
      const file = path.join(cfg.stateDir, 'restore', `${tag.replace(/[^A-Za-z0-9._-]/g, '_')}.db`);
      const m = await findManifest(ref);
      const target = openTarget(ref.settings, defaultDir);
      const enc = m.encryption ? backupKey(cfg) : undefined;
      await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const stop = heartbeatEvery(5_000);
      try {
        await integrity(fetchToFile(target, m, file, enc?.key));
        const st = await integrity(snapshotStatus(await etcdutlFor(version, source), file));
        return { manifest: summarize(m), file, totalKey: st.totalKey, revision: st.revision };
      } finally {
        stop();
      }
    },

    async removeStagedBackup({ file }: { file: string }): Promise<void> {
      await fsp.rm(file, { force: true });
    },

    async restoreMemberData({ spec, member, snapshot, tag }: { spec: ClusterSpec; member: string; snapshot: string; tag: string }) {
      assertPathsAllowed(spec);
      return restoreMemberDataDir(hosts(spec), { spec, member, snapshot, tag });
    },

    /** Verifies one stored backup again (hashes, decryption, etcdutl). */
    async verifyBackup({ ref, version, source }: { ref: BackupRef; version: string; source?: string }) {
      const m = await findManifest(ref);
      const target = openTarget(ref.settings, defaultDir);
      return integrity(verifyStored(target, m, await etcdutlFor(version, source), m.encryption ? backupKey(cfg).key : undefined));
    },

    async restoreDrill({ ref, version, source }: { ref: BackupRef; version: string; source?: string }) {
      const m = await findManifest(ref);
      const target = openTarget(ref.settings, defaultDir);
      const stop = heartbeatEvery(5_000);
      try {
        return await withTempDir(async (dir) => {
          const file = path.join(dir, 'snapshot.db');
          await integrity(fetchToFile(target, m, file, m.encryption ? backupKey(cfg).key : undefined));
          const r = await drill({ snapshot: file, binDir: await binDirFor(version, source), workDir: dir });
          return {
            backup: m.id,
            expectedRevision: m.verified?.revision,
            boltKeys: m.verified?.totalKey,
            ...r,
            at: new Date().toISOString(),
          };
        });
      } finally {
        stop();
      }
    },

    async memberDbStatus({ spec }: { spec: ClusterSpec }) {
      return memberStatuses(hosts(spec), spec);
    },

    async defragMember({ spec, member }: { spec: ClusterSpec; member: string }) {
      return defragmentMember(hosts(spec), spec, member);
    },

    async moveLeaderForDefrag({ spec, to }: { spec: ClusterSpec; to: string }) {
      return moveLeader(hosts(spec), spec, { to });
    },

    async currentRevision({ spec }: { spec: ClusterSpec }): Promise<number> {
      return currentRevision(hosts(spec), spec);
    },

    async compactKeyspace({ spec, revision }: { spec: ClusterSpec; revision: number }) {
      return compactTo(hosts(spec), spec, revision);
    },

    async disarmAlarms({ spec }: { spec: ClusterSpec }): Promise<string[]> {
      return disarmAlarms(hosts(spec), spec);
    },

    /** Removes a deleted cluster's schedules (called by a schedule that finds its cluster gone). */
    async deleteClusterSchedules({ cluster }: { cluster: string }): Promise<string[]> {
      return (await scheduleClient()).removeAll(cluster);
    },
  };
}
