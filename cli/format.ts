// Output of the read commands: aligned tables, `-o json|yaml` as the API
// answered, and the `describe cluster` report. Pure: strings in, strings out.
import YAML from 'yaml';
import { CliError, EXIT } from './errors';
import { humanBytes } from './steps';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(v: string | undefined): OutputFormat {
  const f = (v ?? 'table').toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f))
    throw new CliError(`-o: one of ${OUTPUT_FORMATS.join(', ')} (not ${v})`, EXIT.usage);
  return f as OutputFormat;
}

/** Columns padded to their widest cell; the last column is not padded. Empty cells show as `-`. */
export function table(headers: string[], rows: unknown[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  ')).join('\n');
}

function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

export function structured(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : YAML.stringify(value).trimEnd();
}

export function clustersTable(list: { clusters: any[] }): string {
  return table(
    ['NAME', 'PHASE', 'VERSION', 'MEMBERS', 'OPERATION', 'REASON'],
    list.clusters.map((c) => [c.name, c.phase, c.version, c.members, c.currentOperation, c.reason]),
  );
}

/** One row for `get cluster NAME`: counts of healthy members and the leader. */
export function clusterTable(c: any): string {
  const members: any[] = c.members ?? [];
  return table(
    ['NAME', 'PHASE', 'VERSION', 'HEALTHY', 'LEADER', 'OPERATION', 'REASON'],
    [
      [
        c.name,
        c.phase,
        c.version,
        `${members.filter((m) => m.healthy).length}/${members.length}`,
        c.health?.leader ?? members.find((m) => m.isLeader)?.name,
        c.currentOperation?.id,
        c.reason,
      ],
    ],
  );
}

export function operationsTable(ops: any[]): string {
  return table(
    ['ID', 'STATUS', 'SUBMITTED', 'FINISHED', 'ERROR'],
    ops.map((o) => [o.id, o.status, o.submittedAt, o.finishedAt, o.error]),
  );
}

export function backupsTable(items: any[]): string {
  return table(
    ['ID', 'CREATED', 'MEMBER', 'REVISION', 'KEYS', 'SIZE', 'ENCRYPTED'],
    items.map((b) => [b.id, b.createdAt, b.member, b.revision, b.totalKey, humanBytes(b.snapshotBytes ?? 0), b.encrypted]),
  );
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/** All operations of a cluster view, newest first: current, queued, then finished. */
export function allOperations(c: any): any[] {
  const done = [...(c.operations ?? [])].sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0));
  return [...(c.currentOperation ? [c.currentOperation] : []), ...(c.queuedOperations ?? []), ...done];
}

/**
 * `describe cluster`: the cluster view, its backups and schedules (either may
 * be missing when the token may not read them or the request failed).
 */
export function describeCluster(c: any, backups?: any, schedules?: any): string {
  const members: any[] = c.members ?? [];
  const h = c.health;
  const out: string[] = [
    `Name:      ${c.name}`,
    `Phase:     ${c.phase}${c.reason ? ` (${c.reason})` : ''}`,
    `Version:   ${c.version ?? '-'}`,
    `Provider:  ${c.spec?.provider ?? '-'}`,
    h
      ? `Health:    ${h.healthy ? 'healthy' : 'unhealthy'}, leader ${h.leader ?? 'none'}, alarms ${h.alarms?.length ? h.alarms.join(', ') : 'none'} (checked ${h.checkedAt ?? '?'})`
      : 'Health:    not checked yet',
    'Members:',
    indent(
      table(
        ['NAME', 'CLIENT URL', 'HEALTHY', 'LEADER', 'LEARNER', 'VERSION', 'ERROR'],
        members.map((m) => [m.name, m.clientURL, m.healthy, m.isLeader, m.isLearner, m.version, m.error]),
      ),
    ),
  ];
  const certs: any[] = h?.certificates ?? c.certificates ?? [];
  out.push('Certificates:');
  if (certs.length) {
    const sorted = [...certs].sort((a, b) => String(a.notAfter).localeCompare(String(b.notAfter)));
    out.push(
      indent(
        table(
          ['MEMBER', 'CERTIFICATE', 'EXPIRES'],
          sorted.map((x) => [x.member, x.certificate, x.notAfter]),
        ),
      ),
    );
  } else out.push('  expiry not reported by the API for this cluster');
  const items: any[] = backups?.items ?? [];
  out.push(`Backups:   ${backups ? `${items.length} kept${backups.location ? ` at ${backups.location}` : ''}` : 'not available'}`);
  if (items.length) {
    const last = [...items].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))).slice(0, 3);
    out.push(indent(backupsTable(last)));
  }
  const sched: any[] = schedules?.schedules ?? [];
  out.push(`Schedules: ${schedules ? (sched.length ? '' : 'none') : 'not available'}`.trimEnd());
  if (sched.length) {
    out.push(
      indent(
        table(
          ['KIND', 'EVERY', 'PAUSED', 'NEXT'],
          sched.map((s) => [s.kind, s.every, s.paused, s.nextActionTimes?.[0]]),
        ),
      ),
    );
  }
  const ops = allOperations(c);
  out.push('Operations (newest first):');
  out.push(ops.length ? indent(operationsTable(ops.slice(0, 10))) : '  none');
  if (c.currentOperation?.steps?.length) {
    out.push(`Current operation ${c.currentOperation.id}:`);
    for (const s of c.currentOperation.steps) out.push(`  [${s.status}] ${s.name}${s.detail ? ` — ${s.detail}` : ''}`);
  }
  return out.join('\n');
}
