// Quorum rules (DESIGN.md "Safety rules"): pure functions over a health
// reading, used by the safety gates before any disruptive step. Each returns
// the reasons the step is unsafe (empty = safe).
import type { ClusterHealthView } from './operations';

/** A health reading as the rules need it (the activities' raw reading and the view both fit). */
export type QuorumReading = Pick<ClusterHealthView, 'members' | 'leader' | 'alarms' | 'error'>;

export interface DisruptionCheck {
  /** Members the step will take down (stop, restart, remove). */
  down?: string[];
  /** Members already known to be broken that the step replaces; not counted against health. */
  ignore?: string[];
}

/** All voting members healthy (`ignore` excepted), a leader, no alarms, and quorum survives the members in `down`. */
export function disruptionRisks(h: QuorumReading, check: DisruptionCheck): string[] {
  const ignore = new Set(check.ignore ?? []);
  const down = new Set(check.down ?? []);
  const voters = h.members.filter((m) => !m.isLearner);
  const risks: string[] = [];
  if (h.error) risks.push(`cluster unreachable: ${h.error}`);
  const unhealthy = voters.filter((m) => !m.healthy && !ignore.has(m.name));
  if (unhealthy.length) risks.push(`unhealthy voting members: ${unhealthy.map((m) => m.name).join(', ')}`);
  if (!h.leader) risks.push('no leader');
  if (h.alarms.length) risks.push(`alarms: ${h.alarms.join(', ')}`);
  const quorum = Math.floor(voters.length / 2) + 1;
  const remaining = voters.filter((m) => m.healthy && !down.has(m.name)).length;
  if (remaining < quorum) {
    risks.push(`quorum would be lost: ${remaining} of ${voters.length} voting members would remain healthy, ${quorum} needed`);
  }
  return risks;
}

/**
 * Removing `member`: the member itself may be unhealthy (removing broken
 * members is the point) but every other voter must be healthy, there must be
 * a leader and no alarm, the change must be able to commit under the current
 * membership, and the voters left must keep quorum.
 */
export function removalRisks(h: QuorumReading, member: string): string[] {
  const risks: string[] = [];
  if (h.error) risks.push(`cluster unreachable: ${h.error}`);
  const target = h.members.find((m) => m.name === member);
  const voters = h.members.filter((m) => !m.isLearner);
  const others = voters.filter((m) => m.name !== member);
  const unhealthy = others.filter((m) => !m.healthy);
  if (unhealthy.length) risks.push(`unhealthy voting members: ${unhealthy.map((m) => m.name).join(', ')}`);
  if (!h.leader) risks.push('no leader');
  if (h.alarms.length) risks.push(`alarms: ${h.alarms.join(', ')}`);
  if (target && !target.isLearner && others.length === 0) risks.push(`${member} is the last voting member`);
  if (target && !target.isLearner) {
    const healthyNow = voters.filter((m) => m.healthy).length;
    const quorumNow = Math.floor(voters.length / 2) + 1;
    if (healthyNow < quorumNow)
      risks.push(
        `quorum lost already: ${healthyNow} of ${voters.length} voting members healthy, ${quorumNow} needed to commit the removal`,
      );
    const left = others.filter((m) => m.healthy).length;
    const quorumAfter = Math.floor(others.length / 2) + 1;
    if (others.length > 0 && left < quorumAfter) {
      risks.push(`quorum would be lost: ${left} of ${others.length} remaining voting members healthy, ${quorumAfter} needed`);
    }
  }
  return risks;
}
