// Every workflow the worker registers.
import { setWorkflowOptions } from '@temporalio/workflow';
import { provisionCluster } from './provision';
import { deleteCluster } from './delete';
import { rollingUpgrade } from './rollout/upgrade';
import { rollingConfigChange } from './rollout/config';
import { rotateCertificates, rotateCa } from './rollout/certificates';
import { addMember } from './membership/add';
import { removeMember } from './membership/remove';
import { replaceMember } from './membership/replace';
import { scaleCluster } from './membership/scale';
import { backupCluster } from './maintenance/backup';
import { restoreCluster } from './maintenance/restore';
import { restoreDrill } from './maintenance/drill';
import { compactCluster } from './maintenance/compact';
import { defragCluster } from './maintenance/defrag';
import { clearNospace } from './maintenance/nospace';
import { scheduledOperation } from './maintenance/scheduled';

export { clusterWorkflow } from './cluster';
export { addressRegistryWorkflow } from './addresses';

/**
 * Operation children fail on any error, not just an ApplicationFailure: by
 * default an unexpected error (a TypeError in handler code, an invalid timer
 * value) fails the workflow *task*, which Temporal retries forever, and the
 * entity waiting for the child (and a delete waiting for its cancellation)
 * would be stuck with it. A failed child is a failed operation the entity
 * records and moves past. The entity itself is not listed: it catches what
 * an operation throws and must never end because of one.
 */
const OPERATION_WORKFLOWS: ((...args: any[]) => Promise<unknown>)[] = [
  provisionCluster,
  deleteCluster,
  rollingUpgrade,
  rollingConfigChange,
  rotateCertificates,
  rotateCa,
  addMember,
  removeMember,
  replaceMember,
  scaleCluster,
  backupCluster,
  restoreCluster,
  restoreDrill,
  compactCluster,
  defragCluster,
  clearNospace,
  scheduledOperation,
];
for (const wf of OPERATION_WORKFLOWS) setWorkflowOptions({ failureExceptionTypes: [Error] }, wf);

export {
  provisionCluster,
  deleteCluster,
  rollingUpgrade,
  rollingConfigChange,
  rotateCertificates,
  rotateCa,
  addMember,
  removeMember,
  replaceMember,
  scaleCluster,
  backupCluster,
  restoreCluster,
  restoreDrill,
  compactCluster,
  defragCluster,
  clearNospace,
  scheduledOperation,
};
