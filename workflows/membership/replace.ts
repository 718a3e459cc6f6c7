// Replace a member whose host or data is gone: remove it, then add it again
// under the same name with a fresh data dir and new certificates.
import type { ClusterPki } from '../../activities/pki';
import type { ClusterSpec } from '../../common/spec';
import { Progress } from '../progress';
import { evenWarning, type MembershipResult } from './add';
import { JOIN_STEPS, joinMember, stampNow } from './join';
import { LEAVE_STEPS, leaveCluster, withoutMemberPki } from './remove';
import { setSearchAttributes } from '../search-attributes';

export interface ReplaceMemberInput {
  spec: ClusterSpec;
  /** The spec with the member's new definition (same name; address may differ). */
  next: ClusterSpec;
  member: string;
  pki?: ClusterPki;
  promoteTimeoutMs?: number;
}

export async function replaceMember(input: ReplaceMemberInput): Promise<MembershipResult> {
  const { spec, next, member } = input;
  setSearchAttributes({ cluster: spec.name, operation: 'replace-member', phase: 'Updating' });
  const leave = LEAVE_STEPS.filter((s) => s !== 'Wait for health');
  const progress = new Progress(`Replace ${member} in ${spec.name}`, [
    ...leave.map((s) => `Leave: ${s}`),
    ...JOIN_STEPS.map((s) => `Join: ${s}`),
  ]);
  const stamp = stampNow();
  await leaveCluster(prefixed(progress, 'Leave: '), spec, member, stamp);
  const base: ClusterSpec = { ...spec, members: spec.members.filter((m) => m.name !== member) };
  // Without its old certificates the member gets new ones (new keys) from the same CA.
  const pki = input.pki && withoutMemberPki(input.pki, member);
  const r = await joinMember(prefixed(progress, 'Join: '), { base, next, member, pki, promoteTimeoutMs: input.promoteTimeoutMs, stamp });
  progress.succeed();
  return { spec: next, pki: r.pki, files: r.files, health: r.health, memberId: r.memberId, warnings: evenWarning(next) };
}

/** The same Progress with step names under a prefix, so leave and join read as one runbook. */
function prefixed(progress: Progress, prefix: string): Progress {
  return new Proxy(progress, {
    get(target, prop, receiver) {
      if (prop === 'step')
        return (name: string, fn: () => Promise<unknown>, detail?: (r: unknown) => string | undefined) =>
          target.step(prefix + name, fn, detail);
      if (prop === 'add') return (...names: string[]) => target.add(...names.map((n) => prefix + n));
      if (prop === 'note') return (name: string, d: string) => target.note(prefix + name, d);
      return Reflect.get(target, prop, receiver);
    },
  });
}
