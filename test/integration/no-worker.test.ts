// Without a worker polling, nothing the API reads may hang: queries are
// answered by workers, so a cluster whose worker is gone shows as Unknown in
// the list and its own GET is a 503, each within seconds. Another etcdfleet
// service on the same Temporal namespace (another task queue) sees neither
// the cluster nor a hang: its GET is a 404 and a POST of the same name a 409.
import { loopback, startStack, type Stack } from '../support/stack';

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'no-worker' });
});
afterAll(async () => {
  await stack?.stop();
});

it('lists a cluster without a worker as Unknown and answers its GET with a 503, in seconds', async () => {
  const [address] = loopback(92, 1);
  const r = await stack.api('POST', '/v1/clusters', { name: 'orphan', members: [{ name: 'o1', address }] });
  expect(r.status).toBe(202);
  await stack.waitForPhase('orphan', ['Running', 'Failed']);
  await stack.stopInProcessWorker();

  let t = Date.now();
  const list = await stack.api('GET', '/v1/clusters');
  expect(Date.now() - t).toBeLessThan(15_000);
  expect(list.status).toBe(200);
  expect(list.body.clusters).toEqual([
    expect.objectContaining({ name: 'orphan', phase: 'Unknown', reason: expect.stringMatching(/did not answer/) }),
  ]);

  t = Date.now();
  const one = await stack.api('GET', '/v1/clusters/orphan');
  expect(Date.now() - t).toBeLessThan(15_000);
  expect(one.status).toBe(503);

  await stack.startInProcessWorker();
  expect((await stack.api('DELETE', '/v1/clusters/orphan?purge=true')).status).toBe(202);
});

it("answers a name another service's cluster holds with a 409 (POST) and a 404 (GET), in seconds", async () => {
  const [a, b] = loopback(93, 2);
  expect((await stack.api('POST', '/v1/clusters', { name: 'shared-name', members: [{ name: 's1', address: a }] })).status).toBe(202);
  const other = await startStack({ label: 'no-worker-other', inProcessWorker: false });
  try {
    let t = Date.now();
    const post = await other.api('POST', '/v1/clusters', { name: 'shared-name', members: [{ name: 's1', address: b }] });
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(post.status).toBe(409);
    expect(post.body.detail).toContain(`task queue ${stack.config.taskQueue}`);
    expect(post.body.errors).toEqual([expect.objectContaining({ path: 'name' })]);
    t = Date.now();
    const get = await other.api('GET', '/v1/clusters/shared-name');
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(get.status).toBe(404);
    expect((await other.api('GET', '/v1/clusters')).body.clusters).toEqual([]);
  } finally {
    await other.stop();
  }
  expect((await stack.api('DELETE', '/v1/clusters/shared-name?purge=true')).status).toBe(202);
});
