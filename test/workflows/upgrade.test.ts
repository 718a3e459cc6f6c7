// The rolling upgrade with the real workflows and stub activities: one
// rollMember activity per member; the gate activity only when its first
// attempt did not pass; the final cluster version read by the last member's
// gate; a member that dies after its restart rolled back as before.
import { ApplicationFailure } from '@temporalio/common';
import { clusterWorkflowId } from '../../common/operations';
import { controlOperationUpdate, progressQuery, submitOperationUpdate } from '../../workflows/definitions';
import { stubSpec, stubWorkflowSuite } from '../support/workflow-env';

jest.setTimeout(120_000);

const suite = stubWorkflowSuite('upgrade');
const { stubs } = suite;

const members = [1, 2, 3].map((i) => ({ name: `m${i}`, address: `127.0.99.${20 + i}` }));

/** Calls of `activity` for `cluster` after its provisioning (whose members' files say `new`). */
const rolling = (name: string, activity: string) => stubs.callsFor(name, activity).filter((c) => c.input.clusterState !== 'new');

async function upgrade(name: string) {
  await suite.w.create(stubSpec(name, { members, version: 'v3.5.10' }));
  await suite.w.until(name, (v) => v.phase === 'Running');
  const op = await suite.w.client.workflow
    .getHandle(clusterWorkflowId(name))
    .executeUpdate(submitOperationUpdate, { args: [{ kind: 'upgrade', params: { version: 'v3.5.35' } }] });
  const v = await suite.w.until(name, (x) =>
    x.operations.some((o) => o.id === op.operationId && o.status !== 'Running' && o.status !== 'Queued'),
  );
  return v.operations.find((o) => o.id === op.operationId)!;
}

it('one rollMember per member, followers first; no gate or cluster-version activity when the first attempts pass', async () => {
  const name = 'wf-upgrade-fast';
  const done = await upgrade(name);
  expect(done.status).toBe('Succeeded');
  const rolled = stubs.callsFor(name, 'rollMember');
  // The stub's leader is m1: it goes last, and only its call reads every member's /version.
  expect(rolled.map((c) => c.input.member)).toEqual(['m2', 'm3', 'm1']);
  expect(rolled.map((c) => !!c.input.readVersions)).toEqual([false, false, true]);
  expect(rolled[0].input).toMatchObject({ version: 'v3.5.35', staged: true, clusterState: 'existing' });
  for (const a of ['memberGate', 'restartMember', 'checkClusterVersion', 'prepareRestart']) expect(stubs.callsFor(name, a)).toHaveLength(0);
  // Each member's safety check and leadership move run in its rollMember, leadership going to the member rolled before it.
  expect(rolled.map((c) => c.input.precheck)).toEqual([{}, { to: 'm2' }, { to: 'm3' }]);
  expect(rolling(name, 'prepareMember')).toHaveLength(0);
  expect(stubs.callsFor(name, 'snapshotCluster')).toHaveLength(1);
});

it('a first gate attempt that does not pass goes on with the gate activity; a cluster version not there yet is checked by its activity', async () => {
  const name = 'wf-upgrade-slow';
  stubs.overrides.rollMember = async ({ spec }: any) => ({
    passed: false,
    problems: ['m raft applied index behind'],
    view: undefined,
    spec,
  });
  const done = await upgrade(name);
  expect(done.status).toBe('Succeeded');
  expect(stubs.callsFor(name, 'memberGate').map((c) => c.input.member)).toEqual(['m2', 'm3', 'm1']);
  expect(stubs.callsFor(name, 'checkClusterVersion')).toHaveLength(1);
});

it('a member gone after its restart is rolled back with its previous files and the upgrade stops', async () => {
  const name = 'wf-upgrade-broken';
  stubs.overrides.rollMember = async () => {
    throw ApplicationFailure.nonRetryable('m2: etcd is not running; last log lines: broken', 'MemberNotRunning');
  };
  const done = await upgrade(name);
  expect(done.status).toBe('Failed');
  expect(done.error).toMatch(/m2 failed after upgrade to v3\.5\.35: .*etcd is not running.*m2 was rolled back to v3\.5\.10 and is healthy/);
  expect(stubs.callsFor(name, 'rollMember')).toHaveLength(1);
  const reverted = rolling(name, 'prepareMember');
  expect(reverted.map((c) => [c.input.member, c.input.spec.version])).toEqual([['m2', 'v3.5.10']]);
  expect(stubs.callsFor(name, 'restartMember').map((c) => c.input.member)).toEqual(['m2']);
  expect(stubs.callsFor(name, 'memberGate').map((c) => c.input.version)).toEqual(['v3.5.10']);
});

