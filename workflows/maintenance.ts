// Maintenance operations (backup, restore, compaction, defragmentation, NOSPACE recovery).
import type { OperationHandlers } from './state';

export const maintenanceOperations: OperationHandlers = {};
