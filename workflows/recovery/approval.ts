// The approval a recover-quorum operation waits for (`POST /v1/operations/{id}/approve`).
import { defineUpdate } from '@temporalio/workflow';

export interface ApproveRequest {
  /** Who approved (the API's token name), recorded in the step detail. */
  by?: string;
}
export interface ApproveResult {
  approved: true;
}

/** Sent to the operation's child workflow; its validator refuses (Conflict → 409) unless the operation waits for approval. */
export const approveUpdate = defineUpdate<ApproveResult, [ApproveRequest]>('approve');
