// Rolling upgrade end to end: v3.5.10 → latest v3.5 → latest v3.6 and back to
// latest v3.5 (etcd's downgrade flow) on a 3-member cluster under a client
// workload, with a pause/resume in the middle;
// refusals for a skipped patch/minor and a downgrade; a scheduled backup
// fired during the upgrade waits for it.
import { anyCachedRelease } from '../../activities/artifacts';
import { bootstrappedEtcdVersions } from '../../infra/etcd-releases';
import { etcdctl, loopback, startStack, type Stack } from '../support/stack';
import { Workload } from '../support/workload';

jest.setTimeout(300_000);

// The releases this run built: v3.5.10, the latest 3.5 and the latest 3.6 patch.
const { default: FROM, latest35: V35, latest36: V36 } = bootstrappedEtcdVersions();
const bare = (v: string) => v.slice(1);
const ELECTION_MS = 500;
const MAX_UNAVAILABLE_MS = 3 * ELECTION_MS + 2000;
let stack: Stack;
const name = 'upg';
const addrs = loopback(70, 3);

beforeAll(async () => {
  stack = await startStack({ label: 'upgrade' });
  const r = await stack.api('POST', '/v1/clusters', {
    name,
    version: FROM,
    members: addrs.map((address, i) => ({ name: `u${i + 1}`, address })),
    tunables: { heartbeatInterval: 50, electionTimeout: ELECTION_MS },
  });
  expect(r.status).toBe(202);
  expect((await stack.waitForPhase(name, ['Running', 'Failed'])).phase).toBe('Running');
});
afterAll(async () => {
  await stack?.stop();
});

async function workload(): Promise<Workload> {
  const c = (await stack.api('GET', `/v1/clusters/${name}`)).body;
  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w = new Workload(
    c.members.map((m: any) => m.clientURL),
    creds,
  );
  w.start();
  return w;
}

async function waitOp(id: string, statuses = ['Succeeded', 'Failed', 'Cancelled'], timeoutMs = 240_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (statuses.includes(op.status)) return op;
    if (Date.now() > deadline) throw new Error(`operation ${id} still ${op.status}: ${JSON.stringify(op.steps)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function endpointStatus(version: string): Promise<any[]> {
  const c = (await stack.api('GET', `/v1/clusters/${name}`)).body;
  const out = await etcdctl(
    anyCachedRelease(stack.config.cacheDir, version),
    c.members.map((m: any) => m.clientURL),
    c.members[0].files.certsDir,
    'endpoint',
    'status',
    '-w',
    'json',
  );
  return JSON.parse(out);
}

function memberOrder(op: any): string[] {
  return op.steps
    .filter((s: any) => /^Upgrade \S+/.test(s.name) && s.startedAt)
    .sort((a: any, b: any) => a.startedAt.localeCompare(b.startedAt))
    .map((s: any) => s.name.split(' ')[1]);
}

it('refuses skipping the latest patch, a skipped minor and a downgrade with 422, changing nothing', async () => {
  const before = (await stack.api('GET', `/v1/clusters/${name}`)).body;
  const skip = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: V36 });
  expect(skip.status).toBe(422);
  expect(skip.headers.get('content-type')).toMatch(/problem\+json/);
  expect(skip.body.detail).toContain(`upgrade to ${V35} first, then ${V36}`);
  const down = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: 'v3.4.27' });
  expect(down.status).toBe(422);
  expect(down.body.detail).toMatch(/downgrade/);
  const unknown = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: `v3.5.${Number(V35.split('.')[2]) + 1}` });
  expect(unknown.status).toBe(422);
  expect(unknown.body.detail).toMatch(/not an available etcd release/);
  expect(unknown.body.errors).toEqual([{ path: 'version', message: expect.stringMatching(/not an available etcd release/) }]);
  const after = (await stack.api('GET', `/v1/clusters/${name}`)).body;
  expect(after.version).toBe(FROM);
  expect(after.operations.length).toBe(before.operations.length);
  expect(after.current ?? null).toBeNull();
});

it('upgrades v3.5.10 → latest v3.5 followers first, leader last, with a pause and resume in the middle', async () => {
  const w = await workload();
  const t0 = Date.now();
  const r = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: V35 });
  expect(r.status).toBe(202);
  const id = r.body.operationId;

  // Pause once the first member is done: the next member must not start.
  for (;;) {
    const op = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (op.steps?.filter((s: any) => s.name.startsWith('Upgrade ') && s.status === 'done').length >= 1) break;
    if (['Failed', 'Succeeded'].includes(op.status)) throw new Error(`finished before pause: ${JSON.stringify(op)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  expect((await stack.api('POST', `/v1/operations/${id}/pause`)).status).toBe(202);
  // The pause takes effect at the next step boundary: wait until the member in flight (if any) has finished.
  let paused: any;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((res) => setTimeout(res, 200))) {
    paused = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (paused.status === 'Paused' && !paused.steps.some((s: any) => s.status === 'running')) break;
  }
  expect(paused.status).toBe('Paused');
  expect(paused.steps.some((s: any) => s.status === 'running')).toBe(false);
  const doneAtPause = paused.steps.filter((s: any) => s.status === 'done').length;
  // A scheduled backup fired during the upgrade queues behind it.
  expect((await stack.api('PUT', `/v1/clusters/${name}/schedules`, { backup: { every: '1h', paused: true } })).status).toBe(200);
  expect((await stack.api('POST', `/v1/clusters/${name}/schedules/backup/trigger`)).status).toBe(202);
  let backup: any;
  for (let i = 0; i < 100 && !backup; i++) {
    backup = (await stack.api('GET', `/v1/clusters/${name}`)).body.queuedOperations.find((o: any) => o.kind === 'backup');
    if (!backup) await new Promise((res) => setTimeout(res, 200));
  }
  expect(backup).toMatchObject({ status: 'Queued', params: { scheduled: true } });
  await new Promise((res) => setTimeout(res, 2000));
  const stillPaused = (await stack.api('GET', `/v1/operations/${id}`)).body;
  expect(stillPaused.steps.filter((s: any) => s.status === 'done').length).toBe(doneAtPause);
  expect(stillPaused.steps.some((s: any) => s.status === 'running')).toBe(false);
  expect((await stack.api('POST', `/v1/operations/${id}/resume`)).status).toBe(202);

  const op = await waitOp(id);
  const report = await w.stop();
  expect(op.status).toBe('Succeeded');
  const order = memberOrder(op);
  const leaderStep = op.steps.find((s: any) => s.name.includes('(leader, last)'));
  expect(order).toHaveLength(3);
  expect(leaderStep.name.split(' ')[1]).toBe(order[2]);
  console.log(
    `upgrade to ${V35}: ${Date.now() - t0} ms, order ${order.join(' → ')}, workload ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`,
  );
  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(MAX_UNAVAILABLE_MS);

  const b = await waitOp(backup.id);
  expect(b.status).toBe('Succeeded');
  expect(Date.parse(b.startedAt)).toBeGreaterThanOrEqual(Date.parse(op.finishedAt));
  expect((await stack.api('PUT', `/v1/clusters/${name}/schedules`, { backup: null })).status).toBe(200);

  const c = await stack.waitForPhase(name, ['Running', 'Degraded']);
  expect(c.phase).toBe('Running');
  expect(c.version).toBe(V35);
  const st = await endpointStatus(V35);
  expect(st.map((s) => s.Status.version)).toEqual(Array(3).fill(bare(V35)));
});

