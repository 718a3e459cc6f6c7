// Issue 14: the entity's history stays bounded. 1,000 scheduled compactions
// (the schedules' fire-and-forget signal) on one cluster, submitted in waves
// so the queue is never empty, go through the real entity with stub
// activities. The server here suggests continue-as-new at 1,000 events and
// terminates a workflow at 4,000 (Temporal's own limit is 51,200): one run
// holding all of it would be terminated, so the entity must continue-as-new
// while busy, carrying its queue, records and operation list; none of the
// operations, some queued while the entity was continuing, may be lost or run
// twice. The suite runs 250 operations against limits scaled down with them
// (the same number of continue-as-new cycles, a quarter of the time:
// ~0.4 s per operation here); ENTITY_HISTORY_OPS=1000 runs the full count.
import { defaultPayloadConverter } from '@temporalio/common';
import { clusterWorkflowId } from '../../common/operations';
import { clusterQuery, submitOperationSignal, type ClusterView } from '../../workflows/definitions';
import type { ClusterWorkflowInput } from '../../workflows/cluster';
import { startWorkflowEnv, stubSpec, type WorkflowEnv } from '../support/workflow-env';
import { stubActivities } from '../support/stub-activities';

jest.setTimeout(1_200_000);

const OPERATIONS = Number(process.env.ENTITY_HISTORY_OPS || 250);
const WAVE = 40;
const SUGGEST_AFTER = Math.max(250, OPERATIONS);
const HISTORY_LIMIT = 4 * SUGGEST_AFTER;

const stubs = stubActivities();
let w: WorkflowEnv;

beforeAll(async () => {
  w = await startWorkflowEnv(stubs.activities, `history-${process.pid}`, {
    suggestContinueAsNewAfter: SUGGEST_AFTER,
    historyCountLimit: HISTORY_LIMIT,
  });
});
afterAll(async () => {
  await w?.stop();
});

/** Finished compactions so far: the sequence numbers handed out minus what is queued or running. */
const finished = (v: ClusterView) => v.operations.at(-1)?.seq ?? 0;

it(`${OPERATIONS} operations: every run of the entity stays short, nothing is lost or run twice`, async () => {
  const name = 'wf-history';
  const id = clusterWorkflowId(name);
  await w.create(stubSpec(name));
  await w.until(name, (v) => v.phase === 'Running');
  const h = w.client.workflow.getHandle(id);

  // Waves of signals while the previous wave still runs: the queue stays busy across continue-as-new.
  for (let sent = 0; sent < OPERATIONS;) {
    const wave = Math.min(WAVE, OPERATIONS - sent);
    for (let i = 0; i < wave; i++) await h.signal(submitOperationSignal, { kind: 'compact', params: {} });
    sent += wave;
    const target = 1 + sent - WAVE / 2;
    await w.until(name, (v) => finished(v) >= target, 300_000);
  }
  const last = 1 + OPERATIONS;
  const done = await w.until(name, (v) => finished(v) === last && v.queue.length === 0 && !v.current, 300_000);

  // Every compaction ran exactly once (each reads the revision once), in order, and succeeded.
  expect(stubs.callsFor(name, 'currentRevision')).toHaveLength(OPERATIONS);
  expect(done.operations).toHaveLength(50);
  expect(done.operations.map((o) => o.seq)).toEqual(Array.from({ length: 50 }, (_, i) => last - 49 + i));
  expect(done.operations.every((o) => o.kind === 'compact' && o.status === 'Succeeded')).toBe(true);
  expect(done.phase).toBe('Running');
  expect((done.extensions?.maintenance as any)?.lastCompaction?.observedRevision).toBe(OPERATIONS * 10);

  // The runs: each short, all together far past the limit one run may have.
  const runs: { runId: string; events: number; queued: number }[] = [];
  for await (const e of w.client.workflow.list({ query: `WorkflowId = '${id}'` })) {
    const history = await w.client.workflow.getHandle(id, e.runId).fetchHistory();
    const events = history.events ?? [];
    const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const start = input ? defaultPayloadConverter.fromPayload<ClusterWorkflowInput>(input) : undefined;
    runs.push({ runId: e.runId, events: events.length, queued: start?.state?.queue.length ?? 0 });
  }
  const lengths = runs.map((r) => r.events);
  const total = lengths.reduce((a, b) => a + b, 0);
  console.log(`entity history: ${runs.length} runs, ${total} events in all, longest run ${Math.max(...lengths)} events`);
  expect(total).toBeGreaterThan(HISTORY_LIMIT);
  expect(Math.max(...lengths)).toBeLessThan(2 * SUGGEST_AFTER);
  expect(runs.length).toBeGreaterThanOrEqual(Math.floor(total / (2 * SUGGEST_AFTER)));
  // At least one run began with operations carried over in its queue.
  expect(runs.some((r) => r.queued > 0)).toBe(true);

  // The carried state still serves the cluster: the spec, the PKI, the sequence.
  const v = await h.query(clusterQuery);
  expect(v.spec?.name).toBe(name);
  expect(v.fingerprint).toBe(`fp-${name}`);
  await w.deleteAndWait(name);
});
