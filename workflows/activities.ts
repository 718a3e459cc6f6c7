// Activity proxies with the timeouts and retry policies each kind of step needs.
// Short timeouts matter: a worker that dies mid-activity is only noticed when
// the activity's start-to-close timeout expires.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** Quick, idempotent host and etcd calls. */
export const hostOps = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 10 },
});

/** Downloads and certificate generation (RSA 4096 keys take seconds). */
export const slowOps = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** Health gates: each attempt checks once; retries are the polling loop. */
export const healthGate = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '5s', maximumAttempts: 60 },
});

/** Observation only: one attempt, failures are recorded as health. */
export const observe = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { maximumAttempts: 1 },
});
