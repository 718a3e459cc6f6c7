// The one set of activity proxies, named for the kind of step, and the step
// helper the runbooks use. Short timeouts matter: a worker that dies
// mid-activity is only noticed when the activity's start-to-close timeout
// expires. Timeouts and retries may change without breaking replay; the
// order and number of activity calls may not.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Progress } from './progress';

const proxies = (options: ActivityOptions) => proxyActivities<Activities>(options);

/** Host step: quick, idempotent host and etcd calls. */
export const hostStep = proxies({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 10 },
});

/** Downloads and other slow one-shot work: release fetch, pre-upgrade snapshot, certificates (RSA 4096 keys take seconds). */
export const download = proxies({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** Health gate: each attempt checks once; retries are the polling loop. */
export const healthGate = proxies({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '5s', maximumAttempts: 60 },
});

/** Observation only: one attempt, failures are recorded as health. */
export const observe = proxies({ startToCloseTimeout: '20s', retry: { maximumAttempts: 1 } });

/** Data transfer: streaming a snapshot, verifying, restoring run as long as the database is big, with heartbeats. */
export const dataTransfer = proxies({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '60s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 3,
    nonRetryableErrorTypes: ['BackupCorrupt', 'NotFound'],
  },
});

/** Rollback: more patient than the forward path, it is what keeps the member working. */
export const rollback = proxies({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 8 },
});

/** Rollout step: few attempts, so a member that cannot restart is rolled back within seconds. */
export const rolloutStep = proxies({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '4s', maximumAttempts: 3 },
});

/** Member gate after a restart: polls about every second for about a minute, so a rollback starts soon. */
export const restartGate = proxies({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 1.2, maximumInterval: '1s', maximumAttempts: 60 },
});

/** Maintenance step: a member blocks during defrag and compaction; give it minutes. */
export const maintenanceStep = proxies({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
});

/** Lookup inside a validator: an Update waits for it, so it fails fast. */
export const lookup = proxies({ startToCloseTimeout: '10s', retry: { maximumAttempts: 2 } });

/** Promotion gate: polls until the learner has caught up, bounded by the operation's own deadline. */
export function promotionGate(deadlineMs: number) {
  return proxies({
    startToCloseTimeout: '10s',
    scheduleToCloseTimeout: deadlineMs,
    retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '3s' },
  });
}

/** @deprecated the old name of `hostStep`, kept while workflows/cluster.ts still uses it. */
export const hostOps = hostStep;

/** An activity of one input, as a proxy above holds it. */
export interface OneInputActivity<I, R> {
  executeWithOptions(options: ActivityOptions, args: [I]): Promise<R>;
}

/** One activity call with its summary (shown in the event history and the UI). */
export function call<I, R>(activity: OneInputActivity<I, R>, summary: string, input: I): Promise<R> {
  return activity.executeWithOptions({ summary }, [input]);
}

/** A runbook step that is one activity call: `step(progress, 'Start member', hostStep.startMember, 'start m1', input)`. */
export function step<I, R>(
  progress: Progress,
  name: string,
  activity: OneInputActivity<I, R>,
  summary: string,
  input: I,
  detail?: (r: R) => string | undefined,
): Promise<R> {
  return progress.step(name, () => call(activity, summary, input), detail);
}
