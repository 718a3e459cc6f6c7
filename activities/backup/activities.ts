// Backup and restore activities: snapshots streamed to a target (S3 or a
// directory) with a manifest, retention, staging a backup for a restore,
// restoring a member's data dir, and restore drills. Streaming steps heartbeat;
// integrity failures are final (`BackupCorrupt`).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { RETENTION_RULE, durationMs } from '../../common/duration';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { openSnapshotStream } from '../etcd/ops';
import { clusterHealth } from '../etcd/client';
import { providerFor, type HostProvider } from '../hosts';
import { allowedRelease, assertBackupAllowed, assertPathsAllowed } from '../policy';
import {
  deleteBackup,
  fetchToFile,
  readManifests,
  retentionPlan,
  snapshotStatus,
  streamBackup,
  verifyStored,
  withTempDir,
  writeManifest,
  type BackupManifest,
} from './backup';
import { loadPlan, replayPlan } from './continuous';
import { backupKey } from './key';
import { drill, restoreMemberDataDir } from './restore';
import { IntegrityError } from './stream';
import { openTarget as openAnyTarget, type BackupSettings } from './target';
import { stagedSnapshotPath } from './staging';

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

function summarize(m: BackupManifest): BackupSummary {
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

/** Runs `fn` with a heartbeat every 5 s (outside an activity, just runs it). */
export async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return fn();
  }
  const t = setInterval(() => ctx!.heartbeat(), 5_000);
  try {
    return await fn();
  } finally {
    clearInterval(t);
  }
}

function integrity<T>(p: Promise<T>): Promise<T> {
  return p.catch((e) => {
    if (e instanceof IntegrityError) throw ApplicationFailure.create({ type: 'BackupCorrupt', message: e.message, nonRetryable: true });
    throw e;
  });
}

export function backupActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);
  const defaultDir = cfg.policy.backupRoot;
  const prefixOf = (s?: BackupSettings) => s?.s3?.prefix ?? '';
  /** Only targets the policy allows (dir under the backup root, allowed S3 endpoint and credential variables). */
  const openTarget = (settings: BackupSettings | undefined) => {
    assertBackupAllowed(cfg, settings);
    return openAnyTarget(settings, defaultDir);
  };
  /** Tools of the cluster's own release, verified like an install. */
  const binDirFor = async (version: string, source?: string) => (await allowedRelease(cfg, version, source)).binDir;
  const etcdutlFor = async (version: string, source?: string) => path.join(await binDirFor(version, source), 'etcdutl');

  async function findManifest(ref: BackupRef): Promise<BackupManifest> {
    const target = openTarget(ref.settings);
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
      const target = openTarget(settings);
      const enc = settings?.encryption ? backupKey(cfg) : undefined;
      return heartbeating(async () => {
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
      });
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
      const target = openTarget(settings);
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
      const m = await findManifest(ref);
      const target = openTarget(ref.settings);
      const enc = m.encryption ? backupKey(cfg) : undefined;
      const file = await stagedSnapshotPath(cfg.stateDir, tag);
      return heartbeating(async () => {
        await integrity(fetchToFile(target, m, file, enc?.key));
        // Byte for byte the snapshot `etcdutl snapshot status` accepted when it was backed up (stored and etcd's
        // own SHA-256 checked while fetching): its reading stands. Older manifests without it are read again.
        const st = m.verified ?? (await integrity(snapshotStatus(await etcdutlFor(version, source), file)));
        return { manifest: summarize(m), file, totalKey: st.totalKey, revision: st.revision };
      });
    },

    async removeStagedBackup({ file }: { file: string }): Promise<void> {
      await fsp.rm(file, { force: true });
    },

    async restoreMemberData({ spec, member, snapshot, tag }: { spec: ClusterSpec; member: string; snapshot: string; tag: string }) {
      assertPathsAllowed(spec);
      return restoreMemberDataDir(hosts(spec), { spec, member, snapshot, tag });
    },

    /**
     * Restores a backup into a throwaway etcd on 127.0.0.1 and counts its keys. With `replayChain`
     * (continuous backups) the recorded changes after it are replayed too. RTO: download to last
     * change applied; RPO: how old the newest recorded change (else the backup) was when the drill began.
     */
    async restoreDrill({ ref, version, source, replayChain }: { ref: BackupRef; version: string; source?: string; replayChain?: boolean }) {
      const began = Date.now();
      const target = openTarget(ref.settings);
      const plan = replayChain ? await loadPlan(target, prefixOf(ref.settings), ref.cluster, ref.id, { tip: true }) : undefined;
      const m = await findManifest(plan ? { ...ref, id: plan.backup } : ref);
      const key = m.encryption || plan?.chunks.some((c) => c.encryption) ? backupKey(cfg).key : undefined;
      return heartbeating(() =>
        withTempDir(async (dir) => {
          const file = path.join(dir, 'snapshot.db');
          await integrity(fetchToFile(target, m, file, m.encryption ? key : undefined));
          const r = await drill({
            snapshot: file,
            binDir: await binDirFor(version, source),
            workDir: dir,
            replay: plan && ((client) => replayPlan(client, target, plan, key)),
          });
          const recordedAt = Date.parse(plan?.recordedUntil ?? m.createdAt);
          return {
            backup: m.id,
            expectedRevision: m.verified?.revision,
            boltKeys: m.verified?.totalKey,
            ...r,
            ...(plan
              ? {
                  chain: {
                    chunks: plan.chunks.length,
                    recordedRevision: plan.recordedRevision,
                    recordedUntil: plan.recordedUntil,
                    gap: plan.gap,
                  },
                }
              : {}),
            rtoMs: Date.now() - began,
            rpoMs: Math.max(0, began - recordedAt),
            at: new Date().toISOString(),
          };
        }),
      );
    },
  };
}
