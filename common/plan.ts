// Planning membership and spec changes: pure functions shared by the API
// (PATCH /v1/clusters/{name}, dry runs), the update validators of the
// membership operations and the scale workflow. No I/O, deterministic.
import { canonicalJson } from './fingerprint';
import { formatPath, zodIssues } from './issues';
import type { OperationKind } from './operations';
import type { Issue } from './issues';
import { ClusterSpec, MAX_MEMBERS, MemberSpec } from './spec';
import { planAuth, type AuthState } from './auth';
import { TLS_CA_FIELDS, TLS_LEAF_FIELDS, stepChanges, type FieldChange } from './plan-changes';

export interface PlanStep {
  kind: OperationKind;
  params: Record<string, unknown>;
  reason: string;
  /** The fields it changes, old → new (planSpecChange; common/plan-changes.ts). */
  changes?: FieldChange[];
}

export interface SpecPlan {
  plan: PlanStep[];
  /** Changes no operation can make; non-empty = the whole change is refused (422). */
  refusals: Issue[];
  /** Non-fatal findings (e.g. an even member count on the way). */
  warnings: string[];
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

// ------------------------------------------------------------ single-member checks

export type Checked<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

/**
 * The spec after adding `input` as a member: the new member is validated with
 * the same schema and cross-field rules as a create (duplicate names,
 * address:port clashes, loopback-only local addresses, at most 9 members).
 * Issue paths about the new member read `member.<field>`.
 */
export function specWithAddedMember(spec: ClusterSpec, input: unknown): Checked<{ spec: ClusterSpec; member: MemberSpec }> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, issues: [{ path: 'member', message: 'a member must be an object like {"name": "m4", "address": "127.0.0.5"}' }] };
  }
  const own = MemberSpec.safeParse(input);
  if (!own.success) return { ok: false, issues: zodIssues(own.error, 'member') };
  if (spec.members.length >= MAX_MEMBERS) {
    return {
      ok: false,
      issues: [{ path: 'members', message: `the cluster already has ${spec.members.length} members (at most ${MAX_MEMBERS})` }],
    };
  }
  return reparse(spec, [...spec.members, own.data], spec.members.length, 'member');
}

/** The spec with member `name` replaced by `next` (same position), validated like a create. */
export function specWithReplacedMember(
  spec: ClusterSpec,
  name: string,
  next: MemberSpec,
): Checked<{ spec: ClusterSpec; member: MemberSpec }> {
  const i = spec.members.findIndex((m) => m.name === name);
  if (i < 0) return { ok: false, issues: [{ path: 'member', message: `cluster ${spec.name} has no member ${name}` }] };
  const members = spec.members.map((m, j) => (j === i ? next : m));
  return reparse(spec, members, i, 'member');
}

/** The spec without member `name`; refuses removing the last member. */
export function specWithoutMember(spec: ClusterSpec, name: string): Checked<{ spec: ClusterSpec }> {
  if (!spec.members.some((m) => m.name === name))
    return { ok: false, issues: [{ path: 'member', message: `cluster ${spec.name} has no member ${name}` }] };
  if (spec.members.length === 1)
    return { ok: false, issues: [{ path: 'member', message: `${name} is the last member of ${spec.name}: delete the cluster instead` }] };
  return { ok: true, value: { spec: { ...spec, members: spec.members.filter((m) => m.name !== name) } } };
}

function reparse(
  spec: ClusterSpec,
  members: MemberSpec[],
  index: number,
  alias: string,
): Checked<{ spec: ClusterSpec; member: MemberSpec }> {
  const r = ClusterSpec.safeParse({ ...spec, members });
  if (!r.success) {
    const issues = r.error.issues.flatMap((iss) => {
      const p = iss.path;
      // members[<index>].x → member.x: the caller sent one member, not a list.
      const own = p[0] === 'members' && p[1] === index;
      return zodIssues({ issues: [iss] }, '').map((x) => ({ ...x, path: own ? formatPath(p.slice(2), alias) : x.path }));
    });
    return { ok: false, issues };
  }
  return { ok: true, value: { spec: r.data, member: r.data.members[index] } };
}

// ------------------------------------------------------------ membership plans

export interface MemberStep {
  kind: 'add-member' | 'remove-member' | 'replace-member';
  member: string;
  params: Record<string, unknown>;
  reason: string;
  /** Members after this step. */
  size: number;
}

