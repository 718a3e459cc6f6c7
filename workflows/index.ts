// Every workflow the worker registers.
import { setWorkflowOptions } from '@temporalio/workflow';
import * as operationWorkflows from './operation-workflows';

export { clusterWorkflow } from './cluster';
export { addressRegistryWorkflow } from './addresses';

/**
 * Operation children fail on any error, not just an ApplicationFailure: by
 * default an unexpected error (a TypeError in handler code, an invalid timer
 * value) fails the workflow *task*, which Temporal retries forever, and the
 * entity waiting for the child (and a delete waiting for its cancellation)
 * would be stuck with it. A failed child is a failed operation the entity
 * records and moves past. The entity itself is not listed: it catches what
 * an operation throws and must never end because of one.
 */
const operations: ((...args: any[]) => Promise<unknown>)[] = Object.values(operationWorkflows);
for (const wf of operations) setWorkflowOptions({ failureExceptionTypes: [Error] }, wf);

export * from './operation-workflows';
