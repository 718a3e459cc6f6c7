// The operation children the entity starts, one per operation kind (see workflows/index.ts).
export { provisionCluster } from './provision';
export { deleteCluster } from './delete';
export { rollingUpgrade } from './rollout/upgrade';
export { rollingConfigChange } from './rollout/config';
export { rotateCertificates, rotateCa } from './rollout/certificates';
export { addMember } from './membership/add';
export { removeMember } from './membership/remove';
export { replaceMember } from './membership/replace';
export { scaleCluster } from './membership/scale';
export { backupCluster } from './maintenance/backup';
export { restoreCluster } from './maintenance/restore';
export { restoreDrill } from './maintenance/drill';
export { compactCluster } from './maintenance/compact';
export { defragCluster } from './maintenance/defrag';
export { clearNospace } from './maintenance/nospace';
export { scheduledOperation } from './maintenance/scheduled';
export { authChange } from './auth/change';
export { recoverQuorum } from './recovery/recover';