/**
 * Turns a desired member list into single-member steps, one at a time:
 *  1. remove members that are gone from the list and currently unhealthy
 *     (they add nothing to fault tolerance, and removing them first keeps
 *     quorum math honest for everything after);
 *  2. replace members whose address changed (remove then add, same name);
 *  3. add new members (each joins as a learner and is promoted);
 *  4. remove the remaining members that are gone from the list — after the
 *     adds, so the cluster never shrinks below the smaller of the two sizes;
 *     when the adds would exceed the member limit, these removals go first.
 * Fields of an existing member other than its address cannot change here.
 */
export function planMembers(
  current: MemberSpec[],
  desired: MemberSpec[],
  opts: { unhealthy?: string[] } = {},
): { steps: MemberStep[]; refusals: Issue[]; warnings: string[] } {
  const refusals: Issue[] = [];
  const unhealthy = new Set(opts.unhealthy ?? []);
  const byName = new Map(current.map((m) => [m.name, m]));
  const wanted = new Set(desired.map((m) => m.name));

  const replaces: MemberStep[] = [];
  const adds: MemberSpec[] = [];
  desired.forEach((d, i) => {
    const c = byName.get(d.name);
    if (!c) return void adds.push(d);
    if (same(c, d)) return;
    const changed = [...new Set([...Object.keys(c), ...Object.keys(d)])].filter((k) => !same((c as any)[k], (d as any)[k])).sort();
    const fixed = changed.filter((k) => k !== 'address');
    if (fixed.length) {
      for (const k of fixed)
        refusals.push({
          path: `members[${i}].${k}`,
          message: `${k} of existing member ${d.name} cannot be changed; remove it and add a member with a new name instead`,
        });
      return;
    }
    replaces.push({
      kind: 'replace-member',
      member: d.name,
      params: { member: d.name, address: d.address },
      reason: `${d.name} moves from ${c.address} to ${d.address}`,
      size: 0,
    });
  });
  const removals = current.filter((m) => !wanted.has(m.name));
  const brokenRemovals = removals.filter((m) => unhealthy.has(m.name));
  const healthyRemovals = removals.filter((m) => !unhealthy.has(m.name));

  const rm = (m: MemberSpec, why: string): MemberStep => ({
    kind: 'remove-member',
    member: m.name,
    params: { member: m.name },
    reason: why,
    size: 0,
  });
  const add = (m: MemberSpec): MemberStep => ({
    kind: 'add-member',
    member: m.name,
    params: { ...m },
    reason: `${m.name} (${m.address}) is in the desired members`,
    size: 0,
  });

  const steps: MemberStep[] = [
    ...brokenRemovals.map((m) => rm(m, `${m.name} is not in the desired members and is unhealthy: removed first`)),
    ...replaces,
  ];
  const afterBroken = current.length - brokenRemovals.length;
  const late = healthyRemovals.map((m) => rm(m, `${m.name} is not in the desired members`));
  if (afterBroken + adds.length > MAX_MEMBERS) steps.push(...late, ...adds.map(add));
  else steps.push(...adds.map(add), ...late);

  let size = current.length;
  const warnings: string[] = [];
  for (const s of steps) {
    if (s.kind === 'add-member') size++;
    else if (s.kind === 'remove-member') size--;
    s.size = size;
  }
  steps.forEach((s, i) => {
    if (s.kind === 'replace-member') return;
    if (s.size % 2 === 0) {
      const last = i === steps.length - 1;
      warnings.push(
        last
          ? `the result has ${s.size} members, an even count: it tolerates no more failures than ${s.size - 1} members`
          : `step ${i + 1} (${s.kind} ${s.member}) passes through ${s.size} members, an even count, on the way`,
      );
    }
  });
  return { steps, refusals, warnings };
}

// ------------------------------------------------------------ whole-spec plans

const TLS_FIXED_FIELDS = ['enabled', 'useLocalhost', 'caKeyCipher'] as const;
const FIXED_FIELDS = ['provider', 'ports', 'paths', 'token', 'dns', 'artifactSource'] as const;
const NOT_PATCHABLE = ['backup', 'maintenance'] as const;

/**
 * Compares the running spec with a desired one (both normalized) and lists
 * the operations that take the cluster there, in order: the version upgrade,
 * the rolling config change, certificate rotation and CA rotation first, then
 * the membership steps (see planMembers). Rollouts go first because their
 * checks look at the cluster as it is now (e.g. "at least 3 voting members"),
 * so the first operation is the one the live precheck refuses — and a refusal
 * then leaves nothing queued. New members join at the version and with the
 * config the rollouts left. Users and roles (spec.auth) come last. Fields that no operation changes are refusals
 * naming the field; any refusal refuses the whole change.
 */
