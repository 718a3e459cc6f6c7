// maintenance activities, bound to the worker's configuration (spread into createActivities).
import type { Config } from '../infra/config';

export function createMaintenanceActivities(_cfg: Config) {
  return {};
}
