// Following operations to their end from the event stream
// (GET /v1/operations/{id}/events). On a terminal the step list is drawn by
// listr2 (spinner on the running step, bars from cli-progress's formatter);
// otherwise one plain line per change. The exit status is the operation's.
import { Listr, type ListrTask } from 'listr2';
import type { Api } from './http';
import { ApiError, CliError, EXIT } from './errors';
import { parseOperationId } from '../common/operations';
import { bar, finalLine, FINISHED, sizeLine, STEP_ENDED, stepChanges, stepSize, type OperationView } from './steps';
import type { Step } from '../common/operations';

/** The newest view of one operation, and promises that settle when it reaches a state. */
class Tracker {
  op?: OperationView;
  private readonly waiters = new Set<() => void>();

  update(op: OperationView): void {
    this.op = op;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first non-undefined `pick` of the current or a later view. */
  until<T>(pick: (op: OperationView) => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const check = () => {
        const v = this.op && pick(this.op);
        if (v === undefined) return;
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
      check();
    });
  }
}

export interface FollowOptions {
  tty: boolean;
  write: (line: string) => void;
}

/** Follows one operation until it ends; returns its final view. */
export async function follow(api: Api, id: string, opts: FollowOptions): Promise<OperationView> {
  if (!opts.tty) {
    let prev: OperationView | undefined;
    const final = await stream(api, id, (op) => {
      for (const line of stepChanges(prev, op)) opts.write(line);
      prev = op;
    });
    return final;
  }
  const tracker = new Tracker();
  const list = new Listr([operationTask(id, tracker)], {
    concurrent: false,
    exitOnError: true,
    rendererOptions: { collapseSubtasks: false, collapseSkips: false, showErrorMessage: true },
  });
  const drawn = list.run().catch(() => undefined); // a failed step fails the list; the final line says why
  const final = await stream(api, id, (op) => tracker.update(op)).catch(async (err) => {
    // The display ends (and gives the cursor back) before the error is reported.
    tracker.update({ ...(tracker.op ?? ({ id } as OperationView)), status: 'Failed', error: 'the event stream ended' });
    await drawn;
    throw err;
  });
  await drawn;
  opts.write(finalLine(final));
  return final;
}

/** Reads the event stream into `onUpdate` until the operation has ended (reconnecting when the stream drops). */
async function stream(api: Api, id: string, onUpdate: (op: OperationView) => void): Promise<OperationView> {
  let last: OperationView | undefined;
  // A delete that succeeded ends the cluster's workflow, and with it the record of its operations.
  const deleted = (detail: string): OperationView | undefined => {
    const parsed = parseOperationId(id);
    if (parsed?.kind !== 'delete' || !/deleted|no cluster named/.test(detail)) return undefined;
    const op: OperationView = { ...(last ?? ({ id, cluster: parsed.cluster, kind: 'delete', steps: [] } as unknown as OperationView)) };
    op.status = 'Succeeded';
    op.finishedAt ??= new Date().toISOString();
    op.steps = op.steps?.map((s) => (s.status === 'done' || s.status === 'skipped' ? s : { ...s, status: 'done' }));
    onUpdate(op);
    return op;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      for await (const ev of api.events(`/v1/operations/${encodeURIComponent(id)}/events`)) {
        if (ev.event === 'error') {
          const detail = String(JSON.parse(ev.data).detail ?? ev.data);
          const gone = deleted(detail);
          if (gone) return gone;
          throw new CliError(`the event stream of ${id} failed: ${detail}`, EXIT.refused);
        }
        last = JSON.parse(ev.data) as OperationView;
        onUpdate(last);
        if (FINISHED.has(last.status)) return last;
      }
    } catch (err) {
      const gone = err instanceof ApiError && err.status === 404 ? deleted(err.problem.detail ?? '') : undefined;
      if (gone) return gone;
      throw err;
    }
  }
  const op = await api.get<OperationView>(`/v1/operations/${encodeURIComponent(id)}`);
  onUpdate(op);
  if (!FINISHED.has(op.status)) throw new CliError(`the event stream of ${id} kept ending before the operation did (${op.status})`);
  return op;
}

function header(op: OperationView): string {
  const steps = op.steps ?? [];
  const done = steps.filter((s) => STEP_ENDED.has(s.status)).length;
  const count = steps.length ? ` ${bar(done, steps.length)} ${done}/${steps.length} steps` : '';
  return `${op.kind ? `${op.kind} ${op.cluster} (${op.id})` : op.id}: ${op.status.toLowerCase()}${count}`;
}

function operationTask(id: string, tracker: Tracker): ListrTask {
  return {
    title: `${id}: waiting for the first event`,
    task: async (_ctx, task) => {
      await tracker.until((op) => {
        task.title = header(op);
        return op.steps?.length || FINISHED.has(op.status) ? op : undefined;
      });
      // The header keeps following the operation (status, steps done) while the steps run.
      void tracker.until((op) => {
        task.title = header(op);
        return FINISHED.has(op.status) ? true : undefined;
      });
      return task.newListr(stepTasks(tracker, 0), { concurrent: false, exitOnError: true });
    },
  };
}

/** Tasks for the steps known now from `from` on, and a last one that adds steps the operation adds later. */
function stepTasks(tracker: Tracker, from: number): ListrTask[] {
  const known = tracker.op?.steps?.length ?? 0;
  const tasks: ListrTask[] = [];
  for (let i = from; i < known; i++) tasks.push(stepTask(tracker, i));
  tasks.push({
    task: async (_ctx, task) => {
      const more = await tracker.until((op) => ((op.steps?.length ?? 0) > known ? true : FINISHED.has(op.status) ? false : undefined));
      if (more) return task.newListr(stepTasks(tracker, known), { concurrent: false, exitOnError: true });
      // Marks the operation's line failed too (the final line after the list says why).
      if (tracker.op && tracker.op.status !== 'Succeeded') throw new Error(tracker.op.error ?? tracker.op.status.toLowerCase());
    },
  });
  return tasks;
}

function stepTask(tracker: Tracker, i: number): ListrTask {
  const name = tracker.op?.steps?.[i]?.name ?? `step ${i + 1}`;
  return {
    title: name,
    task: async (_ctx, task) => {
      const end = await tracker.until((op): Step | undefined => {
        const s = op.steps?.[i];
        if (!s) return undefined;
        if (STEP_ENDED.has(s.status)) return s;
        if (FINISHED.has(op.status)) return { ...s, status: 'skipped', detail: op.status === 'Cancelled' ? 'cancelled' : 'not run' };
        const size = s.status === 'running' ? stepSize(op.steps ?? [], s) : undefined;
        task.output = [s.status === 'running' ? s.detail : undefined, size && sizeLine(size)].filter(Boolean).join('  ');
        return undefined;
      });
      const size = stepSize(tracker.op?.steps ?? [], end);
      const suffix = size ? `  ${sizeLine(size)}` : '';
      if (end.status === 'failed') throw new Error(`${name}: ${end.detail ?? 'failed'}`);
      if (end.status === 'skipped') return task.skip(`${name} (skipped${end.detail ? `: ${end.detail}` : ''})`);
      task.title = `${name}${end.detail ? ` — ${end.detail}` : ''}${suffix}`;
    },
  };
}
