// Refusals that change nothing, then replacing a member whose process was
// killed and whose data dir was deleted, under a client workload.
import fs from 'node:fs';
import path from 'node:path';
import { anyCachedRelease } from '../../activities/artifacts';
import { clusterWorkflowId } from '../../common/operations';
import { submitOperationUpdate } from '../../workflows/definitions';
import { alive, etcdctl, loopback, startStack, type Stack } from '../support/stack';
import { Workload } from '../support/workload';

jest.setTimeout(600_000);

const ELECTION_MS = 500;
const name = 'mend';
const addrs = loopback(61, 3);
const bin = () => anyCachedRelease(stack.config.cacheDir, 'v3.5.10');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'membership-replace' });
});
afterAll(async () => {
  await stack?.stop();
});

async function waitOp(id: string, timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (['Succeeded', 'Failed', 'Cancelled'].includes(last.status)) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`operation ${id} did not finish: ${JSON.stringify(last)}`);
}

const cluster = async () => (await stack.api('GET', `/v1/clusters/${name}`)).body;

/** `member list` rows: id, started, name, peer URLs, client URLs, is learner. */
async function memberList(endpoints: string[], certsDir: string) {
  const out = await etcdctl(bin(), endpoints, certsDir, 'member', 'list');
  return out
    .trim()
    .split('\n')
    .map((l) => l.split(',').map((x) => x.trim()))
    .map(([id, started, mname, , , learner]) => ({ id, started, name: mname, learner: learner === 'true' }));
}

let before: any;

it('provisions a 3-member cluster', async () => {
  const r = await stack.api('POST', '/v1/clusters', {
    name,
    version: 'v3.5.10',
    members: addrs.map((address, i) => ({ name: `r${i + 1}`, address })),
    tunables: { heartbeatInterval: 50, electionTimeout: ELECTION_MS },
  });
  expect(r.status).toBe(202);
  before = await stack.waitForPhase(name, ['Running', 'Failed']);
  expect(before.phase).toBe('Running');
});

it('answers 400 with field paths for an invalid member body, 422 for a clash, 404 for an unknown member', async () => {
  const bad = await stack.api('POST', `/v1/clusters/${name}/members`, { name: 'bad name!', address: 'not an address', color: 'red' });
  expect(bad.status).toBe(400);
  expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
  expect(bad.body.errors.map((e: any) => e.path).sort()).toEqual(['address', 'color', 'name']);

  const dup = await stack.api('POST', `/v1/clusters/${name}/members`, { name: 'r2', address: '127.0.61.9' });
  expect(dup.status).toBe(422);
  expect(dup.body.detail).toMatch(/name: duplicate member name "r2"/);
  // The field of the request that is at fault: the add body is the member itself.
  expect(dup.body.errors).toEqual([{ path: 'name', message: expect.stringMatching(/duplicate member name "r2"/) }]);

  const remote = await stack.api('POST', `/v1/clusters/${name}/members`, { name: 'r9', address: '10.0.0.9' });
  expect(remote.status).toBe(422);
  expect(remote.body.detail).toMatch(/address: .*loopback/);
  expect(remote.body.errors.map((e: any) => e.path)).toEqual(['address']);

  expect((await stack.api('DELETE', `/v1/clusters/${name}/members/nobody`)).status).toBe(404);
  expect((await stack.api('POST', `/v1/clusters/${name}/members/nobody/replace`)).status).toBe(404);
  expect((await cluster()).operations.map((o: any) => o.kind)).toEqual(['provision']);
});

let oldR3: { id: string; peerCert: string };

