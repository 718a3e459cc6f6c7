// The rolling upgrade with the real workflows and stub activities: one
// rollMember activity per member; the gate activity only when its first
// attempt did not pass; the final cluster version read by the last member's
// gate; a member that dies after its restart rolled back as before.
import { ApplicationFailure } from '@temporalio/common';
import { clusterWorkflowId } from '../../common/operations';
import { submitOperationUpdate } from '../../workflows/definitions';
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
  for (const a of ['memberGate', 'restartMember', 'checkClusterVersion']) expect(stubs.callsFor(name, a)).toHaveLength(0);
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
