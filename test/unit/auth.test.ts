// etcd users and roles: the spec's auth block, the operation params, the
// recorded state after each change, the PATCH plan, and the permission ranges.
import { applyAuthChange, AuthSpec, planAuth, redactParams, type AuthState } from '../../common/auth';
import { parseOperationParams } from '../../common/operation-params';
import { parseClusterSpec, ValidationError } from '../../common/parse';
import { planSpecChange } from '../../common/plan';
import { prefixEnd, toEtcdPermission } from '../../activities/etcd/auth';

const issuesOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected a ValidationError');
};

const base = { name: 'c', members: [{ name: 'm1', address: '127.0.0.1' }] };

describe('spec.auth', () => {
  it('parses with defaults', () => {
    const { spec } = parseClusterSpec({ ...base, auth: { roles: [{ name: 'r', permissions: [{ key: '/k', access: 'read' }] }] } });
    expect(spec.auth).toEqual({ enabled: false, roles: [{ name: 'r', permissions: [{ key: '/k', access: 'read' }] }], users: [] });
  });

  it('reports every problem at once, with field paths', () => {
    const issues = issuesOf(() =>
      parseClusterSpec({
        ...base,
        auth: {
          roles: [
            { name: 'a/b', permissions: [{ prefix: '/p', key: '/k', access: 'read' }, { access: 'write' }, { key: '/x', access: 'all' }] },
            { name: 'root' },
            { name: 'dup' },
            { name: 'dup' },
            { name: 'x'.repeat(129) },
            { name: '' },
            { name: 'tab\there' },
          ],
          users: [{ name: 'etcdfleet-admin' }, { name: 'u', roles: ['undeclared', 'root', 'dup'], password: '' }],
        },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'auth.roles[0].name',
        'auth.roles[0].permissions[0]',
        'auth.roles[0].permissions[1]',
        'auth.roles[0].permissions[2].access',
        // Cross-field rules in the same answer (reserved root, duplicate, reserved user); no "undeclared role"
        // for users[1]: roles whose names failed might be the ones it names.
        'auth.roles[1].name',
        'auth.roles[3].name',
        'auth.users[0].name',
        'auth.roles[4].name',
        'auth.roles[5].name',
        'auth.roles[6].name',
        'auth.users[1].password',
      ].sort(),
    );
    // The cross-field rules (duplicates, reserved names, undeclared roles) when the entries themselves parse.
    const cross = issuesOf(() =>
      parseClusterSpec({
        ...base,
        auth: {
          roles: [{ name: 'root' }, { name: 'dup' }, { name: 'dup' }],
          users: [{ name: 'etcdfleet-admin' }, { name: 'u', roles: ['undeclared', 'root'] }],
        },
      }),
    );
    expect(cross).toEqual(
      expect.arrayContaining([
        { path: 'auth.roles[2].name', message: 'duplicate role "dup" (also roles[1])' },
        { path: 'auth.roles[0].name', message: expect.stringContaining('root role') },
        { path: 'auth.users[0].name', message: expect.stringContaining('managed by the service') },
        { path: 'auth.users[1].roles[0]', message: 'role "undeclared" is not declared in auth.roles' },
      ]),
    );
    expect(cross).toHaveLength(4);
  });

  it('operation params: exactly one of prefix or key; set-auth needs enabled', () => {
    expect(parseOperationParams('put-role', { name: 'r', permissions: [{ prefix: '/a/', access: 'readwrite' }] }).ok).toBe(true);
    const r = parseOperationParams('put-role', { name: 'r', permissions: [{ access: 'read' }] });
    expect(r.ok ? [] : r.issues).toEqual([{ path: 'permissions[0]', message: 'give exactly one of prefix or key' }]);
    const s = parseOperationParams('set-auth', {});
    expect(s.ok ? [] : s.issues.map((i) => i.path)).toEqual(['enabled']);
    const u = parseOperationParams('put-user', { name: 'u', roles: ['r'], colour: 'red' });
    expect(u.ok).toBe(false);
  });
});

describe('recorded state and plans', () => {
  const state: AuthState = {
    enabled: false,
    roles: [{ name: 'r', permissions: [{ prefix: '/a/', access: 'read' }] }],
    users: [{ name: 'u', roles: ['r'], password: true }],
  };

  it('applies changes without keeping passwords', () => {
    const s1 = applyAuthChange(state, { kind: 'put-user', user: { name: 'v', roles: [], password: 'pw' } });
    expect(s1.users).toEqual([state.users[0], { name: 'v', roles: [], password: true }]);
    expect(JSON.stringify(s1)).not.toContain('pw');
    // Without a password an existing one stays.
    expect(applyAuthChange(state, { kind: 'put-user', user: { name: 'u', roles: [] } }).users).toEqual([
      { name: 'u', roles: [], password: true },
    ]);
    // A deleted role is revoked from its users.
    expect(applyAuthChange(state, { kind: 'delete-role', name: 'r' })).toEqual({
      enabled: false,
      roles: [],
      users: [{ name: 'u', roles: [], password: true }],
    });
    expect(applyAuthChange(undefined, { kind: 'set-auth', enabled: true }).enabled).toBe(true);
    expect(applyAuthChange(state, { kind: 'delete-user', name: 'missing' })).toEqual(state);
  });

  it('plans the difference: auth off first, roles, users, deletions, auth on last', () => {
    const desired = AuthSpec.parse({
      enabled: true,
      roles: [
        { name: 'r', permissions: [{ prefix: '/a/', access: 'read' }] },
        { name: 'w', permissions: [{ key: '/k', access: 'write' }] },
      ],
      users: [{ name: 'x', roles: ['w'] }],
    });
    expect(planAuth(state, desired).map((s) => `${s.kind} ${String(s.params.name ?? s.params.enabled)}`)).toEqual([
      'put-role w',
      'put-user x',
      'delete-user u',
      'set-auth true',
    ]);
    // The same state: nothing to do; a password given: the user is put again.
    const same = AuthSpec.parse({ roles: state.roles, users: [{ name: 'u', roles: ['r'] }] });
    expect(planAuth(state, same)).toEqual([]);
    expect(planAuth(state, { ...same, users: [{ name: 'u', roles: ['r'], password: 'p' }] }).map((s) => s.reason)).toEqual([
      'user u: password given',
    ]);
    expect(planAuth({ ...state, enabled: true }, same)[0]).toMatchObject({ kind: 'set-auth', params: { enabled: false } });
  });

  it('PATCH: auth steps come after the others; no auth block, no auth steps', () => {
    const { spec: current } = parseClusterSpec(base);
    const { spec: desired } = parseClusterSpec({ ...base, version: 'v3.5.21', auth: { roles: [{ name: 'r' }] } });
    expect(planSpecChange(current, desired).plan.map((s) => s.kind)).toEqual(['upgrade', 'put-role']);
    expect(planSpecChange(current, { ...desired, auth: undefined }).plan.map((s) => s.kind)).toEqual(['upgrade']);
  });

  it('redacts a password in params', () => {
    expect(redactParams({ name: 'u', password: 'pw' })).toEqual({ name: 'u', password: '(set)' });
    expect(redactParams({ name: 'u' })).toEqual({ name: 'u' });
  });
});

describe('permission ranges', () => {
  it('a prefix ends where etcd says', () => {
    expect(prefixEnd(Buffer.from('/app/')).toString()).toBe('/app0');
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(Buffer.from([0xff]))]).toEqual([0]);
  });

  it('maps access to etcd permission types', () => {
    expect(toEtcdPermission({ key: '/k', access: 'readwrite' })).toEqual({
      permType: 'Readwrite',
      key: Buffer.from('/k'),
      range_end: Buffer.alloc(0),
    });
    expect(toEtcdPermission({ prefix: '/a/', access: 'read' }).range_end.toString()).toBe('/a0');
  });
});
