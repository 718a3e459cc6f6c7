// Backups end to end: a real SeaweedFS S3 gateway, real Temporal, real etcd.
// Encrypted backup of a 3-member cluster → restore into a new cluster → every
// key equal; the stored object is unreadable without the key; a tampered
// object is refused; a triggered schedule takes a backup; retention.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { GetObjectCommand, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { anyCachedRelease } from '../../activities/artifacts';
import { startS3Server, type S3Server } from '../../infra/s3-server';
import { loopback, startStack, type Stack, fastSpec } from '../support/stack';

jest.setTimeout(300_000);
const run = promisify(execFile);

let stack: Stack;
let s3: S3Server;
let s3client: S3Client;
const bucket = 'etcdfleet-backups';

beforeAll(async () => {
  s3 = await startS3Server();
  process.env.ETCDFLEET_TEST_S3_KEY = s3.accessKeyId;
  process.env.ETCDFLEET_TEST_S3_SECRET = s3.secretAccessKey;
  s3client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  await s3client.send(new CreateBucketCommand({ Bucket: bucket }));
  // The operator allows this S3 server and these credential variables; nothing else.
  stack = await startStack({
    label: 'backup',
    env: { ETCDFLEET_S3_ENDPOINTS: s3.endpoint, ETCDFLEET_S3_CREDENTIAL_ENVS: 'ETCDFLEET_TEST_S3_KEY,ETCDFLEET_TEST_S3_SECRET' },
  });
});
afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
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

async function userKeys(c: any): Promise<Record<string, string>> {
  const e = client(c);
  try {
    const all = await e.getAll().prefix('/app/').strings();
    return all;
  } finally {
    e.close();
  }
}

