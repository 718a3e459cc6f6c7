// Backup runbook: stream a snapshot from a follower into the target (etcd's
// trailer checked on the way, our SHA-256 of what is stored), verify it with
// `etcdutl snapshot status`, write the manifest, apply retention.
import type { ClusterSpec } from '../../common/spec';
import type { BackupManifest } from '../../activities/backup/backup';
import type { BackupSummary } from '../../activities/backup/activities';
import { Progress } from '../progress';
import { dataTransfer, hostStep, step } from '../activities';
import { setSearchAttributes } from '../search-attributes';

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
  setSearchAttributes({ cluster: spec.name, operation: 'backup', phase: 'Running' });
  const where = spec.backup?.s3 ? `s3://${spec.backup.s3.bucket}/${spec.backup.s3.prefix}` : (spec.backup?.dir ?? 'the state dir');
  const progress = new Progress(`Backup ${spec.name} to ${where}`, BACKUP_STEPS);
  const manifest = await step(
    progress,
    BACKUP_STEPS[0],
    dataTransfer.takeBackup,
    `snapshot from ${member ?? 'a healthy follower'}${spec.backup?.encryption ? ', AES-256-GCM' : ''} → ${where}`,
    { spec, member },
    (m) => `${m.id}: ${m.snapshotBytes} bytes from ${m.member}, revision ${m.verified?.revision}, ${m.verified?.totalKey} keys`,
  );
  const r = await step(
    progress,
    BACKUP_STEPS[1],
    hostStep.applyBackupRetention,
    `retention ${spec.backup?.retention ?? '30d'}${spec.backup?.keep ? `, keep ${spec.backup.keep}` : ''}`,
    { spec },
    (x) => `deleted ${x.deleted.length}, ${x.remaining.length} kept`,
  );
  progress.succeed();
  return { manifest, ...r };
}
