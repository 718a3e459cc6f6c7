// Validation in one round: a body with field errors and cross-field errors gets
// both in the same answer (zod skips an object's refinements once a field fails;
// the rules run on what parsed, common/salvage.ts), and a rule that needs a
// field that failed is skipped rather than guessed from a default.
import { parseClusterSpec } from '../../common/parse';
import { parseAllowedClusterSpec } from '../../common/policy';
import { parseOperationParams } from '../../common/operation-params';
import { salvage } from '../../common/salvage';
import { specPolicy } from '../../infra/config';
import { rejection } from '../support/rejection';
import { STUB_TOKEN, startStubApp, type StubApp } from '../support/stub-app';

const issues = (input: unknown) => rejection(() => parseClusterSpec(input)).issues;
const m = (name: string, address: string, extra: Record<string, unknown> = {}) => ({ name, address, ...extra });

test('a bad address and a duplicate name in one answer', () => {
  const got = issues({ name: 'demo', members: [m('a', '127.0.0.2'), m('b', '127.0.0.3'), m('a', 'not an address!')] });
  expect(got).toEqual([
    { path: 'members[2].address', message: 'must be an IPv4 address or a DNS name' },
    { path: 'members[2].name', message: 'duplicate member name "a" (also members[0])' },
  ]);
});

test('field errors elsewhere (version, ports, unknown key) do not hide an address:port clash or the election rule', () => {
  const got = issues({
    name: 'demo',
    version: 'latest',
    colour: 'blue',
    members: [m('a', '127.0.0.2'), m('b', '127.0.0.2')],
    tunables: { heartbeatInterval: 100, electionTimeout: 200, snapshotCount: -1 },
  });
  expect(got.map((i) => i.path).sort()).toEqual(
    ['colour', 'version', 'tunables.snapshotCount', 'members[1].address', 'tunables.electionTimeout'].sort(),
  );
  expect(got.find((i) => i.path === 'members[1].address')?.message).toMatch(/address:port used twice/);
});

test('a rule that needs a failed field is skipped instead of guessing', () => {
  // members[1]'s client port is bad: falling back to the cluster's 2379 would claim a clash with members[0].
  const got = issues({
    name: 'demo',
    members: [m('a', '127.0.0.2'), m('b', '127.0.0.2', { clientPort: 'x', peerPort: 3380, metricsPort: 3381 })],
  });
  expect(got.map((i) => i.path)).toEqual(['members[1].clientPort']);
  // A bad electionTimeout says nothing about heartbeat's rule against the default.
  expect(
    issues({ name: 'demo', members: [m('a', '127.0.0.2')], tunables: { heartbeatInterval: 300, electionTimeout: 'x' } }).map((i) => i.path),
  ).toEqual(['tunables.electionTimeout']);
  // A bad provider: no provider rule (ssh block, loopback) runs.
  expect(issues({ name: 'demo', provider: 'cloud', ssh: {}, members: [m('a', '10.0.0.1')] }).map((i) => i.path)).toEqual(['provider']);
  // A non-object body is one issue, and nothing else runs.
  expect(issues({ name: 'demo', members: 'three' }).map((i) => i.path)).toEqual(['members']);
});

test('auth: a bad permission and an undeclared role and a duplicate user in one answer', () => {
  const got = issues({
    name: 'demo',
    members: [m('a', '127.0.0.2')],
    auth: {
      roles: [{ name: 'app', permissions: [{ prefix: '/app/', access: 'all' }] }],
      users: [
        { name: 'u', roles: ['app', 'ghost'] },
        { name: 'u', roles: [] },
      ],
    },
  });
  expect(got.map((i) => i.path).sort()).toEqual(
    ['auth.roles[0].permissions[0].access', 'auth.users[0].roles[1]', 'auth.users[1].name'].sort(),
  );
  // A role whose name failed may be the one a user names: no "not declared" guess then.
  const unsure = issues({
    name: 'demo',
    members: [m('a', '127.0.0.2')],
    auth: { roles: [{ name: 'a/b' }], users: [{ name: 'u', roles: ['a/b'] }] },
  });
  expect(unsure.map((i) => i.path).sort()).toEqual(['auth.roles[0].name', 'auth.users[0].roles[0]'].sort());
});

