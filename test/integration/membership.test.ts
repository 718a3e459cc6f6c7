// Membership changes on a live cluster under a client workload: scale
// 1 → 3 → 5 → 3 through POST/DELETE members, PATCH and the scale operation.
// After each change: no acknowledged write lost, the cluster healthy, write
// unavailability bounded by a few election timeouts, no learner left.
import fs from 'node:fs';
import path from 'node:path';
import { anyCachedRelease } from '../../activities/artifacts';
import { submitOperationUpdate } from '../../workflows/definitions';
import { clusterWorkflowId } from '../../common/operations';
import { etcdctl, loopback, memberPids, startStack, type Stack } from '../support/stack';
import { Workload, type WorkloadReport } from '../support/workload';

jest.setTimeout(600_000);

const ELECTION_MS = 500;
const MAX_UNAVAILABLE_MS = 3 * ELECTION_MS + 2_000;
const name = 'grow';
const addrs = loopback(60, 5);
const member = (i: number) => ({ name: `g${i}`, address: addrs[i - 1] });

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'membership' });
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

async function cluster(): Promise<any> {
  return (await stack.api('GET', `/v1/clusters/${name}`)).body;
}

async function withWorkload<T>(fn: () => Promise<T>): Promise<{ value: T; report: WorkloadReport }> {
  const c = await cluster();
  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w = new Workload(
    c.members.map((m: any) => m.clientURL),
    creds,
  );
  w.start();
  await new Promise((r) => setTimeout(r, 300));
  let value: T;
  try {
    value = await fn();
  } finally {
    await new Promise((r) => setTimeout(r, 300));
  }
  const report = await w.stop();
  return { value: value!, report };
}

function expectWorkloadOk(report: WorkloadReport) {
  expect(report.lost).toEqual([]);
  expect(report.writes).toBeGreaterThan(20);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(MAX_UNAVAILABLE_MS);
}

/** etcdctl member list as rows; asserts the expected names, all started voters. */
async function expectMembers(names: string[]) {
  const c = await cluster();
  const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
  const live = c.members.filter((m: any) => fs.existsSync(m.files?.certsDir ?? '/nonexistent'));
  const out = await etcdctl(
    bin,
    c.members.map((m: any) => m.clientURL),
    live[0].files.certsDir,
    'member',
    'list',
    '-w',
    'json',
  );
  const list = JSON.parse(out).members as { name: string; isLearner?: boolean; clientURLs?: string[] }[];
  expect(list.map((m) => m.name).sort()).toEqual([...names].sort());
  expect(list.filter((m) => m.isLearner)).toEqual([]);
  expect(list.every((m) => (m.clientURLs ?? []).length > 0)).toBe(true);
  expect(c.members.map((m: any) => m.name).sort()).toEqual([...names].sort());
  expect(
    await etcdctl(
      bin,
      c.members.map((m: any) => m.clientURL),
      live[0].files.certsDir,
      'endpoint',
      'health',
    ),
  ).toMatch(/is healthy/);
  // Every member's stored config lists exactly the current members.
  for (const m of c.members) {
    const config = fs.readFileSync(m.files.configFile, 'utf8');
    const line = /^initial-cluster: (.*)$/m.exec(config)![1];
    expect(
      line
        .split(',')
        .map((x) => x.split('=')[0])
        .sort(),
    ).toEqual([...names].sort());
    expect(config).toMatch(/initial-cluster-state: existing/);
  }
  return list;
}

it('provisions a 1-member cluster', async () => {
  const r = await stack.api('POST', '/v1/clusters', {
    name,
    version: 'v3.5.10',
    members: [member(1)],
    tunables: { heartbeatInterval: 50, electionTimeout: ELECTION_MS },
  });
  expect(r.status).toBe(202);
  expect((await stack.waitForPhase(name, ['Running', 'Failed'])).phase).toBe('Running');
});

