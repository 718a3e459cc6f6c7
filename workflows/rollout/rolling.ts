// The rolling-restart runbook shared by upgrade, config change and
// certificate rotations: one member at a time, followers first, the leader
// last after an explicit MoveLeader to a member already done; every member
// behind a safety check before and a health gate after. A member that fails
// its gate gets its previous files (and binary) back and the operation stops.
import { ActivityFailure, ApplicationFailure, CancellationScope, patched } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import { NOT_RESTARTED, type ClusterHealthView } from '../../common/operations';
import { describe, type Progress } from '../progress';
import { call, restartGate, rollback, rolloutStep } from '../activities';
import type { RollMemberInput, RollMemberResult } from '../../activities/members/roll';

/** Histories recorded before it ran a member's safety check and leadership transfer as two activities. */
export const ONE_PRECHECK_PATCH = 'roll-one-precheck';

/** Histories recorded before a member's files, restart and first gate attempt ran as one activity (rollMember). */
export const ONE_ACTIVITY_MEMBER_PATCH = 'roll-one-activity-member';

/** Histories recorded before rollMember also ran the member's safety check and leadership move (prepareRestart). */
export const PRECHECK_IN_ROLL_PATCH = 'roll-precheck-in-member';

/** How long one attempt of a member's gate keeps checking (every 100 ms) before the retry policy's back-off. */
const GATE_POLL_MS = 5_000;

export interface MemberChange {
  /** e.g. "upgrade to v3.5.35"; used in step names and errors. */
  what: string;
  /** Writes the new files (and binaries) for the member; nothing restarts yet. */
  apply(member: string): Promise<void>;
  /** Puts the member's previous files (and binaries) back. */
  revert(member: string): Promise<void>;
  /** Server version the member must report after the change. */
  version: string;
  /** Version to expect after a revert. */
  previousVersion: string;
  /**
   * When set, `apply`, the restart and the gate's first attempt run as one rollMember activity with this
   * input (the gate activity follows only when that attempt did not pass); `revert` stays as it is.
   */
  roll?(member: string): Omit<RollMemberInput, 'version' | 'pollMs'>;
  /** Told each member's rollMember result (the roll's last one may carry every member's /version). */
  rolled?(member: string, result: RollMemberResult): void;
  /** Awaited before the member's step starts (e.g. its copy of the new release); a rejection stops the roll there. */
  ready?(member: string): Promise<unknown>;
}

export interface RollOrder {
  order: string[];
  leader: string;
}

/** Followers in spec order, then the current leader. */
export async function rollOrder(spec: ClusterSpec): Promise<RollOrder> {
  const h = await call(rolloutStep.checkSafeToDisrupt, 'all voters healthy, a leader, no alarms, quorum survives one member down', {
    spec,
    check: { down: [spec.members[0].name] },
  });
  const leader = h.leader!;
  const names = spec.members.map((m) => m.name);
  return { leader, order: [...names.filter((n) => n !== leader), leader] };
}

export function memberStep(prefix: string, member: string, leader: string): string {
  return `${prefix} ${member}${member === leader ? ' (leader, last)' : ''}`;
}

/**
 * Rolls `change` over the members in `order`, each as one progress step
 * (pauses take effect between members). The member in flight is never left
 * half-done: once its files are touched, finishing or rolling back runs in a
 * non-cancellable scope, and a cancellation stops the roll after it.
 */
