// Maintenance schedules through the Temporal client (the API's only way to
// the world). Wiring: `maintenanceRoutes(fleet, opts.client)` in createApp;
// `schedulesFor(client, taskQueue).syncFromSpec(spec)` after create/PATCH and
// `.removeAll(name)` after delete.
import type { Client } from '@temporalio/client';
import { MaintenanceSchedules } from '../infra/schedules';

export { MaintenanceSchedules, SCHEDULE_KINDS, schedulesFromSpec, type ScheduleKind } from '../infra/schedules';

export function schedulesFor(client: Client, taskQueue: string): MaintenanceSchedules {
  return new MaintenanceSchedules(client, taskQueue);
}
