// Point-in-time restore (issue 12): continuous backups of a 3-member cluster
// (encrypted chunks in the directory target), then restores into new
// clusters to a revision and to a time: exactly the keys and values the source
// had then, deletes included. A point past the record is refused (422); the
// drill replays the chain and reports RTO and RPO on /metrics; a chain with a
// chunk missing from the target is refused (422 naming the missing revisions)
// and nothing is queued; deleting the cluster stops its recorder.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { loopback, startStack, type Stack, fastSpec } from '../support/stack';

jest.setTimeout(600_000);

let stack: Stack;
beforeAll(async () => {
  // Chunks every second (the default is 5 s), so the test does not wait long for its writes to be recorded.
  process.env.ETCDFLEET_CONTINUOUS_FLUSH_MS = '1000';
  stack = await startStack({ label: 'pitr' });
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.ETCDFLEET_CONTINUOUS_FLUSH_MS;
});

const src = 'pitr-src';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

async function appKeys(c: any): Promise<Record<string, string>> {
  const e = client(c);
  try {
    return await e.getAll().prefix('/app/').strings();
  } finally {
    e.close();
  }
}

async function waitOp(id: string, timeoutMs = 300_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await stack.api('GET', `/v1/operations/${id}`);
    if (r.status === 200 && ['Succeeded', 'Failed', 'Cancelled'].includes(r.body.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`operation ${id} not finished: ${JSON.stringify(r.body)}`);
    await sleep(500);
  }
}

