// The one place workflows set their search attributes: the cluster, and what
// is known of the operation, the phase and the etcd version.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';
import { EtcdCluster, EtcdOperation, EtcdPhase, EtcdVersion } from '../common/searchAttributes';

export interface ClusterAttributes {
  cluster: string;
  operation?: string;
  phase?: string;
  /** `null` clears it. */
  version?: string | null;
}

export function setSearchAttributes(a: ClusterAttributes): void {
  const pairs: SearchAttributeUpdatePair[] = [{ key: EtcdCluster, value: a.cluster }];
  if (a.operation !== undefined) pairs.push({ key: EtcdOperation, value: a.operation });
  if (a.phase !== undefined) pairs.push({ key: EtcdPhase, value: a.phase });
  if (a.version !== undefined) pairs.push({ key: EtcdVersion, value: a.version });
  upsertSearchAttributes(pairs);
}