export function planSpecChange(
  current: ClusterSpec,
  desired: ClusterSpec,
  opts: { unhealthy?: string[]; auth?: AuthState } = {},
): SpecPlan {
  const refusals: Issue[] = [];
  if (current.name !== desired.name) refusals.push({ path: 'name', message: `must stay ${current.name}: a cluster cannot be renamed` });
  for (const f of FIXED_FIELDS) {
    if (!same(current[f], desired[f])) refusals.push({ path: f, message: `${f} cannot be changed on a running cluster` });
  }
  for (const f of NOT_PATCHABLE) {
    if (!same(current[f], desired[f]))
      refusals.push({ path: f, message: `${f} settings are not changed through PATCH; use the ${f} endpoints` });
  }
  for (const f of TLS_FIXED_FIELDS) {
    if (!same(current.tls[f], desired.tls[f]))
      refusals.push({ path: `tls.${f}`, message: `tls.${f} cannot be changed on a running cluster` });
  }

  const members = planMembers(current.members, desired.members, opts);
  refusals.push(...members.refusals);

  const plan: PlanStep[] = [];
  if (current.version !== desired.version) {
    plan.push({ kind: 'upgrade', params: { version: desired.version }, reason: `version ${current.version} → ${desired.version}` });
  }
  const tunablesChanged = !same(current.tunables, desired.tunables);
  const loggingChanged = !same(current.logging, desired.logging);
  if (tunablesChanged || loggingChanged) {
    const what = [tunablesChanged && 'tunables', loggingChanged && 'logging'].filter(Boolean).join(' and ');
    plan.push({
      kind: 'config-change',
      params: { tunables: desired.tunables, logging: desired.logging },
      reason: `${what} changed: rolling restart with the new config`,
    });
  }
  const leaf = TLS_LEAF_FIELDS.filter((f) => !same(current.tls[f], desired.tls[f]));
  if (leaf.length) {
    plan.push({
      kind: 'rotate-certificates',
      params: { tls: desired.tls },
      reason: `tls.${leaf.join(', tls.')} changed: new member and client certificates from the same CA`,
    });
  }
  const ca = TLS_CA_FIELDS.filter((f) => !same(current.tls[f], desired.tls[f]));
  if (ca.length) {
    plan.push({
      kind: 'rotate-ca',
      params: { tls: desired.tls },
      reason: `tls.${ca.join(', tls.')} changed: a new CA, rotated in without downtime`,
    });
  }
  plan.push(...members.steps.map(({ kind, params, reason }) => ({ kind, params, reason })));
  // etcd users and roles last: `auth` given is the desired state, compared with the recorded one (opts.auth).
  if (desired.auth) plan.push(...planAuth(opts.auth, desired.auth));
  const named = plan.map((s) => ({ ...s, changes: stepChanges(s, current, desired, opts.auth) }));
  return { plan: refusals.length ? [] : named, refusals, warnings: members.warnings };
}

/**
 * Walks the membership steps of a plan over the spec, one at a time, with the
 * same checks the operations' validators apply, so a plan whose later step
 * would be refused (e.g. two members swapping addresses) is refused before
 * anything is queued.
 */
export function checkPlanSteps(spec: ClusterSpec, plan: PlanStep[]): Issue[] {
  let cur = spec;
  for (const [i, step] of plan.entries()) {
    const at = (issues: Issue[]) => issues.map((x) => ({ path: x.path, message: `step ${i + 1} (${step.kind}): ${x.message}` }));
    if (step.kind === 'add-member') {
      const r = specWithAddedMember(cur, step.params);
      if (!r.ok) return at(r.issues);
      cur = r.value.spec;
    } else if (step.kind === 'remove-member') {
      const r = specWithoutMember(cur, String(step.params.member));
      if (!r.ok) return at(r.issues);
      cur = r.value.spec;
    } else if (step.kind === 'replace-member') {
      const old = cur.members.find((m) => m.name === step.params.member);
      if (!old) return at([{ path: 'member', message: `no member ${String(step.params.member)}` }]);
      const r = specWithReplacedMember(cur, old.name, { ...old, address: String(step.params.address ?? old.address) });
      if (!r.ok) return at(r.issues);
      cur = r.value.spec;
    }
  }
  return [];
}
