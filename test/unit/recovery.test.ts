// The pure quorum-loss rules: when a reading means quorum is lost, the spec
// block's defaults, the grace period, and which survivor a recovery uses.
import { chooseSource, quorumLossReason, recoverySettings, RecoverySpec } from '../../common/recovery';
import { ClusterSpec } from '../../common/spec';
import { nextObservationMs, watchQuorum } from '../../workflows/recovery/detect';
import type { ClusterState } from '../../workflows/state';

const member = (name: string, healthy: boolean, isLearner = false) => ({ name, healthy, isLearner });
const reading = (members: ReturnType<typeof member>[], leader?: string) => ({
  members: members.map((m) => ({ ...m, clientURL: '', peerURL: '', isLeader: m.name === leader })),
  leader,
  alarms: [],
  healthy: false,
  checkedAt: '',
});

describe('quorumLossReason', () => {
  it('is undefined while a majority of voters answers and there is a leader (one of three down is Degraded)', () => {
    expect(quorumLossReason(reading([member('a', true), member('b', true), member('c', false)], 'a'))).toBeUndefined();
  });
  it('names the members down when a majority of voters is unreachable; learners do not count', () => {
    const r = reading([member('a', true), member('b', false), member('c', false), member('d', true, true)]);
    expect(quorumLossReason(r)).toBe('1 of 3 voting members reachable, 2 needed (down: b, c)');
  });
  it('no leader is a loss even with every voter answering', () => {
    expect(quorumLossReason(reading([member('a', true), member('b', true), member('c', true)]))).toMatch(/^no leader/);
  });
});

describe('recovery settings', () => {
  it('defaults to a 60 s grace and approval; bounds the grace at 24h', () => {
    expect(RecoverySpec.parse({})).toEqual({ quorumLossGrace: '60s', auto: false });
    expect(recoverySettings(undefined)).toEqual({ graceMs: 60_000, auto: false });
    expect(recoverySettings({ recovery: { quorumLossGrace: '5m', auto: true } })).toEqual({ graceMs: 300_000, auto: true });
    expect(RecoverySpec.safeParse({ quorumLossGrace: '2d' }).success).toBe(false);
    expect(ClusterSpec.safeParse({ name: 'x', members: [{ name: 'a', address: '127.0.0.2' }], recovery: { auto: 'yes' } }).success).toBe(
      false,
    );
  });
});

describe('chooseSource', () => {
  it('takes the answering member with the highest applied index, then revision; else the latest backup', () => {
    const m = (name: string, answers: boolean, appliedIndex?: number, revision?: number) => ({
      name,
      answers,
      running: answers,
      hasData: true,
      appliedIndex,
      revision,
    });
    expect(chooseSource([m('a', true, 10, 5), m('b', true, 12, 4), m('c', false)])).toMatchObject({ kind: 'survivor', member: 'b' });
    expect(chooseSource([m('a', true, 12, 5), m('b', true, 12, 6)])).toMatchObject({ kind: 'survivor', member: 'b' });
    expect(chooseSource([m('a', false), m('b', false)])).toEqual({ kind: 'backup' });
  });
});

describe('watchQuorum', () => {
  const state = (): ClusterState => ({
    name: 'q',
    phase: 'Running',
    seq: 0,
    queue: [],
    operations: [],
    spec: ClusterSpec.parse({ name: 'q', members: [{ name: 'a', address: '127.0.0.2' }], recovery: { quorumLossGrace: '10s' } }),
  });
  const lost = reading([member('a', true), member('b', false), member('c', false)]);
  const fine = reading([member('a', true), member('b', true), member('c', true)], 'a');

  it('waits out the grace period (checking again when it ends), then asks for one recovery per episode', () => {
    const s = state();
    expect(watchQuorum(s, lost, 1_000)).toMatchObject({ kind: 'grace' });
    expect(nextObservationMs(s, 30_000, 4_000)).toBe(7_000);
    const v = watchQuorum(s, lost, 11_000);
    expect(v).toMatchObject({ kind: 'lost', reason: expect.stringMatching(/^quorum lost for 10 s: 1 of 3/), queue: { auto: false } });
    s.quorumLoss!.recovery = 'q.2-recover-quorum';
    expect(watchQuorum(s, lost, 20_000)).toMatchObject({ kind: 'lost', queue: undefined });
    expect(nextObservationMs(s, 30_000, 20_000)).toBe(30_000);
    expect(watchQuorum(s, fine, 21_000)).toEqual({ kind: 'fine' });
    expect(s.quorumLoss).toBeUndefined();
  });
});
