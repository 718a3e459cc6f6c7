// The command line's argument parsing: each command's request, exit statuses,
// the connection defaults and which route a file is applied through.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../cli/main';
import type { Ctx } from '../../cli/context';
import { resolveConnection } from '../../cli/connection';
import { detectKind, readApplyInput } from '../../cli/apply';
import { ApiError } from '../../cli/errors';

interface Sent {
  method: string;
  url: string;
  body?: unknown;
}

/** Runs argv against a fake API that records requests and answers with `answer`. */
async function run(args: string[], answer: (s: Sent) => unknown = () => ({ operationId: 'demo.2-x' })) {
  const sent: Sent[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const api = {
    call: async (method: string, url: string, body?: unknown) => {
      const s = { method, url, body };
      sent.push(s);
      const a = answer(s);
      if (a instanceof Error) throw a;
      return a;
    },
    get: async (url: string) => api.call('GET', url),
  };
  const ctx: Ctx = { api: api as unknown as Ctx['api'], tty: false, write: (l) => out.push(l) };
  const code = await main(['node', 'etcdfleet', ...args], { ctxOf: () => ctx, error: (t) => err.push(t), out: (t) => out.push(t) });
  return { code, sent, out, err: err.join('\n') };
}

describe('commands send the request the API expects', () => {
  it.each([
    [['upgrade', 'demo', 'v3.5.35'], { method: 'POST', url: '/v1/clusters/demo/upgrade', body: { version: 'v3.5.35' } }],
    [['backup', 'demo', '--member', 'demo-2'], { method: 'POST', url: '/v1/clusters/demo/backups', body: { member: 'demo-2' } }],
    [['compact', 'demo'], { method: 'POST', url: '/v1/clusters/demo/compact', body: {} }],
    [['defrag', 'demo'], { method: 'POST', url: '/v1/clusters/demo/defrag', body: {} }],
    [['members', 'remove', 'demo', 'demo-3'], { method: 'DELETE', url: '/v1/clusters/demo/members/demo-3' }],
    [
      ['members', 'replace', 'demo', 'demo-3', '--address', '127.0.0.9'],
      { method: 'POST', url: '/v1/clusters/demo/members/demo-3/replace', body: { address: '127.0.0.9' } },
    ],
    [
      ['members', 'add', 'demo', 'demo-4', '--address', '127.0.0.5', '--client-port', '2479'],
      { method: 'POST', url: '/v1/clusters/demo/members', body: { name: 'demo-4', address: '127.0.0.5', clientPort: 2479 } },
    ],
    [
      ['restore', 'demo', '--backup', 'b1', '--force'],
      { method: 'POST', url: '/v1/clusters/demo/restore', body: { backup: 'b1', force: true } },
    ],
    [
      ['restore', 'demo', '--from', 'src', '--to-revision', '1234'],
      { method: 'POST', url: '/v1/clusters/demo/restore', body: { backup: 'latest', from: 'src', toRevision: 1234 } },
    ],
    [
      ['restore', 'demo', '--to-time', '2026-12-03T09:30:00.5+01:00', '--force'],
      { method: 'POST', url: '/v1/clusters/demo/restore', body: { backup: 'latest', force: true, toTime: '2026-12-03T09:30:00.5+01:00' } },
    ],
    [['delete', 'cluster', 'demo', '--purge'], { method: 'DELETE', url: '/v1/clusters/demo?purge=true' }],
  ])('%j', async (args, expected) => {
    const r = await run(args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.sent).toEqual([expected]);
    expect(r.out).toEqual(['queued demo.2-x (follow it with: etcdfleet watch demo.2-x)']);
  });

  it('get and ops read the cluster view; -o picks the format', async () => {
    const view = { name: 'demo', phase: 'Running', members: [], operations: [{ id: 'demo.1-provision', seq: 1, status: 'Succeeded' }] };
    const r = await run(['ops', 'demo', '-o', 'json'], () => view);
    expect(r.sent).toEqual([{ method: 'GET', url: '/v1/clusters/demo', body: undefined }]);
    expect(JSON.parse(r.out[0])).toEqual(view.operations);
    const bad = await run(['get', 'cluster', 'demo', '-o', 'xml'], () => view);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/xml.*Allowed choices are table, json, yaml/);
  });
});

