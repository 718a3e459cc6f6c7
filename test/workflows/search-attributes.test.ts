// Issue 13: every workflow's search attributes are true while it runs and when
// it ends (workflows/search-attributes.ts), and the entity's current details
// show its live state (common/details.ts) in the Temporal UI. Real workflows,
// stub activities, a dev server of the file's own.
import type { Client } from '@temporalio/client';
import { clusterWorkflowId } from '../../common/operations';
import { EtcdCluster, EtcdOperation, EtcdPhase, EtcdVersion } from '../../common/searchAttributes';
import { submitOperationUpdate } from '../../workflows/definitions';
import { startWorkflowEnv, stubSpec, type WorkflowEnv } from '../support/workflow-env';
import { stubActivities, stubFailure } from '../support/stub-activities';

jest.setTimeout(120_000);

const stubs = stubActivities();
let w: WorkflowEnv;

beforeAll(async () => {
  w = await startWorkflowEnv(stubs.activities, `search-attributes-${process.pid}`);
});
afterAll(async () => {
  await w?.stop();
});

interface Attrs {
  cluster?: string;
  operation?: string;
  phase?: string;
  version?: string;
}

async function attrs(client: Client, workflowId: string): Promise<Attrs> {
  const d = await client.workflow.getHandle(workflowId).describe();
  const sa = d.typedSearchAttributes;
  return { cluster: sa.get(EtcdCluster), operation: sa.get(EtcdOperation), phase: sa.get(EtcdPhase), version: sa.get(EtcdVersion) };
}

/** Describe until the attributes match (the server applies an upsert with the workflow task that made it). */
async function attrsUntil(workflowId: string, expected: Attrs): Promise<Attrs> {
  const deadline = Date.now() + 15_000;
  let last = await attrs(w.client, workflowId);
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await attrs(w.client, workflowId);
  }
  return last;
}

const details = async (workflowId: string): Promise<string> =>
  ((await w.client.workflow.getHandle(workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ??
    '') as string;

it('provision, backup and the entity end with true search attributes', async () => {
  const name = 'wf-sa-true';
  const entityId = clusterWorkflowId(name);
  const gate = stubs.hold(name, 'takeBackup');
  try {
    const provision = await w.create(stubSpec(name));
    await w.until(name, (v) => v.phase === 'Running' && !v.current);
    // A completed provision no longer claims the Provisioning phase.
    expect(await attrsUntil(provision.workflowId, { cluster: name, operation: 'provision', version: 'v3.5.10' })).toEqual({
      cluster: name,
      operation: 'provision',
      version: 'v3.5.10',
    });
    expect(await attrsUntil(entityId, { cluster: name, phase: 'Running', version: 'v3.5.10' })).toEqual({
      cluster: name,
      phase: 'Running',
      version: 'v3.5.10',
    });

    const backup = await w.client.workflow
      .getHandle(entityId)
      .executeUpdate(submitOperationUpdate, { args: [{ kind: 'backup', params: {} }] });
    await gate.reached;
    // While it runs: the backup holds the phase the entity shows; the entity names the running operation.
    expect(await attrsUntil(backup.workflowId, { cluster: name, operation: 'backup', phase: 'Running' })).toEqual({
      cluster: name,
      operation: 'backup',
      phase: 'Running',
    });
    expect(await attrsUntil(entityId, { cluster: name, operation: 'backup', phase: 'Running', version: 'v3.5.10' })).toMatchObject({
      operation: 'backup',
    });
    expect(await details(entityId)).toMatch(new RegExp(`\\*\\*Running:\\*\\* ${backup.operationId.replace('.', '\\.')}`));
    gate.open();

    await w.until(name, (v) => v.operations.some((o) => o.id === backup.operationId && o.status === 'Succeeded') && !v.current);
    expect(await attrsUntil(backup.workflowId, { cluster: name, operation: 'backup' })).toEqual({ cluster: name, operation: 'backup' });
    expect(await attrsUntil(entityId, { cluster: name, phase: 'Running', version: 'v3.5.10' })).toEqual({
      cluster: name,
      phase: 'Running',
      version: 'v3.5.10',
    });
  } finally {
    gate.open();
  }
  await w.deleteAndWait(name);
});

it('a failed operation drops its phase too; the entity names no operation afterwards', async () => {
  const name = 'wf-sa-failed';
  const entityId = clusterWorkflowId(name);
  await w.create(stubSpec(name));
  await w.until(name, (v) => v.phase === 'Running' && !v.current);
  stubs.overrides.takeBackup = async () => {
    throw stubFailure('disk full (stub)');
  };
  try {
    const backup = await w.client.workflow
      .getHandle(entityId)
      .executeUpdate(submitOperationUpdate, { args: [{ kind: 'backup', params: {} }] });
    await w.until(name, (v) => v.operations.some((o) => o.id === backup.operationId && o.status === 'Failed') && !v.current);
    expect((await w.client.workflow.getHandle(backup.workflowId).describe()).status.name).toBe('FAILED');
    expect(await attrsUntil(backup.workflowId, { cluster: name, operation: 'backup' })).toEqual({ cluster: name, operation: 'backup' });
    expect((await attrsUntil(entityId, { cluster: name, phase: 'Running', version: 'v3.5.10' })).operation).toBeUndefined();
  } finally {
    delete stubs.overrides.takeBackup;
  }
  await w.deleteAndWait(name);
});

it("the entity's current details show its live state; operations show their step list with text markers", async () => {
  const name = 'wf-details';
  const provision = await w.create(stubSpec(name));
  await w.until(name, (v) => v.phase === 'Running' && !v.current && v.health !== undefined);
  const md = await details(clusterWorkflowId(name));
  expect(md).toMatch(new RegExp(`^### etcd cluster ${name} · Running · 1 member · etcd v3\\.5\\.10`));
  expect(md).toMatch(/- \*\*Queued:\*\* nothing/);
  expect(md).toMatch(new RegExp(`- \\*\\*Last operation:\\*\\* ${provision.operationId.replace('.', '\\.')}: Succeeded`));
  expect(md).toMatch(/\| m1 \| 127\.0\.99\.2 \| healthy \| leader \|/);
  expect(md).not.toMatch(/checkedAt|raft/);

  const steps = await details(provision.workflowId);
  expect(steps).toMatch(/`✔ done` \*\*Start members\*\*/);
  expect(steps).not.toMatch(/pending|running/);
  await w.deleteAndWait(name);
});
