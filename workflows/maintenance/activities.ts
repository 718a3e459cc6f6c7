// Activity proxies for maintenance runbooks. Snapshot streaming, verification
// and restores run as long as the database is big, with heartbeats.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';

/** Streaming a snapshot, verifying, restoring: long, heartbeating, few retries. */
export const dataOps = proxyActivities<Activities>({
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

/** Defragment and compact: a member blocks during defrag; give it minutes. */
export const etcdMaintenance = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
});

/** Quick calls. */
export const quickOps = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 10 },
});
