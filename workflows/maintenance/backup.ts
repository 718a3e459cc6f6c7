// Backup runbook: stream a snapshot from a follower into the target (etcd's
// trailer checked on the way, our SHA-256 of what is stored), verify it with
// `etcdutl snapshot status`, write the manifest, apply retention.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import { EtcdCluster, EtcdOperation } from '../../common/searchAttributes';
import type { BackupManifest } from '../../activities/backup/backup';
import type { BackupSummary } from '../../activities/backup/activities';
import { Progress } from '../progress';
import { dataOps, quickOps } from './activities';

export interface BackupInput {
  spec: ClusterSpec;
  member?: string;
}
export interface BackupResult {
  manifest: BackupManifest;
  deleted: string[];
  remaining: BackupSummary[];
  location: string;
}

export const BACKUP_STEPS = ['Stream snapshot, verify with etcdutl, write manifest', 'Apply retention'] as const;

export async function backupCluster({ spec, member }: BackupInput): Promise<BackupResult> {
  upsertSearchAttributes([
    { key: EtcdCluster, value: spec.name },
    { key: EtcdOperation, value: 'backup' },
  ]);
  const where = spec.backup?.s3 ? `s3://${spec.backup.s3.bucket}/${spec.backup.s3.prefix}` : (spec.backup?.dir ?? 'the state dir');
  const progress = new Progress(`Backup ${spec.name} to ${where}`, BACKUP_STEPS);
  const manifest = await progress.step(
    BACKUP_STEPS[0],
    () =>
      dataOps.takeBackup.executeWithOptions(
        { summary: `snapshot from ${member ?? 'a healthy follower'}${spec.backup?.encryption ? ', AES-256-GCM' : ''} → ${where}` },
        [{ spec, member }],
      ),
    (m) => `${m.id}: ${m.snapshotBytes} bytes from ${m.member}, revision ${m.verified?.revision}, ${m.verified?.totalKey} keys`,
  );
  const r = await progress.step(
    BACKUP_STEPS[1],
    () =>
      quickOps.applyBackupRetention.executeWithOptions(
        { summary: `retention ${spec.backup?.retention ?? '30d'}${spec.backup?.keep ? `, keep ${spec.backup.keep}` : ''}` },
        [{ spec }],
      ),
    (x) => `deleted ${x.deleted.length}, ${x.remaining.length} kept`,
  );
  progress.succeed();
  return { manifest, ...r };
}
