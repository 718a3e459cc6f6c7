// Rolling config change, certificate renewal and CA rotation on a 3-member
// cluster under a client workload: no lost writes, failures only within one
// election, and `openssl verify` with the (new) CA.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { anyCachedRelease } from '../../activities/artifacts';
import { etcdctl, loopback, startStack, type Stack } from '../support/stack';
import { Workload, type WorkloadCredentials } from '../support/workload';

jest.setTimeout(300_000);
const run = promisify(execFile);
const ELECTION_MS = 500;
const MAX_UNAVAILABLE_MS = 3 * ELECTION_MS + 2000;
const name = 'rot';
const created = {
  name,
  version: 'v3.5.10',
  members: loopback(73, 3).map((address, i) => ({ name: `r${i + 1}`, address })),
  tunables: { heartbeatInterval: 50, electionTimeout: ELECTION_MS },
};
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: 'rollout-certs' });
  const r = await stack.api('POST', '/v1/clusters', created);
  expect(r.status).toBe(202);
  expect((await stack.waitForPhase(name, ['Running', 'Failed'])).phase).toBe('Running');
});
afterAll(async () => {
  await stack?.stop();
});

async function cluster() {
  return (await stack.api('GET', `/v1/clusters/${name}`)).body;
}
async function workload(creds?: WorkloadCredentials, prefix?: string): Promise<Workload> {
  const c = await cluster();
  const w = new Workload(
    c.members.map((m: any) => m.clientURL),
    creds ?? (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body,
    4,
    prefix,
  );
  w.start();
  return w;
}
async function waitOp(id: string, until?: (op: any) => boolean): Promise<any> {
  for (;;) {
    const op = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (until?.(op) || ['Succeeded', 'Failed', 'Cancelled'].includes(op.status)) return op;
    await new Promise((r) => setTimeout(r, 100));
  }
}
function checkReport(what: string, report: Awaited<ReturnType<Workload['stop']>>) {
  console.log(`${what}: workload ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`);
  expect(report.lost).toEqual([]);
  expect(report.maxUnavailableMs).toBeLessThanOrEqual(MAX_UNAVAILABLE_MS);
}
async function opensslVerify(caFile: string, cert: string): Promise<string> {
  const { stdout } = await run('openssl', ['verify', '-CAfile', caFile, cert]);
  return stdout;
}
const serial = (file: string) => new X509Certificate(fs.readFileSync(file)).serialNumber;

it('applies a config change member by member', async () => {
  const w = await workload();
  const r = await stack.api('POST', `/v1/clusters/${name}/config`, { tunables: { snapshotCount: 5000 }, logging: { level: 'warn' } });
  expect(r.status).toBe(202);
  const bad = await stack.api('POST', `/v1/clusters/${name}/config`, { tunables: { electionTimeout: 100 } });
  expect(bad.status).toBe(400);
  const op = await waitOp(r.body.operationId);
  checkReport('config change', await w.stop());
  expect(op.status).toBe('Succeeded');
  const c = await stack.waitForPhase(name, ['Running', 'Degraded']);
  expect(c.spec.tunables).toMatchObject({ snapshotCount: 5000, heartbeatInterval: 50, electionTimeout: ELECTION_MS });
  for (const m of c.members) {
    const conf = fs.readFileSync(m.files.configFile, 'utf8');
    expect(conf).toMatch(/snapshot-count: 5000/);
    expect(conf).toMatch(/log-level: warn/);
  }
  // A PATCH built from the spec as created would revert the change: its plan says so, field by field.
  const revert = await stack.api('PATCH', `/v1/clusters/${name}?dryRun=true`, created);
  expect(revert.status).toBe(200);
  expect(revert.body.plan).toEqual([
    expect.objectContaining({
      kind: 'config-change',
      changes: expect.arrayContaining([
        expect.objectContaining({ field: 'tunables.snapshotCount', from: 5000 }),
        expect.objectContaining({ field: 'logging.level', from: 'warn' }),
      ]),
    }),
  ]);
});

it('renews every certificate from the same CA with a rolling restart', async () => {
  const before = await cluster();
  const serials = before.members.map((m: any) => serial(path.join(m.files.certsDir, 'etcd.pem')));
  const ca = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body.ca;
  const w = await workload();
  const r = await stack.api('POST', `/v1/clusters/${name}/certificates/rotate`, {});
  expect(r.status).toBe(202);
  const op = await waitOp(r.body.operationId);
  checkReport('certificate renewal', await w.stop());
  expect(op.status).toBe('Succeeded');
  const c = await stack.waitForPhase(name, ['Running', 'Degraded']);
  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  expect(creds.ca).toBe(ca);
  for (const [i, m] of c.members.entries()) {
    expect(serial(path.join(m.files.certsDir, 'etcd.pem'))).not.toBe(serials[i]);
    for (const f of ['etcd.pem', 'peer.pem', 'admin.pem'])
      expect(await opensslVerify(path.join(m.files.certsDir, 'ca.pem'), path.join(m.files.certsDir, f))).toMatch(/OK/);
  }
});

it('rotates the CA in three passes without failed requests outside elections', async () => {
  const old = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w0 = await workload(old, '/w0/');
  const r = await stack.api('POST', `/v1/clusters/${name}/certificates/rotate`, { ca: true, phaseGraceSeconds: 3 });
  expect(r.status).toBe(202);
  // Clients move to the trust bundle and the new admin certificate once every member trusts both CAs.
  const mid = await waitOp(r.body.operationId, (op) =>
    op.steps?.some((s: any) => s.name === 'Grace period after pass 1' && s.status === 'running'),
  );
  expect(mid.status).toBe('Running');
  const view = (await stack.api('GET', `/v1/operations/${r.body.operationId}/ca-rotation`)).body;
  expect(view.phase).toBe('trust-both');
  checkReport('CA rotation, pass 1 (old credentials)', await w0.stop());
  const w1 = await workload({ ca: view.trustBundle, cert: view.admin.cert, key: view.admin.key }, '/w1/');
  const op = await waitOp(r.body.operationId);
  checkReport('CA rotation, passes 2-3 (bundle + new admin)', await w1.stop());
  expect(op.status).toBe('Succeeded');

  const c = await stack.waitForPhase(name, ['Running', 'Degraded']);
  const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
  expect(creds.ca).not.toBe(old.ca);
  expect(creds.ca).toBe(view.newCa);
  const newCa = path.join(stack.config.stateDir, 'new-ca.pem');
  const oldCa = path.join(stack.config.stateDir, 'old-ca.pem');
  fs.writeFileSync(newCa, creds.ca);
  fs.writeFileSync(oldCa, old.ca);
  for (const m of c.members) {
    expect(fs.readFileSync(path.join(m.files.certsDir, 'ca.pem'), 'utf8').trim()).toBe(creds.ca.trim());
    for (const f of ['etcd.pem', 'peer.pem', 'admin.pem']) {
      expect(await opensslVerify(newCa, path.join(m.files.certsDir, f))).toMatch(/OK/);
      await expect(opensslVerify(oldCa, path.join(m.files.certsDir, f))).rejects.toThrow();
    }
  }
  const health = await etcdctl(
    anyCachedRelease(stack.config.cacheDir, 'v3.5.10'),
    c.members.map((m: any) => m.clientURL),
    c.members[0].files.certsDir,
    'endpoint',
    'health',
  );
  expect(health.match(/is healthy/g)).toHaveLength(3);
});
