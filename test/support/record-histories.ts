// `npm run histories:record`: regenerates test/fixtures/histories/*.json, the
// histories the replay test (test/unit/replay.test.ts) runs the current
// workflow code against. One cluster's life on the real workflows with stub
// activities (test/support/stub-activities.ts): provision, continue-as-new of
// the idle entity, a backup, a membership add, an upgrade, a delete. Each file is a
// history as the Temporal CLI and UI export it (payloads plaintext JSON: no
// payload codec here, the failure converter of the worker), named after its
// workflow ID. Re-record when a workflow changes on purpose (with a patch()
// for histories already running in production). Histories of earlier code
// kept under older/ are left alone.
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { clusterWorkflowId, type OperationKind } from '../../common/operations';
import { REPO_ROOT } from '../../infra/config';
import { clusterQuery, submitOperationUpdate } from '../../workflows/definitions';
import { startWorkflowEnv, stubSpec } from './workflow-env';
import { stubActivities, stubHealth } from './stub-activities';

export const HISTORIES_DIR = path.join(REPO_ROOT, 'test/fixtures/histories');

/**
 * The files hold the History message as protobufjs' plain object (int64 as
 * strings, bytes base64, enums by name), read back with History.fromObject.
 * Not the CLI's proto3 JSON: historyToJSON / historyFromJSON of
 * @temporalio/common fail in this install ("type must be a Type": its nested
 * protobufjs 8 against @temporalio/proto's protobufjs 7).
 */
export const HISTORY_OBJECT = { longs: String, enums: String, bytes: String } as const;

/** Reads a recorded history back as a History message. */
export function loadHistory(file: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** File name of a workflow ID's history: `etcd-cluster/x/op/1-provision` → `etcd-cluster_x_op_1-provision`. */
export const historyFile = (label: string) => path.join(HISTORIES_DIR, `${label.replace(/[^A-Za-z0-9.-]+/g, '_')}.json`);

async function main(): Promise<void> {
  const stubs = stubActivities();
  const w = await startWorkflowEnv(stubs.activities, 'record-histories');
  const name = 'replay';
  const id = clusterWorkflowId(name);
  const save = async (label: string, workflowId: string, runId?: string) => {
    const fetched = await w.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const { History } = temporal.api.history.v1;
    const history = History.toObject(History.decode(History.encode(fetched).finish()), HISTORY_OBJECT);
    fs.writeFileSync(historyFile(label), `${JSON.stringify(history, null, 1)}\n`);
    console.log(`recorded ${label} (${history.events?.length} events)`);
  };
  try {
    fs.mkdirSync(HISTORIES_DIR, { recursive: true });
    for (const f of fs.readdirSync(HISTORIES_DIR)) if (f.endsWith('.json')) fs.rmSync(path.join(HISTORIES_DIR, f));
    const members = [1, 2].map((i) => ({ name: `m${i}`, address: `127.0.99.${i + 1}` }));
    const spec = stubSpec(name, { members, maintenance: { healthCheckInterval: '1s' } });
    // Each reading unlike the one before (readings alike stay in the standing watch for minutes): the
    // entity's history grows to the server's continue-as-new suggestion within the deadline below.
    let reading = 0;
    stubs.overrides.clusterHealth = async ({ spec: s }) => ({ ...stubHealth(s), error: `reading ${++reading}` });
    const provision = await w.create(spec);
    await w.until(name, (v) => v.phase === 'Running');
    const h = w.client.workflow.getHandle(id);
    const firstRun = (await h.describe()).runId;
    const deadline = Date.now() + 60_000;
    while ((await h.describe()).runId === firstRun) {
      if (Date.now() > deadline) throw new Error('the entity never continued-as-new');
      await new Promise((r) => setTimeout(r, 500));
    }
    const ops = [];
    for (const [kind, params] of OPERATIONS) {
      const op = await h.executeUpdate(submitOperationUpdate, { args: [{ kind, params }] });
      const v = await w.until(name, (x) => x.operations.some((o) => o.id === op.operationId));
      const done = v.operations.find((o) => o.id === op.operationId)!;
      if (done.status !== 'Succeeded') throw new Error(`${op.operationId}: ${done.status} ${done.error}`);
      ops.push({ kind, workflowId: op.workflowId });
    }
    const lastRun = (await h.describe()).runId;
    await w.deleteAndWait(name);
    const deleted = await h.query(clusterQuery);

    await save('entity-continued-as-new', id, firstRun);
    await save('entity-deleted', id, lastRun);
    await save('provision', provision.workflowId);
    for (const op of ops) await save(op.kind, op.workflowId);
    await save('delete', deleted.operations.find((o) => o.kind === 'delete')!.workflowId);
  } finally {
    await w.stop();
  }
}

/** The operations recorded after the continue-as-new, in order. */
const OPERATIONS: [OperationKind, Record<string, unknown>][] = [
  ['backup', {}],
  ['add-member', { name: 'm3', address: '127.0.99.4' }],
  ['upgrade', { version: 'v3.5.35' }],
];

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
