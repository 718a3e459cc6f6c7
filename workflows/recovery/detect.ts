// How the entity watches quorum between operations: an episode starts with the
// first health reading that shows quorum lost and ends with the first one that
// does not. Pure helpers over the entity's state (workflows/entity.ts applies them).
import { quorumLossReason, quorumLostReason, recoverySettings } from '../../common/recovery';
import type { ClusterHealthView } from '../../common/operations';
import type { ClusterState } from '../state';

/** Workflow patch id: histories recorded before quorum-loss detection replay without it. */
export const QUORUM_LOSS_PATCH = 'quorum-loss-recovery';

export type QuorumVerdict =
  /** Quorum is there (or the reading says nothing about it). */
  | { kind: 'fine' }
  /** Lost, but not for longer than the grace period yet. */
  | { kind: 'grace'; reason: string }
  /** Lost for longer than the grace period: phase QuorumLost; `queue` when this episode has no recovery yet. */
  | { kind: 'lost'; reason: string; queue?: { reason: string; auto: boolean } };

/** Updates `state.quorumLoss` from a reading and says what the entity should do. */
export function watchQuorum(state: ClusterState, health: ClusterHealthView, nowMs: number): QuorumVerdict {
  const reason = quorumLossReason(health);
  if (!reason) {
    state.quorumLoss = undefined;
    return { kind: 'fine' };
  }
  const episode = (state.quorumLoss ??= { since: new Date(nowMs).toISOString() });
  const { graceMs, auto } = recoverySettings(state.spec);
  const lostMs = nowMs - Date.parse(episode.since);
  if (lostMs < graceMs) return { kind: 'grace', reason };
  return { kind: 'lost', reason: quorumLostReason(reason, lostMs), queue: episode.recovery ? undefined : { reason, auto } };
}

/** The entity's next health check: sooner while a quorum loss waits out its grace period. */
export function nextObservationMs(state: ClusterState, everyMs: number, nowMs: number): number {
  const episode = state.quorumLoss;
  if (!episode || episode.recovery) return everyMs;
  const left = recoverySettings(state.spec).graceMs - (nowMs - Date.parse(episode.since));
  return Math.min(everyMs, Math.max(1_000, left));
}
