// The cluster entity workflow (`etcd-cluster/<name>`): owns the spec and the
// observed state, and is the cluster's job queue. Operations arrive as
// Updates (validated before anything is queued), wait in a queue and run one
// at a time, each as a child workflow, so maintenance never races an upgrade.
// This file only wires messages to the entity (workflows/entity.ts).
import { ActivityCancellationType, continueAsNew, setHandler } from '@temporalio/workflow';
import {
  clusterQuery,
  controlOperationUpdate,
  createClusterUpdate,
  deleteClusterUpdate,
  pkiIssuedSignal,
  planRestoreUpdate,
  signClientCertificateUpdate,
  submitOperationSignal,
  submitOperationUpdate,
} from './definitions';
import { call, hostStep, observe } from './activities';
import { ClusterEntity, type EntityProbes } from './entity';
import { refuse, type ClusterState } from './state';
import { planSourceRestore } from './maintenance';

export type { ClusterState } from './state';

export interface ClusterWorkflowInput {
  name: string;
  /** State carried over continue-as-new. */
  state?: ClusterState;
}

/** One health reading at most (the observe proxy's start-to-close). */
const READING_MS = 20_000;

const probes: EntityProbes = {
  clusterHealth: (spec, taskQueue) => call(observe.clusterHealth, 'health check', { spec }, taskQueue),
  // Its attempt lasts as long as it waits (plus one reading); it heartbeats before each reading.
  watchHealth: (spec, watch, taskQueue) =>
    observe.watchHealth.executeWithOptions(
      {
        summary: 'health watch: answers when a reading changes',
        startToCloseTimeout: watch.maxWaitMs + watch.everyMs + READING_MS,
        heartbeatTimeout: watch.everyMs + READING_MS,
        // A watch whose worker stopped (shutdown, restart) or died (heartbeat timeout) goes on on another worker
        // or the next one to start: a worker's restart is no news about the cluster. A reading's own failure
        // (non-retryable) reaches the entity at once.
        retry: { maximumAttempts: 3, initialInterval: '1s' },
        cancellationType: ActivityCancellationType.TRY_CANCEL,
        ...(taskQueue ? { taskQueue } : {}),
      },
      [{ spec, ...watch }],
    ),
  signClient: (spec, pki, csr, commonName, taskQueue) =>
    commonName === undefined
      ? call(hostStep.signClientCertificate, 'sign an admin client certificate request', { spec, ca: pki.ca, csr }, taskQueue)
      : call(
          hostStep.signClientCertificate,
          `sign a client certificate request for etcd user ${commonName}`,
          { spec, ca: pki.ca, csr, commonName },
          taskQueue,
        ),
};

export async function clusterWorkflow({ name, state }: ClusterWorkflowInput): Promise<void> {
  const e = new ClusterEntity(name, state, probes);

  setHandler(clusterQuery, () => e.view());
  setHandler(signClientCertificateUpdate, (req) => e.signClient(req), { validator: (_req) => e.validateSignClient() });
  setHandler(pkiIssuedSignal, (pki) => e.pkiIssued(pki));
  setHandler(createClusterUpdate, (req) => e.create(req), { validator: (req) => e.validateCreate(req) });
  setHandler(deleteClusterUpdate, (req) => e.delete(req), { validator: (_req) => e.validateDelete() });
  setHandler(submitOperationUpdate, (req) => e.submit(req), { validator: (req) => e.validateSubmission(req) });
  setHandler(submitOperationSignal, (req) => e.submitOrRecord(req));
  setHandler(planRestoreUpdate, (req) => planSourceRestore(e.state, req), {
    validator: (_req) => {
      if (!e.state.spec) throw refuse(`cluster ${name} not found`, 'NotFound');
    },
  });
  setHandler(controlOperationUpdate, (req) => e.control(req), { validator: (req) => e.validateControl(req) });

  if ((await e.loop()) === 'continue-as-new') await continueAsNew<typeof clusterWorkflow>({ name, state: e.state });
}
