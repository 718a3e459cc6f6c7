// The cluster's phase as a state machine: what each event in the entity's
// life moves it to. Pure; the entity (workflows/entity.ts) applies the result
// in one place. `undefined`: the event leaves the phase (and reason) alone.
import type { ClusterHealthView, ClusterPhase, OperationRecord } from './operations';
import { healthReason } from './health';

export type PhaseEvent =
  /** The first create: the provisioning is queued. */
  | { on: 'created' }
  /** A delete was queued: everything else is cancelled. */
  | { on: 'deleting' }
  /** An operation started: its handler's phase (and the reason, when the handler keeps it). */
  | { on: 'started'; phase: ClusterPhase; reason?: string }
  /** An operation succeeded: the phase it asks for, else Running (Degraded when its health says so). */
  | { on: 'succeeded'; phase?: ClusterPhase; health?: ClusterHealthView }
  /**
   * An operation failed or was cancelled. With a failure phase (provision, delete) a failure
   * puts the cluster there and a cancellation leaves the phase to whoever cancelled; otherwise
   * the cluster goes back to the phase it had (a provisioning cluster: Running) until its
   * health is observed.
   */
  | { on: 'failed'; op: OperationRecord; before: ClusterPhase; failurePhase?: ClusterPhase; cancelled: boolean }
  /** A health check answered. */
  | { on: 'observed'; health: ClusterHealthView; now: number; lastError?: string }
  /** A health check could not be made. */
  | { on: 'unobservable'; error: string }
  /** Quorum lost for longer than the spec's grace period (workflows/recovery/detect.ts). */
  | { on: 'quorumLost'; reason: string };

export interface PhaseChange {
  phase: ClusterPhase;
  reason?: string;
}

/**
 * The phase after an event. Once a delete is queued (`Deleting`), only the
 * delete's own start and outcome move the phase: the cancelled operation's
 * outcome and health checks keep `Deleting`, so no submission slips in before
 * the delete runs (the result still names a phase, so the entity records the
 * same search-attribute update as before).
 */
export function nextPhase(e: PhaseEvent, current?: ClusterPhase): PhaseChange | undefined {
  if (current === 'Deleting' && (e.on === 'observed' || e.on === 'unobservable' || (e.on === 'failed' && !e.failurePhase))) {
    return { phase: 'Deleting' };
  }
  switch (e.on) {
    case 'created':
      return { phase: 'Provisioning' };
    case 'deleting':
      return { phase: 'Deleting' };
    case 'started':
      return { phase: e.phase, reason: e.reason };
    case 'succeeded':
      return { phase: e.phase ?? (e.health && !e.health.healthy ? 'Degraded' : 'Running') };
    case 'failed':
      if (e.failurePhase) return e.cancelled ? undefined : { phase: e.failurePhase, reason: `${e.op.kind} failed: ${e.op.error}` };
      return {
        phase: e.before === 'Provisioning' ? 'Running' : e.before,
        reason: `${e.op.id} ${e.cancelled ? 'was cancelled' : `failed: ${e.op.error}`}`,
      };
    case 'observed':
      return { phase: e.health.healthy ? 'Running' : 'Degraded', reason: healthReason(e.health, e.now, e.lastError) };
    case 'unobservable':
      return { phase: 'Degraded', reason: `health check failed: ${e.error}` };
    case 'quorumLost':
      return { phase: 'QuorumLost', reason: e.reason };
  }
}
