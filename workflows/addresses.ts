// The service-wide address registry: one long-running workflow per task queue
// (`etcdfleet/address-registry/<task queue>`) that records which cluster holds
// each address:port pair. The API claims a cluster's pairs (update-with-start)
// before the cluster entity exists or a membership operation is queued; a pair
// another cluster holds is a `Conflict` (409) naming the pair and its holder,
// and nothing is claimed. Entities release pairs when members leave and when
// the cluster is deleted. A bind test at provision time stays as the last
// check, but it is racy and cannot see stopped members; this cannot miss them.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { clusterPairs, operationPairs, pairsClash } from '../common/addresses';
import type { ClusterState } from './state';

export const ADDRESS_REGISTRY_PREFIX = 'etcdfleet/address-registry/';
export function addressRegistryId(taskQueue: string): string {
  return `${ADDRESS_REGISTRY_PREFIX}${taskQueue}`;
}

/** A claim younger than this survives a `retain`: its operation may not be queued yet. */
export const CLAIM_GRACE_MS = 5 * 60_000;

export interface AddressClaim {
  cluster: string;
  pairs: string[];
}
export interface Holding {
  cluster: string;
  claimedAt: number;
}
export interface ClaimResult {
  /** Pairs this claim added (the caller releases them again if its request fails). */
  added: string[];
}
export interface AddressConflict {
  pair: string;
  heldAs: string;
  holder: string;
}

/** All or nothing: refused (`Conflict`) when another cluster holds a clashing pair. */
export const claimAddressesUpdate = defineUpdate<ClaimResult, [AddressClaim]>('claimAddresses');
/** Releases these pairs if the cluster holds them; without `pairs`, everything it holds (a deleted cluster). */
export const releaseAddressesSignal = defineSignal<[{ cluster: string; pairs?: string[] }]>('releaseAddresses');
/** The cluster now needs only these pairs: the rest are released (recent claims excepted). */
export const retainAddressesSignal = defineSignal<[AddressClaim]>('retainAddresses');
export const addressClaimsQuery = defineQuery<Record<string, Holding>>('addressClaims');

export function conflictsOf(holders: Readonly<Record<string, Holding>>, { cluster, pairs }: AddressClaim): AddressConflict[] {
  const out: AddressConflict[] = [];
  for (const pair of pairs) {
    for (const [held, h] of Object.entries(holders)) {
      if (h.cluster !== cluster && pairsClash(pair, held)) out.push({ pair, heldAs: held, holder: h.cluster });
    }
  }
  return out;
}

export async function addressRegistryWorkflow(input: { holders?: Record<string, Holding> } = {}): Promise<void> {
  const holders: Record<string, Holding> = { ...input.holders };

  setHandler(addressClaimsQuery, () => holders);
  setHandler(
    claimAddressesUpdate,
    ({ cluster, pairs }) => {
      const added: string[] = [];
      for (const pair of pairs) {
        if (holders[pair]?.cluster !== cluster) added.push(pair);
        holders[pair] = { cluster, claimedAt: Date.now() };
      }
      return { added };
    },
    {
      validator: (claim) => {
        const conflicts = conflictsOf(holders, claim);
        if (conflicts.length === 0) return;
        const what = conflicts.map((c) => `${c.pair} is held by cluster ${c.holder}${c.heldAs === c.pair ? '' : ` (as ${c.heldAs})`}`);
        throw ApplicationFailure.create({
          type: 'Conflict',
          nonRetryable: true,
          message: `address already in use: ${what.join('; ')}`,
          details: [conflicts],
        });
      },
    },
  );
  setHandler(releaseAddressesSignal, ({ cluster, pairs }) => {
    for (const [pair, h] of Object.entries(holders)) if (h.cluster === cluster && (!pairs || pairs.includes(pair))) delete holders[pair];
  });
  setHandler(retainAddressesSignal, ({ cluster, pairs }) => {
    const keep = new Set(pairs);
    for (const [pair, h] of Object.entries(holders)) {
      if (h.cluster === cluster && !keep.has(pair) && Date.now() - h.claimedAt > CLAIM_GRACE_MS) delete holders[pair];
    }
  });

  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof addressRegistryWorkflow>({ holders });
}

// ---------------------------------------------------------------- used by the cluster entity

async function signalRegistry(fn: (h: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>): Promise<void> {
  try {
    await fn(getExternalWorkflowHandle(addressRegistryId(workflowInfo().taskQueue)));
  } catch {
    // No registry (nothing was ever claimed on this task queue): nothing to release.
  }
}

/** After an operation: the cluster keeps its members' pairs and those of operations still queued. */
export function retainClusterAddresses(state: Readonly<ClusterState>): Promise<void> {
  if (!state.spec) return Promise.resolve();
  const spec = state.spec;
  const pairs = [...clusterPairs(spec), ...state.queue.flatMap((op) => operationPairs(spec, op.kind, op.params ?? {}))];
  return signalRegistry((h) => h.signal(retainAddressesSignal, { cluster: state.name, pairs }));
}

/** A deleted cluster holds nothing. */
export function releaseClusterAddresses(cluster: string): Promise<void> {
  return signalRegistry((h) => h.signal(releaseAddressesSignal, { cluster }));
}
