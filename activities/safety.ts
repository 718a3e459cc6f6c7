// The safety gate before any disruptive step (DESIGN.md "Safety rules"): all
// voting members healthy, a leader, no alarms, and quorum survives the members
// the step takes down.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../common/spec';
import { clusterHealth, type ClusterHealth } from './etcd/client';
import type { HostProvider } from './hosts';

export interface DisruptionCheck {
  /** Members the step will take down (stop, restart, remove). */
  down?: string[];
  /** Members already known to be broken that the step replaces; not counted against health. */
  ignore?: string[];
}

/** Pure rule, separated for unit tests. Returns the reasons the step is unsafe (empty = safe). */
export function disruptionRisks(h: ClusterHealth, check: DisruptionCheck): string[] {
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

export async function checkSafeToDisrupt(hosts: HostProvider, spec: ClusterSpec, check: DisruptionCheck): Promise<ClusterHealth> {
  const h = await clusterHealth(hosts, spec);
  const risks = disruptionRisks(h, check);
  if (risks.length) {
    throw ApplicationFailure.create({ type: 'Refused', message: `refused: ${risks.join('; ')}`, nonRetryable: true, details: [h] });
  }
  return h;
}
