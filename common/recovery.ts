// Quorum-loss recovery, the pure part: the spec block, when a health reading
// means quorum is lost, and which source a recovery restores from. Used by
// the entity (detection), the recover-quorum runbook (the plan) and the API.
import { z } from 'zod';
import { MAX_TIMEOUT_MS, durationMs, durationSchema } from './duration';
import type { QuorumReading } from './quorum';

/** How long quorum may be lost before the entity queues a recovery (default). */
export const DEFAULT_QUORUM_LOSS_GRACE = '60s';
const GRACE_RULE = { maxMs: MAX_TIMEOUT_MS };

/** `recovery` in the cluster spec: the grace period, and whether the recovery runs without an admin's approval. */
export const RecoverySpec = z.strictObject({
  /** Quorum lost for longer than this: phase QuorumLost and a recover-quorum operation is queued. */
  quorumLossGrace: durationSchema(GRACE_RULE).default(DEFAULT_QUORUM_LOSS_GRACE),
  /** Recover without waiting for `POST /v1/operations/{id}/approve`. */
  auto: z.boolean().default(false),
});
export type RecoverySettings = z.output<typeof RecoverySpec>;

/** The spec's recovery settings with their defaults (a stored spec without the block, or an out-of-range grace). */
export function recoverySettings(spec: { recovery?: Partial<RecoverySettings> } | undefined): { graceMs: number; auto: boolean } {
  const r = spec?.recovery;
  return {
    graceMs: durationMs(r?.quorumLossGrace, GRACE_RULE) ?? durationMs(DEFAULT_QUORUM_LOSS_GRACE)!,
    auto: r?.auto === true,
  };
}

/** Why a health reading means quorum is lost (no leader, or a majority of voters unreachable); undefined when it is not. */
export function quorumLossReason(h: QuorumReading): string | undefined {
  const voters = h.members.filter((m) => !m.isLearner);
  if (voters.length === 0) return h.error ? `cluster unreachable: ${h.error}` : undefined;
  const healthy = voters.filter((m) => m.healthy).length;
  const quorum = Math.floor(voters.length / 2) + 1;
  const down = voters.filter((m) => !m.healthy).map((m) => m.name);
  if (healthy < quorum) return `${healthy} of ${voters.length} voting members reachable, ${quorum} needed (down: ${down.join(', ')})`;
  if (!h.leader) return `no leader (${healthy} of ${voters.length} voting members answer)`;
  return undefined;
}

/** The reason the entity shows once the grace period is over. */
export function quorumLostReason(reason: string, lostMs: number): string {
  return `quorum lost for ${Math.round(lostMs / 1000)} s: ${reason}`;
}

/** One member as the recovery's assessment saw it (nothing was changed to learn it). */
export interface MemberAssessment {
  name: string;
  /** Its etcd process runs. */
  running: boolean;
  /** Its data dir holds etcd data (member/). */
  hasData: boolean;
  /** It answered Maintenance.Status (a member without quorum still does). */
  answers: boolean;
  appliedIndex?: number;
  raftIndex?: number;
  revision?: number;
  error?: string;
}

export type RecoverySource = { kind: 'survivor'; member: string; appliedIndex: number; revision: number } | { kind: 'backup' };

/**
 * The most advanced survivor: highest applied index, then highest revision, among
 * the members that answer (their data can be snapshotted). No survivor: the latest backup.
 */
export function chooseSource(members: MemberAssessment[]): RecoverySource {
  const answering = members.filter((m) => m.answers && m.appliedIndex !== undefined);
  const best = [...answering].sort(
    (a, b) => (b.appliedIndex ?? 0) - (a.appliedIndex ?? 0) || (b.revision ?? 0) - (a.revision ?? 0) || a.name.localeCompare(b.name),
  )[0];
  if (!best) return { kind: 'backup' };
  return { kind: 'survivor', member: best.name, appliedIndex: best.appliedIndex ?? 0, revision: best.revision ?? 0 };
}

/** One line per member for the plan: what was seen. */
export function describeAssessment(m: MemberAssessment): string {
  const seen = m.answers
    ? `answers, applied index ${m.appliedIndex}, revision ${m.revision}`
    : `${m.running ? 'running but not answering' : 'not running'}, ${m.hasData ? 'data dir has data' : 'no data'}`;
  return `${m.name}: ${seen}${m.error && !m.answers ? ` (${m.error})` : ''}`;
}
