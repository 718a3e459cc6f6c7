// Membership operations (add, remove, replace, scale). Validators refuse
// what can never work (pure: the same schema and cross-field rules as a
// create); prechecks refuse what is unsafe right now (live health and quorum,
// only when nothing runs or waits before it — queued operations rely on the
// gate that opens their own runbook). Each runs as one child workflow.
import { executeChild } from '@temporalio/workflow';
import { canonicalJson } from '../common/fingerprint';
import { planMembers, specWithAddedMember, specWithReplacedMember, specWithoutMember } from '../common/plan';
import { formatPath, type Issue } from '../common/issues';
import type { OperationParams } from '../common/operation-params';
import { ClusterSpec, type MemberSpec } from '../common/spec';
import { call, observe } from './activities';
import { clusterQueue } from './placement';
import { addMember, type MembershipResult } from './membership/add';
import { removeMember } from './membership/remove';
import { replaceMember } from './membership/replace';
import { scaleCluster } from './membership/scale';
import { refusalGate, refuse, refuseIssues, withParams, type ClusterState, type OperationHandlers, type OperationOutcome } from './state';

function specOf(state: Readonly<ClusterState>) {
  if (!state.spec) throw refuse(`cluster ${state.name} not found`, 'NotFound');
  return state.spec;
}

/** Nothing running or queued: the live health answers for this request. */
function idle(state: Readonly<ClusterState>): boolean {
  return state.queue.length === 0 && (state.phase === 'Running' || state.phase === 'Degraded');
}

/** Precheck of an operation that takes `member` out: the others keep quorum without it (only when nothing else runs). */
function quorumWithout(summary: (member: string) => string) {
  return async (state: Readonly<ClusterState>, { member }: { member: string }): Promise<void> => {
    if (!idle(state)) return;
    await refusalGate(() => call(observe.checkSafeToRemove, summary(member), { spec: specOf(state), member }, clusterQueue(state)));
  };
}

/**
 * Plan issues (`member.address`, from common/plan.ts) at the request's own
 * fields. An add's body is the member itself. A replace changes only the
 * address (the URL names the member), so whatever the new spec breaks, that
 * address is at fault (a clash is blamed on the later of two members, which
 * may be another one).
 */
function asRequest(kind: 'add-member' | 'replace-member', issues: Issue[]): Issue[] {
  return issues.map((i) => {
    if (kind === 'replace-member') return { ...i, path: 'address' };
    const m = /^member(?:\.(.+))?$/.exec(i.path);
    if (!m) return i.path === 'members' ? { ...i, path: '' } : i;
    return { ...i, path: m[1] ?? '' };
  });
}

const seconds = (s: number | undefined) => (s === undefined ? undefined : s * 1000);

function checkAdd(spec: ClusterSpec, params: OperationParams<'add-member'>) {
  const { promoteTimeoutSeconds, ...member } = params;
  const promoteTimeoutMs = seconds(promoteTimeoutSeconds);
  const r = specWithAddedMember(spec, member);
  if (!r.ok) {
    const existing = spec.members.find((m) => m.name === member.name);
    if (existing && isSameMember(existing, member)) return { already: existing, promoteTimeoutMs };
    throw refuseIssues(asRequest('add-member', r.issues));
  }
  return { next: r.value.spec, member: r.value.member, promoteTimeoutMs };
}