it('scales 1 → 3 with POST /members (two adds queued back to back)', async () => {
  const t0 = Date.now();
  const { value: ops, report } = await withWorkload(async () => {
    const a = await stack.api('POST', `/v1/clusters/${name}/members`, member(2));
    expect(a.status).toBe(202);
    expect(a.body).toMatchObject({ operationId: `${name}.2-add-member`, workflowId: `etcd-cluster/${name}/op/2-add-member` });
    const b = await stack.api('POST', `/v1/clusters/${name}/members`, member(3));
    expect(b.status).toBe(202);
    return [await waitOp(a.body.operationId), await waitOp(b.body.operationId)];
  });
  for (const op of ops) expect(op).toMatchObject({ status: 'Succeeded' });
  expect(ops[0].steps.map((s: any) => s.name)).toEqual([
    'Check cluster health',
    'Fetch etcd release',
    'Issue certificates',
    'Prepare host',
    'Add as learner',
    'Start member',
    'Promote when caught up',
    'Wait for health',
    'Update member configs',
  ]);
  expect(ops[0].steps.every((s: any) => s.status === 'done')).toBe(true);
  expect(ops[0].result.warnings).toEqual([expect.stringMatching(/even count/)]);
  expectWorkloadOk(report);
  await expectMembers(['g1', 'g2', 'g3']);
  console.log(`1 → 3: ${Date.now() - t0} ms, workload`, { ...report, errors: report.errors.length });
});

it('plans 3 → 5 with PATCH ?dryRun=true without changing anything', async () => {
  const c = await cluster();
  const desired = { ...c.spec, members: [1, 2, 3, 4, 5].map(member) };
  const r = await stack.api('PATCH', `/v1/clusters/${name}?dryRun=true`, desired);
  expect(r.status).toBe(200);
  expect(r.body.plan).toEqual([
    { kind: 'add-member', params: member(4), reason: expect.any(String), changes: [{ field: 'members[g4]', from: null, to: member(4) }] },
    { kind: 'add-member', params: member(5), reason: expect.any(String), changes: [{ field: 'members[g5]', from: null, to: member(5) }] },
  ]);
  expect(r.body.warnings).toEqual([expect.stringMatching(/passes through 4 members/)]);
  expect((await cluster()).queuedOperations).toEqual([]);

  const bad = await stack.api('PATCH', `/v1/clusters/${name}`, { ...desired, ports: { client: 3379 }, paths: { dataDir: '/srv/etcd' } });
  expect(bad.status).toBe(422);
  expect(bad.body.errors.map((e: any) => e.path).sort()).toEqual(['paths', 'ports']);
  const moved = await stack.api('PATCH', `/v1/clusters/${name}`, {
    ...desired,
    members: [{ ...member(1), clientPort: 3379 }, member(2), member(3)],
  });
  expect(moved.status).toBe(422);
  expect(moved.body.errors.map((e: any) => e.path)).toEqual(['members[0].clientPort']);
  // Two members swapping addresses: the first replace would clash, so nothing is queued.
  const swap = await stack.api('PATCH', `/v1/clusters/${name}`, {
    ...desired,
    members: [{ ...member(1), address: addrs[1] }, { ...member(2), address: addrs[0] }, member(3)],
  });
  expect(swap.status).toBe(422);
  expect(swap.body.detail).toMatch(/step 1 \(replace-member\)/);
  expect((await cluster()).queuedOperations).toEqual([]);
  expect((await cluster()).operations.filter((o: any) => o.kind !== 'add-member' && o.kind !== 'provision')).toEqual([]);
  const renamed = await stack.api('PATCH', `/v1/clusters/${name}`, { ...desired, name: 'other' });
  expect(renamed.status).toBe(400);
  expect(renamed.body.errors[0].path).toBe('name');
});