test('policy refusals and both rounds of schema errors arrive together (400)', () => {
  const policy = specPolicy({}, { stateDir: '/nonexistent-state', mirror: '/nonexistent-mirror', defaultArtifactSource: 'github' });
  const e = rejection(() =>
    parseAllowedClusterSpec(
      { name: 'demo', artifactSource: 'https://elsewhere.example/', members: [m('a', '127.0.0.2'), m('a', '127.0.0.3', { peerPort: 0 })] },
      policy,
    ),
  );
  expect(e.status).toBe(400);
  expect(e.issues.map((i) => i.path).sort()).toEqual(['artifactSource', 'members[1].name', 'members[1].peerPort'].sort());
});

test('operation params: a bad heartbeat and the election rule are not mixed up; a good one with a bad election gives one issue', () => {
  const r = parseOperationParams('config-change', { tunables: { heartbeatInterval: 300, electionTimeout: 'soon' } });
  expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(['tunables.electionTimeout']);
  const both = parseOperationParams('config-change', { tunables: { heartbeatInterval: 300, electionTimeout: 1000, maxWals: -1 } });
  expect(both.ok ? [] : both.issues.map((i) => i.path).sort()).toEqual(['tunables.electionTimeout', 'tunables.maxWals']);
});

test('salvage leaves out blamed fields, keeps indices, and tells blamed from absent', () => {
  const s = salvage({ a: 1, b: [{ x: 1 }, { x: 'bad', y: 2 }], c: { d: 1 } }, [
    { code: 'invalid_type', path: ['b', 1, 'x'] },
    { code: 'unrecognized_keys', path: ['c'], keys: ['d'] },
  ]);
  expect(s.value).toEqual({ a: 1, b: [{ x: 1 }, { y: 2 }], c: {} });
  expect([s.blamed(['b', 1]), s.blamed(['b', 1, 'x', 'deep']), s.blamed(['b', 0]), s.blamed(['a']), s.blamed(['c'])]).toEqual([
    true,
    true,
    false,
    false,
    true,
  ]);
  expect(salvage(5, [{ code: 'invalid_type' }]).value).toBeUndefined();
});

describe('the API answers once', () => {
  let app: StubApp;
  beforeAll(async () => {
    app = await startStubApp();
  });
  afterAll(() => app.close());
  const send = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${app.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${STUB_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { errors?: { path: string; message: string }[] } };
  };

  test('POST /v1/clusters: field and cross-field errors in one 400', async () => {
    const r = await send('POST', '/v1/clusters', { name: 'demo', members: [m('a', '127.0.0.2'), m('a', '127.0.0.256')] });
    expect(r.status).toBe(400);
    expect(r.body.errors?.map((e) => e.path)).toEqual(['members[1].address', 'members[1].name']);
  });

  test('PATCH: another cluster name and a bad field in one 400', async () => {
    const r = await send('PATCH', '/v1/clusters/demo', { name: 'other', members: [m('a', 'bad address!')] });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([
      { path: 'members[0].address', message: 'must be an IPv4 address or a DNS name' },
      { path: 'name', message: 'must be demo (the cluster in the URL); a cluster cannot be renamed' },
    ]);
  });

  test('restore into a new cluster: params, the spec (under spec.) and its name in one 400', async () => {
    const r = await send('POST', '/v1/clusters/demo/restore', {
      backup: 7,
      from: 'old',
      spec: { name: 'other', members: [m('a', '127.0.0.2'), m('a', '127.0.0.3')] },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors?.map((e) => e.path)).toEqual(['backup', 'spec.members[1].name', 'spec.name']);
  });
});

test('many blamed fields stay cheap: 20 000 unknown keys, 1 000 users with problems, in one answer, quickly', () => {
  const wide: Record<string, unknown> = { name: 'demo', members: [m('a', '127.0.0.2')] };
  for (let i = 0; i < 20_000; i++) wide[`k${i}`] = i;
  let t = performance.now();
  expect(issues(wide)).toHaveLength(20_000);
  const users = Array.from({ length: 1000 }, (_, i) => ({ name: `u${i % 500}`, roles: ['ghost'], password: i % 2 ? '' : 'pw' }));
  const many = { name: 'demo', members: [m('a', '127.0.0.2')], auth: { roles: [{ name: 'r', bad: 1 }], users } };
  // 500 empty passwords, 500 duplicate names, 1 000 undeclared roles (role r's name is known despite its unknown key), the unknown key.
  expect(issues(many).length).toBe(500 + 500 + 1000 + 1);
  t = performance.now() - t;
  expect(t).toBeLessThan(3000);
  expect(salvage({}, []).blamed([])).toBe(false);
});
