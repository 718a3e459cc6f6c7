// Durability of a membership change: SIGKILL the worker in the middle of an
// add; a new worker finishes it with exactly one new member and no duplicate.
import { anyCachedRelease } from '../../activities/artifacts';
import { etcdctl, loopback, memberPids, startStack, type Stack } from '../support/stack';
import { Workload } from '../support/workload';

jest.setTimeout(600_000);

const ELECTION_MS = 500;
const name = 'undying';
const addrs = loopback(62, 3);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'membership-resume', inProcessWorker: false });
});
afterAll(async () => {
  await stack?.stop();
});

it('finishes an add after the worker is killed mid-way, with no duplicate member', async () => {
  const first = stack.spawnWorker();
  const r = await stack.api('POST', '/v1/clusters', {
    name,
    version: 'v3.5.10',
    members: addrs.slice(0, 2).map((address, i) => ({ name: `u${i + 1}`, address })),
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

  const add = await stack.api('POST', `/v1/clusters/${name}/members`, { name: 'u3', address: addrs[2] });
  expect(add.status).toBe(202);
  const killable = ['Add as learner', 'Start member', 'Promote when caught up'];
  const deadline = Date.now() + 120_000;
  let killedAt: string | undefined;
  while (!killedAt && Date.now() < deadline) {
    const op = (await stack.api('GET', `/v1/operations/${add.body.operationId}`)).body;
    const running = op.steps?.find((s: any) => s.status === 'running');
    if (running && killable.includes(running.name)) {
      first.kill('SIGKILL');
      killedAt = running.name;
    } else if (['Succeeded', 'Failed'].includes(op.status)) break;
    else await new Promise((res) => setTimeout(res, 20));
  }
  expect(killedAt).toBeDefined();
  await new Promise<void>((res) => (first.exitCode !== null || first.signalCode !== null ? res() : first.once('exit', () => res())));
  console.log(`worker killed during "${killedAt}"`);

  stack.spawnWorker();
  let op: any;
  while (Date.now() < t0 + 240_000) {
    op = (await stack.api('GET', `/v1/operations/${add.body.operationId}`)).body;
    if (['Succeeded', 'Failed', 'Cancelled'].includes(op.status)) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  const report = await w.stop();
  console.log(`add with a worker kill: ${Date.now() - t0} ms, workload`, { ...report, errors: report.errors.length });
  expect(op.status).toBe('Succeeded');
  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(3 * ELECTION_MS + 2_000);

  const after = await stack.waitForPhase(name, ['Running'], 60_000);
  expect(after.members.map((m: any) => m.name)).toEqual(['u1', 'u2', 'u3']);
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
  expect(rows.map((x) => x[2]).sort()).toEqual(['u1', 'u2', 'u3']);
  expect(rows.every((x) => x[1] === 'started' && x[5] === 'false')).toBe(true);
  // One etcd process per member: the retried start did not start a second one.
  expect(memberPids(stack.config.hostsDir)).toHaveLength(3);
});