describe('continuous backups and point-in-time restore', () => {
  let view: any;
  let e: Etcd3;
  /** The source's /app/ keys as the test wrote them. */
  const mirror: Record<string, string> = {};
  let atRevision: { revision: number; keys: Record<string, string> };
  let atTime: { time: string; keys: Record<string, string> };

  async function put(k: string, v: string): Promise<number> {
    mirror[k] = v;
    return Number((await e.put(k).value(v).exec()).header.revision);
  }
  async function del(k: string): Promise<number> {
    delete mirror[k];
    return Number((await e.delete().key(k).exec()).header.revision);
  }

  afterAll(() => e?.close());

  it('provisions a cluster with continuous backups, writes, and takes a full backup that starts the recorder', async () => {
    const r = await stack.api('POST', '/v1/clusters', fastSpec(src, loopback(150, 3), { backup: { continuous: true, encryption: true } }));
    expect(r.status).toBe(202);
    view = await stack.waitForPhase(src, ['Running', 'Failed']);
    expect(view.phase).toBe('Running');
    e = client(view);
    for (let i = 0; i < 200; i++) await put(`/app/k${String(i).padStart(3, '0')}`, `v${i}`);
    const b = await stack.api('POST', `/v1/clusters/${src}/backups`, {});
    const op = await waitOp(b.body.operationId);
    expect(op.status).toBe('Succeeded');
    expect(op.result.recorder).toBe('started');
  });

  it('records changes after the backup: puts, overwrites, deletes, a transaction, a leased key', async () => {
    for (let i = 200; i < 260; i++) await put(`/app/k${i}`, `v${i}`);
    for (let i = 0; i < 40; i += 2) await put(`/app/k${String(i).padStart(3, '0')}`, `changed-${i}`);
    for (let i = 1; i < 40; i += 4) await del(`/app/k${String(i).padStart(3, '0')}`);
    await e.if('/app/k100', 'Value', '==', 'v100').then(e.put('/app/txn-a').value('1'), e.put('/app/txn-b').value('2')).commit();
    mirror['/app/txn-a'] = '1';
    mirror['/app/txn-b'] = '2';
    const lease = e.lease(600);
    await lease.put('/app/leased').value('L');
    mirror['/app/leased'] = 'L';
    const revision = await put('/app/marker', 'at-R');
    atRevision = { revision, keys: { ...mirror } };

    // Then more changes, a point in time, and more changes after it.
    for (let i = 40; i < 80; i++) await del(`/app/k${String(i).padStart(3, '0')}`);
    await put('/app/marker', 'at-T');
    await sleep(2_500);
    atTime = { time: new Date().toISOString(), keys: { ...mirror } };
    await sleep(1_500);
    await e.delete().prefix('/app/k1').exec();
    for (const k of Object.keys(mirror)) if (k.startsWith('/app/k1')) delete mirror[k];
    await put('/app/marker', 'after');
    await lease.revoke();
    delete mirror['/app/leased'];
    await sleep(4_000); // a few flushes
  });

  it('restores into a new cluster to a revision: exactly the keys and values at that revision', async () => {
    const r = await stack.api('POST', `/v1/clusters/pitr-rev/restore`, {
      from: src,
      backup: 'latest',
      toRevision: atRevision.revision,
      spec: fastSpec('pitr-rev', loopback(151, 1)),
    });
    expect(r.status).toBe(202);
    const op = await waitOp(r.body.operationId);
    expect(op).toMatchObject({ status: 'Succeeded' });
    expect(op.result.replayed.revision).toBe(atRevision.revision);
    expect(op.result.replayed.applied).toBeGreaterThan(90);
    const restored = await stack.waitForPhase('pitr-rev', ['Running', 'Degraded']);
    expect(await appKeys(restored)).toEqual(atRevision.keys);
  });

  it('restores into a new cluster to a time', async () => {
    const r = await stack.api('POST', `/v1/clusters/pitr-time/restore`, {
      from: src,
      backup: 'latest',
      toTime: atTime.time,
      spec: fastSpec('pitr-time', loopback(152, 1)),
    });
    expect(r.status).toBe(202);
    const op = await waitOp(r.body.operationId);
    expect(op).toMatchObject({ status: 'Succeeded' });
    const restored = await stack.waitForPhase('pitr-time', ['Running', 'Degraded']);
    const keys = await appKeys(restored);
    expect(keys['/app/marker']).toBe('at-T');
    expect(keys).toEqual(atTime.keys);
  });

  it('refuses a point the record does not reach, or both a revision and a time', async () => {
    const past = await stack.api('POST', `/v1/clusters/pitr-rev/restore`, { from: src, toRevision: 10 ** 12, force: true });
    expect(past.status).toBe(422);
    expect(past.body.detail).toMatch(/recorded up to revision \d+/);
    const both = await stack.api('POST', `/v1/clusters/pitr-rev/restore`, { from: src, toRevision: 5, toTime: atTime.time });
    expect(both.status).toBe(400);
  });

  it('the drill replays the chain and reports RTO and RPO, also on /metrics', async () => {
    const r = await stack.api('POST', `/v1/clusters/${src}/restore-drill`, {});
    const op = await waitOp(r.body.operationId);
    expect(op.status).toBe('Succeeded');
    expect(op.result).toMatchObject({ ok: true, replayed: { applied: expect.any(Number) } });
    expect(op.result.rpoMs).toBeLessThan(10_000);
    expect(op.result.rtoMs).toBeGreaterThan(0);
    const metrics = (await stack.api('GET', '/metrics')).body as string;
    expect(metrics).toMatch(new RegExp(`etcdfleet_restore_drill_rpo_seconds\\{cluster="${src}"\\} [0-9.]+`));
    expect(metrics).toMatch(new RegExp(`etcdfleet_restore_drill_rto_seconds\\{cluster="${src}"\\} [0-9.]+`));
  });

  it('a chunk missing from the target: a restore across it is a 422 naming the missing revisions, nothing queued or created', async () => {
    // A few more chunks (one per flush), so the lost one has recorded changes after it.
    for (let i = 0; i < 3; i++) {
      await e.put(`/app/gap-${i}`).value('x').exec();
      await sleep(1_500);
    }
    await sleep(2_000);
    // The directory target (the default backup root): <root>/<cluster>/changes/<from>-<to>.json + the chunk object.
    const dir = path.join(stack.config.policy.backupRoot, src, 'changes');
    const chunks = fs
      .readdirSync(dir)
      .filter((f) => /^\d{20}-\d{20}\.json$/.test(f))
      .sort()
      .map((f) => ({ file: f, ...JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
    // Not the last one: the chain goes on after the hole.
    const lost = chunks[chunks.length - 2];
    expect(lost.toRevision).toBeLessThan(chunks[chunks.length - 1].fromRevision);
    fs.rmSync(path.join(dir, lost.file));
    fs.rmSync(path.join(stack.config.policy.backupRoot, lost.object));
    const before = await stack.api('GET', `/v1/clusters/${src}`);
    const r = await stack.api('POST', `/v1/clusters/${src}/restore`, { toRevision: lost.toRevision, force: true });
    expect(r.status).toBe(422);
    expect(r.body.detail).toContain(`changes of revisions ${lost.fromRevision}–${lost.toRevision} are missing`);
    // Into a new cluster: refused before the new cluster is created.
    const fresh = await stack.api('POST', `/v1/clusters/pitr-gap/restore`, {
      from: src,
      toRevision: lost.toRevision,
      spec: fastSpec('pitr-gap', loopback(153, 1)),
    });
    expect(fresh.status).toBe(422);
    expect(fresh.body.detail).toContain(`changes of revisions ${lost.fromRevision}–${lost.toRevision} are missing`);
    expect((await stack.api('GET', '/v1/clusters/pitr-gap')).status).toBe(404);
    const after = await stack.api('GET', `/v1/clusters/${src}`);
    expect(after.body.phase).toBe('Running');
    expect(after.body.operations.map((o: any) => o.id)).toEqual(before.body.operations.map((o: any) => o.id));
  });

  it('deleting the cluster stops its recorder', async () => {
    e.close();
    for (const name of [src, 'pitr-rev', 'pitr-time']) await stack.api('DELETE', `/v1/clusters/${name}?purge=true`);
    const recorder = stack.client.workflow.getHandle(`etcd-cluster/${src}/continuous`);
    const stopped = await Promise.race([recorder.result(), sleep(120_000).then(() => 'still running')]);
    expect(stopped).toMatch(/deleted|does not exist|being deleted/);
  });
});
