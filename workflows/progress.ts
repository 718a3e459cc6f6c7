// Step tracking for operation workflows: the step list is the runbook, shown
// as markdown in the Temporal UI (current details) and served by a query.
import { ApplicationFailure, condition, setCurrentDetails, setHandler, isCancellation } from '@temporalio/workflow';
import { renderSteps, type Step } from '../common/operations';
import { pauseSignal, progressQuery, resumeSignal, type OperationProgress } from './definitions';
import { endOperationPhase } from './search-attributes';

export class Progress {
  private readonly steps: Step[];
  private status: OperationProgress['status'] = 'Running';
  private error?: string;
  private paused = false;
  /** Notes made while a step runs, kept beside its summary once it is done. */
  private readonly notes = new Map<string, string>();

  constructor(
    private readonly title: string,
    names: readonly string[],
  ) {
    this.steps = names.map((name) => ({ name, status: 'pending' }));
    setHandler(progressQuery, () => ({ steps: this.steps, status: this.paused ? 'Paused' : this.status, error: this.error }));
    setHandler(pauseSignal, () => {
      this.paused = true;
      this.publish();
    });
    setHandler(resumeSignal, () => {
      this.paused = false;
      this.publish();
    });
    this.publish();
  }

  /** Steps can be added as the operation learns what it has to do (e.g. one per member). */
  add(...names: string[]): void {
    for (const name of names) if (!this.steps.some((s) => s.name === name)) this.steps.push({ name, status: 'pending' });
    this.publish();
  }

  /** Runs one named step; a failure marks it and the operation failed. Pauses wait before a step starts. */
  async step<T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string | undefined): Promise<T> {
    await condition(() => !this.paused);
    const s = this.find(name);
    s.status = 'running';
    s.startedAt = new Date().toISOString();
    this.publish();
    try {
      const r = await fn();
      s.status = 'done';
      const summary = detail?.(r);
      const note = this.notes.get(name);
      s.detail = summary && note ? `${summary}; ${note}` : (summary ?? s.detail);
      return r;
    } catch (err) {
      s.status = 'failed';
      s.detail = describe(err);
      this.status = 'Failed';
      this.error = isCancellation(err) ? 'cancelled' : `${name}: ${describe(err)}`;
      endOperationPhase();
      throw err;
    } finally {
      s.finishedAt = new Date().toISOString();
      this.publish();
    }
  }

  note(name: string, detail: string): void {
    this.find(name).detail = detail;
    this.notes.set(name, detail);
    this.publish();
  }

  succeed(): void {
    this.status = 'Succeeded';
    endOperationPhase();
    this.publish();
  }

  private find(name: string): Step {
    const s = this.steps.find((x) => x.name === name);
    if (!s) throw ApplicationFailure.nonRetryable(`unknown step ${name}`);
    return s;
  }

  private publish(): void {
    setCurrentDetails(renderSteps(`${this.title} — ${this.paused ? 'Paused' : this.status}`, this.steps));
  }
}

/** The innermost useful message of a (possibly wrapped) Temporal failure. */
export function describe(err: unknown): string {
  let e: any = err;
  while (e?.cause && (e.name === 'ActivityFailure' || e.name === 'ChildWorkflowFailure')) e = e.cause;
  return e?.message ?? String(err);
}

/** Waits for every step, then raises the first failure (a step still running is never left behind). */
export async function settled<T extends readonly unknown[]>(ps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const rs = await Promise.allSettled(ps);
  for (const r of rs) if (r.status === 'rejected') throw r.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
