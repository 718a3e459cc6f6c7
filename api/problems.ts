// RFC 9457 problem details, and the mapping from our and Temporal's errors.
import type { Response } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ValidationError } from '../common/parse';

export interface FieldError {
  path: string;
  message: string;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }
}

export function sendProblem(res: Response, status: number, title: string, detail: string, errors?: FieldError[]): void {
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: `/problems/${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, title, status, detail, ...(errors ? { errors } : {}) });
}

const FAILURE_STATUS: Record<string, [number, string]> = {
  Conflict: [409, 'Conflict'],
  NotFound: [404, 'Not Found'],
  Refused: [422, 'Unprocessable Operation'],
  Forbidden: [403, 'Forbidden by Service Policy'],
};

/** Maps any thrown error to a problem response. */
export function toProblem(err: unknown): { status: number; title: string; detail: string; errors?: FieldError[] } {
  if (err instanceof HttpProblem) return { status: err.status, title: err.title, detail: err.message, errors: err.errors };
  if (err instanceof ValidationError) {
    const title = err.status === 413 ? 'Payload Too Large' : err.status === 403 ? 'Forbidden by Service Policy' : 'Invalid Request';
    return {
      status: err.status,
      title,
      detail: err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '),
      errors: err.issues,
    };
  }
  const e = err as { type?: string; status?: number; name?: string; message?: string; code?: number };
  if (e?.type === 'entity.too.large') return { status: 413, title: 'Payload Too Large', detail: 'request body is larger than the limit' };
  // Other body-parser/express client errors (bad charset, aborted upload, ...): theirs to report, with a 4xx.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && (e as { expose?: boolean }).expose) {
    return {
      status: e.status,
      title: e.status === 415 ? 'Unsupported Media Type' : 'Invalid Request',
      detail: e.message ?? 'invalid request',
    };
  }
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const [status, title] = FAILURE_STATUS[err.cause.type ?? ''] ?? [422, 'Unprocessable Operation'];
    // A refusal that blames fields carries them as its first detail (workflows/state.ts refuseIssues).
    const errors = fieldErrors(err.cause.details?.[0]);
    return { status, title, detail: err.cause.message, ...(errors ? { errors } : {}) };
  }
  if (err instanceof WorkflowNotFoundError) return { status: 404, title: 'Not Found', detail: err.message };
  // gRPC DEADLINE_EXCEEDED / UNAVAILABLE: Temporal or the worker is not there (the client may wrap it, e.g. a query's ServiceError).
  // A query to a task queue no worker polls may also fail at once with FAILED_PRECONDITION "no poller seen".
  const grpc = grpcStatus(err);
  if (grpc && (grpc.code === 4 || grpc.code === 14 || (grpc.code === 9 && /no poller seen/i.test(grpc.message)))) {
    return { status: 503, title: 'Service Unavailable', detail: 'Temporal did not answer in time (is the worker running?)' };
  }
  // Internal messages (paths, addresses, stack details) go to the log, not to the caller.
  return { status: 500, title: 'Internal Server Error', detail: 'the request failed inside the service; the service log has the details' };
}

/** The gRPC status (code and message) of an error or of the first cause that has one. */
function grpcStatus(err: unknown): { code: number; message: string } | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0;
    e && depth < 4;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'number') return { code: e.code, message: String(e.message ?? '') };
  }
  return undefined;
}

/** A refusal's field errors: a non-empty list of {path, message} strings, else undefined. */
export function fieldErrors(detail: unknown): FieldError[] | undefined {
  if (!Array.isArray(detail) || detail.length === 0) return undefined;
  const ok = detail.every((d) => d && typeof d === 'object' && typeof d.path === 'string' && typeof d.message === 'string');
  return ok ? detail.map((d: FieldError) => ({ path: d.path, message: d.message })) : undefined;
}
