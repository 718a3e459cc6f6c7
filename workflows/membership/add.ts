// Add one member to a running cluster: the runbook is JOIN_STEPS (join.ts).
import type { ClusterPki } from '../../activities/pki';
import type { ClusterHealthView } from '../../common/operations';
import type { ClusterSpec } from '../../common/spec';
import type { MemberFiles } from '../../common/topology';
import { Progress } from '../progress';
import { JOIN_STEPS, joinMember, stampNow } from './join';
import { setSearchAttributes } from '../search-attributes';

export interface AddMemberInput {
  /** The cluster's spec now. */
  spec: ClusterSpec;
  /** The spec with the new member (validated by the handler). */
  next: ClusterSpec;
  member: string;
  pki?: ClusterPki;
  promoteTimeoutMs?: number;
}
export interface MembershipResult {
  spec: ClusterSpec;
  pki?: ClusterPki;
  files?: Record<string, MemberFiles>;
  health?: ClusterHealthView;
  memberId?: string;
  warnings: string[];
}

export async function addMember(input: AddMemberInput): Promise<MembershipResult> {
  const { spec, next, member } = input;
  setSearchAttributes({ cluster: spec.name, operation: 'add-member', phase: 'Updating' });
  const progress = new Progress(`Add ${member} to ${spec.name}: ${spec.members.length} → ${next.members.length} members`, JOIN_STEPS);
  const r = await joinMember(progress, {
    base: spec,
    next,
    member,
    pki: input.pki,
    promoteTimeoutMs: input.promoteTimeoutMs,
    stamp: stampNow(),
  });
  progress.succeed();
  return { spec: next, pki: r.pki, files: r.files, health: r.health, memberId: r.memberId, warnings: evenWarning(next) };
}

export function evenWarning(spec: ClusterSpec): string[] {
  const n = spec.members.length;
  return n % 2 === 0 ? [`${n} members is an even count: it tolerates no more failures than ${n - 1} members`] : [];
}
