// The one place workflows set their search attributes: the cluster, and what
// is known of the operation, the phase and the etcd version. Each value is
// true now, and stays true when the workflow ends:
// - the entity: EtcdPhase = the cluster's phase; EtcdOperation = the kind of
//   the operation running now, removed while none runs;
// - an operation: EtcdOperation = its kind; EtcdPhase = the phase it holds the
//   cluster in while it runs, removed once its outcome is decided (last step
//   done or a step failed: workflows/progress.ts).
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { EtcdCluster, EtcdOperation, EtcdPhase, EtcdVersion } from '../common/searchAttributes';

/**
 * Histories recorded before the attributes ended true replay without the
 * entity's EtcdOperation and the operations' final EtcdPhase removal.
 */
export const TRUE_SEARCH_ATTRIBUTES_PATCH = 'search-attributes-true-at-end';

export interface ClusterAttributes {
  cluster: string;
  /** `null` removes it. */
  operation?: string | null;
  /** `null` removes it. */
  phase?: string | null;
  /** `null` removes it. */
  version?: string | null;
}

export function setSearchAttributes(a: ClusterAttributes): void {
  const pairs: SearchAttributeUpdatePair[] = [{ key: EtcdCluster, value: a.cluster }];
  if (a.operation !== undefined) pairs.push({ key: EtcdOperation, value: a.operation });
  if (a.phase !== undefined) pairs.push({ key: EtcdPhase, value: a.phase });
  if (a.version !== undefined) pairs.push({ key: EtcdVersion, value: a.version });
  upsertSearchAttributes(pairs);
}

/**
 * The operation kind in this workflow's ID (`etcd-cluster/<name>/op/<seq>-<kind>`), else `fallback`:
 * one workflow serves two kinds (defrag and defrag-check).
 */
export function operationKind(fallback: string): string {
  return /\/op\/\d+-([a-z-]+)$/.exec(workflowInfo().workflowId)?.[1] ?? fallback;
}

/** An operation's outcome is decided: it no longer holds the cluster in a phase. */
export function endOperationPhase(): void {
  if (workflowInfo().typedSearchAttributes.get(EtcdPhase) === undefined) return;
  if (!patched(TRUE_SEARCH_ATTRIBUTES_PATCH)) return;
  upsertSearchAttributes([{ key: EtcdPhase, value: null }]);
}

/** The entity's running operation (`null`: none runs now). */
export function setEntityOperation(cluster: string, kind: string | null): void {
  if (patched(TRUE_SEARCH_ATTRIBUTES_PATCH)) setSearchAttributes({ cluster, operation: kind });
}
