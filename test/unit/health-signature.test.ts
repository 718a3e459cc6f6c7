// The standing health watch answers the entity only with a reading whose
// signature differs from the one it holds (common/health.ts): what moves on
// every reading of a cluster at rest is left out, what the entity acts on or
// alerts read is in.
import { healthSignature } from '../../common/health';
import type { ClusterHealthView } from '../../common/operations';

const reading = (over: Partial<ClusterHealthView> = {}, member: Record<string, unknown> = {}): ClusterHealthView => ({
  healthy: true,
  leader: 'm1',
  alarms: [],
  checkedAt: '2026-12-04T10:00:00.000Z',
  members: [
    {
      name: 'm1',
      id: '8e9e05c52164694d',
      clientURL: 'https://127.0.0.1:2379',
      peerURL: 'https://127.0.0.1:2380',
      healthy: true,
      isLeader: true,
      isLearner: false,
      version: '3.5.10',
      raftIndex: 100,
      dbSize: 20480,
      dbSizeInUse: 16384,
      raftLag: 0,
      ...member,
    },
  ],
  certificates: [{ member: 'm1', certificate: 'server', notAfter: '2027-12-04T10:00:00.000Z' }],
  ...over,
});

it('is the same for readings of a cluster at rest: times, indexes, sizes and lag left out', () => {
  expect(
    healthSignature(reading({ checkedAt: '2026-12-04T10:00:30.000Z' }, { raftIndex: 104, dbSize: 24576, dbSizeInUse: 20000, raftLag: 3 })),
  ).toBe(healthSignature(reading()));
});

it('changes with what the entity acts on and alerts read', () => {
  const base = healthSignature(reading());
  const changed = [
    reading({ healthy: false }),
    reading({ leader: undefined }),
    reading({ alarms: ['NOSPACE on m1'] }),
    reading({ error: 'unreachable' }),
    reading({}, { healthy: false }),
    reading({}, { error: 'status: deadline exceeded' }),
    reading({}, { isLearner: true }),
    reading({}, { isLeader: false }),
    reading({}, { version: '3.6.0' }),
    reading({}, { id: '91bc3c398fb3c146' }),
    reading({ certificates: [{ member: 'm1', certificate: 'server', notAfter: '2028-12-04T10:00:00.000Z' }] }),
    reading({ members: [] }),
  ];
  for (const r of changed) expect(healthSignature(r)).not.toBe(base);
});
