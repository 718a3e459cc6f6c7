// No private key ever enters a Temporal payload, encrypted or not: a full run
// (provision, credentials, certificate renewal, CA rotation with the bundle
// endpoint, backup by hand and by schedule, restore into a new cluster,
// delete with purge), then the history of every workflow execution of the run
// is scanned, raw and decoded by the codec, for every private key the run
// made: the key store's, the member hosts' key files and the keys the API
// handed out. Addresses: 127.0.80.0/24 and 127.0.81.0/24 (this file's).
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { keyStoreFor } from '../../activities/pki';
import { caPassphrase, machineQueue } from '../../infra/config';
import { codecFor } from '../../worker/temporal';
import { loopback, startStack, type Stack, fastSpec } from '../support/stack';
import { keyFingerprints, scanHistories } from '../support/key-material';

jest.setTimeout(600_000);

const src = 'sec';
const copy = 'sec-copy';
let stack: Stack;
/** Every private key seen during the run, by where it was seen. */
const keys = new Map<string, Buffer[]>();

beforeAll(async () => {
  stack = await startStack({ label: 'secrets' });
});
afterAll(async () => {
  await stack?.stop();
});

const spec = fastSpec;

function remember(where: string, pem: string) {
  keys.set(where, keyFingerprints(pem, caPassphrase(stack.config)));
}

/** The key store's keys and the member hosts' key files, as they are now. */
async function harvest() {
  const store = keyStoreFor(stack.config);
  for (const id of await store.list('')) remember(`key store ${id}`, (await store.get(id))!);
  const walk = (dir: string) => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('-key.pem')) remember(`host file ${path.relative(stack.config.hostsDir, p)}`, fs.readFileSync(p, 'utf8'));
    }
  };
  walk(stack.config.hostsDir);
}

