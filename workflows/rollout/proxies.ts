// Activity proxies for rollouts. Restart and file steps get few attempts so a
// member that cannot start is rolled back within seconds; the member gate
// polls for about a minute.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';

export const memberOps = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '4s', maximumAttempts: 3 },
});

export const gate = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 1.2, maximumInterval: '1s', maximumAttempts: 60 },
});

/** The rollback path: more patient than the forward path, it is what keeps the member working. */
export const rollbackOps = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 8 },
});

export const slow = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
