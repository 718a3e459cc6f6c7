// What a maintenance Schedule starts: it only hands the operation to the
// cluster entity (a signal), whose queue runs it after anything already
// running. A schedule whose cluster is gone removes the cluster's schedules.
import { getExternalWorkflowHandle, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { clusterWorkflowId, type OperationKind } from '../../common/operations';
import { submitOperationSignal } from '../definitions';

const cleanup = proxyActivities<Activities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 5 } });

export async function scheduledOperation({
  cluster,
  kind,
  params,
}: {
  cluster: string;
  kind: OperationKind;
  params?: Record<string, unknown>;
}): Promise<string> {
  try {
    await getExternalWorkflowHandle(clusterWorkflowId(cluster)).signal(submitOperationSignal, {
      kind,
      params: { ...params, scheduled: true },
    });
    return `submitted ${kind} to ${cluster}`;
  } catch (err) {
    if (!/not ?found/i.test(`${(err as Error).name} ${(err as Error).message}`)) throw err;
    const removed = await cleanup.deleteClusterSchedules({ cluster });
    return `cluster ${cluster} is gone; removed its schedules: ${removed.join(', ')}`;
  }
}
