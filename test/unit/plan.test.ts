import {
  checkPlanSteps,
  planMembers,
  planSpecChange,
  specWithAddedMember,
  specWithReplacedMember,
  specWithoutMember,
} from '../../common/plan';
import { ClusterSpec, type ClusterSpecInput, type MemberSpec } from '../../common/spec';

const m = (name: string, n: number): MemberSpec => ({ name, address: `127.0.60.${n}` });
const spec = (members: MemberSpec[], extra: Partial<ClusterSpecInput> = {}): ClusterSpec =>
  ClusterSpec.parse({ name: 'c', members, ...extra });
const kinds = (p: { kind: string; member?: string; params: Record<string, unknown> }[]) =>
  p.map((s) => `${s.kind} ${s.member ?? (s.params.member as string) ?? s.params.name ?? ''}`.trim());

describe('specWithAddedMember', () => {
  const s = spec([m('a', 1), m('b', 2), m('c', 3)]);

  it('returns the spec with the member appended, normalized', () => {
    const r = specWithAddedMember(s, { name: 'd', address: '127.0.60.4' });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.spec.members.map((x) => x.name)).toEqual(['a', 'b', 'c', 'd']);
      expect(r.value.member).toEqual({ name: 'd', address: '127.0.60.4' });
    }
  });

  it('names the field of the new member that is wrong', () => {
    const dup = specWithAddedMember(s, { name: 'b', address: '127.0.60.9' });
    expect(dup.ok).toBe(false);
    if (!dup.ok)
      expect(dup.issues).toEqual([
        expect.objectContaining({ path: 'member.name', message: expect.stringMatching(/duplicate member name "b"/) }),
      ]);

    const clash = specWithAddedMember(s, { name: 'd', address: '127.0.60.1' });
    if (clash.ok) throw new Error('expected a clash');
    expect(clash.issues.map((i) => i.path)).toEqual(['member.address']);

    const remote = specWithAddedMember(s, { name: 'd', address: '10.0.0.4' });
    if (remote.ok) throw new Error('expected refusal');
    expect(remote.issues[0]).toMatchObject({ path: 'member.address', message: expect.stringMatching(/loopback/) });

    const bad = specWithAddedMember(s, { name: 'd', address: 'not an address', clientPort: 0, color: 'red' });
    if (bad.ok) throw new Error('expected refusal');
    expect(bad.issues.map((i) => i.path).sort()).toEqual(['member.address', 'member.clientPort', 'member.color']);

    const missing = specWithAddedMember(s, { address: '127.0.60.4' });
    if (missing.ok) throw new Error('expected refusal');
    expect(missing.issues).toEqual([{ path: 'member.name', message: 'required' }]);
  });

  it('refuses a tenth member', () => {
    const nine = spec(Array.from({ length: 9 }, (_, i) => m(`m${i}`, i + 1)));
    const r = specWithAddedMember(nine, m('m9', 10));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0].message).toMatch(/at most 9/);
  });
});

describe('specWithoutMember / specWithReplacedMember', () => {
  it('refuses removing the last member and unknown members', () => {
    expect(specWithoutMember(spec([m('a', 1)]), 'a')).toMatchObject({
      ok: false,
      issues: [{ message: expect.stringMatching(/last member/) }],
    });
    expect(specWithoutMember(spec([m('a', 1), m('b', 2)]), 'x')).toMatchObject({ ok: false });
    const r = specWithoutMember(spec([m('a', 1), m('b', 2)]), 'a');
    expect(r.ok && r.value.spec.members.map((x) => x.name)).toEqual(['b']);
  });

  it('replaces in place and checks the new address', () => {
    const s = spec([m('a', 1), m('b', 2), m('c', 3)]);
    const r = specWithReplacedMember(s, 'b', { name: 'b', address: '127.0.60.7' });
    expect(r.ok && r.value.spec.members.map((x) => x.address)).toEqual(['127.0.60.1', '127.0.60.7', '127.0.60.3']);
    const clash = specWithReplacedMember(s, 'b', { name: 'b', address: '127.0.60.3' });
    expect(clash).toMatchObject({ ok: false, issues: [{ message: expect.stringMatching(/address:port used twice/) }] });
  });
});

