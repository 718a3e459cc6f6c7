// Restore drill: the latest backup restored into a throwaway etcd on the
// worker's machine; keys counted, restore time measured.
import type { ClusterSpec } from '../../common/spec';
import { Progress } from '../progress';
import { dataTransfer, step } from '../activities';
import { setSearchAttributes } from '../search-attributes';

export async function restoreDrill({ spec, backup }: { spec: ClusterSpec; backup?: string }) {
  setSearchAttributes({ cluster: spec.name, operation: 'restore-drill', phase: 'Running' });
  const progress = new Progress(`Restore drill for ${spec.name}`, ['Restore into a throwaway etcd and count keys']);
  const r = await step(
    progress,
    'Restore into a throwaway etcd and count keys',
    dataTransfer.restoreDrill,
    `backup ${backup ?? 'latest'} → scratch etcd on 127.0.0.1`,
    {
      ref: { cluster: spec.name, settings: spec.backup, id: backup ?? 'latest' },
      version: spec.version,
      source: spec.artifactSource,
      // Continuous backups: the drill replays the recorded changes too and measures RTO and RPO.
      replayChain: spec.backup?.continuous === true,
    },
    (x) =>
      `${x.keys} keys, restore ${x.restoreMs} ms, start ${x.startMs} ms${x.replayed ? `, ${x.replayed.applied} changes replayed in ${x.replayMs} ms` : ''}; RTO ${x.rtoMs} ms, RPO ${x.rpoMs} ms`,
  );
  progress.succeed();
  // The restored etcd must be at the snapshot's revision, and its live keys can
  // never outnumber the snapshot's stored key revisions (etcdutl's totalKey) plus the replayed changes.
  const ok =
    (r.expectedRevision === undefined || r.revision === r.expectedRevision) &&
    (r.boltKeys === undefined || r.keys <= r.boltKeys + (r.replayed?.applied ?? 0));
  return { ...r, ok };
}
