// Quorum-loss detection and the approval gate (issue 12) with the real
// workflows and stub activities: the grace period, phase QuorumLost with the
// reason, one recover-quorum per episode waiting for approval (409-style
// Conflict when it waits for nothing), recovery.auto, and the source chosen.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { progressQuery } from '../../workflows/definitions';
import { approveUpdate } from '../../workflows/recovery/approval';
import { stubSpec, stubWorkflowSuite } from '../support/workflow-env';

jest.setTimeout(120_000);

const suite = stubWorkflowSuite('recovery');
const { stubs } = suite;

const members = [1, 2, 3].map((i) => ({ name: `m${i}`, address: `127.0.99.${10 + i}` }));
const spec = (name: string, recovery: Record<string, unknown>) =>
  stubSpec(name, { members, recovery, maintenance: { healthCheckInterval: '1s' } });

/** Health readings: quorum lost (only m1 answers, no leader) while `lost.value`; a restored data dir brings it back. */
function quorumSwitch(name: string) {
  const lost = { value: false };
  stubs.overrides.clusterHealth = async ({ spec: s }: any) => ({
    healthy: !lost.value || s.name !== name,
    leader: lost.value && s.name === name ? undefined : s.members[0].name,
    alarms: [],
    members: s.members.map((m: any, i: number) => ({ name: m.name, healthy: !(lost.value && s.name === name) || i === 0 })),
    checkedAt: new Date().toISOString(),
  });
  stubs.overrides.restoreMemberData = async ({ member }: any) => {
    lost.value = false;
    return { dataDir: `/stub/${member}/data`, alreadyRestored: false };
  };
  return lost;
}

const progressOf = (workflowId: string) => suite.w.client.workflow.getHandle(workflowId).query(progressQuery);

it('after the grace period: QuorumLost, one recover-quorum waiting for approval with its plan; approve restores', async () => {
  const name = 'wf-quorum-approve';
  const lost = quorumSwitch(name);
  await suite.w.create(spec(name, { quorumLossGrace: '2s' }));
  await suite.w.until(name, (v) => v.phase === 'Running');
  lost.value = true;
  const t0 = Date.now();
  const view = await suite.w.until(name, (v) => v.phase === 'QuorumLost' && v.current?.kind === 'recover-quorum');
  expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
  expect(view.reason).toMatch(/quorum lost for \d+ s: 1 of 3 voting members reachable, 2 needed \(down: m2, m3\)/);
  const op = view.current!;

  // It reaches its approval step after the (read-only) assessment and snapshot; the step shows the plan.
  let steps = (await progressOf(op.workflowId)).steps;
  for (let i = 0; i < 50 && steps.find((s) => s.name === 'Waiting for approval')?.status !== 'running'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    steps = (await progressOf(op.workflowId)).steps;
  }
  const waiting = steps.find((s) => s.name === 'Waiting for approval')!;
  expect(waiting.status).toBe('running');
  expect(waiting.detail).toMatch(/plan: restore every member \(m1, m2, m3\) from survivor m1 \(revision 50, 9 keys/);
  expect(stubs.callsFor(name, 'stopMember')).toHaveLength(0);

  // Still lost on the next health checks: no second operation.
  await new Promise((r) => setTimeout(r, 1_500));
  const mid = await suite.w.until(name, () => true);
  expect(mid.queue).toHaveLength(0);

  await suite.w.client.workflow.getHandle(op.workflowId).executeUpdate(approveUpdate, { args: [{ by: 'test' }] });
  const done = await suite.w.until(name, (v) => v.operations.some((o) => o.id === op.id));
  const rec = done.operations.find((o) => o.id === op.id)!;
  expect(rec.status).toBe('Succeeded');
  expect(rec.result).toMatchObject({ recovered: true, source: { kind: 'survivor', member: 'm1' }, approvedBy: 'test' });
  expect(stubs.callsFor(name, 'restoreMemberData').map((c) => c.input.member)).toEqual(['m1', 'm2', 'm3']);
  await suite.w.until(name, (v) => v.phase === 'Running');
});

it('approval of an operation that waits for nothing is refused (Conflict)', async () => {
  const name = 'wf-quorum-conflict';
  const lost = quorumSwitch(name);
  const gate = stubs.hold(name, 'assessMembers');
  try {
    await suite.w.create(spec(name, { quorumLossGrace: '1s' }));
    await suite.w.until(name, (v) => v.phase === 'Running');
    lost.value = true;
    const view = await suite.w.until(name, (v) => v.current?.kind === 'recover-quorum');
    await gate.reached;
    const err = await suite.w.client.workflow
      .getHandle(view.current!.workflowId)
      .executeUpdate(approveUpdate, { args: [{}] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(err.cause).toMatchObject({ type: 'Conflict', message: expect.stringMatching(/waits for nothing/) });
  } finally {
    gate.open();
  }
  await suite.w.deleteAndWait(name);
});

it('recovery.auto proceeds without approval; no survivor answering: the latest backup', async () => {
  const name = 'wf-quorum-auto';
  const lost = quorumSwitch(name);
  stubs.overrides.assessMembers = async ({ spec: s }: any) =>
    s.members.map((m: any) => ({ name: m.name, running: false, hasData: false, answers: false }));
  await suite.w.create(spec(name, { quorumLossGrace: '1s', auto: true }));
  await suite.w.until(name, (v) => v.phase === 'Running');
  lost.value = true;
  const view = await suite.w.until(
    name,
    (v) => v.current?.kind === 'recover-quorum' || v.operations.some((o) => o.kind === 'recover-quorum'),
  );
  const id = (view.current ?? view.operations.find((o) => o.kind === 'recover-quorum'))!.id;
  const done = await suite.w.until(name, (v) => v.operations.some((o) => o.id === id));
  const rec = done.operations.find((o) => o.id === id)!;
  expect(rec).toMatchObject({ status: 'Succeeded', result: { recovered: true, source: { kind: 'backup' }, approvedBy: 'recovery.auto' } });
  expect(stubs.calls.filter((c) => c.name === 'stageBackup' && c.input.ref.cluster === name)).toHaveLength(1);
  expect(stubs.callsFor(name, 'snapshotMember')).toHaveLength(0);
  await suite.w.until(name, (v) => v.phase === 'Running');
});
