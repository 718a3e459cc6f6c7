// Membership operations (add, remove, replace, scale): filled in by the membership work.
import type { OperationHandlers } from './state';

export const membershipOperations: OperationHandlers = {};