describe('planMembers', () => {
  it('grows one member at a time and warns about even sizes on the way', () => {
    const p = planMembers([m('a', 1)], [m('a', 1), m('b', 2), m('c', 3)]);
    expect(kinds(p.steps)).toEqual(['add-member b', 'add-member c']);
    expect(p.steps.map((s) => s.size)).toEqual([2, 3]);
    expect(p.steps[0].params).toEqual({ name: 'b', address: '127.0.60.2' });
    expect(p.warnings).toEqual([expect.stringMatching(/step 1 \(add-member b\) passes through 2 members/)]);
    expect(p.refusals).toEqual([]);
  });

  it('shrinks one at a time and warns when the result is even', () => {
    const five = [1, 2, 3, 4, 5].map((i) => m(`m${i}`, i));
    const p = planMembers(five, five.slice(0, 4));
    expect(kinds(p.steps)).toEqual(['remove-member m5']);
    expect(p.warnings).toEqual([expect.stringMatching(/result has 4 members, an even count/)]);
  });

  it('removes unhealthy members first, adds before removing healthy ones', () => {
    const cur = [m('a', 1), m('b', 2), m('c', 3)];
    const want = [m('a', 1), m('d', 4), m('e', 5)];
    const p = planMembers(cur, want, { unhealthy: ['c'] });
    expect(kinds(p.steps)).toEqual(['remove-member c', 'add-member d', 'add-member e', 'remove-member b']);
    expect(p.steps.map((s) => s.size)).toEqual([2, 3, 4, 3]);
  });

  it('removes first when adding first would exceed nine members', () => {
    const cur = Array.from({ length: 9 }, (_, i) => m(`m${i}`, i + 1));
    const want = [...cur.slice(0, 8), m('n', 20)];
    expect(kinds(planMembers(cur, want).steps)).toEqual(['remove-member m8', 'add-member n']);
  });

  it('replaces a member whose address changed, refuses other field changes', () => {
    const p = planMembers([m('a', 1), m('b', 2)], [m('a', 1), { name: 'b', address: '127.0.60.9' }]);
    expect(kinds(p.steps)).toEqual(['replace-member b']);
    expect(p.steps[0].params).toEqual({ member: 'b', address: '127.0.60.9' });
    const q = planMembers([m('a', 1), m('b', 2)], [m('a', 1), { ...m('b', 2), clientPort: 3000 }]);
    expect(q.refusals).toEqual([expect.objectContaining({ path: 'members[1].clientPort' })]);
  });

  it('is empty when nothing changes (order does not matter)', () => {
    expect(planMembers([m('a', 1), m('b', 2)], [m('b', 2), m('a', 1)]).steps).toEqual([]);
  });
});

describe('planSpecChange', () => {
  const base = spec([m('a', 1), m('b', 2), m('c', 3)], { version: 'v3.5.10', tunables: { heartbeatInterval: 50, electionTimeout: 500 } });

  it('plans nothing for the same spec', () => {
    expect(planSpecChange(base, base)).toEqual({ plan: [], refusals: [], warnings: [] });
  });

  it('maps version, tunables/logging, TLS and membership changes to operations, rollouts first', () => {
    const desired = ClusterSpec.parse({
      ...base,
      members: [...base.members, m('d', 4), m('e', 5)],
      version: 'v3.6.0',
      tunables: { heartbeatInterval: 100, electionTimeout: 1000 },
      logging: { level: 'warn' },
      tls: { ...base.tls, certDays: 90 },
    });
    const p = planSpecChange(base, desired);
    expect(p.refusals).toEqual([]);
    expect(p.plan.map((s) => s.kind)).toEqual(['upgrade', 'config-change', 'rotate-certificates', 'add-member', 'add-member']);
    expect(p.plan[0].params).toEqual({ version: 'v3.6.0' });
    expect(p.plan[1].params).toEqual({ tunables: desired.tunables, logging: desired.logging });
    expect(p.plan[2].params).toEqual({ tls: desired.tls });
    expect(p.plan[3].params).toEqual(m('d', 4));
    for (const s of p.plan) expect(s.reason).toEqual(expect.any(String));
  });

  it('plans a CA rotation for CA key changes', () => {
    const desired = ClusterSpec.parse({ ...base, tls: { ...base.tls, caKey: { algorithm: 'ecdsa' } } });
    expect(planSpecChange(base, desired).plan.map((s) => s.kind)).toEqual(['rotate-ca']);
  });

  it('refuses fields no operation changes, naming each, and plans nothing then', () => {
    const desired = ClusterSpec.parse({
      ...base,
      name: 'other',
      ports: { client: 3379 },
      paths: { dataDir: '/data/etcd' },
      token: 'x',
      version: 'v3.5.11',
      tls: { ...base.tls, enabled: false },
    });
    const p = planSpecChange(base, desired);
    expect(p.plan).toEqual([]);
    expect(p.refusals.map((r) => r.path).sort()).toEqual(['name', 'paths', 'ports', 'tls.enabled', 'token']);
  });
});

describe('checkPlanSteps', () => {
  it('accepts a plan whose every step is valid in turn', () => {
    const base = spec([m('a', 1)]);
    const desired = spec([m('a', 1), m('b', 2), m('c', 3)]);
    expect(checkPlanSteps(base, planSpecChange(base, desired).plan)).toEqual([]);
  });

  it('refuses two members swapping addresses: the first replace would clash', () => {
    const base = spec([m('a', 1), m('b', 2), m('c', 3)]);
    const desired = spec([{ name: 'a', address: '127.0.60.2' }, { name: 'b', address: '127.0.60.1' }, m('c', 3)]);
    const p = planSpecChange(base, desired);
    expect(p.plan.map((s) => s.kind)).toEqual(['replace-member', 'replace-member']);
    const issues = checkPlanSteps(base, p.plan);
    expect(issues[0].message).toMatch(/^step 1 \(replace-member\): address:port used twice/);
  });
});
