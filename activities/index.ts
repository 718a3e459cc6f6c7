// The activities the worker registers, bound to this worker's configuration,
// assembled from one factory per concern. Each activity is idempotent: it
// checks the world before acting, so any retry is safe. Activity names are
// the keys of this object; workflows and saved histories refer to them.
import type { Config } from '../infra/config';
import { artifactActivities } from './artifacts/activities';
import { backupActivities } from './backup/activities';
import { continuousActivities } from './backup/continuous';
import { etcdActivities } from './etcd/activities';
import { authActivities } from './etcd/auth-activities';
import { downgradeActivities } from './etcd/downgrade';
import { etcdGateActivities } from './etcd/gates';
import { maintenanceActivities } from './maintenance/activities';
import { memberActivities } from './members/activities';
import { bootstrapActivities } from './members/bootstrap';
import { rollActivities } from './members/roll';
import { pkiActivities } from './pki/activities';
import { placementActivities } from './placement';
import { recoveryActivities } from './recovery/activities';

export function createActivities(cfg: Config) {
  return {
    ...artifactActivities(cfg),
    ...pkiActivities(cfg),
    ...memberActivities(cfg),
    ...bootstrapActivities(cfg),
    ...rollActivities(cfg),
    ...etcdActivities(cfg),
    ...etcdGateActivities(cfg),
    ...downgradeActivities(cfg),
    ...backupActivities(cfg),
    ...continuousActivities(cfg),
    ...maintenanceActivities(cfg),
    ...authActivities(cfg),
    ...recoveryActivities(cfg),
    ...placementActivities(cfg),
  };
}

export type Activities = ReturnType<typeof createActivities>;
