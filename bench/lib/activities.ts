// Activity durations from a workflow's history (BENCH_DEBUG=1): per activity,
// scheduled → completed, when it was scheduled (@ms after the workflow started)
// and the attempt that completed it, in history order.
import type { Client } from '@temporalio/client';

export async function activityTimes(client: Client, workflowId: string): Promise<string> {
  const h = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = h.events ?? [];
  const at = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const sched = new Map<string, { type: string; at: number }>();
  const started = new Map<string, { at: number; attempt: number }>();
  const rows: string[] = [];
  const t0 = events.length ? at(events[0]) : 0;
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) sched.set(String(e.eventId), { type: s.activityType?.name ?? '?', at: at(e) });
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(String(e.eventId), { at: at(e), attempt: st.attempt ?? 1 });
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) {
      const sc = sched.get(String(done.scheduledEventId));
      const go = started.get(String(done.startedEventId));
      const queued = go && sc ? ` (+${go.at - sc.at})` : '';
      rows.push(`${sc?.type} @${(sc?.at ?? t0) - t0} ${at(e) - (sc?.at ?? at(e))}ms${queued} x${go?.attempt ?? '?'}`);
    }
  }
  return rows.join(', ');
}
