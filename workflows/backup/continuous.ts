// The continuous-backup recorder: one workflow per cluster
// (`etcd-cluster/<name>/continuous`), started after a full backup of a spec
// with `backup.continuous: true` and left running on its own (the entity's
// continue-as-new does not stop it). It runs recorder segments — a
// long-running activity that heartbeats, resumes after the last recorded
// revision on every retry, and returns `stop` once the cluster is deleted or
// continuous backups are off — one after another.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, continueAsNew, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { setSearchAttributes } from '../search-attributes';

/** Recorded by the entity's backup handler when it first starts (or finds) the recorder. */
export const CONTINUOUS_BACKUP_PATCH = 'continuous-backup';

const recorder = proxyActivities<Activities>({
  // A segment lasts 10 minutes; a silent worker is noticed by the heartbeat timeout.
  startToCloseTimeout: '15m',
  heartbeatTimeout: '60s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s' },
});

export const recorderWorkflowId = (cluster: string) => `etcd-cluster/${cluster}/continuous`;

export async function continuousBackup({ cluster }: { cluster: string }): Promise<string> {
  setSearchAttributes({ cluster, operation: 'continuous-backup' });
  for (;;) {
    const r = await recorder.recordChangesSegment({ cluster });
    if (r.stop) return r.stop;
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof continuousBackup>({ cluster });
  }
}

/** Starts the cluster's recorder unless it runs already. */
export async function ensureRecorder(cluster: string): Promise<'started' | 'running'> {
  try {
    await startChild(continuousBackup, {
      workflowId: recorderWorkflowId(cluster),
      args: [{ cluster }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Continuous backup of ${cluster}`,
    });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'running';
    throw err;
  }
}
