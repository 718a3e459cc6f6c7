// A raw health reading as workflows see it (raft lag per member), and its one-line summary.
import type { ClusterHealthView } from '../../common/operations';
import type { ClusterHealth } from './client';

export function toView(h: ClusterHealth): ClusterHealthView {
  const leaderIndex = h.members.find((m) => m.isLeader)?.raftIndex;
  const members = h.members.map((m) => ({
    ...m,
    raftLag: leaderIndex !== undefined && m.raftIndex !== undefined ? Math.max(0, leaderIndex - m.raftIndex) : undefined,
  }));
  return { healthy: h.healthy, leader: h.leader, alarms: h.alarms, checkedAt: h.checkedAt, members, error: h.error };
}

export function summarizeHealth(v: ClusterHealthView, expect: number): string {
  const parts = [`${v.members.filter((m) => m.healthy).length}/${expect} members healthy`, v.leader ? `leader ${v.leader}` : 'no leader'];
  if (v.alarms.length) parts.push(`alarms ${v.alarms.join(',')}`);
  const errs = v.members.filter((m) => m.error).map((m) => `${m.name}: ${m.error}`);
  return [...parts, ...errs].join('; ');
}
