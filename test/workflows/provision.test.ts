// Issue 14 ("one cluster, faster than a script"): provisioning validates the
// hosts, fetches the release and issues certificates at once, starts the
// member whose peer URL sorts first alone (until it serves its peer port, so
// the others pass etcd's bootstrap peer check at once), and ends with one
// activity for health, the write check and marking members existing; the
// release is staged on the hosts while the certificates are issued. Real
// workflows, stub activities.
import { progressQuery } from '../../workflows/definitions';
import { stubSpec, stubWorkflowSuite } from '../support/workflow-env';
import { stubFailure } from '../support/stub-activities';

jest.setTimeout(120_000);

const suite = stubWorkflowSuite('provision');
const { stubs } = suite;

// Peer URLs sort as strings, as etcd sorts them: https://127.0.98.12:2380 < …20:2380 < …3:2380.
const threeMembers = (name: string, provider: 'local' | 'ssh' = 'local') =>
  stubSpec(name, {
    provider,
    members: [
      { name: 'm1', address: '127.0.98.3' },
      { name: 'm2', address: '127.0.98.12' },
      { name: 'm3', address: '127.0.98.20' },
    ],
  });

it('runs validation, release fetch and certificates at once, and starts the first peer URL before the others', async () => {
  const name = 'wf-provision-fast';
  const gate = stubs.hold(name, 'preflight');
  try {
    await suite.w.create(threeMembers(name, 'ssh'));
    await gate.reached;
    // The host check is still held: the release and the certificates do not wait for it.
    const deadline = Date.now() + 15_000;
    const fetched = () => stubs.calls.filter((c) => c.name === 'fetchRelease').length;
    while ((stubs.callsFor(name, 'issueCertificates').length === 0 || fetched() === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(stubs.callsFor(name, 'issueCertificates')).toHaveLength(1);
    expect(fetched()).toBeGreaterThan(0);
    expect(stubs.callsFor(name, 'prepareMember')).toHaveLength(0);
    // The release goes only to hosts that passed the check.
    expect(stubs.callsFor(name, 'stageRelease')).toHaveLength(0);
  } finally {
    gate.open();
  }
  await suite.w.until(name, (v) => v.phase === 'Running');
  // Staged on every host (as by the ssh provider), then only linked with the member files.
  expect(stubs.callsFor(name, 'stageRelease').map((c) => c.input.member)).toEqual(['m1', 'm2', 'm3']);
  expect(stubs.callsFor(name, 'prepareMember').map((c) => c.input.staged)).toEqual([true, true, true]);

  expect(stubs.callsFor(name, 'startMember')).toHaveLength(0);
  const starts = stubs.callsFor(name, 'startNewMembers');
  expect(starts).toHaveLength(1);
  expect(starts[0].input).toMatchObject({ first: 'm2', awaitPeerMs: expect.any(Number) });
  // The health gate, the write check and the marking: one activity, three steps done.
  expect(stubs.callsFor(name, 'confirmBootstrap')[0].input.pollMs).toBeGreaterThan(0);
  for (const a of ['checkHealthy', 'verifyWriteRead', 'markMemberExisting']) expect(stubs.callsFor(name, a)).toHaveLength(0);
  const op = (await suite.w.until(name, (v) => v.phase === 'Running')).operations[0];
  const steps = (await suite.w.client.workflow.getHandle(op.workflowId).query(progressQuery)).steps;
  expect(steps.every((s) => s.status === 'done')).toBe(true);
  expect(steps.map((s) => s.name).slice(2, 5)).toEqual(['Issue certificates', 'Stage release', 'Prepare hosts']);
  await suite.w.deleteAndWait(name);
});

it('a provider that does not stage installs the release with the member files', async () => {
  const name = 'wf-provision-unstaged';
  stubs.overrides.stageRelease = async ({ version }) => ({ changed: false, version, staged: false });
  await suite.w.create(threeMembers(name, 'ssh'));
  await suite.w.until(name, (v) => v.phase === 'Running');
  expect(stubs.callsFor(name, 'prepareMember').map((c) => c.input.staged)).toEqual([undefined, undefined, undefined]);
  await suite.w.deleteAndWait(name);
});

it('the local provider has no release to stage: no step, no activity', async () => {
  const name = 'wf-provision-local';
  await suite.w.create(threeMembers(name));
  const op = (await suite.w.until(name, (v) => v.phase === 'Running')).operations[0];
  const steps = (await suite.w.client.workflow.getHandle(op.workflowId).query(progressQuery)).steps;
  expect(steps.map((s) => s.name)).not.toContain('Stage release');
  expect(stubs.callsFor(name, 'stageRelease')).toHaveLength(0);
  await suite.w.deleteAndWait(name);
});

it('a failed host check still reports the certificates issued alongside it, and the retry reuses the CA', async () => {
  const name = 'wf-provision-fast-fails';
  stubs.overrides.preflight = async () => {
    throw stubFailure('port in use (stub)');
  };
  const first = await suite.w.create(threeMembers(name));
  const failed = await suite.w.until(name, (v) => v.phase === 'Failed');
  expect(failed.operations.find((o) => o.id === first.operationId)).toMatchObject({
    status: 'Failed',
    error: expect.stringMatching(/port in use/),
  });
  const steps = (await suite.w.client.workflow.getHandle(first.workflowId).query(progressQuery)).steps;
  expect(steps.find((s) => s.name === 'Validate hosts')?.status).toBe('failed');
  expect(steps.find((s) => s.name === 'Prepare hosts')?.status).toBe('pending');
  expect(stubs.callsFor(name, 'prepareMember')).toHaveLength(0);
  expect(stubs.callsFor(name, 'stageRelease')).toHaveLength(0);
  delete stubs.overrides.preflight;

  await suite.w.create(threeMembers(name));
  await suite.w.until(name, (v) => v.phase === 'Running');
  const issued = stubs.callsFor(name, 'issueCertificates');
  expect(issued).toHaveLength(2);
  expect(issued[1].input.existing?.ca).toEqual({ cert: `CERT ca ${name} #1`, keyId: `key-ca-${name}-1` });
  await suite.w.deleteAndWait(name);
});

it("issues certificates with a 2-minute attempt: a worker that dies while it runs them is replaced after that, not the downloads' 5 minutes", async () => {
  const name = 'wf-provision-cert-timeout';
  await suite.w.create(threeMembers(name));
  const op = (await suite.w.until(name, (v) => v.phase === 'Running')).operations[0];
  const history = await suite.w.client.workflow.getHandle(op.workflowId).fetchHistory();
  const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes).filter((a) => !!a);
  const timeout = (type: string) => Number(scheduled.find((a) => a!.activityType?.name === type)?.startToCloseTimeout?.seconds);
  expect(timeout('issueCertificates')).toBe(120);
  expect(timeout('fetchRelease')).toBe(300);
  await suite.w.deleteAndWait(name);
});
