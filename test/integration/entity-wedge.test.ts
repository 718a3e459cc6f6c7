// Issue 8 item 6: values and bugs that used to wedge a cluster entity. The
// real workflows run on the jest run's Temporal dev server against stub
// activities (no etcd): an operation child that throws a TypeError, and a
// stored spec whose health interval is no valid timer. Each must end as a
// failed operation (or a default interval), and a later delete must work.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { ClusterSpec } from '../../common/spec';
import { clusterWorkflowId } from '../../common/operations';
import { ensureSearchAttributes } from '../../worker/temporal';
import { entityHelpers, type EntityHelpers } from '../support/workflow-env';

jest.setTimeout(120_000);

const taskQueue = `test-entity-wedge-${process.pid}`;
const calls: string[] = [];
/** What each stub does; tests set the provision behaviour. */
let fetchRelease: () => Promise<unknown> = async () => ({});
const stubs = {
  // One worker, one queue: the local clusters' machine queue is this one.
  async workerMachine() {
    return { machine: 'stub', taskQueue };
  },
  async preflight() {
    calls.push('preflight');
    return {};
  },
  async fetchRelease() {
    calls.push('fetchRelease');
    return fetchRelease();
  },
  // Issued beside the host check and the release fetch (provision-fast-path): answered, so the
  // provision fails on fetchRelease's answer alone, not after this activity's retries.
  async issueCertificates() {
    calls.push('issueCertificates');
    return { ca: { cert: '', key: '' }, admin: { cert: '', key: '' }, members: {} };
  },
  async stopMember() {
    calls.push('stopMember');
    return { stopped: true, pids: [], killed: false };
  },
  async removeMemberHost() {
    calls.push('removeMemberHost');
    return { removed: [] };
  },
  async purgeClusterDir() {
    return { removed: false };
  },
  async clusterHealth() {
    return { healthy: false, alarms: [], members: [], checkedAt: new Date().toISOString(), error: 'stub' };
  },
  async watchHealth({ everyMs }: { everyMs: number }) {
    await new Promise((r) => setTimeout(r, everyMs));
    return { healthy: false, alarms: [], members: [], checkedAt: new Date().toISOString(), error: 'stub' };
  },
};

let client: Client;
let worker: Worker;
let running: Promise<void>;
let entity: EntityHelpers;

beforeAll(async () => {
  const address = process.env.ETCDFLEET_TEST_TEMPORAL;
  const bundle = process.env.ETCDFLEET_TEST_BUNDLE;
  if (!address || !bundle) throw new Error('needs the integration globalSetup');
  const connection = await Connection.connect({ address });
  await ensureSearchAttributes(connection, 'default');
  client = new Client({ connection });
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    taskQueue,
    workflowBundle: { codePath: bundle },
    activities: stubs,
  });
  running = worker.run();
  // Straight to the entity, as an old client or a stored spec would: no API schema in between.
  entity = entityHelpers(client, taskQueue);
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await client?.connection.close();
});

function spec(name: string, extra: Record<string, unknown> = {}): ClusterSpec {
  return { ...ClusterSpec.parse({ name, members: [{ name: 'm1', address: '127.0.99.2' }] }), ...extra } as ClusterSpec;
}

/** Delete through the entity and wait for the workflow to end (it returns once deleted). */
async function deleteAndWait(name: string) {
  await entity.deleteAndWait(name);
  const d = await client.workflow.getHandle(clusterWorkflowId(name)).describe();
  expect(d.status.name).toBe('COMPLETED');
}

it('a TypeError inside an operation child fails the operation instead of wedging it; delete still works', async () => {
  fetchRelease = async () => ({}); // the child reads r.sha256.slice(...) of this: a TypeError in workflow code
  const name = 'wedge-typeerror';
  await entity.create(spec(name));
  const v = await entity.until(name, (x) => x.operations.some((o) => o.kind === 'provision'));
  const op = v.operations.find((o) => o.kind === 'provision')!;
  expect(op.status).toBe('Failed');
  expect(op.error).toMatch(/Cannot read properties of undefined/);
  expect(v.phase).toBe('Failed');
  await deleteAndWait(name);
});

it('a health interval that is no valid timer falls back to the default; delete still works', async () => {
  fetchRelease = async () => {
    throw ApplicationFailure.nonRetryable('no such release (stub)');
  };
  const name = 'wedge-interval';
  // Infinity ms: before the bounded parser the entity's health timer threw, failing every workflow task.
  await entity.create(spec(name, { maintenance: { healthCheckInterval: `${'9'.repeat(400)}s` } }));
  const v = await entity.until(name, (x) => x.operations.some((o) => o.kind === 'provision'));
  expect(v.operations.find((o) => o.kind === 'provision')!.status).toBe('Failed');
  await deleteAndWait(name);
});
