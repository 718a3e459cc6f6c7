// NOSPACE recovery: compact to the current revision, defragment every member
// (leader last), disarm the alarm, prove a write works again.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import { Progress } from '../progress';
import { call, healthGate, hostStep, maintenanceStep, step } from '../activities';
import { defragCluster } from './defrag';
import { setSearchAttributes } from '../search-attributes';

export async function clearNospace({ spec }: { spec: ClusterSpec }) {
  setSearchAttributes({ cluster: spec.name, operation: 'clear-nospace', phase: 'Maintenance' });
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
      const r = await call(hostStep.currentRevision, 'current revision', { spec });
      await call(maintenanceStep.compactKeyspace, `compact to ${r}`, { spec, revision: r });
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
  const disarmed = await step(
    progress,
    'Disarm alarms',
    maintenanceStep.disarmAlarms,
    'alarm disarm',
    { spec },
    (d) => d.join(', ') || 'no alarm was active',
  );
  const n = spec.members.length;
  await step(progress, 'Wait for health', healthGate.checkHealthy, 'no alarms, all healthy', { spec, expectMembers: n });
  await step(progress, 'Verify write and read', hostStep.verifyWriteRead, 'a write works again', {
    spec,
    key: `/etcdfleet/nospace-cleared/${workflowInfo().workflowId}`,
  });
  progress.succeed();
  return { compactedTo: rev, defrag: defrag.members, disarmed };
}
