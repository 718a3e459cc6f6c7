// Named tokens with roles, the role of every route class, the tokens file's
// reload, and the audit trail (api/access.ts, api/audit.ts) on the stub app.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { ROLES, assertRolesDeclared, parseTokensFile, requireRole, TokenStore, type Role } from '../../api/access';
import { STUB_TOKEN, startStubApp, type StubApp } from '../support/stub-app';

const TOKENS: Record<Role, string> = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
  admin: 'admin2-token-0123456789',
};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-access-'));
const tokensFile = path.join(dir, 'tokens.yaml');
const auditFile = path.join(dir, 'audit.jsonl');
const writeTokens = (text: string) => {
  fs.writeFileSync(tokensFile, text);
  // A distinct mtime even on coarse file systems.
  const t = new Date(Date.now() + Math.floor(Math.random() * 1e6));
  fs.utimesSync(tokensFile, t, t);
};
const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

let app: StubApp;
beforeAll(async () => {
  writeTokens(
    [
      `- {name: vera, token: ${TOKENS.viewer}, role: viewer}`,
      `- {name: otto, sha256: ${sha(TOKENS.operator)}, role: operator}`,
      `- {name: ada, token: ${TOKENS.admin}, role: admin}`,
    ].join('\n'),
  );
  app = await startStubApp({ tokensFile, auditFile });
});
afterAll(async () => {
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = async (method: string, p: string, token?: string, body?: unknown) => {
  const r = await fetch(`${app.base}${p}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', 'x-request-id': 'req-1' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = r.headers.get('content-type')?.includes('json') ? await r.text() : (await r.body?.cancel(), '');
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
};

// Route classes: [method, path, body, role needed].
const ROUTES: [string, string, unknown, Role][] = [
  ['GET', '/v1/clusters', undefined, 'viewer'],
  ['GET', '/v1/clusters/c', undefined, 'viewer'],
  ['GET', '/v1/operations/c.1-x', undefined, 'viewer'],
  ['GET', '/v1/clusters/c/backups', undefined, 'viewer'],
  ['GET', '/v1/clusters/c/schedules', undefined, 'viewer'],
  ['POST', '/v1/clusters', {}, 'operator'],
  ['PATCH', '/v1/clusters/c', {}, 'operator'],
  ['POST', '/v1/clusters/c/members', {}, 'operator'],
  ['POST', '/v1/clusters/c/upgrade', {}, 'operator'],
  ['POST', '/v1/clusters/c/backups', {}, 'operator'],
  ['POST', '/v1/clusters/c/defrag', {}, 'operator'],
  ['PUT', '/v1/clusters/c/schedules', {}, 'operator'],
  ['POST', '/v1/operations/c.1-x/pause', {}, 'operator'],
  ['POST', '/v1/clusters/c/certificates/rotate', {}, 'operator'],
  ['POST', '/v1/clusters/c/certificates/rotate', { ca: true }, 'admin'],
  ['DELETE', '/v1/clusters/c', undefined, 'admin'],
  ['POST', '/v1/clusters/c/restore', {}, 'admin'],
  ['GET', '/v1/clusters/c/credentials', undefined, 'admin'],
  ['GET', '/v1/operations/c.1-x/ca-rotation', undefined, 'admin'],
  ['GET', '/v1/audit', undefined, 'admin'],
  ['GET', '/v1/clusters/c/roles', undefined, 'viewer'],
  ['GET', '/v1/clusters/c/users', undefined, 'viewer'],
  ['PUT', '/v1/clusters/c/roles/r', {}, 'admin'],
  ['DELETE', '/v1/clusters/c/roles/r', undefined, 'admin'],
  ['PUT', '/v1/clusters/c/users/u', {}, 'admin'],
  ['DELETE', '/v1/clusters/c/users/u', undefined, 'admin'],
  ['POST', '/v1/clusters/c/users/u/certificate', {}, 'admin'],
  ['PUT', '/v1/clusters/c/auth', { enabled: true }, 'admin'],
];

describe('roles × route classes', () => {
  const cases = ROUTES.flatMap(([m, p, b, needed]) => ROLES.map((role) => [m, p, b, needed, role] as const));
  test.each(cases)('%s %s %j (needs %s) as %s', async (method, p, body, needed, role) => {
    const r = await call(method, p, TOKENS[role], body);
    if (ROLES.indexOf(role) >= ROLES.indexOf(needed)) {
      expect([401, 403]).not.toContain(r.status);
    } else {
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ title: 'Forbidden', status: 403 });
      expect(r.body.detail).toContain(`needs the ${needed} role`);
      expect(r.body.detail).toContain(`has the ${role} role`);
    }
  });

  test('the ETCDFLEET_API_TOKEN token is admin; an unknown token is 401', async () => {
    expect((await call('GET', '/v1/audit', STUB_TOKEN)).status).toBe(200);
    expect((await call('GET', '/v1/clusters', 'not-a-token-0123456789')).status).toBe(401);
  });

  test('a route without a role is refused when the app is built', () => {
    const r = express.Router();
    r.get('/ok', requireRole('viewer'), (_q, s) => void s.end());
    const nested = express.Router();
    nested.post('/clusters/:name/forgotten', (_q, s) => void s.end());
    r.use(nested);
    expect(() => assertRolesDeclared(r)).toThrow(/POST \/clusters\/:name\/forgotten/);
  });
});

describe('tokens file', () => {
  test('validation names the entry', () => {
    expect(() => parseTokensFile('- {name: a, token: short-token, role: viewer}')).toThrow(/entry 1 \(a\): token: at least 16/);
    expect(() => parseTokensFile('- {name: a, token: aaaaaaaaaaaaaaaaaaaa, role: root}')).toThrow(/entry 1 \(a\): role/);
    expect(() => parseTokensFile(`- {name: b, token: aaaaaaaaaaaaaaaaaaaa, sha256: ${sha('x')}, role: admin}`)).toThrow(
      /entry 1 \(b\): exactly one of/,
    );
    expect(() => parseTokensFile('name: a')).toThrow(/must be a YAML list/);
    // `admin` is the service's own token (ETCDFLEET_API_TOKEN): a file entry of that name would blur the audit trail.
    expect(() => parseTokensFile('- {name: admin, token: aaaaaaaaaaaaaaaaaaaa, role: viewer}')).toThrow(
      /entry 1 \(admin\): name admin is reserved/,
    );
    expect(() => new TokenStore(STUB_TOKEN, path.join(dir, 'missing.yaml'))).toThrow(/cannot be read/);
  });

  test('re-read on change; a bad rewrite keeps the last good set', async () => {
    const newToken = 'newcomer-token-0123456789';
    expect((await call('GET', '/v1/clusters', newToken)).status).toBe(401);
    writeTokens(`- {name: vera, token: ${TOKENS.viewer}, role: operator}\n- {name: nina, sha256: ${sha(newToken)}, role: viewer}\n`);
    expect((await call('GET', '/v1/clusters', newToken)).status).toBe(200);
    expect((await call('POST', '/v1/clusters/c/backups', TOKENS.viewer, {})).status).not.toBe(403);
    writeTokens('- {name: nina, role: viewer}\n');
    expect((await call('GET', '/v1/clusters', newToken)).status).toBe(200);
    // Back to the first set for the other tests.
    writeTokens(
      `- {name: vera, token: ${TOKENS.viewer}, role: viewer}\n- {name: otto, sha256: ${sha(TOKENS.operator)}, role: operator}\n- {name: ada, token: ${TOKENS.admin}, role: admin}\n`,
    );
    expect((await call('GET', '/v1/clusters', newToken)).status).toBe(401);
  });
});

describe('audit trail', () => {
  test('a sequence of calls, a refused one included; GETs other than credentials are not recorded', async () => {
    fs.rmSync(auditFile, { force: true });
    await call('GET', '/v1/clusters', TOKENS.viewer);
    await call('POST', '/v1/clusters/alpha/backups', TOKENS.viewer, { secret: 'hunter2' });
    await call('POST', '/v1/clusters/alpha/backups', TOKENS.operator, {});
    await call('GET', '/v1/clusters/beta/credentials', TOKENS.admin);
    await call('DELETE', '/v1/clusters/beta', 'wrong-token-0123456789');
    const lines = fs.readFileSync(auditFile, 'utf8').trim().split('\n');
    const entries = lines.map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.token, e.method, e.path, e.status === 403 || e.status === 401 ? e.status : 'passed', e.cluster])).toEqual([
      ['vera', 'POST', '/v1/clusters/alpha/backups', 403, 'alpha'],
      ['otto', 'POST', '/v1/clusters/alpha/backups', 'passed', 'alpha'],
      ['ada', 'GET', '/v1/clusters/beta/credentials', 'passed', 'beta'],
      [null, 'DELETE', '/v1/clusters/beta', 401, 'beta'],
    ]);
    for (const e of entries) {
      expect(e.requestId).toBe('req-1');
      expect(Date.parse(e.time)).not.toBeNaN();
    }
    const raw = fs.readFileSync(auditFile, 'utf8');
    for (const secret of ['hunter2', ...Object.values(TOKENS), 'wrong-token']) expect(raw).not.toContain(secret);
    expect(fs.statSync(auditFile).mode & 0o777).toBe(0o600);
  });

  test('GET /v1/audit filters by cluster, time and limit, newest last', async () => {
    const lines = [
      {
        time: '2026-01-01T00:00:00.000Z',
        token: 'a',
        method: 'POST',
        path: '/v1/clusters/x/defrag',
        status: 202,
        cluster: 'x',
        requestId: '1',
      },
      {
        time: '2026-01-02T00:00:00.000Z',
        token: 'a',
        method: 'POST',
        path: '/v1/clusters/y/defrag',
        status: 202,
        cluster: 'y',
        requestId: '2',
      },
      { time: '2026-01-03T00:00:00.000Z', token: 'a', method: 'DELETE', path: '/v1/clusters/x', status: 202, cluster: 'x', requestId: '3' },
    ];
    fs.writeFileSync(auditFile, lines.map((l) => JSON.stringify(l) + '\n').join('') + 'not json\n', { mode: 0o600 });
    const ids = async (q: string) =>
      (await call('GET', `/v1/audit${q}`, TOKENS.admin)).body.entries.map((e: { requestId: string }) => e.requestId);
    expect(await ids('?cluster=x')).toEqual(['1', '3']);
    expect(await ids('?since=2026-01-02T00:00:00Z')).toEqual(['2', '3']);
    expect(await ids('?since=2026-01-01T12:00:00Z&until=2026-01-02T12:00:00Z')).toEqual(['2']);
    expect(await ids('?cluster=x&limit=1')).toEqual(['3']);
    expect((await call('GET', '/v1/audit?limit=100000', TOKENS.admin)).status).toBe(400);
    expect((await call('GET', '/v1/audit?since=yesterday', TOKENS.admin)).status).toBe(400);
  });
});