it('copies the release member by member in roll order, each roll waiting only for its own copy', async () => {
  const name = 'wf-upgrade-pipelined';
  const rolledYet = (m: string) => stubs.callsFor(name, 'rollMember').some((c) => c.input.member === m);
  // m3's copy is made only once m2's roll has started: a workflow that waited for every copy never gets there.
  stubs.overrides.stageRelease = async ({ member, version }: any) => {
    const before = { m3: 'm2', m1: 'm3' }[member as string];
    for (let i = 0; before && !rolledYet(before); i++) {
      if (i > 200) throw ApplicationFailure.nonRetryable(`${member} copied before ${before} rolled: not pipelined`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return { changed: true, version, staged: true };
  };
  const done = await upgrade(name);
  expect(done.status).toBe('Succeeded');
  const order = (a: string) => stubs.callsFor(name, a).map((c) => c.input.member);
  expect(order('stageRelease')).toEqual(['m2', 'm3', 'm1']);
  expect(order('rollMember')).toEqual(['m2', 'm3', 'm1']);
  // Each member's copy was asked for before its roll.
  const at = (a: string, m: string) => stubs.calls.indexOf(stubs.callsFor(name, a).find((c) => c.input.member === m)!);
  for (const m of ['m2', 'm3', 'm1']) expect(at('stageRelease', m)).toBeLessThan(at('rollMember', m));
});

it('a copy that fails stops the upgrade before that member is touched; the members rolled before it stay upgraded', async () => {
  const name = 'wf-upgrade-copy-fails';
  stubs.overrides.stageRelease = async ({ member, version }: any) => {
    if (member === 'm3') throw ApplicationFailure.nonRetryable('m3: sha256sum: etcd: FAILED', 'ReleaseCorrupt');
    return { changed: true, version, staged: true };
  };
  const done = await upgrade(name);
  expect(done.status).toBe('Failed');
  expect(done.error).toBe(
    'etcd v3.5.35 could not be copied to m3: m3: sha256sum: etcd: FAILED; the upgrade stopped before it (m2 on v3.5.35, m3, m1 still on v3.5.10); submit it again once fixed',
  );
  expect(stubs.callsFor(name, 'rollMember').map((c) => c.input.member)).toEqual(['m2']);
  expect(rolling(name, 'prepareMember')).toHaveLength(0);
});

it('a copy that fails while the member before it is still rolling: that roll finishes, then the upgrade stops', async () => {
  const name = 'wf-upgrade-copy-fails-early';
  let m2Rolled = false;
  // m2's roll is still running when m3's copy fails; its gate is then checked by the gate activity.
  stubs.overrides.rollMember = async ({ member }: any) => {
    if (member === 'm2') await new Promise((r) => setTimeout(r, 1500));
    m2Rolled = true;
    return { passed: false, problems: ['checked by the gate activity'] };
  };
  stubs.overrides.stageRelease = async ({ member, version }: any) => {
    if (member === 'm3') throw ApplicationFailure.nonRetryable('m3: no space left on device', 'ReleaseCorrupt');
    return { changed: true, version, staged: true };
  };
  const done = await upgrade(name);
  expect(m2Rolled).toBe(true);
  expect(done.status).toBe('Failed');
  expect(done.error).toMatch(/^etcd v3\.5\.35 could not be copied to m3: m3: no space left on device; the upgrade stopped before it/);
  expect(stubs.callsFor(name, 'rollMember').map((c) => c.input.member)).toEqual(['m2']);
  expect(stubs.callsFor(name, 'memberGate').map((c) => c.input.member)).toEqual(['m2']);
});

it('a member whose safety check refuses is not touched and not rolled back: the upgrade stops before it', async () => {
  const name = 'wf-upgrade-precheck-refused';
  stubs.overrides.rollMember = async ({ member, spec, precheck }: any) => {
    if (member === 'm3')
      throw ApplicationFailure.create({
        type: 'NotRestarted',
        nonRetryable: true,
        message: 'm3 was not restarted: refused: m2 is unhealthy',
      });
    return { passed: true, view: { healthy: true, leader: 'm1', alarms: [], members: [], checkedAt: '' }, spec, precheck };
  };
  const done = await upgrade(name);
  expect(done.status).toBe('Failed');
  expect(done.error).toMatch(/m3 was not restarted: refused: m2 is unhealthy/);
  expect(done.error).not.toMatch(/rolled back/);
  expect(stubs.callsFor(name, 'rollMember').map((c) => c.input.member)).toEqual(['m2', 'm3']);
  for (const a of ['restartMember', 'memberGate']) expect(stubs.callsFor(name, a)).toHaveLength(0);
  expect(rolling(name, 'prepareMember')).toHaveLength(0);
});

it("the leader's move reported by its rollMember is noted on its step", async () => {
  const name = 'wf-upgrade-leader-moved';
  stubs.overrides.rollMember = async ({ member, spec }: any) => ({
    passed: true,
    view: {
      healthy: true,
      leader: 'm3',
      alarms: [],
      members: spec.members.map((m: any) => ({ name: m.name, healthy: true })),
      checkedAt: '',
    },
    ...(member === 'm1' && { leadership: { moved: true, leader: 'm3' } }),
  });
  const done = await upgrade(name);
  expect(done.status).toBe('Succeeded');
  const { steps } = await suite.w.client.workflow.getHandle(done.workflowId).query(progressQuery);
  expect(steps.find((s) => s.name === 'Upgrade m1 (leader, last)')?.detail).toMatch(/leadership moved to m3/);
});

it('a cancel while a member rolls lets that member finish, then stops the roll before the next one', async () => {
  const name = 'wf-upgrade-cancel';
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let m2Started!: () => void;
  const started = new Promise<void>((r) => (m2Started = r));
  stubs.overrides.rollMember = async ({ member, spec }: any) => {
    if (member === 'm2') {
      m2Started();
      await held;
    }
    return { passed: true, view: { healthy: true, leader: 'm1', alarms: [], members: spec.members, checkedAt: '' } };
  };
  await suite.w.create(stubSpec(name, { members, version: 'v3.5.10' }));
  await suite.w.until(name, (v) => v.phase === 'Running');
  const entity = suite.w.client.workflow.getHandle(clusterWorkflowId(name));
  const op = await entity.executeUpdate(submitOperationUpdate, { args: [{ kind: 'upgrade', params: { version: 'v3.5.35' } }] });
  await started;
  await entity.executeUpdate(controlOperationUpdate, { args: [{ operationId: op.operationId, action: 'cancel' }] });
  release();
  const v = await suite.w.until(name, (x) => x.operations.some((o) => o.id === op.operationId && o.status === 'Cancelled'));
  expect(v.operations.find((o) => o.id === op.operationId)?.status).toBe('Cancelled');
  expect(stubs.callsFor(name, 'rollMember').map((c) => c.input.member)).toEqual(['m2']);
});