it('refuses to remove a member or add one while a voter is down, and changes nothing', async () => {
  const c = await cluster();
  const r3 = c.members.find((m: any) => m.name === 'r3');
  const certs = c.members[0].files.certsDir;
  const list = await memberList(
    c.members.map((m: any) => m.clientURL),
    certs,
  );
  oldR3 = { id: list.find((m) => m.name === 'r3')!.id, peerCert: fs.readFileSync(path.join(r3.files.certsDir, 'peer.pem'), 'utf8') };

  const pid = Number(fs.readFileSync(path.join(stack.config.hostsDir, name, 'r3/run/etcd.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));

  const rm = await stack.api('DELETE', `/v1/clusters/${name}/members/r2`);
  expect(rm.status).toBe(422);
  expect(rm.headers.get('content-type')).toMatch(/problem\+json/);
  expect(rm.body.detail).toMatch(/refused to remove r2: .*unhealthy voting members: r3/);
  expect(rm.body.detail).toMatch(/quorum would be lost/);

  const add = await stack.api('POST', `/v1/clusters/${name}/members`, { name: 'r4', address: '127.0.61.4' });
  expect(add.status).toBe(422);
  expect(add.body.detail).toMatch(/unhealthy voting members: r3/);

  const after = await cluster();
  expect(after.spec.members.map((m: any) => m.name)).toEqual(['r1', 'r2', 'r3']);
  expect(after.operations.map((o: any) => o.kind)).toEqual(['provision']);
  expect(after.queuedOperations).toEqual([]);
  const live = after.members.filter((m: any) => m.name !== 'r3').map((m: any) => m.clientURL);
  expect((await memberList(live, certs)).map((m) => m.name).sort()).toEqual(['r1', 'r2', 'r3']);
  expect(fs.existsSync(path.join(stack.config.hostsDir, name, 'r4'))).toBe(false);
});

it('replaces the member whose process was killed and data dir deleted: 3 voters, new id, new certificates', async () => {
  const c = await cluster();
  const r3 = c.members.find((m: any) => m.name === 'r3');
  fs.rmSync(r3.files.dataDir, { recursive: true, force: true });
  const certs = c.members[0].files.certsDir;
  const live = c.members.filter((m: any) => m.name !== 'r3').map((m: any) => m.clientURL);

  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w = new Workload(live, creds);
  w.start();
  const t0 = Date.now();
  const r = await stack.api('POST', `/v1/clusters/${name}/members/r3/replace`);
  expect(r.status).toBe(202);
  const op = await waitOp(r.body.operationId);
  const took = Date.now() - t0;
  const report = await w.stop();
  expect(op.status).toBe('Succeeded');
  expect(op.steps.every((s: any) => s.status === 'done')).toBe(true);
  expect(op.steps.map((s: any) => s.name)).toEqual(
    expect.arrayContaining(['Leave: Check quorum', 'Leave: Remove from cluster', 'Join: Add as learner', 'Join: Promote when caught up']),
  );

  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(3 * ELECTION_MS + 2_000);
  console.log(`replace r3: ${took} ms, workload`, { ...report, errors: report.errors.length });

  const after = await cluster();
  expect(after.phase).toBe('Running');
  const list = await memberList(
    after.members.map((m: any) => m.clientURL),
    certs,
  );
  expect(list.map((m) => m.name).sort()).toEqual(['r1', 'r2', 'r3']);
  expect(list.every((m) => m.started === 'started' && !m.learner)).toBe(true);
  const newId = list.find((m) => m.name === 'r3')!.id;
  expect(newId).not.toBe(oldR3.id);
  expect(fs.readFileSync(path.join(r3.files.certsDir, 'peer.pem'), 'utf8')).not.toBe(oldR3.peerCert);
  expect(
    await etcdctl(
      bin(),
      after.members.map((m: any) => m.clientURL),
      certs,
      'endpoint',
      'health',
    ),
  ).toMatch(/is healthy/);
  // The replaced member serves reads of data written before it was replaced.
  expect(await etcdctl(bin(), [r3.clientURL], certs, 'get', '/workload/k1', '--print-value-only', '--consistency=s')).not.toBe('');
});

it('removes a learner that never catches up again and fails clearly, leaving the cluster as it was', async () => {
  const c = await cluster();
  const certs = c.members[0].files.certsDir;
  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w = new Workload(
    c.members.map((m: any) => m.clientURL),
    creds,
  );
  w.start();
  const pidfile = path.join(stack.config.hostsDir, name, 'r4/run/etcd.pid');
  const r = await stack.api('POST', `/v1/clusters/${name}/members`, { name: 'r4', address: '127.0.61.4', promoteTimeoutSeconds: 3 });
  expect(r.status).toBe(202);
  // Freeze the learner the moment it starts: alive, but it never catches up.
  let frozen: number | undefined;
  const deadline = Date.now() + 60_000;
  while (!frozen && Date.now() < deadline) {
    const pid = fs.existsSync(pidfile) ? Number(fs.readFileSync(pidfile, 'utf8')) : 0;
    if (pid > 0 && alive(pid)) {
      process.kill(pid, 'SIGSTOP');
      frozen = pid;
    } else await new Promise((res) => setTimeout(res, 2));
  }
  expect(frozen).toBeDefined();
  const op = await waitOp(r.body.operationId);
  const report = await w.stop();
  expect(op.status).toBe('Failed');
  expect(op.error).toMatch(/learner r4 was not promoted within 3 s .*removed from the cluster again/);
  expect(op.steps.find((s: any) => s.name === 'Roll back: remove learner r4')).toMatchObject({ status: 'done' });
  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(3 * ELECTION_MS + 2_000);

  expect(alive(frozen!)).toBe(false);
  const after = await cluster();
  expect(after.spec.members.map((m: any) => m.name)).toEqual(['r1', 'r2', 'r3']);
  const list = await memberList(
    after.members.map((m: any) => m.clientURL),
    certs,
  );
  expect(list.map((m) => m.name).sort()).toEqual(['r1', 'r2', 'r3']);
  expect(list.some((m) => m.learner)).toBe(false);
  const r4 = path.join(stack.config.hostsDir, name, 'r4');
  expect(fs.existsSync(path.join(r4, 'etc/etcd/config.yaml'))).toBe(false);
  expect(fs.readdirSync(path.join(r4, 'var/lib')).some((f) => f.startsWith('etcd.removed-'))).toBe(true);
});

it('scales to a member list without a dead member: the dead one is removed first, then the new one added', async () => {
  const pid = Number(fs.readFileSync(path.join(stack.config.hostsDir, name, 'r2/run/etcd.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  const c = await cluster();
  const live = c.members.filter((m: any) => m.name !== 'r2').map((m: any) => m.clientURL);
  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w = new Workload(live, creds);
  w.start();
  const desired = [c.spec.members[0], c.spec.members[2], { name: 'r4', address: '127.0.61.4' }];
  const accepted = await stack.client.workflow
    .getHandle(clusterWorkflowId(name))
    .executeUpdate(submitOperationUpdate, { args: [{ kind: 'scale', params: { members: desired } }] });
  const op = await waitOp(accepted.operationId);
  const report = await w.stop();
  expect(op.status).toBe('Succeeded');
  expect(op.result.steps).toEqual(['1. remove-member r2', '2. add-member r4']);
  expect(op.result.warnings).toEqual([expect.stringMatching(/step 1 \(remove-member r2\) passes through 2 members/)]);
  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(3 * ELECTION_MS + 2_000);
  const after = await cluster();
  expect(after.phase).toBe('Running');
  expect(after.spec.members.map((m: any) => m.name)).toEqual(['r1', 'r3', 'r4']);
  const list = await memberList(
    after.members.map((m: any) => m.clientURL),
    after.members[0].files.certsDir,
  );
  expect(list.map((m) => m.name).sort()).toEqual(['r1', 'r3', 'r4']);
  expect(list.every((m) => m.started === 'started' && !m.learner)).toBe(true);
});
