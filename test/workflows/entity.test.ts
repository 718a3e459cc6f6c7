// Issue 9 item 5: the entity's own logic (queue, delete, retries, pause,
// continue-as-new, scheduled submissions) with the real workflows and stub
// activities on a dev server of the file's own.
import { clusterWorkflowId, healthQueue } from '../../common/operations';
import {
  clusterQuery,
  controlOperationUpdate,
  progressQuery,
  signClientCertificateUpdate,
  submitOperationSignal,
  submitOperationUpdate,
} from '../../workflows/definitions';
import { stubSpec, stubWorkflowSuite } from '../support/workflow-env';
import { stubFailure, stubMachineQueue } from '../support/stub-activities';

jest.setTimeout(120_000);

const suite = stubWorkflowSuite('entity');
const { stubs } = suite;

const entity = (name: string) => suite.w.client.workflow.getHandle(clusterWorkflowId(name));
const { callsFor, hold } = stubs;

it('delete cancels the queued operations and the running child, then deletes', async () => {
  const name = 'wf-delete-cancels';
  const gate = hold(name, 'prepareMember');
  try {
    const provision = await suite.w.create(stubSpec(name));
    await gate.reached;
    const backup = await entity(name).executeUpdate(submitOperationUpdate, { args: [{ kind: 'backup', params: {} }] });
    const queued = await suite.w.until(name, (v) => v.queue.some((o) => o.id === backup.operationId));
    expect(queued.current?.id).toBe(provision.operationId);

    await suite.w.deleteAndWait(name);
    const child = await suite.w.client.workflow.getHandle(provision.workflowId).describe();
    expect(child.status.name).toBe('CANCELLED');
    expect((await entity(name).describe()).status.name).toBe('COMPLETED');
    const done = await entity(name).query(clusterQuery);
    const status = (id: string) => done.operations.find((o) => o.id === id);
    expect(status(backup.operationId)).toMatchObject({ status: 'Cancelled', error: 'cancelled by delete' });
    expect(status(provision.operationId)).toMatchObject({ status: 'Cancelled' });
    expect(done.operations.at(-1)).toMatchObject({ kind: 'delete', status: 'Succeeded' });
    expect(done.phase).toBe('Deleted');
    expect(callsFor(name, 'stopMember')).toHaveLength(1);
    expect(callsFor(name, 'startMember')).toHaveLength(0);
    expect(callsFor(name, 'takeBackup')).toHaveLength(0);
  } finally {
    gate.open();
  }
});

it('a failed provision is retried with the same CA', async () => {
  const name = 'wf-retry-same-ca';
  stubs.overrides.startMember = async () => {
    throw stubFailure('port in use (stub)');
  };
  const first = await suite.w.create(stubSpec(name));
  const failed = await suite.w.until(name, (v) => v.phase === 'Failed');
  expect(failed.operations.find((o) => o.id === first.operationId)).toMatchObject({
    status: 'Failed',
    error: expect.stringMatching(/port in use/),
  });
  delete stubs.overrides.startMember;

  const again = await suite.w.create(stubSpec(name));
  expect(again.created).toBe(true);
  expect(again.operationId).not.toBe(first.operationId);
  await suite.w.until(name, (v) => v.phase === 'Running');
  const issued = callsFor(name, 'issueCertificates');
  expect(issued).toHaveLength(2);
  expect(issued[0].input.existing).toBeUndefined();
  // The retried child's input carries the CA the first attempt issued (certificate and key id).
  const retried = await suite.w.client.workflow.getHandle(again.workflowId).fetchHistory();
  const input = retried.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  const { pki } = JSON.parse(Buffer.from(input.data!).toString('utf8'));
  expect(pki.ca).toEqual({ cert: `CERT ca ${name} #1`, keyId: `key-ca-${name}-1` });
  expect(issued[1].input.existing.ca).toEqual(pki.ca);
  await suite.w.deleteAndWait(name);
});

it('pause stops the child at the next step boundary; resume finishes it', async () => {
  const name = 'wf-pause';
  const gate = stubs.hold(name, 'prepareMember');
  try {
    const op = await suite.w.create(stubSpec(name));
    await gate.reached;
    const paused = await entity(name).executeUpdate(controlOperationUpdate, { args: [{ operationId: op.operationId, action: 'pause' }] });
    expect(paused.status).toBe('Paused');
    gate.open(); // 'Prepare hosts' finishes; 'Start members' must wait
    const child = suite.w.client.workflow.getHandle(op.workflowId);
    const deadline = Date.now() + 15_000;
    let progress = await child.query(progressQuery);
    while (progress.steps.find((s) => s.name === 'Prepare hosts')?.status !== 'done' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      progress = await child.query(progressQuery);
    }
    expect(progress.status).toBe('Paused');
    await new Promise((r) => setTimeout(r, 1500));
    expect(callsFor(name, 'startMember')).toHaveLength(0);
    expect((await child.query(progressQuery)).steps.find((s) => s.name === 'Start members')?.status).toBe('pending');
    expect((await entity(name).query(clusterQuery)).current).toMatchObject({ id: op.operationId, status: 'Paused' });

    await entity(name).executeUpdate(controlOperationUpdate, { args: [{ operationId: op.operationId, action: 'resume' }] });
    const v = await suite.w.until(name, (x) => x.phase === 'Running');
    expect(v.operations.find((o) => o.id === op.operationId)?.status).toBe('Succeeded');
    expect(callsFor(name, 'startMember')).toHaveLength(1);
  } finally {
    gate.open();
  }
  await suite.w.deleteAndWait(name);
});