describe('exit statuses', () => {
  it('-h is 0 on every command; unknown commands and missing arguments are 2', async () => {
    for (const args of [['-h'], ['apply', '-h'], ['get', 'cluster', '-h'], ['members', 'add', '-h'], ['etcdctl', '-h']]) {
      expect((await run(args)).code).toBe(0);
    }
    expect((await run(['frobnicate'])).code).toBe(2);
    const missing = await run(['upgrade', 'demo']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/missing required argument 'version'/);
  });

  it('a bad port is a usage error, before any request', async () => {
    for (const value of ['0', '70000', '23x', '-1']) {
      const r = await run(['members', 'add', 'demo', 'demo-4', '--address', '127.0.0.4', '--client-port', value]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/a port number from 1 to 65535/);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(r.sent).toEqual([]);
    }
  });

  it('restore takes --to-revision or --to-time, not both, and checks them before any request', async () => {
    const both = await run(['restore', 'demo', '--to-revision', '5', '--to-time', '2026-12-03T09:30:00Z']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/option '--to-revision <revision>' cannot be used with option '--to-time <time>'/);
    expect(both.sent).toEqual([]);
    for (const [flag, value, why] of [
      ['--to-revision', '0', /a positive revision number/],
      ['--to-revision', '12x', /a positive revision number/],
      ['--to-time', '2026-12-03 09:30', /an RFC 3339 time with its offset/],
      ['--to-time', '2026-12-03T09:30:00', /an RFC 3339 time with its offset/],
      ['--to-time', '2026-13-45T09:30:00Z', /an RFC 3339 time with its offset/],
    ] as const) {
      const r = await run(['restore', 'demo', flag, value]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
      expect(r.sent).toEqual([]);
    }
  });

  it('a refusal is 3 with the field paths one per line', async () => {
    const problem = new ApiError(422, { title: 'Unprocessable Operation', errors: [{ path: 'version', message: 'a downgrade' }] });
    const r = await run(['upgrade', 'demo', 'v3.4.0'], () => problem);
    expect(r.code).toBe(3);
    expect(r.err).toBe('etcdfleet: refused (422 Unprocessable Operation): 1 field\n  version: a downgrade');
  });
});

describe('connection', () => {
  it('flags over ETCDFLEET_URL/ETCDFLEET_TOKEN over the state dir token file', () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-cli-'));
    try {
      fs.writeFileSync(path.join(state, 'api-token'), 'from-file\n');
      expect(resolveConnection({}, { ETCDFLEET_STATE_DIR: state })).toEqual({ url: 'http://127.0.0.1:8080', token: 'from-file' });
      expect(resolveConnection({}, { ETCDFLEET_STATE_DIR: state, ETCDFLEET_URL: 'http://h:1/', ETCDFLEET_TOKEN: 'env' })).toEqual({
        url: 'http://h:1',
        token: 'env',
      });
      expect(resolveConnection({ url: 'https://x', token: 'flag' }, { ETCDFLEET_TOKEN: 'env' })).toEqual({
        url: 'https://x',
        token: 'flag',
      });
      expect(() => resolveConnection({}, { ETCDFLEET_STATE_DIR: path.join(state, 'none') })).toThrow(/set ETCDFLEET_TOKEN/);
      expect(() => resolveConnection({ url: 'ftp://x', token: 't' })).toThrow(/not an http/);
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});

describe('apply input', () => {
  it('tells native specs from taskserv configs as the import route reads them', () => {
    expect(detectKind({ name: 'a', members: [] })).toBe('native');
    expect(detectKind([{ etcd_name: 'a' }])).toBe('taskserv');
    expect(detectKind({ etcd_name: 'a', cluster_list: 'a' })).toBe('taskserv');
    expect(detectKind({ etcd: { etcd_name: 'a' } })).toBe('taskserv');
    expect(detectKind({ name: 'x' })).toBe('native');
  });

  it('reads a taskserv stream into the native spec it PATCHes with, and keeps invalid input for the API to refuse', () => {
    const docs = ['etcd-1', 'etcd-2', 'etcd-3']
      .map((n, i) => `etcd_name: ${n}\ncluster_name: ts\ncli_ip: 127.0.9.${i + 1}\ncluster_list: etcd-1,etcd-2,etcd-3\n`)
      .join('---\n');
    const ts = readApplyInput('ts.yaml', 'local', () => docs);
    expect(ts.kind).toBe('taskserv');
    expect(ts.spec?.name).toBe('ts');
    expect((ts.spec as any).members).toHaveLength(3);
    const bad = readApplyInput('bad.json', 'local', () => '{"name":"Bad","members":[]}');
    expect(bad).toMatchObject({ kind: 'native', contentType: 'application/json' });
    expect(bad.spec).toBeUndefined();
    expect(bad.invalid?.issues.map((i) => i.path)).toContain('name');
    expect(() => readApplyInput('x.yaml', 'local', () => 'a: [')).toThrow(/refused \(400 Invalid Request\)/);
  });
});
