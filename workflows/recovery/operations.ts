// The recover-quorum operation: queued by the entity when quorum has been
// lost for longer than the grace period (workflows/recovery/detect.ts), or by
// an admin. Its child prepares, waits for approval and restores.
import { ApplicationFailure, executeChild } from '@temporalio/workflow';
import { quorumLossReason, recoverySettings } from '../../common/recovery';
import { call, observe } from '../activities';
import { clusterQueue } from '../placement';
import { withParams, type OperationHandlers } from '../state';
import { recoverQuorum } from './recover';

const refuse = (type: 'Refused' | 'Conflict', message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

export const recoveryOperations: OperationHandlers = {
  'recover-quorum': withParams('recover-quorum', {
    phase: 'QuorumLost',
    keepsReason: true,
    validate(state) {
      const pending = [...state.queue, ...(state.current ? [state.current] : [])].find((o) => o.kind === 'recover-quorum');
      if (pending) throw refuse('Conflict', `${pending.id} is already ${pending.status.toLowerCase()}`);
    },
    // Submitted by hand: only when quorum is lost now (the entity queues its own without this check).
    async precheck(state) {
      const h = await call(observe.clusterHealth, 'recover-quorum: is quorum lost?', { spec: state.spec! }, clusterQueue(state)).catch(
        () => undefined,
      );
      if (h && !quorumLossReason(h)) throw refuse('Refused', `cluster ${state.name} has quorum (leader ${h.leader}): nothing to recover`);
    },
    async run({ spec, op, params, taskQueue }) {
      const auto = params.auto ?? recoverySettings(spec).auto;
      const { health, ...result } = await executeChild(recoverQuorum, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, reason: params.reason, auto }],
        staticSummary: `Recover quorum of ${spec.name}${auto ? ' (auto)' : ' (waits for approval)'}`,
      });
      return { health, result };
    },
  }),
};
