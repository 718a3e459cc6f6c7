// The cluster phase's state machine (common/phase.ts): the rules the entity applies.
import { nextPhase } from '../../common/phase';
import type { ClusterHealthView, OperationRecord } from '../../common/operations';

const op = (kind: OperationRecord['kind'], error = 'boom'): OperationRecord => ({
  id: `c.3-${kind}`,
  cluster: 'c',
  seq: 3,
  kind,
  status: 'Failed',
  workflowId: `etcd-cluster/c/op/3-${kind}`,
  submittedAt: '2026-01-01T00:00:00Z',
  error,
});
const health = (healthy: boolean, extra: Partial<ClusterHealthView> = {}): ClusterHealthView => ({
  healthy,
  leader: healthy ? 'm1' : undefined,
  alarms: [],
  members: [],
  checkedAt: '2026-01-01T00:00:00Z',
  ...extra,
});

describe('nextPhase', () => {
  it('a failed lifecycle operation fails the cluster; its cancellation leaves the phase to the canceller', () => {
    expect(nextPhase({ on: 'failed', op: op('provision'), before: 'Pending', failurePhase: 'Failed', cancelled: false })).toEqual({
      phase: 'Failed',
      reason: 'provision failed: boom',
    });
    expect(nextPhase({ on: 'failed', op: op('provision'), before: 'Pending', failurePhase: 'Failed', cancelled: true })).toBeUndefined();
  });

  it('another failed operation returns the cluster to its phase before (a provisioning one to Running)', () => {
    expect(nextPhase({ on: 'failed', op: op('backup'), before: 'Degraded', cancelled: false })).toEqual({
      phase: 'Degraded',
      reason: 'c.3-backup failed: boom',
    });
    expect(nextPhase({ on: 'failed', op: op('restore'), before: 'Provisioning', cancelled: true })).toEqual({
      phase: 'Running',
      reason: 'c.3-restore was cancelled',
    });
  });

  it('success takes the phase the operation asks for, else Running or Degraded by health', () => {
    expect(nextPhase({ on: 'succeeded', phase: 'Deleted' })).toEqual({ phase: 'Deleted' });
    expect(nextPhase({ on: 'succeeded', health: health(false) })).toEqual({ phase: 'Degraded' });
    expect(nextPhase({ on: 'succeeded' })).toEqual({ phase: 'Running' });
  });

  it('a health check names what is wrong and the last failure', () => {
    const h = health(false, { alarms: ['NOSPACE'] });
    expect(nextPhase({ on: 'observed', health: h, now: 0, lastError: 'x' })).toEqual({
      phase: 'Degraded',
      reason: 'no leader; alarms: NOSPACE; last operation: x',
    });
    expect(nextPhase({ on: 'observed', health: health(true), now: 0 })).toEqual({ phase: 'Running', reason: undefined });
    expect(nextPhase({ on: 'unobservable', error: 'timeout' })).toEqual({ phase: 'Degraded', reason: 'health check failed: timeout' });
  });
});

describe('nextPhase once a delete is queued', () => {
  it("keeps Deleting through the cancelled operation's outcome and health checks", () => {
    expect(nextPhase({ on: 'failed', op: op('upgrade'), before: 'Upgrading', cancelled: true }, 'Deleting')).toEqual({ phase: 'Deleting' });
    expect(nextPhase({ on: 'observed', health: health(true), now: 0 }, 'Deleting')).toEqual({ phase: 'Deleting' });
    expect(nextPhase({ on: 'unobservable', error: 'x' }, 'Deleting')).toEqual({ phase: 'Deleting' });
  });

  it("the delete's own start and outcome still move it", () => {
    expect(nextPhase({ on: 'succeeded', phase: 'Deleted' }, 'Deleting')).toEqual({ phase: 'Deleted' });
    expect(nextPhase({ on: 'failed', op: op('delete'), before: 'Deleting', failurePhase: 'Failed', cancelled: false }, 'Deleting')).toEqual(
      {
        phase: 'Failed',
        reason: 'delete failed: boom',
      },
    );
  });
});
