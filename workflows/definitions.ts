// Message definitions shared by the workflows and the API client.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ClusterPki, SignedClient } from '../activities/pki';
import type { ClusterSpec } from '../common/spec';
import type { Step } from '../common/operations';
import type { ClusterState } from './state';

export interface CreateClusterRequest {
  spec: ClusterSpec;
  fingerprint: string;
}
export interface OperationAccepted {
  operationId: string;
  workflowId: string;
  /** false when the same spec was already accepted (idempotent retry). */
  created: boolean;
}
export interface DeleteClusterRequest {
  purge: boolean;
}

/** What the entity shows: its state without secrets and bookkeeping. */
export type ClusterView = Omit<ClusterState, 'pki' | 'seq'> & { version?: string };

/** An admin client certificate request: the requester generated the key pair and keeps the private key. */
export interface ClientCsrRequest {
  /** PKCS#10 PEM. */
  csr: string;
  /** The certificate's CN (an etcd user's certificate, common/auth.ts); default the service's own admin CN. */
  commonName?: string;
}

export interface OperationProgress {
  steps: Step[];
  status: 'Running' | 'Paused' | 'Succeeded' | 'Failed';
  error?: string;
}

export const createClusterUpdate = defineUpdate<OperationAccepted, [CreateClusterRequest]>('createCluster');
export const deleteClusterUpdate = defineUpdate<OperationAccepted, [DeleteClusterRequest]>('deleteCluster');
export const clusterQuery = defineQuery<ClusterView>('cluster');
/**
 * Signs an admin client CSR with the cluster CA (on the entity) or the new CA
 * (on a CA rotation). Only the CSR and the certificate cross Temporal.
 */
export const signClientCertificateUpdate = defineUpdate<SignedClient, [ClientCsrRequest]>('signClientCertificate');
export const progressQuery = defineQuery<OperationProgress>('progress');

/** Sent by a provision child as soon as certificates exist, so a later retry reuses the same CA. */
export const pkiIssuedSignal = defineSignal<[ClusterPki]>('pkiIssued');

export interface SubmitOperationRequest {
  kind: import('../common/operations').OperationKind;
  params?: Record<string, unknown>;
}
export interface ControlOperationRequest {
  operationId: string;
  action: 'pause' | 'resume' | 'cancel';
}
/** A point-in-time restore's point, asked of the source cluster (common/operation-params.ts restore). */
export interface PlanRestoreRequest {
  backup: string;
  toRevision?: number;
  toTime?: string;
}
export interface PlanRestoreAnswer {
  backup: string;
  baseRevision: number;
  chunks: number;
  recordedRevision: number;
}
/**
 * Plans a point-in-time restore from this cluster's backups and recorded
 * changes without queueing anything: a restore into a new cluster asks it
 * before the new cluster is created. A hole or a point past the record is a Refused (422).
 */
export const planRestoreUpdate = defineUpdate<PlanRestoreAnswer, [PlanRestoreRequest]>('planRestore');
/** Queue any operation kind; validated by its handler (4xx without queueing). */
export const submitOperationUpdate = defineUpdate<OperationAccepted, [SubmitOperationRequest]>('submitOperation');
/** Pause/resume at the next step boundary, or cancel (queued: dropped; running: cancelled). */
export const controlOperationUpdate = defineUpdate<OperationRecordView, [ControlOperationRequest]>('controlOperation');
/** Fire-and-forget submission (Temporal Schedules): refusals are recorded as failed operations. */
export const submitOperationSignal = defineSignal<[SubmitOperationRequest]>('submitOperation');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export type OperationRecordView = import('../common/operations').OperationRecord;
