// Defragmentation: members whose free space (dbSize − dbSizeInUse) passes the
// threshold, one at a time, followers first, the leader last after moving
// leadership away, a health gate after each.
import type { ClusterSpec } from '../../common/spec';
import type { MemberDbStatus } from '../../activities/etcd/ops';
import { Progress } from '../progress';
import { call, healthGate, hostStep, maintenanceStep, step } from '../activities';
import { operationKind, setSearchAttributes } from '../search-attributes';

export interface DefragInput {
  spec: ClusterSpec;
  /** Defragment every member regardless of thresholds. */
  all?: boolean;
  /** Skip health gates (NOSPACE recovery: the alarm keeps the cluster "unhealthy" until disarmed). */
  ignoreAlarms?: boolean;
}

export interface DefragMemberResult {
  member: string;
  wasLeader: boolean;
  leaderMovedTo?: string;
  before: number;
  after: number;
  tookMs: number;
}

/** Pure: does this member need defragmenting? Default thresholds: 64 MiB or 50 % free. */
export function needsDefrag(m: Pick<MemberDbStatus, 'dbSize' | 'dbSizeInUse'>, spec: ClusterSpec): boolean {
  const free = m.dbSize - m.dbSizeInUse;
  const bytes = spec.maintenance?.defragThresholdBytes;
  const pct = spec.maintenance?.defragThresholdPercent;
  if (bytes === undefined && pct === undefined) return free >= 64 * 1024 * 1024 || (m.dbSize > 0 && (free / m.dbSize) * 100 >= 50);
  return (bytes !== undefined && free >= bytes) || (pct !== undefined && m.dbSize > 0 && (free / m.dbSize) * 100 >= pct);
}

export async function defragCluster({
  spec,
  all,
  ignoreAlarms,
}: DefragInput): Promise<{ members: DefragMemberResult[]; skipped: string[] }> {
  setSearchAttributes({ cluster: spec.name, operation: operationKind('defrag'), phase: 'Maintenance' });
  const progress = new Progress(`Defragment ${spec.name}`, ['Measure members']);
  const status = await step(progress, 'Measure members', hostStep.memberDbStatus, 'dbSize and dbSizeInUse of every member', { spec }, (s) =>
    s.members.map((m) => `${m.name}${m.isLeader ? ' (leader)' : ''} ${m.dbSize}/${m.dbSizeInUse}`).join(', '),
  );
  const todo = status.members.filter((m) => all || needsDefrag(m, spec));
  const skipped = status.members.filter((m) => !todo.includes(m)).map((m) => m.name);
  // Followers first, the leader last.
  todo.sort((a, b) => Number(a.isLeader) - Number(b.isLeader));
  for (const m of todo) progress.add(`Defragment ${m.name}${m.isLeader ? ' (leader)' : ''}`);
  const results: DefragMemberResult[] = [];
  const n = spec.members.length;
  for (const m of todo) {
    const r = await progress.step(
      `Defragment ${m.name}${m.isLeader ? ' (leader)' : ''}`,
      async () => {
        let leaderMovedTo: string | undefined;
        if (m.isLeader && n > 1) {
          const to = status.members.find((x) => !x.isLeader && !x.isLearner && x.healthy)?.name;
          if (to) {
            await call(maintenanceStep.transferLeadership, `move leadership from ${m.name} to ${to}`, { spec, from: m.name, to });
            leaderMovedTo = to;
          }
        }
        const d = await call(maintenanceStep.defragMember, `defragment ${m.name}`, { spec, member: m.name });
        if (!ignoreAlarms) {
          await call(healthGate.checkHealthy, `health gate after ${m.name}`, { spec, expectMembers: n });
        }
        return { member: m.name, wasLeader: m.isLeader, leaderMovedTo, before: d.before, after: d.after, tookMs: d.tookMs };
      },
      (x) => `${x.before} → ${x.after} bytes${x.leaderMovedTo ? `, leadership moved to ${x.leaderMovedTo}` : ''}`,
    );
    results.push(r);
  }
  progress.succeed();
  return { members: results, skipped };
}
