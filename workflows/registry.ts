// Operation kind → handler. The entity knows nothing else about operations.
import { executeChild } from '@temporalio/workflow';
import { withParams, type OperationHandler, type OperationHandlers } from './state';
import type { OperationKind } from '../common/operations';
import { provisionCluster } from './provision';
import { deleteCluster } from './delete';
import { membershipOperations } from './membership';
import { rolloutOperations } from './rollout';
import { maintenanceOperations } from './maintenance';
import { authOperations } from './auth/operations';
import { recoveryOperations } from './recovery/operations';

const lifecycle: OperationHandlers = {
  provision: withParams('provision', {
    phase: 'Provisioning',
    internal: true,
    places: true,
    failurePhase: 'Failed',
    async run({ state, spec, op, taskQueue }) {
      const r = await executeChild(provisionCluster, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, pki: state.pki }],
        staticSummary: `Provision ${spec.name}: ${spec.members.length} × etcd ${spec.version}`,
      });
      return { pki: r.pki, health: r.health, files: r.files, phase: 'Running' };
    },
  }),
  delete: withParams('delete', {
    phase: 'Deleting',
    internal: true,
    failurePhase: 'Failed',
    terminal: true,
    async run({ spec, op, params, taskQueue }) {
      await executeChild(deleteCluster, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, purge: params.purge }],
        staticSummary: `Delete ${spec.name}${params.purge ? ' (purge data)' : ''}`,
      });
      return { phase: 'Deleted' };
    },
  }),
};

export const OPERATIONS: OperationHandlers = {
  ...lifecycle,
  ...membershipOperations,
  ...rolloutOperations,
  ...maintenanceOperations,
  ...authOperations,
  ...recoveryOperations,
};

export function handlerFor(kind: OperationKind): OperationHandler | undefined {
  return OPERATIONS[kind];
}