it('continue-as-new carries the state', async () => {
  const name = 'wf-continue-as-new';
  // A short health interval and a reading unlike the one before each time (an idle cluster's readings are
  // alike and answer only every few minutes): the loop grows the history past the server's suggestion fast.
  let reading = 0;
  stubs.overrides.clusterHealth = async ({ spec: s }: any) => ({
    healthy: true,
    leader: s.members[0].name,
    alarms: [],
    members: s.members.map((m: any) => ({ name: m.name, healthy: true, version: s.version })),
    checkedAt: new Date().toISOString(),
    ...(s.name === name ? { error: `reading ${++reading}` } : {}),
  });
  const op = await suite.w.create(stubSpec(name, { maintenance: { healthCheckInterval: '1s' } }));
  await suite.w.until(name, (v) => v.phase === 'Running');
  const h = entity(name);
  const firstRun = (await h.describe()).runId;
  const deadline = Date.now() + 60_000;
  while ((await h.describe()).runId === firstRun) {
    if (Date.now() > deadline) throw new Error('the entity never continued-as-new');
    await new Promise((r) => setTimeout(r, 500));
  }
  const first = await suite.w.client.workflow.getHandle(clusterWorkflowId(name), firstRun).describe();
  expect(first.status.name).toBe('CONTINUED_AS_NEW');

  const v = await suite.w.until(name, (x) => x.phase === 'Running');
  expect(v.spec?.name).toBe(name);
  expect(v.fingerprint).toBe(`fp-${name}`);
  expect(v.operations.find((o) => o.id === op.operationId)?.status).toBe('Succeeded');
  expect(v.health?.healthy).toBe(true);
  // The PKI carries over (the entity signs with the CA it issued) and so does the sequence.
  const signed = await h.executeUpdate(signClientCertificateUpdate, { args: [{ csr: 'CSR (stub)' }] });
  expect(signed).toEqual({ ca: `CERT ca ${name} #1`, cert: `CLIENT CERT signed with key-ca-${name}-1` });
  const backup = await h.executeUpdate(submitOperationUpdate, { args: [{ kind: 'backup', params: {} }] });
  expect(backup.operationId).toMatch(/\b2\b/);
  const after = await suite.w.until(name, (x) => x.operations.some((o) => o.id === backup.operationId && o.status === 'Succeeded'));
  expect((after.extensions?.backups as any)?.latest?.id).toBe('b-1');
  // Same spec again: still idempotent after continue-as-new.
  expect((await suite.w.create(stubSpec(name, { maintenance: { healthCheckInterval: '1s' } }))).created).toBe(false);
  await suite.w.deleteAndWait(name);
});

it('a refused scheduled submission is recorded as a failed operation', async () => {
  const name = 'wf-refused-signal';
  await suite.w.create(stubSpec(name));
  await suite.w.until(name, (v) => v.phase === 'Running');
  const h = entity(name);
  await h.signal(submitOperationSignal, { kind: 'provision' });
  await h.signal(submitOperationSignal, { kind: 'restore', params: {} });
  await h.signal(submitOperationSignal, { kind: 'backup', params: {} });
  const v = await suite.w.until(name, (x) => x.operations.some((o) => o.kind === 'backup' && o.status === 'Succeeded'));
  expect(v.operations.find((o) => o.kind === 'provision' && o.status === 'Failed')?.error).toMatch(
    /^refused: operation provision is not available/,
  );
  expect(v.operations.find((o) => o.kind === 'restore')).toMatchObject({
    status: 'Failed',
    error: expect.stringMatching(/^refused: backup: the id of a backup/),
  });
  expect(v.phase).toBe('Running');
  await suite.w.deleteAndWait(name);
});