async function waitOp(id: string, timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await stack.api('GET', `/v1/operations/${id}`);
    if (r.status === 200 && ['Succeeded', 'Failed', 'Cancelled'].includes(r.body.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`operation ${id} not finished: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

const s3settings = {
  bucket,
  prefix: 'fleet/',
  endpoint: '',
  accessKeyIdEnv: 'ETCDFLEET_TEST_S3_KEY',
  secretAccessKeyEnv: 'ETCDFLEET_TEST_S3_SECRET',
};

describe('encrypted S3 backup of a 3-member cluster, restored into a new cluster', () => {
  const src = 'bk-src';
  const dst = 'bk-dst';
  let view: any;
  let backup: any;
  const keys: Record<string, string> = {};

  it('provisions the source and writes a few thousand keys', async () => {
    const r = await stack.api(
      'POST',
      '/v1/clusters',
      spec(src, loopback(50, 3), { backup: { encryption: true, s3: { ...s3settings, endpoint: s3.endpoint } } }),
    );
    expect(r.status).toBe(202);
    view = await stack.waitForPhase(src, ['Running', 'Failed']);
    expect(view.phase).toBe('Running');
    const e = client(view);
    try {
      for (let i = 0; i < 3000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => {
            const k = `/app/key-${String(i + j).padStart(5, '0')}`;
            keys[k] = `value-${i + j}-${'x'.repeat((i + j) % 50)}`;
            return e.put(k).value(keys[k]);
          }),
        );
      }
    } finally {
      e.close();
    }
  });

  it('takes a verified, encrypted backup from a follower into S3 with a manifest', async () => {
    const r = await stack.api('POST', `/v1/clusters/${src}/backups`, {});
    expect(r.status).toBe(202);
    const op = await waitOp(r.body.operationId);
    expect(op.status).toBe('Succeeded');
    backup = op.result.backup;
    const leader = (await stack.api('GET', `/v1/clusters/${src}`)).body.health.leader;
    expect(backup.member).not.toBe(leader);
    expect(backup.encryption).toMatchObject({ algorithm: 'AES-256-GCM' });
    expect(backup.verified.totalKey).toBeGreaterThanOrEqual(3000);
    expect(backup.etcdSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(backup.object).toMatch(new RegExp(`^fleet/${src}/.*\\.db\\.enc$`));
    const manifest = await s3client.send(new GetObjectCommand({ Bucket: bucket, Key: backup.object.replace(/\.db\.enc$/, '.json') }));
    expect(JSON.parse(await manifest.Body!.transformToString())).toMatchObject({ id: backup.id, cluster: src, sha256: backup.sha256 });
    const list = await stack.api('GET', `/v1/clusters/${src}/backups`);
    expect(list.body.items.map((b: any) => b.id)).toContain(backup.id);
  });

  it('stores an object that etcdutl cannot read without the key', async () => {
    const obj = await s3client.send(new GetObjectCommand({ Bucket: bucket, Key: backup.object }));
    const file = path.join(stack.config.stateDir, 'stolen.db');
    fs.writeFileSync(file, Buffer.from(await obj.Body!.transformToByteArray()));
    const etcdutl = path.join(anyCachedRelease(stack.config.cacheDir, 'v3.5.10'), 'etcdutl');
    await expect(run(etcdutl, ['snapshot', 'status', file])).rejects.toThrow();
  });

  it('restores into a new cluster with every key and value equal', async () => {
    const r = await stack.api('POST', `/v1/clusters/${dst}/restore`, { backup: backup.id, from: src, spec: spec(dst, loopback(51, 3)) });
    expect(r.status).toBe(202);
    const op = await waitOp(r.body.operationId, 240_000);
    expect(op.status).toBe('Succeeded');
    const restored = await stack.waitForPhase(dst, ['Running', 'Degraded']);
    expect(await userKeys(restored)).toEqual(keys);
    expect(op.result.totalKey).toBeGreaterThanOrEqual(3000);
  });

  it('refuses a tampered backup and never restores it', async () => {
    const obj = await s3client.send(new GetObjectCommand({ Bucket: bucket, Key: backup.object }));
    const bytes = Buffer.from(await obj.Body!.transformToByteArray());
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await s3client.send(new PutObjectCommand({ Bucket: bucket, Key: backup.object, Body: bytes }));
    const refused = await stack.api('POST', `/v1/clusters/${dst}/restore`, { backup: backup.id, from: src });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toMatch(/healthy.*force/);
    const r = await stack.api('POST', `/v1/clusters/${dst}/restore`, { backup: backup.id, from: src, force: true });
    const op = await waitOp(r.body.operationId);
    expect(op.status).toBe('Failed');
    expect(op.error).toMatch(/sha256|authentication|integrity/);
    // The restore failed before it stopped anything: the cluster still serves the data.
    const c = await stack.waitForPhase(dst, ['Running', 'Degraded']);
    expect(Object.keys(await userKeys(c))).toHaveLength(3000);
  });

  it('a triggered schedule takes a backup through the entity', async () => {
    const put = await stack.api('PUT', `/v1/clusters/${src}/schedules`, { backup: { every: '1h' } });
    expect(put.status).toBe(200);
    expect(put.body.schedules.map((s: any) => s.kind)).toEqual(['backup']);
    const before = (await stack.api('GET', `/v1/clusters/${src}`)).body.operations.filter((o: any) => o.kind === 'backup').length;
    expect((await stack.api('POST', `/v1/clusters/${src}/schedules/backup/trigger`)).status).toBe(202);
    const deadline = Date.now() + 120_000;
    let ops: any[] = [];
    while (Date.now() < deadline) {
      ops = (await stack.api('GET', `/v1/clusters/${src}`)).body.operations.filter((o: any) => o.kind === 'backup');
      if (ops.length > before && ops[ops.length - 1].status === 'Succeeded') break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    expect(ops.length).toBeGreaterThan(before);
    expect(ops[ops.length - 1]).toMatchObject({ status: 'Succeeded', params: { scheduled: true } });
    const sched = await stack.api('GET', `/v1/clusters/${src}/schedules`);
    expect(sched.body.schedules[0].recentActions.length).toBeGreaterThan(0);
    await stack.api('PUT', `/v1/clusters/${src}/schedules`, { backup: null });
  });
});
