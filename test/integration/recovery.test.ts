// Quorum-loss recovery end to end (local provider; nothing restarts a killed
// member there, so a member whose process is killed and data dir wiped stays
// gone): two of three members lost → QuorumLost → the recover-quorum
// operation waits with its plan → approve → every acknowledged write the
// survivor holds is back, 3 members Running. Then all three lost → recovery
// from the latest backup, revision bumped.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { alive, fastSpec, loopback, startStack, type Stack } from '../support/stack';

jest.setTimeout(600_000);

const name = 'qrm';
const BUMP = 1_000_000_000;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: 'recovery' });
});
afterAll(async () => {
  await stack?.api('DELETE', `/v1/clusters/${name}?purge=true`).catch(() => undefined);
  await stack?.waitForPhase(name, ['Deleted'], 60_000).catch(() => undefined);
  await stack?.stop();
});

const cluster = async () => (await stack.api('GET', `/v1/clusters/${name}`)).body;

function client(c: any): Etcd3 {
  const certs = c.members[0].files.certsDir;
  return new Etcd3({
    hosts: c.members.map((m: any) => m.clientURL),
    credentials: {
      rootCertificate: fs.readFileSync(`${certs}/ca.pem`),
      certChain: fs.readFileSync(`${certs}/admin.pem`),
      privateKey: fs.readFileSync(`${certs}/admin-key.pem`),
    },
  });
}

async function waitOp(id: string, until: (op: any) => boolean, timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (until(last)) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`operation ${id} not there yet: ${JSON.stringify(last)}`);
}
const finished = (op: any) => ['Succeeded', 'Failed', 'Cancelled'].includes(op.status);
const waitingForApproval = (op: any) =>
  finished(op) || op.steps?.some((s: any) => s.name === 'Waiting for approval' && s.status === 'running');

/** SIGKILL the member's etcd and delete its data dir: it cannot come back. */
async function lose(c: any, member: string): Promise<void> {
  const m = c.members.find((x: any) => x.name === member);
  const pid = Number(fs.readFileSync(path.join(stack.config.hostsDir, name, member, 'run/etcd.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  fs.rmSync(m.files.dataDir, { recursive: true, force: true });
}

/** Waits for QuorumLost and the recover-quorum operation's approval step; returns the operation. */
async function recoveryWaiting(): Promise<any> {
  const lost = await stack.waitForPhase(name, ['QuorumLost'], 120_000);
  expect(lost.phase).toBe('QuorumLost');
  expect(lost.reason).toMatch(/quorum lost for \d+ s/);
  const op = lost.currentOperation ?? lost.queuedOperations.find((o: any) => o.kind === 'recover-quorum');
  expect(op.kind).toBe('recover-quorum');
  return waitOp(op.id, waitingForApproval);
}

const written: Record<string, string> = {};

it('provisions 3 members with a short grace period and writes keys (all acknowledged)', async () => {
  const spec = fastSpec(name, loopback(97, 3), {
    recovery: { quorumLossGrace: '3s' },
    maintenance: { healthCheckInterval: '2s' },
  });
  expect((await stack.api('POST', '/v1/clusters', spec)).status).toBe(202);
  const c = await stack.waitForPhase(name, ['Running', 'Failed']);
  expect(c.phase).toBe('Running');
  const e = client(c);
  try {
    for (let i = 0; i < 200; i++) {
      written[`/app/k-${i}`] = `v-${i}`;
      await e.put(`/app/k-${i}`).value(`v-${i}`);
    }
  } finally {
    e.close();
  }
});

it('two members lost: QuorumLost, the operation waits with its plan, approve restores from the survivor', async () => {
  const c = await cluster();
  // Let the survivor learn the last commit index (heartbeats every 50 ms).
  await new Promise((r) => setTimeout(r, 500));
  await lose(c, `${name}-2`);
  await lose(c, `${name}-3`);

  const op = await recoveryWaiting();
  expect(op.status).toBe('Running');
  const waiting = op.steps.find((s: any) => s.name === 'Waiting for approval');
  expect(waiting.detail).toMatch(new RegExp(`plan: restore every member .* from survivor ${name}-1`));
  expect(op.steps.find((s: any) => s.name === 'Assess members').detail).toMatch(new RegExp(`${name}-2: not running, no data`));

  // Not an operation that waits: 409. Not admin: the token is admin, so only the 409 paths here.
  const provision = c.operations.find((o: any) => o.kind === 'provision');
  expect((await stack.api('POST', `/v1/operations/${provision.id}/approve`)).status).toBe(409);

  const t0 = Date.now();
  const approved = await stack.api('POST', `/v1/operations/${op.id}/approve`);
  expect(approved.status).toBe(202);
  const done = await waitOp(op.id, finished);
  expect(done.status).toBe('Succeeded');
  console.log(`quorum-loss recovery from approval to Running: ${Date.now() - t0} ms`);
  expect(done.result).toMatchObject({ recovered: true, source: { kind: 'survivor', member: `${name}-1` } });
  expect((await stack.api('POST', `/v1/operations/${op.id}/approve`)).status).toBe(409);

  const after = await stack.waitForPhase(name, ['Running'], 60_000);
  expect(after.members.map((m: any) => [m.name, m.healthy])).toEqual([1, 2, 3].map((i) => [`${name}-${i}`, true]));
  const e = client(after);
  try {
    expect(await e.getAll().prefix('/app/').strings()).toEqual(written);
    expect(Number((await e.get('/app/k-0').exec()).header.revision)).toBeGreaterThan(BUMP);
  } finally {
    e.close();
  }
});

it('all three lost: recovery from the latest backup, revision bumped', async () => {
  const backup = await stack.api('POST', `/v1/clusters/${name}/backups`, {});
  expect(backup.status).toBe(202);
  const b = await waitOp(backup.body.operationId, finished);
  expect(b.status).toBe('Succeeded');
  const backupRevision = b.result.backup.verified.revision;

  const c = await cluster();
  for (const m of c.members) await lose(c, m.name);
  const op = await recoveryWaiting();
  expect(op.steps.find((s: any) => s.name === 'Waiting for approval').detail).toMatch(new RegExp(`from backup ${b.result.backup.id}`));
  expect((await stack.api('POST', `/v1/operations/${op.id}/approve`)).status).toBe(202);
  const done = await waitOp(op.id, finished);
  expect(done.status).toBe('Succeeded');
  expect(done.result).toMatchObject({ recovered: true, source: { kind: 'backup' } });

  const after = await stack.waitForPhase(name, ['Running'], 60_000);
  expect(after.members.every((m: any) => m.healthy)).toBe(true);
  const e = client(after);
  try {
    expect(await e.getAll().prefix('/app/').strings()).toEqual(written);
    expect(Number((await e.get('/app/k-0').exec()).header.revision)).toBeGreaterThan(backupRevision + BUMP);
  } finally {
    e.close();
  }
});
