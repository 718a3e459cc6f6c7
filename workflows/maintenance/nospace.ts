// NOSPACE recovery: compact to the current revision, defragment every member
// (leader last), disarm the alarm, prove a write works again.
import { executeChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import { EtcdCluster, EtcdOperation } from '../../common/searchAttributes';
import { Progress } from '../progress';
import { healthGate, hostOps } from '../activities';
import { etcdMaintenance, quickOps } from './activities';
import { defragCluster } from './defrag';

export async function clearNospace({ spec }: { spec: ClusterSpec }) {
  upsertSearchAttributes([
    { key: EtcdCluster, value: spec.name },
    { key: EtcdOperation, value: 'clear-nospace' },
  ]);
  const progress = new Progress(`Clear NOSPACE on ${spec.name}`, [
    'Compact to current revision',
    'Defragment every member',
    'Disarm alarms',
    'Wait for health',
    'Verify write and read',
  ]);
  const rev = await progress.step(
    'Compact to current revision',
    async () => {
      const r = await quickOps.currentRevision.executeWithOptions({ summary: 'current revision' }, [{ spec }]);
      await etcdMaintenance.compactKeyspace.executeWithOptions({ summary: `compact to ${r}` }, [{ spec, revision: r }]);
      return r;
    },
    (r) => `revision ${r}`,
  );
  const defrag = await progress.step(
    'Defragment every member',
    () =>
      executeChild(defragCluster, {
        workflowId: `${workflowInfo().workflowId}/defrag`,
        args: [{ spec, all: true, ignoreAlarms: true }],
      }),
    (d) => d.members.map((m) => `${m.member} ${m.before}→${m.after}`).join(', '),
  );
  const disarmed = await progress.step(
    'Disarm alarms',
    () => etcdMaintenance.disarmAlarms.executeWithOptions({ summary: 'alarm disarm' }, [{ spec }]),
    (d) => d.join(', ') || 'no alarm was active',
  );
  const n = spec.members.length;
  await progress.step('Wait for health', () =>
    healthGate.checkHealthy.executeWithOptions({ summary: 'no alarms, all healthy' }, [{ spec, expectMembers: n }]),
  );
  await progress.step('Verify write and read', () =>
    hostOps.verifyWriteRead.executeWithOptions({ summary: 'a write works again' }, [
      { spec, key: `/etcdfleet/nospace-cleared/${workflowInfo().workflowId}` },
    ]),
  );
  progress.succeed();
  return { compactedTo: rev, defrag: defrag.members, disarmed };
}
