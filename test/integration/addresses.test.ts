// Issue 8 items 8 and 9 on the real stack: address:port pairs are reserved
// service-wide (a second claim is a 409 and starts nothing; a deleted cluster
// frees its pairs), and a deleted cluster's kept data never comes back under
// a new cluster with the same names.
import fs from 'node:fs';
import path from 'node:path';
import { clusterWorkflowId } from '../../common/operations';
import { anyCachedRelease } from '../../activities/artifacts';
import { etcdctl, loopback, startStack, type Stack } from '../support/stack';

jest.setTimeout(240_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'addresses' });
});
afterAll(async () => {
  await stack?.stop();
});

const [addr] = loopback(90, 1);
const [other] = loopback(91, 1);
const spec = (name: string, address: string, member = `${name}-1`) => ({
  name,
  version: 'v3.5.10',
  members: [{ name: member, address }],
  tunables: { heartbeatInterval: 50, electionTimeout: 500 },
});

async function running(name: string) {
  const c = await stack.waitForPhase(name, ['Running', 'Failed']);
  expect(c.phase).toBe('Running');
  return c;
}

async function waitGone(name: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await stack.api('GET', `/v1/clusters/${name}`)).status === 404) return;
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(`cluster ${name} still exists`);
}

const ctl = (c: any, ...args: string[]) =>
  etcdctl(anyCachedRelease(stack.config.cacheDir, 'v3.5.10'), [c.members[0].clientURL], c.members[0].files.certsDir, ...args);

let dataDir = '';

it('a second cluster on the same address:port is a 409 naming the pair and holder, and nothing starts', async () => {
  expect((await stack.api('POST', '/v1/clusters', spec('alpha', addr))).status).toBe(202);
  // The token's name is the Temporal identity of what the request started (api/identity.ts).
  const { events } = await stack.client.workflow.getHandle(clusterWorkflowId('alpha')).fetchHistory();
  const started = events?.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
  expect(started?.identity).toBe('etcdfleet-api:admin');
  const a = await running('alpha');
  dataDir = a.members[0].files.dataDir;
  await ctl(a, 'put', '/old', 'alpha-data');

  const r = await stack.api('POST', '/v1/clusters', spec('beta', addr));
  expect(r.status).toBe(409);
  expect(r.headers.get('content-type')).toMatch(/problem\+json/);
  expect(r.body.detail).toContain(`${addr}:2379 is held by cluster alpha`);
  await expect(stack.client.workflow.getHandle(clusterWorkflowId('beta')).describe()).rejects.toThrow();

  // The same cluster again is idempotent, not a conflict with itself.
  expect((await stack.api('POST', '/v1/clusters', spec('alpha', addr))).body).toMatchObject({ created: false });
});

it("adding a member on another cluster's address is a 409 and queues nothing", async () => {
  expect((await stack.api('POST', '/v1/clusters', spec('gamma', other))).status).toBe(202);
  await running('gamma');
  const r = await stack.api('POST', '/v1/clusters/gamma/members', { name: 'gamma-2', address: addr });
  expect(r.status).toBe(409);
  expect(r.body.detail).toContain('held by cluster alpha');
  const g = (await stack.api('GET', '/v1/clusters/gamma')).body;
  expect(g.queuedOperations).toEqual([]);
  expect(g.operations.map((o: any) => o.kind)).toEqual(['provision']);
  expect((await stack.api('DELETE', '/v1/clusters/gamma?purge=true')).status).toBe(202);
  await waitGone('gamma');
});

it('delete without purge sets the data aside: a new cluster with the same names starts empty', async () => {
  expect((await stack.api('DELETE', '/v1/clusters/alpha')).status).toBe(202);
  await waitGone('alpha');
  expect(fs.existsSync(dataDir)).toBe(false);
  const kept = fs.readdirSync(path.dirname(dataDir)).filter((f) => f.startsWith(`${path.basename(dataDir)}.deleted-`));
  expect(kept).toHaveLength(1);
  expect(fs.existsSync(path.join(path.dirname(dataDir), kept[0], 'member', 'wal'))).toBe(true);

  expect((await stack.api('POST', '/v1/clusters', spec('alpha', addr))).status).toBe(202);
  const a = await running('alpha');
  expect(await ctl(a, 'get', '/old', '--print-value-only')).toBe('');
});

it('once the holder is deleted, another cluster can take the address', async () => {
  expect((await stack.api('DELETE', '/v1/clusters/alpha?purge=true')).status).toBe(202);
  await waitGone('alpha');
  expect((await stack.api('POST', '/v1/clusters', spec('beta', addr))).status).toBe(202);
  await running('beta');
  expect((await stack.api('DELETE', '/v1/clusters/beta?purge=true')).status).toBe(202);
  await waitGone('beta');
});