it('upgrades latest v3.5 → latest v3.6 and the cluster version becomes 3.6', async () => {
  const w = await workload();
  const t0 = Date.now();
  const r = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: V36 });
  expect(r.status).toBe(202);
  const op = await waitOp(r.body.operationId);
  const report = await w.stop();
  expect(op.status).toBe('Succeeded');
  console.log(
    `upgrade to ${V36}: ${Date.now() - t0} ms, order ${memberOrder(op).join(' → ')}, result ${JSON.stringify(op.result)}, workload ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`,
  );
  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(MAX_UNAVAILABLE_MS);
  expect(op.result.clusterVersion).toMatch(/^3\.6\./);
  expect(op.result.snapshot).toMatch(/_snapshots\/pre-upgrade-\d+\.db$/);

  const c = await stack.waitForPhase(name, ['Running', 'Degraded']);
  expect(c.phase).toBe('Running');
  expect(c.version).toBe(V36);
  const st = await endpointStatus(V36);
  expect(st.map((s) => s.Status.version)).toEqual(Array(3).fill(bare(V36)));
  const ver = await etcdctl(anyCachedRelease(stack.config.cacheDir, V36), [c.members[0].clientURL], c.members[0].files.certsDir, 'version');
  expect(ver).toContain(`etcdctl version: ${bare(V36)}`);
});

it('rolls 3.6 back to the latest 3.5 through etcd downgrade flow under a workload; any other downgrade is a 422 naming it', async () => {
  const other = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: FROM });
  expect(other.status).toBe(422);
  expect(other.body.detail).toContain(`goes to the latest patch of 3.5: ${V35}`);

  const w = await workload();
  const t0 = Date.now();
  const r = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: V35 });
  expect(r.status).toBe(202);
  const op = await waitOp(r.body.operationId);
  const report = await w.stop();
  console.log(`downgrade to ${V35}: ${Date.now() - t0} ms, workload ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`);
  expect({ status: op.status, error: op.error }).toEqual({ status: 'Succeeded', error: undefined });
  const names = op.steps.map((s: any) => s.name);
  expect(names).toEqual(
    expect.arrayContaining(['Snapshot before upgrade', 'Enable downgrade to 3.5', 'Storage version 3.5 on every member']),
  );
  expect(names.filter((n: string) => /^Downgrade \S+/.test(n))).toHaveLength(3);
  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(MAX_UNAVAILABLE_MS);
  expect(op.result.clusterVersion).toMatch(/^3\.5\./);

  const c = await stack.waitForPhase(name, ['Running', 'Degraded']);
  expect(c.phase).toBe('Running');
  expect(c.version).toBe(V35);
  const st = await endpointStatus(V35);
  expect(st.map((s) => s.Status.version)).toEqual(Array(3).fill(bare(V35)));
});
