// membership activities, bound to the worker's configuration (spread into createActivities).
import type { Config } from '../infra/config';

export function createMembershipActivities(_cfg: Config) {
  return {};
}
