// Rolling operations (upgrade, config change, certificate and CA rotation).
import type { OperationHandlers } from './state';

export const rolloutOperations: OperationHandlers = {};
