// Scale to a desired member list: one member at a time, each step its own
// add or remove runbook (a child workflow), in the order planMembers gives.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { ClusterPki } from '../../activities/pki';
import type { ClusterHealthView } from '../../common/operations';
import { planMembers } from '../../common/plan';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import type { MemberFiles } from '../../common/topology';
import { call, observe } from '../activities';
import { Progress } from '../progress';
import { addMember, type MembershipResult } from './add';
import { removeMember, withoutMemberPki } from './remove';
import { replaceMember } from './replace';
import { setSearchAttributes } from '../search-attributes';

export interface ScaleInput {
  spec: ClusterSpec;
  /** The desired spec (validated by the handler); only its members differ. */
  desired: ClusterSpec;
  pki?: ClusterPki;
  promoteTimeoutMs?: number;
}

export async function scaleCluster(input: ScaleInput): Promise<MembershipResult & { steps: string[] }> {
  const { desired } = input;
  setSearchAttributes({ cluster: input.spec.name, operation: 'scale', phase: 'Updating' });
  const progress = new Progress(`Scale ${input.spec.name}: ${input.spec.members.length} → ${desired.members.length} members`, ['Plan']);
  const { plan, health0 } = await progress.step(
    'Plan',
    async () => {
      const health0 = await call(observe.clusterHealth, 'which members are unhealthy (they are removed first)', { spec: input.spec });
      const unhealthy = health0.members.filter((m) => !m.healthy).map((m) => m.name);
      return { plan: planMembers(input.spec.members, desired.members, { unhealthy }), health0 };
    },
    ({ plan }) => (plan.steps.length ? plan.steps.map((s) => `${s.kind} ${s.member}`).join(', ') : 'nothing to do'),
  );
  const names = plan.steps.map((s, i) => `${i + 1}. ${s.kind} ${s.member}`);
  progress.add(...names);

  let spec = input.spec;
  let pki = input.pki;
  let health: ClusterHealthView | undefined = health0;
  const files: Record<string, MemberFiles> = {};
  const base = workflowInfo().workflowId;
  for (const [i, s] of plan.steps.entries()) {
    const workflowId = `${base}/${i + 1}-${s.kind}-${s.member}`;
    const want = desired.members.find((m) => m.name === s.member);
    const r: MembershipResult = await progress.step(
      names[i],
      () => {
        if (s.kind === 'remove-member') {
          return executeChild(removeMember, {
            workflowId,
            args: [{ spec, member: s.member, pki }],
            staticSummary: `Remove ${s.member} from ${spec.name}`,
          });
        }
        const next = withMember(spec, want!);
        if (s.kind === 'replace-member') {
          return executeChild(replaceMember, {
            workflowId,
            args: [{ spec, next, member: s.member, pki, promoteTimeoutMs: input.promoteTimeoutMs }],
            staticSummary: `Replace ${s.member} in ${spec.name}`,
          });
        }
        return executeChild(addMember, {
          workflowId,
          args: [{ spec, next, member: s.member, pki, promoteTimeoutMs: input.promoteTimeoutMs }],
          staticSummary: `Add ${s.member} to ${spec.name}`,
        });
      },
      (r) => `${r.spec.members.length} members`,
    );
    spec = r.spec;
    pki = r.pki ?? (s.kind === 'remove-member' && pki ? withoutMemberPki(pki, s.member) : pki);
    if (r.files) Object.assign(files, r.files);
    if (s.kind === 'remove-member') delete files[s.member];
    health = r.health ?? health;
  }
  progress.succeed();
  // The desired list's order, now that every member is in place.
  const ordered: ClusterSpec = { ...spec, members: orderLike(spec.members, desired.members) };
  return { spec: ordered, pki, files, health, warnings: plan.warnings, steps: names };
}

function withMember(spec: ClusterSpec, m: MemberSpec): ClusterSpec {
  const i = spec.members.findIndex((x) => x.name === m.name);
  return { ...spec, members: i >= 0 ? spec.members.map((x, j) => (j === i ? m : x)) : [...spec.members, m] };
}

function orderLike(members: MemberSpec[], desired: MemberSpec[]): MemberSpec[] {
  const pos = new Map(desired.map((m, i) => [m.name, i]));
  return [...members].sort((a, b) => (pos.get(a.name) ?? 1e9) - (pos.get(b.name) ?? 1e9));
}
