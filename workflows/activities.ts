// The one set of activity proxies, named for the kind of step, and the step
// helper the runbooks use. Short timeouts matter: a worker that dies
// mid-activity is only noticed when the activity's start-to-close timeout
// expires. Timeouts and retries may change without breaking replay; the
// order and number of activity calls may not.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ClusterSpec } from '../common/spec';
import type { Progress } from './progress';

type Duration = `${number}${'ms' | 's' | 'm' | 'h'}`;
type Retry = NonNullable<ActivityOptions['retry']>;

const proxies = (startToCloseTimeout: Duration, retry: Retry, more: ActivityOptions = {}) =>
  proxyActivities<Activities>({ startToCloseTimeout, retry, ...more });

/** Retries from `initialInterval`, growing by `backoffCoefficient` up to `maximumInterval`, at most `maximumAttempts` tries. */
const backoff = (initialInterval: Duration, backoffCoefficient: number, maximumInterval: Duration, maximumAttempts?: number): Retry => ({
  initialInterval,
  backoffCoefficient,
  maximumInterval,
  maximumAttempts,
});

/** Host step: quick, idempotent host and etcd calls. */
export const hostStep = proxies('30s', backoff('1s', 2, '10s', 10));

/** Downloads and other slow one-shot work: release fetch, pre-upgrade snapshot, a rotated CA. */
export const download = proxies('5m', backoff('2s', 2, '30s', 5));

/**
 * Certificates of a provision or a new member: CPU work of seconds (RSA 4096 keys), not minutes, so the attempt of a
 * worker that died while it ran is retried on another after 2 minutes rather than the downloads' 5.
 */
export const certificates = proxies('2m', backoff('2s', 2, '30s', 5));

/** Health gate: each attempt checks once; retries are the polling loop. */
export const healthGate = proxies('15s', backoff('500ms', 1.5, '5s', 60));

/** Observation only: one attempt, failures are recorded as health. */
export const observe = proxies('20s', { maximumAttempts: 1 });

/** Data transfer: streaming a snapshot, verifying, restoring run as long as the database is big, with heartbeats. */
export const dataTransfer = proxies(
  '2h',
  { ...backoff('2s', 2, '30s', 3), nonRetryableErrorTypes: ['BackupCorrupt', 'NotFound'] },
  { heartbeatTimeout: '60s' },
);

/** Rollback: more patient than the forward path, it is what keeps the member working. */
export const rollback = proxies('30s', backoff('1s', 2, '10s', 8));

/** Rollout step: few attempts, so a member that cannot restart is rolled back within seconds. */
export const rolloutStep = proxies('30s', backoff('1s', 2, '4s', 3));

/** Member gate after a restart: polls about every second for about a minute, so a rollback starts soon. */
export const restartGate = proxies('15s', backoff('200ms', 1.2, '1s', 60));

/** Maintenance step: a member blocks during defrag and compaction; give it minutes. */
export const maintenanceStep = proxies('5m', backoff('1s', 2, '10s', 5));

/** Lookup inside a validator: an Update waits for it, so it fails fast. */
export const lookup = proxies('10s', { maximumAttempts: 2 });

/** Promotion gate: polls until the learner has caught up, bounded by the operation's own deadline. */
export function promotionGate(deadlineMs: number) {
  return proxies('10s', backoff('500ms', 1.5, '3s'), { scheduleToCloseTimeout: deadlineMs });
}

/** An activity of one input, as a proxy above holds it. */
export interface OneInputActivity<I, R> {
  executeWithOptions(options: ActivityOptions, args: [I]): Promise<R>;
}

/** One activity call with its summary (shown in the event history and the UI), on `taskQueue` when given. */
export function call<I, R>(activity: OneInputActivity<I, R>, summary: string, input: I, taskQueue?: string): Promise<R> {
  return activity.executeWithOptions(taskQueue ? { summary, taskQueue } : { summary }, [input]);
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

/** The runbook step that fetches (and SHA-256 checks) the spec's etcd release on the worker. */
export function fetchReleaseStep(progress: Progress, spec: Pick<ClusterSpec, 'version' | 'artifactSource'>) {
  return step(
    progress,
    'Fetch etcd release',
    download.fetchRelease,
    `etcd ${spec.version} (SHA-256 checked)`,
    { version: spec.version, source: spec.artifactSource },
    (r) => `sha256 ${r.sha256.slice(0, 16)}…`,
  );
}
