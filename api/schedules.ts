// Maintenance schedules through the Temporal client (infra/schedules.ts):
// FleetService (api/service.ts) holds `schedulesFor(client, taskQueue)`, calls
// `.syncFromSpec(spec)` after create/PATCH and `.removeAll(name)` after delete.
import type { Client } from '@temporalio/client';
import { MaintenanceSchedules } from '../infra/schedules';

export { MaintenanceSchedules, SCHEDULE_KINDS, schedulesFromSpec, type ScheduleKind } from '../infra/schedules';

export function schedulesFor(client: Client, taskQueue: string): MaintenanceSchedules {
  return new MaintenanceSchedules(client, taskQueue);
}
