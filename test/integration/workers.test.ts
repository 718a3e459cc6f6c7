// Issue 14, several workers: two worker processes share one Temporal; the one
// running an activity of a member add is SIGKILLed in the middle of it; the
// other finishes the operation (after the activity's start-to-close timeout),
// with no duplicate member and no lost write.
//
// Both workers run on this one machine, so they poll the same machine queue
// (`<taskQueue>@<hostname>`), where the local provider's operations run: this
// is the honest single-machine case. Which machine a member's steps run on is
// covered by the workflow code (workflows/placement.ts) and its replay test,
// not by a second machine here.
import { temporal } from '@temporalio/proto';
import { anyCachedRelease } from '../../activities/artifacts';
import { machineQueue } from '../../infra/config';
import { etcdctl, loopback, memberPids, startStack, type Stack } from '../support/stack';
import { Workload } from '../support/workload';

jest.setTimeout(600_000);

const ELECTION_MS = 500;
const name = 'twin';
const addrs = loopback(67, 3);
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'workers', inProcessWorker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const exited = (c: { exitCode: number | null; signalCode: string | null; once(e: 'exit', f: () => void): unknown }) =>
  new Promise<void>((res) => (c.exitCode !== null || c.signalCode !== null ? res() : void c.once('exit', () => res())));

it('an add finishes on the other worker after the one running its activity is SIGKILLed', async () => {
  const workers = [stack.spawnWorker(), stack.spawnWorker()];
  const r = await stack.api('POST', '/v1/clusters', {
    name,
    version: 'v3.5.10',
    members: addrs.slice(0, 2).map((address, i) => ({ name: `t${i + 1}`, address })),
    tunables: { heartbeatInterval: 50, electionTimeout: ELECTION_MS },
  });
  expect(r.status).toBe(202);
  const c = await stack.waitForPhase(name, ['Running', 'Failed'], 240_000);
  expect(c.phase).toBe('Running');

  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w = new Workload(
    c.members.map((m: any) => m.clientURL),
    creds,
  );
  w.start();
  const t0 = Date.now();

  const add = await stack.api('POST', `/v1/clusters/${name}/members`, { name: 't3', address: addrs[2] });
  expect(add.status).toBe(202);
  const child = stack.client.workflow.getHandle(add.body.workflowId);

  // Kill the worker the moment it is running one of the add's activities.
  const deadline = Date.now() + 120_000;
  let killed: { pid: number; activity: string } | undefined;
  while (!killed && Date.now() < deadline) {
    const d = await child.describe().catch(() => undefined);
    if (d && d.status.name !== 'RUNNING') break;
    const running = d?.raw.pendingActivities?.find((a) => a.state === STARTED && a.lastWorkerIdentity);
    const pid = Number(running?.lastWorkerIdentity?.split('@')[0]);
    const victim = workers.find((p) => p.pid === pid);
    if (running && victim) {
      victim.kill('SIGKILL');
      killed = { pid, activity: running.activityType?.name ?? '?' };
    } else await new Promise((res) => setTimeout(res, 20));
  }
  expect(killed).toBeDefined();
  const survivor = workers.find((p) => p.pid !== killed!.pid)!;
  await exited(workers.find((p) => p.pid === killed!.pid)!);
  console.log(`worker ${killed!.pid} killed while it ran ${killed!.activity}`);

  let op: any;
  while (Date.now() < t0 + 240_000) {
    op = (await stack.api('GET', `/v1/operations/${add.body.operationId}`)).body;
    if (['Succeeded', 'Failed', 'Cancelled'].includes(op.status)) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  const report = await w.stop();
  console.log(`add with one of two workers killed: ${Date.now() - t0} ms, workload`, { ...report, errors: report.errors.length });
  expect(op.status).toBe('Succeeded');
  expect(report.lost).toEqual([]);
  expect(survivor.exitCode).toBeNull();

  // The add ran on the machine queue, and its last activities on the surviving worker.
  const described = await child.describe();
  expect(described.taskQueue).toBe(machineQueue(stack.config));
  const history = await child.fetchHistory();
  const identities = (history.events ?? []).flatMap((e) => e.activityTaskStartedEventAttributes?.identity ?? []);
  expect(identities.at(-1)).toMatch(new RegExp(`^${survivor.pid}@`));

  const after = await stack.waitForPhase(name, ['Running'], 60_000);
  expect(after.members.map((m: any) => m.name)).toEqual(['t1', 't2', 't3']);
  const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
  const rows = (
    await etcdctl(
      bin,
      after.members.map((m: any) => m.clientURL),
      after.members[0].files.certsDir,
      'member',
      'list',
    )
  )
    .trim()
    .split('\n')
    .map((l) => l.split(',').map((x) => x.trim()));
  expect(rows.map((x) => x[2]).sort()).toEqual(['t1', 't2', 't3']);
  expect(rows.every((x) => x[1] === 'started' && x[5] === 'false')).toBe(true);
  // One etcd process per member: the retried step started no second one.
  expect(memberPids(stack.config.hostsDir)).toHaveLength(3);
});
