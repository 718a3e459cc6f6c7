// Durability: SIGKILL the worker in the middle of provisioning; a new worker
// finishes the job and the cluster has exactly the spec's members.
import { loopback, memberPids, startStack, type Stack } from '../support/stack';
import { anyCachedRelease } from '../../activities/artifacts';
import { etcdctl } from '../support/stack';

jest.setTimeout(300_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'resume', inProcessWorker: false });
});
afterAll(async () => {
  await stack?.stop();
});

it('finishes provisioning after the worker is killed mid-way', async () => {
  const name = 'phoenix';
  const addrs = loopback(46, 3);
  const first = stack.spawnWorker();
  const r = await stack.api('POST', '/v1/clusters', {
    name,
    members: addrs.map((address, i) => ({ name: `p${i + 1}`, address })),
    tunables: { heartbeatInterval: 50, electionTimeout: 500 },
  });
  expect(r.status).toBe(202);

  // Kill as soon as the hosts are being prepared or members started.
  const deadline = Date.now() + 120_000;
  let killedAt: string | undefined;
  while (!killedAt && Date.now() < deadline) {
    const op = await stack.api('GET', `/v1/operations/${r.body.operationId}`);
    const running = op.body.steps?.find((s: any) => s.status === 'running');
    if (running && ['Prepare hosts', 'Start members', 'Wait for quorum and health'].includes(running.name)) {
      first.kill('SIGKILL');
      killedAt = running.name;
    } else await new Promise((res) => setTimeout(res, 50));
  }
  expect(killedAt).toBeDefined();
  await new Promise<void>((res) => (first.exitCode !== null || first.signalCode !== null ? res() : first.once('exit', () => res())));

  stack.spawnWorker();
  const c = await stack.waitForPhase(name, ['Running', 'Failed'], 240_000);
  expect(c.phase).toBe('Running');
  expect(c.members.map((m: any) => m.name)).toEqual(['p1', 'p2', 'p3']);
  const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
  const list = await etcdctl(
    bin,
    c.members.map((m: any) => m.clientURL),
    c.members[0].files.certsDir,
    'member',
    'list',
  );
  expect(list.trim().split('\n')).toHaveLength(3);
  // One etcd process per member: no duplicate started by the retry.
  expect(memberPids(stack.config.hostsDir)).toHaveLength(3);
});