export async function rollMembers(
  spec: ClusterSpec,
  progress: Progress,
  change: MemberChange,
  { order, leader, prefix }: RollOrder & { prefix: string },
): Promise<ClusterHealthView | undefined> {
  const done: string[] = [];
  let last: ClusterHealthView | undefined;
  for (const member of order) {
    await change.ready?.(member);
    last = await progress.step(
      memberStep(prefix, member, leader),
      async () => {
        // Leadership moves to a member already done, so it is never handed back to one still to restart.
        const move = { spec, from: member, to: done.at(-1) };
        const noteMove = (moved: { moved: boolean; leader: string }) => {
          if (moved.moved) progress.note(memberStep(prefix, member, leader), `leadership moved to ${moved.leader}`);
        };
        // One activity for the member's whole change, its safety check and leadership move first. Histories with
        // this patch also have ONE_ACTIVITY_MEMBER_PATCH (changeMember asks for it, as before, after this one):
        // older ones never see a patch asked for earlier than they recorded it.
        if (change.roll && patched(PRECHECK_IN_ROLL_PATCH))
          return CancellationScope.nonCancellable(() => changeMember(spec, member, change, { to: move.to, moved: noteMove }));
        let moved: { moved: boolean; leader: string };
        if (patched(ONE_PRECHECK_PATCH)) {
          moved = await call(rolloutStep.prepareRestart, `safe to restart ${member}; move leadership away from it if it leads`, move);
        } else {
          await call(rolloutStep.checkSafeToDisrupt, `safe to restart ${member}: quorum survives it`, { spec, check: { down: [member] } });
          moved = await call(rolloutStep.transferLeadership, `move leadership away from ${member} if it leads`, move);
        }
        noteMove(moved);
        return CancellationScope.nonCancellable(() => changeMember(spec, member, change));
      },
      (h) => `${change.what}: healthy, caught up, version ${change.version.replace(/^v/, '')}${h.leader ? `, leader ${h.leader}` : ''}`,
    );
    done.push(member);
  }
  return last;
}

/** A rollMember whose precheck refused: the member was not touched, so there is nothing to roll back. */
function notRestarted(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === NOT_RESTARTED;
}

async function changeMember(
  spec: ClusterSpec,
  member: string,
  change: MemberChange,
  precheck?: { to?: string; moved(m: { moved: boolean; leader: string }): void },
): Promise<ClusterHealthView> {
  const gate = `gate ${member}: healthy, caught up, version ${change.version}`;
  try {
    if (change.roll && patched(ONE_ACTIVITY_MEMBER_PATCH)) {
      const r = await call(
        rolloutStep.rollMember,
        `${member}: ${precheck ? 'safe to restart, leadership away, ' : ''}${change.what}: files, restart, ${gate}`,
        {
          ...change.roll(member),
          version: change.version,
          pollMs: GATE_POLL_MS,
          ...(precheck && { precheck: { to: precheck.to } }),
        },
      );
      if (r.leadership) precheck?.moved(r.leadership);
      change.rolled?.(member, r);
      if (r.passed && r.view) return r.view;
      // Not yet within the first attempt: the gate activity's own retries keep checking, as before.
      return await call(restartGate.memberGate, gate, { spec, member, version: change.version });
    }
    await change.apply(member);
    await call(rolloutStep.restartMember, `restart ${member} (${change.what})`, { cluster: spec.name, member, spec });
    const h = await call(restartGate.memberGate, gate, {
      spec,
      member,
      version: change.version,
      pollMs: GATE_POLL_MS,
    });
    return h;
  } catch (err) {
    if (notRestarted(err)) throw err;
    const reason = describe(err);
    let rolledBack: string;
    try {
      await change.revert(member);
      await call(rollback.restartMember, `roll back ${member}: restart on the previous files`, { cluster: spec.name, member, spec });
      await call(restartGate.memberGate, `gate ${member} after rollback`, { spec, member, version: change.previousVersion });
      rolledBack = `${member} was rolled back to ${change.previousVersion} and is healthy`;
    } catch (rbErr) {
      rolledBack = `rolling ${member} back ALSO failed: ${describe(rbErr)}`;
    }
    throw ApplicationFailure.create({
      type: 'MemberGateFailed',
      nonRetryable: true,
      message: `${member} failed after ${change.what}: ${reason}; ${rolledBack}; operation stopped`,
    });
  }
}
