// rollout activities, bound to the worker's configuration (spread into createActivities).
import type { Config } from '../infra/config';

export function createRolloutActivities(_cfg: Config) {
  return {};
}
