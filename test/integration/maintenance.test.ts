// Maintenance end to end on real etcd: retention on a directory target,
// restore into a new cluster, in-place restore after losing every member and its data (with a scheduled
// backup that waits for it), defragmentation with the leader moved before its
// turn, and NOSPACE recovery under a tiny quota.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { loopback, memberPids, startStack, type Stack, fastSpec } from '../support/stack';

jest.setTimeout(300_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'maintenance' });
});
afterAll(async () => {
  await stack?.stop();
});

const spec = fastSpec;

function client(c: any): Etcd3 {
  const certs = c.members[0].files.certsDir;
  return new Etcd3({
    hosts: c.members.map((m: any) => m.clientURL),
    credentials: {
      rootCertificate: fs.readFileSync(`${certs}/ca.pem`),
      certChain: fs.readFileSync(`${certs}/admin.pem`),
      privateKey: fs.readFileSync(`${certs}/admin-key.pem`),
    },
  });
}

async function waitOp(id: string, timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await stack.api('GET', `/v1/operations/${id}`);
    if (r.status === 200 && ['Succeeded', 'Failed', 'Cancelled'].includes(r.body.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`operation ${id} not finished: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

async function submit(name: string, what: string, body: unknown = {}): Promise<any> {
  const r = await stack.api('POST', `/v1/clusters/${name}/${what}`, body);
  expect(r.status).toBe(202);
  return r.body;
}

describe('a 3-member cluster with directory backups', () => {
  const name = 'mt';
  let view: any;
  let backupId: string;
  const keys: Record<string, string> = {};

  it('provisions and writes keys', async () => {
    expect((await stack.api('POST', '/v1/clusters', spec(name, loopback(52, 3), { backup: { retention: '30d' } }))).status).toBe(202);
    view = await stack.waitForPhase(name, ['Running', 'Failed']);
    expect(view.phase).toBe('Running');
    const e = client(view);
    try {
      for (let i = 0; i < 2000; i += 200) {
        await Promise.all(
          Array.from({ length: 200 }, (_, j) => {
            const k = `/app/k${i + j}`;
            keys[k] = `v${i + j}`.padEnd(512, '.');
            return e.put(k).value(keys[k]);
          }),
        );
      }
    } finally {
      e.close();
    }
  });

  it('retention removes exactly the expired backups', async () => {
    const dir = path.join(stack.config.stateDir, 'backups', name);
    fs.mkdirSync(dir, { recursive: true });
    const plant = (id: string, daysAgo: number) => {
      const createdAt = new Date(Date.now() - daysAgo * 86400e3).toISOString();
      fs.writeFileSync(path.join(dir, `${id}.db`), 'old');
      fs.writeFileSync(
        path.join(dir, `${id}.json`),
        JSON.stringify({
          formatVersion: 1,
          id,
          cluster: name,
          member: 'x',
          object: `${name}/${id}.db`,
          createdAt,
          verified: { at: createdAt, revision: 1, totalKey: 1, hash: 1, totalSize: 1 },
          snapshotBytes: 3,
          storedBytes: 3,
          sha256: '',
          etcdSha256: '',
          encryption: null,
        }),
      );
    };
    plant('old-40d', 40);
    plant('old-31d', 31);
    plant('recent-29d', 29);
    const op = await waitOp((await submit(name, 'backups')).operationId);
    expect(op.status).toBe('Succeeded');
    backupId = op.result.backup.id;
    expect(op.result.deleted.sort()).toEqual(['old-31d', 'old-40d']);
    expect(fs.readdirSync(dir).sort()).toEqual([`${backupId}.db`, `${backupId}.json`, 'recent-29d.db', 'recent-29d.json'].sort());
    const list = (await stack.api('GET', `/v1/clusters/${name}/backups`)).body;
    expect(list.items.map((b: any) => b.id)).toEqual([backupId, 'recent-29d']);
    expect(list.latest.id).toBe(backupId);
  });

  it('a restore drill restores the latest backup into a throwaway etcd and counts its keys', async () => {
    const op = await waitOp((await submit(name, 'restore-drill')).operationId);
    expect(op.status).toBe('Succeeded');
    expect(op.result).toMatchObject({ backup: backupId, ok: true });
    expect(op.result.keys).toBeGreaterThanOrEqual(2000);
    expect(op.result.restoreMs).toBeGreaterThan(0);
    expect((await stack.api('GET', `/v1/clusters/${name}/backups`)).body.lastDrill.keys).toBe(op.result.keys);
  });

  it('restores the unencrypted backup into a new cluster with every key and value equal', async () => {
    const copy = `${name}-copy`;
    const r = await stack.api('POST', `/v1/clusters/${copy}/restore`, { from: name, backup: backupId, spec: spec(copy, loopback(54, 3)) });
    expect(r.status).toBe(202);
    expect((await waitOp(r.body.operationId, 240_000)).status).toBe('Succeeded');
    const restored = await stack.waitForPhase(copy, ['Running', 'Degraded']);
    const e = client(restored);
    try {
      expect(await e.getAll().prefix('/app/').strings()).toEqual(keys);
    } finally {
      e.close();
    }
    expect((await stack.api('DELETE', `/v1/clusters/${copy}?purge=true`)).status).toBe(202);
  });

  it('restores in place after every member and its data dir is gone; a scheduled backup waits for it', async () => {
    for (const pid of memberPids(stack.config.hostsDir).filter((p) => p > 0)) {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(`/${name}/`)) process.kill(pid, 'SIGKILL');
    }
    for (const m of view.members) fs.rmSync(m.files.dataDir, { recursive: true, force: true });
    await stack.api('PUT', `/v1/clusters/${name}/schedules`, { backup: { every: '1h', paused: true } });

    const restore = await submit(name, 'restore', { backup: backupId });
    // Hold the restore at its next step boundary so the scheduled backup surely arrives while it runs.
    let paused = false;
    for (let i = 0; i < 50 && !paused; i++) {
      const r = await stack.api('POST', `/v1/operations/${restore.operationId}/pause`);
      paused = r.status === 202;
      if (!paused) await new Promise((res) => setTimeout(res, 100));
    }
    expect((await stack.api('POST', `/v1/clusters/${name}/schedules/backup/trigger`)).status).toBe(202);
    let queued: any;
    for (let i = 0; i < 100 && !queued; i++) {
      const c = (await stack.api('GET', `/v1/clusters/${name}`)).body;
      queued = c.queuedOperations.find((o: any) => o.kind === 'backup');
      if (!queued) await new Promise((res) => setTimeout(res, 200));
    }
    expect(queued).toMatchObject({ status: 'Queued', params: { scheduled: true } });
    if (paused) await stack.api('POST', `/v1/operations/${restore.operationId}/resume`);

    const r = await waitOp(restore.operationId);
    expect(r.status).toBe('Succeeded');
    const b = await waitOp(queued.id);
    expect(b.status).toBe('Succeeded');
    expect(Date.parse(b.startedAt)).toBeGreaterThanOrEqual(Date.parse(r.finishedAt));

    view = await stack.waitForPhase(name, ['Running']);
    const e = client(view);
    try {
      expect(await e.getAll().prefix('/app/').strings()).toEqual(keys);
    } finally {
      e.close();
    }
  });

  it('defragments every member after most keys are deleted, the leader last after moving leadership', async () => {
    const e = client(view);
    let rev: number;
    try {
      await e.delete().prefix('/app/k1');
      const put = await e.put('/app/marker').value('x');
      rev = Number(put.header.revision);
    } finally {
      e.close();
    }
    expect((await waitOp((await submit(name, 'compact', { revision: rev })).operationId)).status).toBe('Succeeded');
    const op = await waitOp((await submit(name, 'defrag')).operationId);
    expect(op.status).toBe('Succeeded');
    const members = op.result.members;
    expect(members).toHaveLength(3);
    for (const m of members) expect(m.after).toBeLessThan(m.before);
    expect(members.slice(0, 2).every((m: any) => !m.wasLeader)).toBe(true);
    expect(members[2]).toMatchObject({ wasLeader: true });
    expect(members[2].leaderMovedTo).toBeTruthy();
  });

  it('triggering or pausing a schedule the cluster does not have is a 404 naming it, not a 500', async () => {
    for (const action of ['trigger', 'pause', 'unpause']) {
      const r = await stack.api('POST', `/v1/clusters/${name}/schedules/defrag-check/${action}`);
      expect(r.status).toBe(404);
      expect(r.body.detail).toBe(`cluster ${name} has no defrag-check schedule (PUT /v1/clusters/${name}/schedules sets one)`);
    }
  });

  it('deleting the cluster deletes its schedules', async () => {
    const s = await stack.api('GET', `/v1/clusters/${name}/schedules`);
    expect(s.body.schedules.map((x: any) => x.kind)).toEqual(['backup']);
    expect((await stack.api('DELETE', `/v1/clusters/${name}?purge=true`)).status).toBe(202);
    const handle = stack.client.schedule.getHandle(`etcd-cluster/${name}/schedule/backup`);
    await expect(handle.describe()).rejects.toThrow();
  });
});

describe('NOSPACE under a tiny quota', () => {
  const name = 'ns';
  it('clears the alarm, and writes work again', async () => {
    expect(
      (
        await stack.api(
          'POST',
          '/v1/clusters',
          spec(name, loopback(53, 1), { tunables: { heartbeatInterval: 50, electionTimeout: 500, quotaBackendBytes: 2 * 1024 * 1024 } }),
        )
      ).status,
    ).toBe(202);
    const view = await stack.waitForPhase(name, ['Running', 'Failed']);
    expect(view.phase).toBe('Running');
    const e = client(view);
    try {
      let err: Error | undefined;
      for (let i = 0; i < 200 && !err; i++) {
        await e
          .put('/big')
          .value('x'.repeat(100_000))
          .catch((x: Error) => (err = x));
      }
      expect(String(err)).toMatch(/space exceeded/);
      const op = await waitOp((await submit(name, 'clear-nospace')).operationId);
      expect(op.status).toBe('Succeeded');
      expect(op.result.disarmed.join(',')).toMatch(/NOSPACE/);
    } finally {
      e.close();
    }
    // A fresh client: the old one's circuit breaker opened on the refused writes.
    const again = client(view);
    try {
      await again.put('/after').value('works');
      expect(await again.get('/after').string()).toBe('works');
    } finally {
      again.close();
    }
  });
});
