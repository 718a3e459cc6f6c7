// Issue 13: a PATCH plan names each field it changes, old → new, so a PATCH
// built from an old copy of the spec shows what it would revert.
import { planSpecChange } from '../../common/plan';
import { fieldChanges, formatChange } from '../../common/plan-changes';
import { ClusterSpec, type MemberSpec } from '../../common/spec';

const m = (name: string, n: number): MemberSpec => ({ name, address: `127.0.61.${n}` });
const original = ClusterSpec.parse({
  name: 'c',
  version: 'v3.5.10',
  members: [m('a', 1), m('b', 2), m('c', 3)],
  tunables: { heartbeatInterval: 50, electionTimeout: 500 },
});

it('a PATCH with the original spec after a /config change names the reverted fields', () => {
  // What POST /config did since: the running spec has the new tunables and log level.
  const running = ClusterSpec.parse({
    ...original,
    tunables: { heartbeatInterval: 100, electionTimeout: 1000 },
    logging: { level: 'debug' },
  });
  const p = planSpecChange(running, original);
  expect(p.plan).toHaveLength(1);
  expect(p.plan[0].kind).toBe('config-change');
  expect(p.plan[0].changes).toEqual([
    { field: 'tunables.electionTimeout', from: 1000, to: 500 },
    { field: 'tunables.heartbeatInterval', from: 100, to: 50 },
    { field: 'logging.level', from: 'debug', to: original.logging.level },
  ]);
  expect(p.plan[0].changes!.map(formatChange)).toContain('tunables.heartbeatInterval: 100 → 50');
});

it('names version, TLS and member changes of each step', () => {
  const desired = ClusterSpec.parse({
    ...original,
    version: 'v3.6.0',
    tls: { ...original.tls, certDays: 90, caDays: 1000 },
    members: [m('a', 1), m('b', 9), m('d', 4)],
  });
  const p = planSpecChange(original, desired);
  const byKind = Object.fromEntries(p.plan.map((s) => [`${s.kind} ${String(s.params.member ?? s.params.name ?? '')}`.trim(), s.changes]));
  expect(byKind.upgrade).toEqual([{ field: 'version', from: 'v3.5.10', to: 'v3.6.0' }]);
  expect(byKind['rotate-certificates']).toEqual([{ field: 'tls.certDays', from: original.tls.certDays, to: 90 }]);
  expect(byKind['rotate-ca']).toEqual([{ field: 'tls.caDays', from: original.tls.caDays, to: 1000 }]);
  expect(byKind['replace-member b']).toEqual([{ field: 'members[b].address', from: '127.0.61.2', to: '127.0.61.9' }]);
  expect(byKind['add-member d']).toEqual([{ field: 'members[d]', from: null, to: m('d', 4) }]);
  expect(byKind['remove-member c']).toEqual([{ field: 'members[c]', from: m('c', 3), to: null }]);
  expect(formatChange(byKind['remove-member c']![0])).toBe('members[c]: {"name":"c","address":"127.0.61.3"} → (none)');
});

it('names auth changes without ever showing a password', () => {
  const desired = ClusterSpec.parse({
    ...original,
    auth: {
      enabled: true,
      roles: [{ name: 'app', permissions: [{ prefix: '/app/', access: 'readwrite' }] }],
      users: [{ name: 'svc', password: 's3cret', roles: ['app'] }],
    },
  });
  const p = planSpecChange(original, desired, { auth: { enabled: false, roles: [], users: [{ name: 'old', roles: [], password: true }] } });
  const all = p.plan.flatMap((s) => s.changes ?? []);
  expect(all.map(formatChange)).toEqual([
    'auth.roles[app].permissions: (none) → [{"prefix":"/app/","access":"readwrite"}]',
    'auth.users[svc].roles: (none) → ["app"]',
    'auth.users[svc].password: (none) → (set)',
    'auth.users[old]: {"name":"old","roles":[]} → (none)',
    'auth.enabled: false → true',
  ]);
  expect(JSON.stringify(p.plan.map((s) => s.changes))).not.toContain('s3cret');
});

it('walks objects field by field and compares arrays whole', () => {
  expect(fieldChanges({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [2, 1] }, d: 'x' }, 'x')).toEqual([
    { field: 'x.b.c', from: [1, 2], to: [2, 1] },
    { field: 'x.d', from: null, to: 'x' },
  ]);
  expect(fieldChanges({ a: 1 }, { a: 1 }, 'x')).toEqual([]);
});