it('scales 3 → 5 with PATCH (YAML body)', async () => {
  const t0 = Date.now();
  const c = await cluster();
  const yaml = [
    `name: ${name}`,
    'version: v3.5.10',
    'tunables: {heartbeatInterval: 50, electionTimeout: 500}',
    'members:',
    ...[1, 2, 3, 4, 5].map((i) => `  - {name: g${i}, address: ${addrs[i - 1]}}`),
  ].join('\n');
  expect(c.spec.members).toHaveLength(3);
  const { value: ops, report } = await withWorkload(async () => {
    const r = await stack.api('PATCH', `/v1/clusters/${name}`, yaml, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(202);
    expect(r.body.plan.map((s: any) => s.kind)).toEqual(['add-member', 'add-member']);
    expect(r.body.operations).toHaveLength(2);
    return Promise.all(r.body.operations.map((id: string) => waitOp(id)));
  });
  for (const op of ops) expect(op.status).toBe('Succeeded');
  expectWorkloadOk(report);
  await expectMembers(['g1', 'g2', 'g3', 'g4', 'g5']);
  console.log(`3 → 5: ${Date.now() - t0} ms, workload`, { ...report, errors: report.errors.length });
});

it('removes the leader with DELETE /members/{m}: leadership moves first, data is set aside', async () => {
  const t0 = Date.now();
  const c = await cluster();
  const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
  const eps = c.members.map((m: any) => m.clientURL);
  const certs = c.members[0].files.certsDir;
  // Make g5 the leader, so the removal has to move leadership away first.
  // endpoint, ID, version, db size, is leader, is learner, … (IDs stay hex strings: JSON would round uint64s).
  const rows = (await etcdctl(bin, eps, certs, 'endpoint', 'status'))
    .trim()
    .split('\n')
    .map((l) => l.split(',').map((x) => x.trim()));
  const g5 = rows.find((r) => r[0] === c.members.find((m: any) => m.name === 'g5').clientURL)!;
  const leader = rows.find((r) => r[4] === 'true')!;
  if (g5 !== leader) await etcdctl(bin, [leader[0]], certs, 'move-leader', g5[1]);
  const g5files = c.members.find((m: any) => m.name === 'g5').files;
  const { value: op, report } = await withWorkload(async () => {
    const r = await stack.api('DELETE', `/v1/clusters/${name}/members/g5`);
    expect(r.status).toBe(202);
    return waitOp(r.body.operationId);
  });
  expect(op.status).toBe('Succeeded');
  expect(op.steps.find((s: any) => s.name === 'Move leadership away').detail).toMatch(/leader now g/);
  expectWorkloadOk(report);
  await expectMembers(['g1', 'g2', 'g3', 'g4']);
  expect(fs.existsSync(g5files.configFile)).toBe(false);
  expect(fs.existsSync(g5files.dataDir)).toBe(false);
  const aside = fs.readdirSync(path.dirname(g5files.dataDir)).filter((f) => f.startsWith(`${path.basename(g5files.dataDir)}.removed-`));
  expect(aside).toHaveLength(1);
  expect(fs.existsSync(path.join(path.dirname(g5files.dataDir), aside[0], 'member/wal'))).toBe(true);
  console.log(`5 → 4: ${Date.now() - t0} ms, workload`, { ...report, errors: report.errors.length });
});

it('scales 4 → 3 with the scale operation (desired member list)', async () => {
  const t0 = Date.now();
  const { value: op, report } = await withWorkload(async () => {
    const accepted = await stack.client.workflow
      .getHandle(clusterWorkflowId(name))
      .executeUpdate(submitOperationUpdate, { args: [{ kind: 'scale', params: { members: [1, 2, 3].map(member) } }] });
    return waitOp(accepted.operationId);
  });
  expect(op.status).toBe('Succeeded');
  expect(op.result.steps).toEqual(['1. remove-member g4']);
  expect(op.result.warnings).toEqual([]);
  expectWorkloadOk(report);
  await expectMembers(['g1', 'g2', 'g3']);
  // Only the three members' etcd processes are left.
  expect(memberPids(stack.config.hostsDir)).toHaveLength(3);
  console.log(`4 → 3: ${Date.now() - t0} ms, workload`, { ...report, errors: report.errors.length });
});