async function waitOp(id: string, until?: (op: any) => boolean, timeoutMs = 240_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = (await stack.api('GET', `/v1/operations/${id}`)).body;
    if (until?.(op) || ['Succeeded', 'Failed', 'Cancelled'].includes(op.status)) return op;
    if (Date.now() > deadline) throw new Error(`operation ${id} not finished: ${JSON.stringify(op)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function submit(name: string, route: string, body: unknown = {}): Promise<any> {
  const r = await stack.api('POST', `/v1/clusters/${name}/${route}`, body);
  expect(r.status).toBe(202);
  const op = await waitOp(r.body.operationId);
  expect(op).toMatchObject({ status: 'Succeeded' });
  await harvest();
  return op;
}

/** Writes and reads back through the members with the given client credentials. */
async function roundTrip(c: any, creds: { ca: string; cert: string; key: string }, k: string) {
  const e = new Etcd3({
    hosts: c.members.map((m: any) => m.clientURL),
    credentials: { rootCertificate: Buffer.from(creds.ca), certChain: Buffer.from(creds.cert), privateKey: Buffer.from(creds.key) },
  });
  try {
    await e.put(k).value('v');
    expect(await e.get(k).string()).toBe('v');
  } finally {
    e.close();
  }
}

it('provisions a TLS cluster whose CA key is encrypted; workflows hold only key ids', async () => {
  const r = await stack.api('POST', '/v1/clusters', spec(src, loopback(80, 3), { tls: { caKeyCipher: 'aes-256-cbc' } }));
  expect(r.status).toBe(202);
  expect((await stack.waitForPhase(src, ['Running', 'Failed'])).phase).toBe('Running');
  await harvest();
  const store = keyStoreFor(stack.config);
  const ids = await store.list(`${src}/`);
  expect(ids.filter((id) => id.startsWith(`${src}/ca/`))).toHaveLength(1);
  expect(ids.filter((id) => id.startsWith(`${src}/member/`))).toHaveLength(6);
  expect(await store.get(ids.find((id) => id.startsWith(`${src}/ca/`))!)).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
  expect(fs.statSync(path.join(stack.config.stateDir, 'keys')).mode & 0o777).toBe(0o700);
});

it('hands out credentials made by the API from a CSR; each call is a new key', async () => {
  const c = (await stack.api('GET', `/v1/clusters/${src}`)).body;
  const a = (await stack.api('GET', `/v1/clusters/${src}/credentials`)).body;
  const b = (await stack.api('GET', `/v1/clusters/${src}/credentials`)).body;
  expect(a.key).toMatch(/BEGIN PRIVATE KEY/);
  expect(a.key).not.toBe(b.key);
  expect(a.ca).toBe(b.ca);
  remember('API credentials a', a.key);
  remember('API credentials b', b.key);
  await roundTrip(c, a, '/secrets/a');
});

it('renews certificates and rotates the CA; the bundle endpoint signs a CSR with the new CA', async () => {
  const store = keyStoreFor(stack.config);
  const provisioned = await store.list(`${src}/`);
  await submit(src, 'certificates/rotate');
  const renewed = await store.list(`${src}/`);
  const r = await stack.api('POST', `/v1/clusters/${src}/certificates/rotate`, { ca: true, phaseGraceSeconds: 3 });
  expect(r.status).toBe(202);
  await waitOp(r.body.operationId, (op) => op.steps?.some((s: any) => s.name === 'Grace period after pass 1' && s.status === 'running'));
  await harvest();
  const bundle = await stack.api('GET', `/v1/operations/${r.body.operationId}/ca-rotation`);
  expect(bundle.status).toBe(200);
  expect(bundle.body.phase).toBe('trust-both');
  expect(bundle.body.admin.key).toMatch(/BEGIN PRIVATE KEY/);
  remember('CA rotation bundle', bundle.body.admin.key);
  const c = (await stack.api('GET', `/v1/clusters/${src}`)).body;
  await roundTrip(c, { ca: bundle.body.trustBundle, ...bundle.body.admin }, '/secrets/bundle');
  expect((await waitOp(r.body.operationId)).status).toBe('Succeeded');
  await harvest();
  // Each rotation first drops what the cluster's PKI no longer uses: the provisioned leaves went at the CA rotation.
  const ids = await store.list(`${src}/`);
  const caKeys = (l: string[]) => l.filter((id) => id.startsWith(`${src}/ca/`));
  expect(caKeys(renewed)).toEqual(caKeys(provisioned));
  expect(ids.filter((id) => provisioned.includes(id))).toEqual(caKeys(provisioned));
  expect(ids).toEqual(expect.arrayContaining(renewed.filter((id) => !provisioned.includes(id))));
  expect(ids).toHaveLength(2 * (1 + 1 + 6));
  const creds = (await stack.api('GET', `/v1/clusters/${src}/credentials`)).body;
  expect(creds.ca).toBe(bundle.body.newCa);
  remember('API credentials after rotation', creds.key);
  await roundTrip(c, creds, '/secrets/after');
});

it('backs up (by hand and by schedule) and restores into a new cluster', async () => {
  const op = await submit(src, 'backups');
  expect((await stack.api('PUT', `/v1/clusters/${src}/schedules`, { backup: { every: '1h' } })).status).toBe(200);
  expect((await stack.api('POST', `/v1/clusters/${src}/schedules/backup/trigger`)).status).toBe(202);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ops = (await stack.api('GET', `/v1/clusters/${src}`)).body.operations.filter(
      (o: any) => o.kind === 'backup' && o.params?.scheduled,
    );
    if (ops.some((o: any) => o.status === 'Succeeded')) break;
    if (Date.now() > deadline) throw new Error('the scheduled backup did not run');
    await new Promise((res) => setTimeout(res, 500));
  }
  const r = await stack.api('POST', `/v1/clusters/${copy}/restore`, {
    from: src,
    backup: op.result.backup.id,
    spec: spec(copy, loopback(81, 1)),
  });
  expect(r.status).toBe(202);
  expect((await waitOp(r.body.operationId)).status).toBe('Succeeded');
  await stack.waitForPhase(copy, ['Running', 'Degraded']);
  await harvest();
  expect((await keyStoreFor(stack.config).list(`${copy}/`)).length).toBeGreaterThan(0);
});

it('delete with purge removes the cluster keys from the key store', async () => {
  expect((await stack.api('DELETE', `/v1/clusters/${copy}?purge=true`)).status).toBe(202);
  const deadline = Date.now() + 60_000;
  while ((await stack.api('GET', `/v1/clusters/${copy}`)).status !== 404) {
    if (Date.now() > deadline) throw new Error(`${copy} still exists`);
    await new Promise((res) => setTimeout(res, 300));
  }
  expect(await keyStoreFor(stack.config).list(`${copy}/`)).toEqual([]);
  expect(fs.existsSync(path.join(stack.config.stateDir, 'keys', copy))).toBe(false);
});

it('no workflow history of the run holds any private key, raw or decoded', async () => {
  const seen = new Map<string, { workflowId: string; runId: string }>();
  const queries = [
    `TaskQueue = '${stack.config.taskQueue}'`,
    `TaskQueue = '${machineQueue(stack.config)}'`,
    `EtcdCluster = '${src}'`,
    `EtcdCluster = '${copy}'`,
  ];
  for (const query of queries) {
    for await (const wf of stack.client.workflow.list({ query }))
      seen.set(`${wf.workflowId}/${wf.runId}`, { workflowId: wf.workflowId, runId: wf.runId });
  }
  const executions = [...seen.values()];
  const ids = executions.map((e) => e.workflowId);
  // Entities, every operation child and the scheduled run are all there.
  expect(ids).toEqual(expect.arrayContaining([`etcd-cluster/${src}`, `etcd-cluster/${copy}`]));
  for (const kind of ['provision', 'rotate-certificates', 'rotate-ca', 'backup', 'restore', 'delete']) {
    expect(ids.some((id) => id.includes('/op/') && id.endsWith(`-${kind}`))).toBe(true);
  }
  expect(ids.some((id) => id.includes('/schedule/'))).toBe(true);
  expect(keys.size).toBeGreaterThan(20);
  const { findings, scanned, events } = await scanHistories(stack.client, codecFor(stack.config), executions, keys);
  console.log(`scanned ${scanned} executions (${events} events) for ${keys.size} private keys`);
  expect(findings).toEqual([]);
});
