// Temporal Schedules for maintenance: one per cluster and kind, ID
// `etcd-cluster/<name>/schedule/<kind>`. Each fires `scheduledOperation`,
// which only signals the cluster entity: the entity's queue runs it after
// whatever is running (an upgrade, a membership change), never beside it.
// Used by the API (api/schedules.ts) and by the worker's cleanup activity.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ClusterSpec } from '../common/spec';
import type { OperationKind } from '../common/operations';
import { parseDuration } from '../common/duration';

export const SCHEDULE_KINDS = ['backup', 'compaction', 'defrag-check', 'restore-drill'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
/** Operation each schedule kind submits. */
export const SCHEDULE_OPERATION: Record<ScheduleKind, OperationKind> = {
  backup: 'backup',
  compaction: 'compact',
  'defrag-check': 'defrag-check',
  'restore-drill': 'restore-drill',
};

export interface ScheduleSetting {
  every: string;
  paused?: boolean;
}

export function scheduleId(cluster: string, kind: ScheduleKind): string {
  return `etcd-cluster/${cluster}/schedule/${kind}`;
}

/** What the spec asks for (backup.enabled/interval, compactionInterval, defrag thresholds, drillInterval). */
export function schedulesFromSpec(spec: ClusterSpec): Partial<Record<ScheduleKind, ScheduleSetting>> {
  const out: Partial<Record<ScheduleKind, ScheduleSetting>> = {};
  if (spec.backup?.enabled) out.backup = { every: spec.backup.interval };
  if (spec.backup?.drillInterval) out['restore-drill'] = { every: spec.backup.drillInterval };
  const m = spec.maintenance;
  if (m?.compactionInterval) out.compaction = { every: m.compactionInterval };
  if (m && (m.defragThresholdBytes !== undefined || m.defragThresholdPercent !== undefined))
    out['defrag-check'] = { every: m.defragCheckInterval ?? '1h' };
  return out;
}

export function validateSetting(kind: string, s: unknown): string | undefined {
  if (!(SCHEDULE_KINDS as readonly string[]).includes(kind)) return `unknown schedule kind ${kind} (one of ${SCHEDULE_KINDS.join(', ')})`;
  if (s === null) return undefined;
  const v = s as Partial<ScheduleSetting>;
  if (typeof v !== 'object') return `${kind} must be an object like { every: 6h }`;
  const every = parseDuration(v.every);
  if ('error' in every) return `${kind}.every: ${every.error}`;
  if (v.paused !== undefined && typeof v.paused !== 'boolean') return `${kind}.paused must be a boolean`;
  return undefined;
}

export interface ScheduleView {
  kind: ScheduleKind;
  id: string;
  every?: string;
  paused: boolean;
  nextActionTimes: string[];
  recentActions: { scheduledAt: string; takenAt: string; workflowId: string }[];
}

export class MaintenanceSchedules {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Creates or updates one schedule. */
  async put(cluster: string, kind: ScheduleKind, s: ScheduleSetting): Promise<void> {
    const id = scheduleId(cluster, kind);
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'scheduledOperation',
      workflowId: `${id}/run`,
      taskQueue: this.taskQueue,
      args: [{ cluster, kind: SCHEDULE_OPERATION[kind] }],
    };
    const spec = { intervals: [{ every: s.every as `${number}s` }] };
    const handle = this.client.schedule.getHandle(id);
    try {
      await handle.update((prev) => ({ ...prev, spec, action, state: { ...prev.state, paused: s.paused ?? prev.state.paused } }));
      return;
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
    }
    await this.client.schedule.create({
      scheduleId: id,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
      state: { paused: s.paused ?? false, note: `etcdfleet ${kind} for cluster ${cluster}` },
      memo: { cluster, kind, every: s.every },
    });
  }

  async remove(cluster: string, kind: ScheduleKind): Promise<boolean> {
    try {
      await this.client.schedule.getHandle(scheduleId(cluster, kind)).delete();
      return true;
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) return false;
      throw e;
    }
  }

  /** Deletes every schedule of the cluster (the delete hook). */
  async removeAll(cluster: string): Promise<string[]> {
    const removed: string[] = [];
    for (const k of SCHEDULE_KINDS) if (await this.remove(cluster, k)) removed.push(k);
    return removed;
  }

  /** Makes the cluster's schedules what the spec says (create from spec, PATCH). */
  async syncFromSpec(spec: ClusterSpec): Promise<Partial<Record<ScheduleKind, ScheduleSetting>>> {
    const want = schedulesFromSpec(spec);
    for (const k of SCHEDULE_KINDS) {
      const s = want[k];
      if (s) await this.put(spec.name, k, s);
      else await this.remove(spec.name, k);
    }
    return want;
  }

  async list(cluster: string): Promise<ScheduleView[]> {
    const out: ScheduleView[] = [];
    for (const kind of SCHEDULE_KINDS) {
      try {
        const d = await this.client.schedule.getHandle(scheduleId(cluster, kind)).describe();
        const every = d.spec.intervals?.[0]?.every;
        out.push({
          kind,
          id: d.scheduleId,
          every: typeof every === 'number' ? `${Math.round(every / 1000)}s` : (every as string | undefined),
          paused: d.state.paused,
          nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
          recentActions: d.info.recentActions.map((a) => ({
            scheduledAt: a.scheduledAt.toISOString(),
            takenAt: a.takenAt.toISOString(),
            workflowId: (a.action as { workflow?: { workflowId: string } }).workflow?.workflowId ?? '',
          })),
        });
      } catch (e) {
        if (!(e instanceof ScheduleNotFoundError)) throw e;
      }
    }
    return out;
  }

  async pause(cluster: string, kind: ScheduleKind, paused: boolean): Promise<void> {
    const h = this.client.schedule.getHandle(scheduleId(cluster, kind));
    if (paused) await h.pause('paused through the etcdfleet API');
    else await h.unpause('resumed through the etcdfleet API');
  }

  async trigger(cluster: string, kind: ScheduleKind): Promise<void> {
    await this.client.schedule.getHandle(scheduleId(cluster, kind)).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  }
}
