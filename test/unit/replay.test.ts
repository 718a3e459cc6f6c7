// Issue 9 item 5: every saved history (test/fixtures/histories, recorded by
// `npm run histories:record`) replays against the current workflow code with
// the worker's workflows and failure converter. A change that is not
// deterministic for a history that may be running (reordered or added
// activities, timers, children without a patch()) fails here, before it ships.
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../../worker/temporal';
import { WORKFLOWS_PATH } from '../../worker/worker';
import { HISTORIES_DIR, loadHistory } from '../support/record-histories';

jest.setTimeout(120_000);

// The recorded set, and under older/ histories recorded by earlier workflow code that `histories:record` cannot
// make again (e.g. an upgrade from before its members' prechecks moved into rollMember); both must replay.
const files = ['', 'older/'].flatMap((sub) =>
  fs
    .readdirSync(path.join(HISTORIES_DIR, sub))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => `${sub}${f}`),
);
Runtime.install({ logger: new DefaultLogger('WARN') });

it('has the recorded histories', () => {
  // provision, backup, add-member, upgrade, delete, an entity that continued-as-new and one that was deleted
  for (const f of ['provision', 'backup', 'add-member', 'upgrade', 'delete', 'entity-continued-as-new', 'entity-deleted'])
    expect(files).toContain(`${f}.json`);
});

it('replays every saved history against the current workflow code', async () => {
  const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: loadHistory(path.join(HISTORIES_DIR, f)) }));
  const failures: string[] = [];
  const replayed: string[] = [];
  for await (const r of Worker.runReplayHistories(
    // Payloads were recorded without the codec: the replayer needs only the failure converter.
    { workflowsPath: WORKFLOWS_PATH, dataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH } },
    histories,
  )) {
    replayed.push(r.workflowId);
    if (r.error) failures.push(`${r.workflowId}: ${r.error.name}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed.sort()).toEqual(histories.map((h) => h.workflowId).sort());
});
