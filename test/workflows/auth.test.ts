// etcd users and roles through the entity with stub activities: each change is
// a queued operation whose success records the auth state; a put-user's
// password reaches the activity and leaves the operation record; refusals
// queue nothing; a user certificate is signed with the user's CN.
import { clusterWorkflowId } from '../../common/operations';
import { clusterQuery, signClientCertificateUpdate, submitOperationUpdate } from '../../workflows/definitions';
import { startWorkflowEnv, stubSpec, type WorkflowEnv } from '../support/workflow-env';
import { stubActivities } from '../support/stub-activities';

jest.setTimeout(120_000);

const stubs = stubActivities();
let w: WorkflowEnv;

beforeAll(async () => {
  w = await startWorkflowEnv(stubs.activities, `auth-${process.pid}`);
});
afterAll(async () => {
  await w?.stop();
});

const entity = (name: string) => w.client.workflow.getHandle(clusterWorkflowId(name));
const submit = (name: string, kind: string, params: Record<string, unknown>) =>
  entity(name).executeUpdate(submitOperationUpdate, { args: [{ kind: kind as never, params }] });

it('records roles, users and the switch; the password reaches etcd and leaves the record', async () => {
  const name = 'wf-auth';
  await w.create(stubSpec(name));
  await w.until(name, (v) => v.phase === 'Running');
  // A role must exist (or be queued) before a user gets it.
  await expect(submit(name, 'put-user', { name: 'alice', roles: ['reader'] })).rejects.toMatchObject({
    cause: { message: expect.stringMatching(/no role reader/) },
  });
  await expect(submit(name, 'put-role', { name: 'root', permissions: [] })).rejects.toMatchObject({
    cause: { message: expect.stringMatching(/root role/) },
  });
  await submit(name, 'put-role', { name: 'reader', permissions: [{ prefix: '/app/', access: 'read' }] });
  const user = await submit(name, 'put-user', { name: 'alice', password: 'pw-123', roles: ['reader'] });
  await submit(name, 'set-auth', { enabled: true });
  const done = await w.until(name, (v) => v.queue.length === 0 && !v.current && v.operations.some((o) => o.kind === 'set-auth'));
  expect(done.operations.filter((o) => o.kind !== 'provision').map((o) => [o.kind, o.status])).toEqual([
    ['put-role', 'Succeeded'],
    ['put-user', 'Succeeded'],
    ['set-auth', 'Succeeded'],
  ]);
  expect(done.extensions?.auth).toEqual({
    enabled: true,
    roles: [{ name: 'reader', permissions: [{ prefix: '/app/', access: 'read' }] }],
    users: [{ name: 'alice', roles: ['reader'], password: true }],
  });
  expect(done.operations.find((o) => o.id === user.operationId)?.params).toEqual({ name: 'alice', password: '(set)', roles: ['reader'] });
  expect(JSON.stringify(await entity(name).query(clusterQuery))).not.toContain('pw-123');
  expect(stubs.callsFor(name, 'etcdPutUser').map((c) => c.input.user.password)).toEqual(['pw-123']);
  expect(stubs.callsFor(name, 'etcdEnsureRoot')).toHaveLength(1);
  expect(stubs.callsFor(name, 'etcdCheckServiceAccess')).toHaveLength(1);

  const signed = await entity(name).executeUpdate(signClientCertificateUpdate, { args: [{ csr: 'CSR', commonName: 'alice' }] });
  expect(signed.cert).toMatch(/^CLIENT CERT alice signed with/);
});
