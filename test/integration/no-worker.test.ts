// Without a worker polling, nothing the API reads may hang: queries are
// answered by workers, so a cluster whose worker is gone shows as Unknown in
// the list and its own GET is a 503, each within seconds.
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
