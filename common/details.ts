// The cluster entity's "current details" in the Temporal UI: its live state as
// markdown (phase and reason, members with health and leader, version, queue,
// last backup, earliest certificate expiry). Pure: the entity renders it after
// each change and sets it only when the text differs (workflows/details.ts), so
// nothing here may change between two identical health readings (no
// timestamps of the check, no raft indexes, no DB sizes).
import type { ClusterHealthView, ClusterPhase, OperationRecord } from './operations';
import type { ClusterSpec } from './spec';

export interface DetailsInput {
  name: string;
  phase: ClusterPhase;
  reason?: string;
  spec?: ClusterSpec;
  health?: ClusterHealthView;
  current?: OperationRecord;
  queue: OperationRecord[];
  operations: OperationRecord[];
  extensions?: Record<string, unknown>;
}

interface LatestBackup {
  id: string;
  createdAt: string;
  storedBytes?: number;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One line that names what an operator looks for first: phase, size and version. */
export function clusterSummaryLine(c: DetailsInput): string {
  const n = c.spec?.members.length;
  const parts = [`etcd cluster ${c.name}`, c.phase];
  if (n !== undefined) parts.push(`${n} member${n === 1 ? '' : 's'}`);
  if (c.spec?.version) parts.push(`etcd ${c.spec.version}`);
  return parts.join(' · ');
}

function memberRows(c: DetailsInput): string[] {
  const health = new Map((c.health?.members ?? []).map((m) => [m.name, m]));
  const rows = (c.spec?.members ?? []).map((m) => {
    const h = health.get(m.name);
    const state = !h ? 'unknown' : h.healthy ? 'healthy' : `unhealthy${h.error ? ` (${h.error})` : ''}`;
    const role = !h ? '' : h.isLeader || c.health?.leader === m.name ? 'leader' : h.isLearner ? 'learner' : 'follower';
    return `| ${cell(m.name)} | ${cell(m.address)} | ${cell(state)} | ${role} | ${h?.version ?? ''} |`;
  });
  if (rows.length === 0) return [];
  return ['| member | address | health | role | version |', '| --- | --- | --- | --- | --- |', ...rows];
}

const opLine = (o: OperationRecord) => `${o.id}${o.status === 'Paused' ? ' (paused)' : ''}`;

function lastBackup(c: DetailsInput): string | undefined {
  const b = (c.extensions?.backups as { latest?: LatestBackup } | undefined)?.latest;
  if (!b) return undefined;
  return `${b.id} at ${b.createdAt}${b.storedBytes !== undefined ? ` (${b.storedBytes} bytes stored)` : ''}`;
}

function earliestExpiry(c: DetailsInput): string | undefined {
  const certs = [...(c.health?.certificates ?? [])].sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
  const first = certs[0];
  return first && `${first.notAfter} (${first.member} ${first.certificate})`;
}

/** The markdown the cluster workflow shows as its current details. */
export function renderClusterDetails(c: DetailsInput): string {
  const last = c.operations.at(-1);
  const facts: [string, string | undefined][] = [
    ['Phase', c.phase],
    ['Reason', c.reason],
    ['Version', c.spec?.version],
    ['Leader', c.health ? (c.health.leader ?? 'none') : undefined],
    ['Alarms', c.health?.alarms.length ? c.health.alarms.join(', ') : undefined],
    ['Running', c.current && opLine(c.current)],
    ['Queued', c.queue.length ? c.queue.map(opLine).join(', ') : 'nothing'],
    ['Last operation', last && `${last.id}: ${last.status}${last.error ? ` (${last.error})` : ''}`],
    ['Last backup', lastBackup(c) ?? 'none yet'],
    ['Certificates expire', earliestExpiry(c)],
  ];
  return [
    `### ${clusterSummaryLine(c)}`,
    '',
    ...facts.filter(([, v]) => v !== undefined).map(([k, v]) => `- **${k}:** ${v}`),
    '',
    ...memberRows(c),
  ]
    .join('\n')
    .trimEnd();
}
