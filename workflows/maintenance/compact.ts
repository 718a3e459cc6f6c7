// Compaction, once for the cluster: to the revision observed one run ago (so
// each run keeps one interval of history), or keep the last N revisions.
import type { ClusterSpec } from '../../common/spec';
import { Progress } from '../progress';
import { hostStep, maintenanceStep, step } from '../activities';
import { setSearchAttributes } from '../search-attributes';

export interface CompactInput {
  spec: ClusterSpec;
  /** Revision observed by the previous run. */
  previousRevision?: number;
  /** Compact to this revision (explicit request). */
  revision?: number;
}

export async function compactCluster({ spec, previousRevision, revision }: CompactInput) {
  setSearchAttributes({ cluster: spec.name, operation: 'compact', phase: 'Maintenance' });
  const progress = new Progress(`Compact ${spec.name}`, ['Read current revision', 'Compact']);
  const current = await step(
    progress,
    'Read current revision',
    hostStep.currentRevision,
    'current revision',
    { spec },
    (r) => `revision ${r}`,
  );
  const keep = spec.maintenance?.compactionRetainRevisions;
  const target = revision ?? (keep !== undefined ? current - keep : previousRevision);
  let compactedTo: number | undefined;
  if (target !== undefined && target > 0 && target <= current) {
    await step(progress, 'Compact', maintenanceStep.compactKeyspace, `compact to revision ${target}`, { spec, revision: target }, (r) =>
      r.compacted ? `compacted to ${target}` : `already compacted past ${target}`,
    );
    compactedTo = target;
  } else {
    progress.note('Compact', 'nothing to compact yet (first run records the revision)');
  }
  progress.succeed();
  return { observedRevision: current, compactedTo };
}
