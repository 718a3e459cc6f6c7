// Remove one member from a running cluster without losing quorum.
import type { ClusterPki } from '../../activities/pki';
import type { ClusterSpec } from '../../common/spec';
import { call, healthGate, hostStep, step } from '../activities';
import { Progress } from '../progress';
import { evenWarning, type MembershipResult } from './add';
import { stampNow, writeMemberLists } from './join';
import { setSearchAttributes } from '../search-attributes';

export const LEAVE_STEPS = [
  'Check quorum',
  'Move leadership away',
  'Remove from cluster',
  'Stop member and set data aside',
  'Update member configs',
  'Wait for health',
] as const;

export interface RemoveMemberInput {
  spec: ClusterSpec;
  member: string;
  pki?: ClusterPki;
}

export async function removeMember(input: RemoveMemberInput): Promise<MembershipResult> {
  const { spec, member } = input;
  setSearchAttributes({ cluster: spec.name, operation: 'remove-member', phase: 'Updating' });
  const next: ClusterSpec = { ...spec, members: spec.members.filter((m) => m.name !== member) };
  const progress = new Progress(`Remove ${member} from ${spec.name}: ${spec.members.length} → ${next.members.length} members`, LEAVE_STEPS);
  await leaveCluster(progress, spec, member, stampNow());
  const health = await step(
    progress,
    'Wait for health',
    healthGate.checkHealthy,
    `all ${next.members.length} members healthy voters, one leader, no alarms`,
    { spec: next, expectMembers: next.members.length },
    (h) => `leader ${h.leader}`,
  );
  progress.succeed();
  return { spec: next, pki: input.pki && withoutMemberPki(input.pki, member), health, warnings: evenWarning(next) };
}

/**
 * Check quorum → move leadership away → MemberRemove → stop, set data aside,
 * remove service files → rewrite the others' member lists. The member's own
 * health is not required (removing a broken member is the point).
 */
export async function leaveCluster(progress: Progress, spec: ClusterSpec, member: string, stamp: string): Promise<void> {
  const rest: ClusterSpec = { ...spec, members: spec.members.filter((m) => m.name !== member) };
  const health = await step(
    progress,
    'Check quorum',
    hostStep.checkSafeToRemove,
    `other voters healthy, a leader, no alarms, quorum survives without ${member}`,
    { spec, member },
    (h) => `leader ${h.leader}`,
  );
  await progress.step(
    'Move leadership away',
    async () =>
      health.leader === member
        ? call(hostStep.transferLeadership, `MoveLeader from ${member} to a healthy follower`, { spec, from: member })
        : { moved: false, leader: health.leader },
    (r) => (r.moved ? `leader now ${r.leader}` : `${member} is not the leader`),
  );
  await step(progress, 'Remove from cluster', hostStep.removeEtcdMember, `MemberRemove ${member}`, { spec, member }, (r) =>
    r.removed ? `removed id ${r.id}` : 'already removed',
  );
  await step(
    progress,
    'Stop member and set data aside',
    hostStep.retireMemberHost,
    `${member}: stop, rename data dir aside (never reused), remove config and certificates`,
    { spec, member, stamp },
    (r) => (r.setAside ? `data kept at ${r.setAside}` : 'no data dir left'),
  );
  await progress.step(
    'Update member configs',
    () => writeMemberLists(rest),
    () => `initial-cluster lists ${rest.members.length} members`,
  );
}

export function withoutMemberPki(pki: ClusterPki, member: string): ClusterPki {
  const members = { ...pki.members };
  delete members[member];
  return { ...pki, members };
}
