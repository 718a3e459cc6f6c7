// Which task queue a cluster's operations run on. With the local provider the
// members are processes on one machine, listening on its loopback, with their
// files under its state dir: every step that touches them (files, process,
// etcd API) must run on a worker of that machine. Each worker polls its
// machine's queue (`<taskQueue>@<machine>`, infra/config.ts machineQueue) as
// well as the shared one; the cluster's first provisioning records the
// machine queue of the worker that picked it up for every member, and the
// entity then starts each operation's child (and runs its own health checks)
// there. Children inherit their parent's queue, so every activity of an
// operation runs on that machine. Members of the ssh provider are reached
// over the network: their clusters keep the shared queue, any worker does
// everything. Clusters created before machine queues keep the shared queue.
import { patched } from '@temporalio/workflow';
import { hostStep } from './activities';
import type { ClusterState, OperationHandler } from './state';

/** Histories recorded before machine queues existed replay without the choice of a machine. */
export const MACHINE_QUEUES_PATCH = 'machine-queues';

/** The machine queue of the cluster's members (local provider), or undefined: the entity's own queue. */
export function clusterQueue(state: Readonly<ClusterState>): string | undefined {
  if (state.spec?.provider !== 'local' || !state.memberQueues) return undefined;
  for (const m of state.spec.members) if (state.memberQueues[m.name]) return state.memberQueues[m.name];
  return Object.values(state.memberQueues)[0];
}

/**
 * The task queue of the operation about to run: the cluster's, or, for the first provisioning of a
 * local cluster (`handler.places`), the machine queue of the worker that answers now, recorded for
 * every member.
 */
export async function placeOperation(state: ClusterState, handler: Pick<OperationHandler, 'places'>): Promise<string | undefined> {
  const known = clusterQueue(state);
  if (known || !handler.places || state.spec?.provider !== 'local') return known;
  if (!patched(MACHINE_QUEUES_PATCH)) return undefined;
  const { taskQueue } = await hostStep.workerMachine.executeWithOptions({ summary: 'choose the machine of the local members' }, []);
  state.memberQueues = {};
  recordMemberQueues(state, taskQueue);
  return taskQueue;
}

/** After an operation: every member of the spec on the cluster's queue (a new member joins its peers' machine); members that left are dropped. */
export function recordMemberQueues(state: ClusterState, taskQueue = clusterQueue(state)): void {
  if (!taskQueue || !state.spec || !state.memberQueues) return;
  const before = state.memberQueues;
  state.memberQueues = Object.fromEntries(state.spec.members.map((m) => [m.name, before[m.name] ?? taskQueue]));
}
