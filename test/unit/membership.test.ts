import { removalRisks } from '../../common/quorum';
import { setAsidePath, withInitialCluster } from '../../activities/members/activities';
import type { ClusterHealth, MemberHealthInfo } from '../../activities/etcd/client';

const member = (name: string, extra: Partial<MemberHealthInfo> = {}): MemberHealthInfo => ({
  name,
  clientURL: `https://${name}:2379`,
  peerURL: `https://${name}:2380`,
  healthy: true,
  isLeader: false,
  isLearner: false,
  ...extra,
});
const health = (members: MemberHealthInfo[], extra: Partial<ClusterHealth> = {}): ClusterHealth => ({
  members,
  leader: members.find((m) => m.isLeader)?.name,
  alarms: [],
  healthy: true,
  absentMembers: [],
  checkedAt: 'now',
  ...extra,
});

describe('removalRisks', () => {
  const three = () => [member('a', { isLeader: true }), member('b'), member('c')];

  it('allows removing a healthy member of a healthy cluster, and one of two', () => {
    expect(removalRisks(health(three()), 'c')).toEqual([]);
    expect(removalRisks(health([member('a', { isLeader: true }), member('b')]), 'b')).toEqual([]);
  });

  it('allows removing the broken member itself', () => {
    const h = health([member('a', { isLeader: true }), member('b'), member('c', { healthy: false })]);
    expect(removalRisks(h, 'c')).toEqual([]);
  });

  it('refuses removing another member while one voter is down', () => {
    const h = health([member('a', { isLeader: true }), member('b'), member('c', { healthy: false })]);
    const risks = removalRisks(h, 'b');
    expect(risks).toEqual(
      expect.arrayContaining([expect.stringMatching(/unhealthy voting members: c/), expect.stringMatching(/quorum would be lost: 1 of 2/)]),
    );
  });

  it('refuses the last voter, no leader, alarms and an unreachable cluster', () => {
    expect(removalRisks(health([member('a', { isLeader: true })]), 'a')).toEqual([expect.stringMatching(/last voting member/)]);
    expect(removalRisks(health([member('a'), member('b'), member('c')]), 'c')).toEqual(['no leader']);
    expect(removalRisks(health(three(), { alarms: ['NOSPACE on a'] }), 'c')).toEqual(['alarms: NOSPACE on a']);
    expect(removalRisks(health([], { error: 'boom' }), 'c')[0]).toMatch(/unreachable/);
  });

  it('refuses removing a dead member when quorum is already gone', () => {
    const h = health([member('a', { healthy: false }), member('b', { healthy: false }), member('c', { isLeader: true })]);
    expect(removalRisks(h, 'a').join(';')).toMatch(/unhealthy voting members: b/);
    const two = health([member('a', { isLeader: true }), member('b', { healthy: false })]);
    expect(removalRisks(two, 'b')).toEqual([expect.stringMatching(/quorum lost already: 1 of 2/)]);
  });

  it('ignores learners for quorum', () => {
    const h = health([member('a', { isLeader: true }), member('l', { isLearner: true, healthy: false })]);
    expect(removalRisks(h, 'l')).toEqual([]);
  });
});

describe('config helpers', () => {
  it('replaces initial-cluster only, keeping the rest byte for byte', () => {
    const y =
      '# header\nname: a\ninitial-cluster: a=https://127.0.0.1:2380\ninitial-cluster-token: etcd-c\ninitial-cluster-state: existing\n';
    const out = withInitialCluster(y, 'a=https://127.0.0.1:2380,b=https://127.0.0.2:2380');
    expect(out).toBe(
      y.replace('initial-cluster: a=https://127.0.0.1:2380', 'initial-cluster: a=https://127.0.0.1:2380,b=https://127.0.0.2:2380'),
    );
    expect(withInitialCluster(out, 'a=https://127.0.0.1:2380,b=https://127.0.0.2:2380')).toBe(out);
  });

  it('names set-aside data dirs after the data dir', () => {
    expect(setAsidePath('/h/c/m/var/lib/etcd/', '20261125T053000Z')).toBe('/h/c/m/var/lib/etcd.removed-20261125T053000Z');
  });
});
