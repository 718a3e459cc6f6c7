// What a maintenance Schedule starts: it only hands the operation to the
// cluster entity (a signal), whose queue runs it after anything already
// running. A schedule whose cluster is gone removes the cluster's schedules.
import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { clusterWorkflowId, type OperationKind } from '../../common/operations';
import { hostStep } from '../activities';
import { submitOperationSignal } from '../definitions';

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
    const removed = await hostStep.deleteClusterSchedules({ cluster });
    return `cluster ${cluster} is gone; removed its schedules: ${removed.join(', ')}`;
  }
}