function isSameMember(a: MemberSpec, b: MemberSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function checkRemove(spec: ClusterSpec, { member }: OperationParams<'remove-member'>) {
  if (!spec.members.some((m) => m.name === member))
    throw refuseIssues([{ path: 'member', message: `cluster ${spec.name} has no member ${member}` }], 'NotFound');
  const r = specWithoutMember(spec, member);
  if (!r.ok) throw refuseIssues(r.issues);
  return { member, next: r.value.spec };
}

function checkReplace(spec: ClusterSpec, { member, address, promoteTimeoutSeconds }: OperationParams<'replace-member'>) {
  const old = spec.members.find((m) => m.name === member);
  if (!old) throw refuseIssues([{ path: 'member', message: `cluster ${spec.name} has no member ${member}` }], 'NotFound');
  const r = specWithReplacedMember(spec, member, { ...old, ...(address ? { address } : {}) });
  if (!r.ok) throw refuseIssues(asRequest('replace-member', r.issues));
  return { member, next: r.value.spec, promoteTimeoutMs: seconds(promoteTimeoutSeconds) };
}

function checkScale(spec: ClusterSpec, params: OperationParams<'scale'>) {
  const r = ClusterSpec.safeParse({ ...spec, members: params.members });
  if (!r.success) {
    throw refuseIssues(r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  const plan = planMembers(spec.members, r.data.members);
  if (plan.refusals.length) throw refuseIssues(plan.refusals);
  return { desired: r.data, plan };
}

const result = (r: MembershipResult, extra: Record<string, unknown>): OperationOutcome => ({
  spec: r.spec,
  pki: r.pki,
  files: r.files,
  health: r.health,
  result: { ...extra, memberId: r.memberId, members: r.spec.members.map((m) => m.name), warnings: r.warnings },
});

const addMemberOp = withParams('add-member', {
  phase: 'Updating',
  validate(state, params) {
    checkAdd(specOf(state), params);
  },
  async precheck(state) {
    if (!idle(state)) return;
    await refusalGate(() =>
      call(
        observe.checkSafeToDisrupt,
        'precheck: every voter healthy before adding a member',
        { spec: specOf(state), check: {} },
        clusterQueue(state),
      ),
    );
  },
  async run({ state, spec, op, params, taskQueue }) {
    const c = checkAdd(spec, params);
    if (c.already) return { result: { member: c.already.name, skipped: 'already a member with this definition' } };
    const r = await executeChild(addMember, {
      workflowId: op.workflowId,
      taskQueue,
      args: [{ spec, next: c.next!, member: c.member!.name, pki: state.pki, promoteTimeoutMs: c.promoteTimeoutMs }],
      staticSummary: `Add ${c.member!.name} (${c.member!.address}) to ${spec.name}`,
    });
    return result(r, { member: c.member!.name });
  },
});

const removeMemberOp = withParams('remove-member', {
  phase: 'Updating',
  validate(state, params) {
    checkRemove(specOf(state), params);
  },
  precheck: quorumWithout((member) => `precheck: quorum survives removing ${member}`),
  async run({ state, spec, op, params, taskQueue }) {
    const { member } = checkRemove(spec, params);
    const r = await executeChild(removeMember, {
      workflowId: op.workflowId,
      taskQueue,
      args: [{ spec, member, pki: state.pki }],
      staticSummary: `Remove ${member} from ${spec.name}`,
    });
    return result(r, { member });
  },
});

const replaceMemberOp = withParams('replace-member', {
  phase: 'Updating',
  validate(state, params) {
    checkReplace(specOf(state), params);
  },
  precheck: quorumWithout((member) => `precheck: the others keep quorum while ${member} is replaced`),
  async run({ state, spec, op, params, taskQueue }) {
    const c = checkReplace(spec, params);
    const r = await executeChild(replaceMember, {
      workflowId: op.workflowId,
      taskQueue,
      args: [{ spec, next: c.next, member: c.member, pki: state.pki, promoteTimeoutMs: c.promoteTimeoutMs }],
      staticSummary: `Replace ${c.member} in ${spec.name} (fresh data, new certificates)`,
    });
    return result(r, { member: c.member });
  },
});

const scaleOp = withParams('scale', {
  phase: 'Updating',
  validate(state, params) {
    checkScale(specOf(state), params);
  },
  async precheck(state, params) {
    if (!idle(state)) return;
    const spec = specOf(state);
    const { desired } = checkScale(spec, params);
    const leaving = spec.members.filter((m) => !desired.members.some((d) => d.name === m.name)).map((m) => m.name);
    await refusalGate(() =>
      call(
        observe.checkSafeToDisrupt,
        'precheck: voters healthy (members being removed excepted)',
        { spec, check: { ignore: leaving } },
        clusterQueue(state),
      ),
    );
  },
  async run({ state, spec, op, params, taskQueue }) {
    const { desired } = checkScale(spec, params);
    const r = await executeChild(scaleCluster, {
      workflowId: op.workflowId,
      taskQueue,
      args: [{ spec, desired, pki: state.pki }],
      staticSummary: `Scale ${spec.name}: ${spec.members.length} → ${desired.members.length} members`,
    });
    return { ...result(r, {}), result: { members: r.spec.members.map((m) => m.name), steps: r.steps, warnings: r.warnings } };
  },
});

export const membershipOperations: OperationHandlers = {
  'add-member': addMemberOp,
  'remove-member': removeMemberOp,
  'replace-member': replaceMemberOp,
  scale: scaleOp,
};
