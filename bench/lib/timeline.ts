// Where one provisioning's time went: the operation's steps (from
// GET /v1/operations/{id}) laid against the provision workflow's history, so
// each step splits into "the activity ran" and "Temporal moved it along"
// (scheduling, polling, workflow tasks, retry back-off).
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';

const ET = temporal.api.enums.v1.EventType;

export interface StepTiming {
  name: string;
  ms: number;
  /** Previous step finished → this one started (a workflow task in between, e.g. a signal to the parent). */
  gapBeforeMs: number;
  /** Longest activity of the step, last attempt, started → completed. */
  activityMs?: number;
  /** Longest wait of an activity from scheduled to the start of its last attempt (includes retries). */
  queueMs?: number;
  /** Most attempts any activity of the step needed. */
  attempts?: number;
  activities: number;
}

export interface Timeline {
  totalMs: number;
  /** POST sent → 202 received (update-with-start on the cluster entity). */
  postMs: number;
  /** POST sent → the provision child workflow's first step began (the 202 can arrive after that). */
  toFirstStepMs: number;
  steps: StepTiming[];
  /** Last step finished → provision workflow completed. */
  lastStepToCompletedMs: number;
  /** Provision workflow completed → the API reported phase Running (entity update + polling). */
  completedToRunningMs: number;
}

interface Step {
  name: string;
  startedAt?: string;
  finishedAt?: string;
}

function ms(ts: Parameters<typeof tsToMs>[0]): number {
  return ts ? tsToMs(ts) : NaN;
}

/**
 * Times are wall clock in ms since the epoch (this process and the dev server
 * share the machine's clock). Step times come from the workflow (the start
 * time of the workflow task that recorded them).
 */
export async function provisionTimeline(
  client: Client,
  workflowId: string,
  steps: Step[],
  t: { postSent: number; postAnswered: number; runningSeen: number },
): Promise<Timeline> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  let completedAt = NaN;
  const scheduled = new Map<string, { at: number; type: string }>();
  const started = new Map<string, { at: number; attempt: number }>();
  const completed = new Map<string, number>();
  for (const e of events) {
    const id = String(e.eventId);
    switch (e.eventType) {
      case ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        scheduled.set(id, { at: ms(e.eventTime), type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?' });
        break;
      case ET.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        started.set(String(e.activityTaskStartedEventAttributes?.scheduledEventId), {
          at: ms(e.eventTime),
          attempt: e.activityTaskStartedEventAttributes?.attempt ?? 1,
        });
        break;
      case ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        completed.set(String(e.activityTaskCompletedEventAttributes?.scheduledEventId), ms(e.eventTime));
        break;
      case ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        completedAt = ms(e.eventTime);
        break;
    }
  }

  const stepTimes = steps.map((s) => ({ name: s.name, start: Date.parse(s.startedAt ?? ''), end: Date.parse(s.finishedAt ?? '') }));
  const out: StepTiming[] = stepTimes.map((s, i) => {
    const next = stepTimes[i + 1]?.start ?? Infinity;
    const gapBeforeMs = i === 0 ? 0 : s.start - stepTimes[i - 1].end;
    const timing: StepTiming = { name: s.name, ms: s.end - s.start, gapBeforeMs, activities: 0 };
    for (const [id, sch] of scheduled) {
      // Activities scheduled by the workflow task that began this step (and before the next one).
      if (sch.at < s.start || sch.at >= next) continue;
      timing.activities++;
      const st = started.get(id);
      const done = completed.get(id);
      if (st && done !== undefined) timing.activityMs = Math.max(timing.activityMs ?? 0, done - st.at);
      if (st) {
        timing.queueMs = Math.max(timing.queueMs ?? 0, st.at - sch.at);
        timing.attempts = Math.max(timing.attempts ?? 0, st.attempt);
      }
    }
    return timing;
  });

  const first = stepTimes[0]?.start ?? NaN;
  const last = stepTimes.at(-1)?.end ?? NaN;
  return {
    totalMs: t.runningSeen - t.postSent,
    postMs: t.postAnswered - t.postSent,
    toFirstStepMs: first - t.postSent,
    steps: out,
    lastStepToCompletedMs: completedAt - last,
    completedToRunningMs: t.runningSeen - completedAt,
  };
}
