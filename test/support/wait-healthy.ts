// Polls a cluster's health until it lists `expectMembers` healthy members (tests only).
import type { ClusterSpec } from '../../common/spec';
import { clusterHealth, describeHealth, type ClusterHealth } from '../../activities/etcd/client';
import type { HostProvider } from '../../activities/hosts';

export interface WaitUntilHealthyInput {
  /** Number of members (voting + learners) the cluster must list. */
  expectMembers: number;
  timeoutMs: number;
  intervalMs?: number;
  /** Also require that no member is a learner (e.g. after bootstrap). Default false. */
  requireNoLearners?: boolean;
}

export async function waitUntilHealthy(hosts: HostProvider, spec: ClusterSpec, input: WaitUntilHealthyInput): Promise<ClusterHealth> {
  const deadline = Date.now() + input.timeoutMs;
  const interval = input.intervalMs ?? 500;
  let last: ClusterHealth | undefined;
  for (;;) {
    const callTimeout = Math.max(500, Math.min(3_000, deadline - Date.now()));
    last = await clusterHealth(hosts, spec, { timeoutMs: callTimeout });
    const countOk = last.members.length === input.expectMembers;
    const learnersOk = !input.requireNoLearners || last.members.every((m) => !m.isLearner);
    if (last.healthy && countOk && learnersOk) return last;
    if (Date.now() + interval >= deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(
    `cluster ${spec.name} not healthy with ${input.expectMembers} members after ${input.timeoutMs} ms ` +
      `(${last.members.length} listed): ${describeHealth(last)}`,
  );
}
