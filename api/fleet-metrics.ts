// The fleet as Prometheus metrics, from the cluster views `/metrics` reads
// (api/metrics.ts): each entity's health, its operation records (the running
// one and the last finished ones it keeps) and its backup catalogue.
//
// Operation counters and the duration histogram count each finished operation
// once per API process: a record is counted the first time a reading shows it,
// and remembered while its entity still keeps it. After an API restart the
// operations the entities still keep are counted again (counters restart at
// zero then anyway, which Prometheus' rate() and increase() understand).
import client from 'prom-client';
import type { ClusterView } from '../workflows/definitions';
import type { OperationRecord } from '../common/operations';
import type { BackupsExtension } from '../workflows/maintenance';
import { durationMs } from '../common/duration';

const FINISHED = new Set<OperationRecord['status']>(['Succeeded', 'Failed', 'Cancelled']);

/** Operation durations span seconds (a compaction) to hours (a large rolling upgrade). */
export const OPERATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];

const seconds = (iso: string | undefined): number | undefined => {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isFinite(t) ? t / 1000 : undefined;
};

/** The newest backup the entity knows (all catalogued backups passed `etcdutl snapshot status`). */
export function lastVerifiedBackup(view: ClusterView): { createdAt: number; bytes: number } | undefined {
  const b = view.extensions?.backups as BackupsExtension | undefined;
  const newest = b?.latest ?? [...(b?.items ?? [])].sort((x, y) => Date.parse(y.createdAt) - Date.parse(x.createdAt))[0];
  const createdAt = seconds(newest?.createdAt);
  return newest && createdAt !== undefined ? { createdAt, bytes: newest.storedBytes } : undefined;
}

