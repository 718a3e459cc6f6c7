// etcd's downgrade flow and the v2 store check: the pure verdicts, and the
// check's wording against the real etcdutl on a real data dir (with and
// without custom v2 content written by a real etcd 3.5 with the v2 API on).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { storageBehind, v2StoreRefusal } from '../../activities/etcd/downgrade';
import { bootstrappedEtcdVersions, releaseBinDir } from '../../infra/etcd-releases';

jest.setTimeout(60_000);
const run = promisify(execFile);

test('storage gate: a 3.6 member not yet at the target holds it; a 3.5 member (no storage field) does not', () => {
  const rows = [
    { member: 'a', etcdserver: '3.6.16', etcdcluster: '3.5.0', storage: '3.5.0' },
    { member: 'b', etcdserver: '3.6.16', etcdcluster: '3.5.0', storage: '3.6.0' },
    { member: 'c', etcdserver: '3.5.35', etcdcluster: '3.5.0' },
  ];
  expect(storageBehind(rows, '3.5').map((r) => r.member)).toEqual(['b']);
});

test('v2 store check: no custom content passes; custom content refuses naming the member and the fix', () => {
  expect(v2StoreRefusal('m1', 'No custom content found in both v2store and WAL records.\n')).toBeUndefined();
  const r = v2StoreRefusal('m1', 'Error: detected custom v2 content in WAL records\n');
  expect(r).toMatch(/^member m1: detected custom v2 content in WAL records \(etcdutl check v2store\)/);
  expect(r).toMatch(/--snapshot-count=1/);
});

test('the real etcdutl check v2store, on a live data dir, before and after a v2 write', async () => {
  const bin = releaseBinDir(bootstrappedEtcdVersions().latest35);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-v2store-'));
  // Its own loopback address (no integration test uses 127.0.0.230).
  const [client, peer] = ['http://127.0.0.230:2379', 'http://127.0.0.230:2380'];
  const etcd = spawn(
    path.join(bin, 'etcd'),
    [
      `--data-dir=${dir}/d`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--enable-v2',
    ],
    { stdio: 'ignore' },
  );
  const check = async () => {
    const r = await run(path.join(bin, 'etcdutl'), ['check', 'v2store', '--data-dir', `${dir}/d`]).catch((e) => e);
    return `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  };
  try {
    // /version, not /health: with the v2 API on, /health of 3.5 is a v2 quorum read that lands in the WAL.
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`${client}/version`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(v2StoreRefusal('m1', await check())).toBeUndefined();
    const put = await fetch(`${client}/v2/keys/legacy`, { method: 'PUT', body: new URLSearchParams({ value: 'x' }) });
    expect(put.status).toBe(201);
    expect(v2StoreRefusal('m1', await check())).toMatch(/^member m1: detected custom v2 content/);
  } finally {
    etcd.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