it("a local cluster's operations and health checks run on its members' machine queue", async () => {
  const name = 'wf-machine-queue';
  const machine = stubMachineQueue(suite.w.taskQueue);
  const provision = await suite.w.create(stubSpec(name, { maintenance: { healthCheckInterval: '1s' } }));
  await suite.w.until(name, (v) => v.phase === 'Running');
  const backup = await entity(name).executeUpdate(submitOperationUpdate, { args: [{ kind: 'backup', params: {} }] });
  await suite.w.until(name, (v) => v.operations.some((o) => o.id === backup.operationId && o.status === 'Succeeded'));
  // The entity stays on the shared queue; each operation's child runs on the machine's.
  expect((await entity(name).describe()).taskQueue).toBe(suite.w.taskQueue);
  for (const op of [provision, backup]) expect((await suite.w.client.workflow.getHandle(op.workflowId).describe()).taskQueue).toBe(machine);
  // The machine is chosen once (on the shared queue); the entity's health watches (every run's) go to its health queue.
  const scheduled = async () => {
    const all: { type?: string | null; queue?: string | null }[] = [];
    for await (const run of suite.w.client.workflow.list({ query: `WorkflowId = '${clusterWorkflowId(name)}'` })) {
      for (const e of (await suite.w.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? []) {
        const a = e.activityTaskScheduledEventAttributes;
        if (a) all.push({ type: a.activityType?.name, queue: a.taskQueue?.name });
      }
    }
    return all;
  };
  let seen = await scheduled();
  for (let i = 0; i < 40 && !seen.some((a) => a.type === 'watchHealth'); i++) {
    await new Promise((r) => setTimeout(r, 500));
    seen = await scheduled();
  }
  expect(seen.filter((a) => a.type === 'workerMachine')).toEqual([{ type: 'workerMachine', queue: suite.w.taskQueue }]);
  const health = seen.filter((a) => a.type === 'watchHealth');
  expect(health.length).toBeGreaterThan(0);
  expect(health.every((a) => a.queue === healthQueue(machine))).toBe(true);
  await suite.w.deleteAndWait(name);
});

it('the standing health watch: readings alike stay in the activity; a change and an operation reach the entity at once', async () => {
  const name = 'wf-health-watch';
  // `down`: m3 is (quorum stays). The version stays put through the upgrade below: the readings before and
  // after it are alike.
  const down = { value: false };
  stubs.overrides.clusterHealth = async ({ spec: s }: any) => ({
    healthy: !(down.value && s.name === name),
    leader: s.members[0].name,
    alarms: [],
    members: s.members.map((m: any) => ({ name: m.name, healthy: !(down.value && s.name === name && m.name === 'm3'), version: '3.5.10' })),
    checkedAt: new Date().toISOString(),
  });
  const members = [1, 2, 3].map((i) => ({ name: `m${i}`, address: `127.0.98.${i}` }));
  await suite.w.create(stubSpec(name, { members, maintenance: { healthCheckInterval: '1s' } }));
  await suite.w.until(name, (v) => v.phase === 'Running');
  const answers = async () =>
    ((await entity(name).fetchHistory()).events ?? []).filter(
      (e) => e.activityTaskCompletedEventAttributes && e.activityTaskCompletedEventAttributes.scheduledEventId,
    ).length;
  const readingsBefore = callsFor(name, 'clusterHealth').length;
  const answersBefore = await answers();
  await new Promise((r) => setTimeout(r, 6_000));
  // Four readings or so (1 s apart, each after a 0.5 s wait for its heartbeat's answer), all alike the first:
  // at most that first one answered (no operation ran meanwhile).
  expect(callsFor(name, 'clusterHealth').length - readingsBefore).toBeGreaterThanOrEqual(3);
  expect((await answers()) - answersBefore).toBeLessThanOrEqual(1);

  // A reading unlike the last: recorded within about one interval.
  const t0 = Date.now();
  down.value = true;
  await suite.w.until(name, (v) => v.phase === 'Degraded');
  expect(Date.now() - t0).toBeLessThan(5_000);
  // An operation's outcome sets the phase and health (an upgrade's gates saw every member healthy: Running);
  // the next reading, alike the one before the upgrade, answers all the same and puts the cluster back where
  // its health says.
  const op = await entity(name).executeUpdate(submitOperationUpdate, { args: [{ kind: 'upgrade', params: { version: 'v3.5.35' } }] });
  await suite.w.until(name, (v) => v.operations.some((o) => o.id === op.operationId && o.status === 'Succeeded') && v.phase === 'Running');
  await suite.w.until(name, (v) => v.phase === 'Degraded', 5_000);
  down.value = false;
  await suite.w.until(name, (v) => v.phase === 'Running');

  await suite.w.deleteAndWait(name);

  // An operation does not wait for the watch's next reading (60 s away here).
  const slow = 'wf-health-watch-slow';
  await suite.w.create(stubSpec(slow, { maintenance: { healthCheckInterval: '60s' } }));
  await suite.w.until(slow, (v) => v.phase === 'Running');
  await new Promise((r) => setTimeout(r, 1_000));
  const t1 = Date.now();
  const backup = await entity(slow).executeUpdate(submitOperationUpdate, { args: [{ kind: 'backup', params: {} }] });
  await suite.w.until(slow, (v) => v.operations.some((o) => o.id === backup.operationId && o.status === 'Succeeded'));
  expect(Date.now() - t1).toBeLessThan(10_000);
  await suite.w.deleteAndWait(slow);
});
