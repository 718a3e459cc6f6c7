// The cluster entity's current details (common/details.ts) and the step markers (common/operations.ts).
import { renderClusterDetails } from '../../common/details';
import { renderSteps, type OperationRecord } from '../../common/operations';
import { ClusterSpec } from '../../common/spec';

const spec = ClusterSpec.parse({
  name: 'd',
  version: 'v3.6.4',
  members: [
    { name: 'a', address: '127.0.0.2' },
    { name: 'b', address: '127.0.0.3' },
    { name: 'c', address: '127.0.0.4' },
  ],
});
const op = (seq: number, kind: OperationRecord['kind'], status: OperationRecord['status']): OperationRecord => ({
  id: `d.${seq}-${kind}`,
  cluster: 'd',
  seq,
  kind,
  status,
  workflowId: `etcd-cluster/d/op/${seq}-${kind}`,
  submittedAt: '2026-01-01T00:00:00Z',
});
const health = (checkedAt: string) => ({
  healthy: false,
  leader: 'a',
  alarms: ['NOSPACE'],
  checkedAt,
  members: [
    { name: 'a', clientURL: '', peerURL: '', healthy: true, isLeader: true, isLearner: false, version: '3.6.4', raftIndex: 10 },
    { name: 'b', clientURL: '', peerURL: '', healthy: false, isLeader: false, isLearner: false, error: 'connection refused' },
  ],
  certificates: [
    { member: 'b', certificate: 'server', notAfter: '2027-05-01T00:00:00Z' },
    { member: 'a', certificate: 'peer', notAfter: '2027-03-01T00:00:00Z' },
  ],
});

it('renders phase, reason, members with health and leader, queue, last backup and the earliest certificate expiry', () => {
  const md = renderClusterDetails({
    name: 'd',
    phase: 'Degraded',
    reason: 'b unhealthy',
    spec,
    health: health('2026-01-01T00:00:00Z'),
    current: { ...op(4, 'upgrade', 'Paused') },
    queue: [op(5, 'compact', 'Queued')],
    operations: [{ ...op(3, 'backup', 'Succeeded') }],
    extensions: { backups: { latest: { id: 'b-7', createdAt: '2026-01-01T01:00:00Z', storedBytes: 2048 } } },
  });
  expect(md.split('\n')[0]).toBe('### etcd cluster d · Degraded · 3 members · etcd v3.6.4');
  for (const line of [
    '- **Reason:** b unhealthy',
    '- **Leader:** a',
    '- **Alarms:** NOSPACE',
    '- **Running:** d.4-upgrade (paused)',
    '- **Queued:** d.5-compact',
    '- **Last operation:** d.3-backup: Succeeded',
    '- **Last backup:** b-7 at 2026-01-01T01:00:00Z (2048 bytes stored)',
    '- **Certificates expire:** 2027-03-01T00:00:00Z (a peer)',
    '| a | 127.0.0.2 | healthy | leader | 3.6.4 |',
    '| b | 127.0.0.3 | unhealthy (connection refused) | follower |  |',
    '| c | 127.0.0.4 | unknown |  |  |',
  ])
    expect(md).toContain(line);
});

it('is the same text for two readings that differ only in when they were taken', () => {
  const base = { name: 'd', phase: 'Running' as const, spec, queue: [], operations: [] };
  expect(renderClusterDetails({ ...base, health: health('2026-01-01T00:00:00Z') })).toBe(
    renderClusterDetails({
      ...base,
      health: { ...health('2026-01-02T00:00:00Z'), members: health('x').members.map((m) => ({ ...m, raftIndex: 99 })) },
    }),
  );
});

it('step markers carry their status in words', () => {
  const md = renderSteps('Backup d — Running', [
    { name: 'Snapshot', status: 'done' },
    { name: 'Upload', status: 'running' },
    { name: 'Verify', status: 'pending' },
  ]);
  expect(md).toBe(
    ['### Backup d — Running', '', '- `✔ done` **Snapshot**', '- `▶ running` **Upload**', '- `○ pending` **Verify**'].join('\n'),
  );
});