export function fleetMetrics(registry: client.Registry) {
  const gauge = (name: string, help: string, labelNames: string[]) => new client.Gauge({ name, help, labelNames, registers: [registry] });
  const phase = gauge('etcdfleet_cluster_phase', 'Cluster phase (1 for the current phase)', ['cluster', 'phase']);
  const healthy = gauge('etcdfleet_cluster_healthy', 'All voting members healthy, a leader, no alarms', ['cluster']);
  const alarms = gauge('etcdfleet_cluster_alarms', 'Active etcd alarms', ['cluster']);
  const alarm = gauge('etcdfleet_cluster_alarm', 'An active etcd alarm (1) by type (NOSPACE, CORRUPT) and member', [
    'cluster',
    'alarm',
    'member',
  ]);
  const memberHealthy = gauge('etcdfleet_member_healthy', 'Member answers reads', ['cluster', 'member']);
  const memberLeader = gauge('etcdfleet_member_is_leader', 'Member is the raft leader', ['cluster', 'member']);
  const raftLag = gauge('etcdfleet_member_raft_lag', "Leader's raft index minus the member's", ['cluster', 'member']);
  const dbSize = gauge('etcdfleet_member_db_size_bytes', 'Backend database size', ['cluster', 'member']);
  const dbInUse = gauge('etcdfleet_member_db_size_in_use_bytes', 'Backend database size in use', ['cluster', 'member']);
  const certExpiry = gauge('etcdfleet_certificate_expiry_timestamp_seconds', 'notAfter of each certificate on each member', [
    'cluster',
    'member',
    'certificate',
  ]);
  const running = gauge('etcdfleet_operation_running_seconds', 'How long the running operation has been running', ['cluster', 'kind']);
  const queued = gauge('etcdfleet_operations_queued', 'Operations waiting in the cluster queue', ['cluster']);
  const backupAt = gauge('etcdfleet_backup_last_verified_timestamp_seconds', 'Creation time of the newest verified backup', ['cluster']);
  const backupBytes = gauge('etcdfleet_backup_last_size_bytes', 'Stored size of the newest verified backup', ['cluster']);
  const backupInterval = gauge('etcdfleet_backup_interval_seconds', 'Interval of scheduled backups (only when enabled)', ['cluster']);
  const drillRto = gauge('etcdfleet_restore_drill_rto_seconds', 'Last restore drill: download to last replayed change (RTO)', ['cluster']);
  const drillRpo = gauge(
    'etcdfleet_restore_drill_rpo_seconds',
    'Last restore drill: age of the newest recorded change (continuous) or of the backup when it began (RPO)',
    ['cluster'],
  );
  const backupAtByCluster = new Map<string, number>();
  new client.Gauge({
    name: 'etcdfleet_backup_last_verified_age_seconds',
    help: 'Age of the newest verified backup at scrape time',
    labelNames: ['cluster'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now() / 1000;
      for (const [cluster, at] of backupAtByCluster) this.set({ cluster }, Math.max(0, now - at));
    },
  });
  const operations = new client.Counter({
    name: 'etcdfleet_operations_total',
    help: 'Finished operations by cluster, kind and outcome (Succeeded, Failed, Cancelled)',
    labelNames: ['cluster', 'kind', 'outcome'],
    registers: [registry],
  });
  const failures = new client.Counter({
    name: 'etcdfleet_operation_failures_total',
    help: 'Failed operations by cluster and kind',
    labelNames: ['cluster', 'kind'],
    registers: [registry],
  });
  const durations = new client.Histogram({
    name: 'etcdfleet_operation_duration_seconds',
    help: 'Duration of finished operations (started to finished) by kind',
    labelNames: ['kind'],
    buckets: OPERATION_BUCKETS,
    registers: [registry],
  });
  const snapshotGauges = [phase, healthy, alarms, alarm, memberHealthy, memberLeader, raftLag, dbSize, dbInUse, certExpiry];
  const moreGauges = [running, queued, backupAt, backupBytes, backupInterval, drillRto, drillRpo];
  /** Finished operation ids counted so far, per cluster (only those the entity still keeps). */
  let counted = new Map<string, Set<string>>();

  function countOperations(v: ClusterView, seen: Set<string>, next: Set<string>): void {
    // Failure counters start at 0, so an alert on increase() sees the first failure.
    for (const kind of new Set(['backup', ...(v.operations ?? []).map((o) => o.kind)])) failures.inc({ cluster: v.name, kind }, 0);
    for (const op of v.operations ?? []) {
      if (!FINISHED.has(op.status)) continue;
      next.add(op.id);
      if (seen.has(op.id)) continue;
      operations.inc({ cluster: v.name, kind: op.kind, outcome: op.status });
      if (op.status === 'Failed') failures.inc({ cluster: v.name, kind: op.kind });
      const start = seconds(op.startedAt);
      const end = seconds(op.finishedAt);
      if (start !== undefined && end !== undefined && end >= start) durations.observe({ kind: op.kind }, end - start);
    }
  }

  function observeHealth(v: ClusterView): void {
    const h = v.health;
    if (!h) return;
    healthy.set({ cluster: v.name }, h.healthy ? 1 : 0);
    alarms.set({ cluster: v.name }, h.alarms.length);
    for (const a of h.alarms) {
      // The entity words them `NOSPACE on etcd-1` (activities/etcd/client.ts).
      const [type, member = ''] = a.split(' on ');
      alarm.set({ cluster: v.name, alarm: type, member }, 1);
    }
    for (const m of h.members) {
      const l = { cluster: v.name, member: m.name };
      memberHealthy.set(l, m.healthy ? 1 : 0);
      memberLeader.set(l, m.isLeader ? 1 : 0);
      if (m.raftLag !== undefined) raftLag.set(l, m.raftLag);
      if (m.dbSize !== undefined) dbSize.set(l, m.dbSize);
      if (m.dbSizeInUse !== undefined) dbInUse.set(l, m.dbSizeInUse);
    }
    for (const c of h.certificates ?? []) {
      certExpiry.set({ cluster: v.name, member: c.member, certificate: c.certificate }, Date.parse(c.notAfter) / 1000);
    }
  }

  function observeOperationsAndBackups(v: ClusterView, now: number): void {
    const startedAt = seconds(v.current?.startedAt);
    if (v.current?.status === 'Running' && startedAt !== undefined) {
      running.set({ cluster: v.name, kind: v.current.kind }, Math.max(0, now - startedAt));
    }
    if (v.queue) queued.set({ cluster: v.name }, v.queue.length);
    const backup = lastVerifiedBackup(v);
    if (backup) {
      backupAt.set({ cluster: v.name }, backup.createdAt);
      backupBytes.set({ cluster: v.name }, backup.bytes);
      backupAtByCluster.set(v.name, backup.createdAt);
    }
    const drill = (v.extensions?.backups as BackupsExtension | undefined)?.lastDrill as { rtoMs?: number; rpoMs?: number } | undefined;
    if (typeof drill?.rtoMs === 'number') drillRto.set({ cluster: v.name }, drill.rtoMs / 1000);
    if (typeof drill?.rpoMs === 'number') drillRpo.set({ cluster: v.name }, drill.rpoMs / 1000);
    const interval = v.spec?.backup?.enabled ? durationMs(v.spec.backup.interval) : undefined;
    if (interval !== undefined) backupInterval.set({ cluster: v.name }, interval / 1000);
  }

  /** Replaces every gauge with what `views` say; counts operations finished since the last reading. */
  return function observe(views: ClusterView[]): void {
    [...snapshotGauges, ...moreGauges].forEach((g) => g.reset());
    backupAtByCluster.clear();
    const now = Date.now() / 1000;
    const nextCounted = new Map<string, Set<string>>();
    for (const v of views) {
      phase.set({ cluster: v.name, phase: v.phase }, 1);
      observeHealth(v);
      observeOperationsAndBackups(v, now);
      // A cluster whose workflow did not answer keeps its counted ids until it answers again.
      if (!v.operations) {
        const keep = counted.get(v.name);
        if (keep) nextCounted.set(v.name, keep);
        continue;
      }
      const next = new Set<string>();
      countOperations(v, counted.get(v.name) ?? new Set(), next);
      nextCounted.set(v.name, next);
    }
    counted = nextCounted;
  };
}
