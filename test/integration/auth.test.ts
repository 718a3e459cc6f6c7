// etcd users and roles end to end with the real etcdctl, on one 3-member
// cluster: users and roles from the create spec, a certificate-only user,
// auth enabled (then backup, defrag, upgrade and a member add still work),
// the PATCH plan of spec.auth, and auth disabled again. Passwords never come
// back from the API.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { anyCachedRelease } from '../../activities/artifacts';
import { bootstrappedEtcdVersions } from '../../infra/etcd-releases';
import { loopback, startStack, type Stack } from '../support/stack';

jest.setTimeout(300_000);

const run = promisify(execFile);
const { default: FROM, latest35: V35 } = bootstrappedEtcdVersions();
const name = 'rb';
const addrs = loopback(63, 4);
const PASSWORD = 'alice-Secret-9f3';
let stack: Stack;
let bin: string;
let certs: string;
let endpoints: string[];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-auth-'));

beforeAll(async () => {
  stack = await startStack({ label: 'auth' });
  bin = anyCachedRelease(stack.config.cacheDir, FROM);
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function waitOp(id: string, timeoutMs = 240_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (['Succeeded', 'Failed', 'Cancelled'].includes(op.status)) return op;
    if (Date.now() > deadline) throw new Error(`operation ${id} still ${op.status}: ${JSON.stringify(op.steps)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function succeeds(method: string, url: string, body?: unknown): Promise<any> {
  const r = await stack.api(method, url, body);
  expect([r.status, r.body]).toEqual([202, expect.anything()]);
  const op = await waitOp(r.body.operationId);
  expect([op.kind, op.status, op.error]).toEqual([op.kind, 'Succeeded', undefined]);
  return op;
}

/** etcdctl with the given TLS identity (default: the service's admin certificate) and optional user:password. */
async function ctl(args: string[], who: { cert?: string; key?: string; user?: string } = {}): Promise<{ ok: boolean; out: string }> {
  const argv = [
    `--endpoints=${endpoints.join(',')}`,
    `--cacert=${certs}/ca.pem`,
    `--cert=${who.cert ?? `${certs}/admin.pem`}`,
    `--key=${who.key ?? `${certs}/admin-key.pem`}`,
    '--command-timeout=10s',
    ...(who.user ? [`--user=${who.user}`] : []),
    ...args,
  ];
  try {
    const { stdout } = await run(path.join(bin, 'etcdctl'), argv);
    return { ok: true, out: stdout };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
}

const alice = { user: `alice:${PASSWORD}` };
let bob: { cert: string; key: string };

it('creates the cluster with the roles and users of its spec, queued after provisioning', async () => {
  const spec = {
    name,
    version: FROM,
    members: addrs.slice(0, 3).map((address, i) => ({ name: `rb${i + 1}`, address })),
    tunables: { heartbeatInterval: 50, electionTimeout: 500 },
    auth: {
      roles: [{ name: 'app-reader', permissions: [{ prefix: '/app/', access: 'read' }] }],
      users: [{ name: 'alice', password: PASSWORD, roles: ['app-reader'] }],
    },
  };
  const r = await stack.api('POST', '/v1/clusters', spec);
  expect(r.status).toBe(202);
  expect(r.body.operations).toHaveLength(2);
  for (const id of r.body.operations) expect((await waitOp(id)).status).toBe('Succeeded');
  const view = (await stack.api('GET', `/v1/clusters/${name}`)).body;
  expect(view.phase).toBe('Running');
  expect(view.spec.auth).toBeUndefined();
  certs = view.members[0].files.certsDir;
  endpoints = view.members.map((m: any) => m.clientURL);
  expect((await ctl(['put', '/app/x', 'hello'])).ok).toBe(true);
  expect((await ctl(['put', '/other/y', 'secret'])).ok).toBe(true);
});

it('puts a certificate-only user (twice: same state) and issues its certificate', async () => {
  await succeeds('PUT', `/v1/clusters/${name}/users/bob`, { roles: ['app-reader'] });
  await succeeds('PUT', `/v1/clusters/${name}/users/bob`, { roles: ['app-reader'] });
  const c = await stack.api('POST', `/v1/clusters/${name}/users/bob/certificate`);
  expect(c.status).toBe(201);
  expect(c.body.key).toContain('PRIVATE KEY');
  bob = { cert: path.join(tmp, 'bob.pem'), key: path.join(tmp, 'bob-key.pem') };
  fs.writeFileSync(bob.cert, c.body.cert);
  fs.writeFileSync(bob.key, c.body.key, { mode: 0o600 });
  const users = (await stack.api('GET', `/v1/clusters/${name}/users`)).body.users;
  expect(users).toEqual([
    { name: 'alice', roles: ['app-reader'], password: true },
    { name: 'bob', roles: ['app-reader'], password: false },
  ]);
  expect((await stack.api('GET', `/v1/clusters/${name}/roles`)).body.roles).toEqual([
    { name: 'app-reader', permissions: [{ prefix: '/app/', access: 'read' }] },
  ]);
  // Deleting what does not exist succeeds; bad names are 400s naming the field; an unknown role is refused.
  await succeeds('DELETE', `/v1/clusters/${name}/users/nobody`);
  const bad = await stack.api('PUT', `/v1/clusters/${name}/roles/r1`, {
    permissions: [
      { prefix: '/a', key: '/b', access: 'read' },
      { prefix: '/c', access: 'all' },
    ],
  });
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e: any) => e.path).sort()).toEqual(['permissions[0]', 'permissions[1].access']);
  expect((await stack.api('PUT', `/v1/clusters/${name}/users/carol`, { roles: ['nope'] })).status).toBe(422);
});

it('enables auth: root and the service user first, then a check of what the service does', async () => {
  const op = await succeeds('PUT', `/v1/clusters/${name}/auth`, { enabled: true });
  expect(op.result.checked.join(' ')).toMatch(/member list.*status and hash on 3 members/);
  expect((await ctl(['auth', 'status'])).out).toMatch(/Authentication Status: true/);
  expect((await ctl(['user', 'get', 'etcdfleet-admin'])).out).toMatch(/Roles: root/);
  // The on-host etcdctl.sh uses the same admin certificate: root too.
  const script = (await stack.api('GET', `/v1/clusters/${name}`)).body.members[0].files.etcdctlScript;
  expect((await run(script, ['user', 'list'], { timeout: 20_000 })).stdout).toContain('etcdfleet-admin');
});

it('a user with read on /app/ reads /app/x and is denied /other and writes', async () => {
  expect((await ctl(['get', '/app/x', '--print-value-only'], alice)).out.trim()).toBe('hello');
  const other = await ctl(['get', '/other/y'], alice);
  expect([other.ok, other.out]).toEqual([false, expect.stringMatching(/permission denied/)]);
  const write = await ctl(['put', '/app/x', 'changed'], alice);
  expect([write.ok, write.out]).toEqual([false, expect.stringMatching(/permission denied/)]);
  expect((await ctl(['get', '/app/x', '--print-value-only'], { user: 'alice:wrong' })).ok).toBe(false);
});

it('a certificate-only user logs in by its certificate', async () => {
  expect((await ctl(['get', '/app/x', '--print-value-only'], bob)).out.trim()).toBe('hello');
  expect((await ctl(['put', '/app/x', 'changed'], bob)).ok).toBe(false);
  expect((await ctl(['get', '/other/y'], bob)).ok).toBe(false);
});

it('never returns a password', async () => {
  const everything = JSON.stringify([
    (await stack.api('GET', `/v1/clusters/${name}`)).body,
    (await stack.api('GET', `/v1/clusters/${name}/users`)).body,
    (await stack.api('GET', '/v1/clusters')).body,
  ]);
  expect(everything).not.toContain(PASSWORD);
  expect(everything).toContain('"password":"(set)"');
});

it('with auth on, a backup (and its restore drill), a defrag, an upgrade and a member add still succeed', async () => {
  await succeeds('POST', `/v1/clusters/${name}/backups`, {});
  const drill = (await succeeds('POST', `/v1/clusters/${name}/restore-drill`, {})).result;
  expect(drill.ok).toBe(true);
  expect(drill.keys).toBeGreaterThanOrEqual(2);
  await succeeds('POST', `/v1/clusters/${name}/defrag`, { all: true });
  await succeeds('POST', `/v1/clusters/${name}/upgrade`, { version: V35 });
  await succeeds('POST', `/v1/clusters/${name}/members`, { name: 'rb4', address: addrs[3] });
  const view = await stack.waitForPhase(name, ['Running']);
  expect(view.members.map((m: any) => [m.name, m.healthy])).toEqual(['rb1', 'rb2', 'rb3', 'rb4'].map((n) => [n, true]));
  endpoints = view.members.map((m: any) => m.clientURL);
  expect((await ctl(['get', '/app/x', '--print-value-only'], alice)).out.trim()).toBe('hello');
});

it('PATCH plans the difference of spec.auth (dry run names the steps, no password shown)', async () => {
  const view = (await stack.api('GET', `/v1/clusters/${name}`)).body;
  const desired = {
    ...view.spec,
    auth: {
      enabled: true,
      roles: [{ name: 'app-reader', permissions: [{ prefix: '/app/', access: 'readwrite' }] }],
      users: [{ name: 'alice', password: 'new-pass', roles: ['app-reader'] }],
    },
  };
  const r = await stack.api('PATCH', `/v1/clusters/${name}?dryRun=true`, desired);
  expect(r.status).toBe(200);
  expect(r.body.plan.map((s: any) => `${s.kind} ${s.params.name}`)).toEqual(['put-role app-reader', 'put-user alice', 'delete-user bob']);
  expect(JSON.stringify(r.body)).not.toContain('new-pass');
});

it('disables auth: everyone may do everything again', async () => {
  await succeeds('PUT', `/v1/clusters/${name}/auth`, { enabled: false });
  expect((await ctl(['auth', 'status'])).out).toMatch(/Authentication Status: false/);
  expect((await ctl(['put', '/other/z', 'v'], bob)).ok).toBe(true);
  expect((await stack.api('GET', `/v1/clusters/${name}/roles`)).body.authEnabled).toBe(false);
});
