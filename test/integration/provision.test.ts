// Provisioning end to end through the real stack: API → Temporal → worker →
// local hosts → real etcd, checked with the real etcdctl.
import fs from 'node:fs';
import path from 'node:path';
import { clusterWorkflowId } from '../../common/operations';
import { MAX_BODY_BYTES } from '../../common/parse';
import { anyCachedRelease } from '../../activities/artifacts';
import { alive, etcdctl, loopback, memberPids, startStack, type Stack, fastSpec } from '../support/stack';

jest.setTimeout(240_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'provision' });
});
afterAll(async () => {
  await stack?.stop();
});

const spec = fastSpec;

async function historiesContainPrivateKey(name: string, workflowIds: string[]): Promise<boolean> {
  for (const id of [clusterWorkflowId(name), ...workflowIds]) {
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    if (JSON.stringify(history).includes('PRIVATE KEY')) return true;
    // Payload data is bytes: look at it as text too.
    const raw = Buffer.from(JSON.stringify(history)).toString();
    if (raw.includes('PRIVATE KEY')) return true;
  }
  return false;
}

describe('a 1-member TLS cluster from a native spec', () => {
  const name = 'solo';
  const [addr] = loopback(41, 1);
  let created: any;

  it('is accepted with 202 and an operation id', async () => {
    const r = await stack.api('POST', '/v1/clusters', spec(name, [addr]));
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({
      name,
      operationId: `${name}.1-provision`,
      workflowId: `etcd-cluster/${name}/op/1-provision`,
      created: true,
    });
    created = r.body;
  });

  it('reaches Running with one healthy leader and the files on the host', async () => {
    const c = await stack.waitForPhase(name, ['Running', 'Failed']);
    expect(c.phase).toBe('Running');
    expect(c.version).toBe('v3.5.10');
    expect(c.members).toHaveLength(1);
    const m = c.members[0];
    expect(m).toMatchObject({
      name: `${name}-1`,
      clientURL: `https://${addr}:2379`,
      peerURL: `https://${addr}:2380`,
      healthy: true,
      isLeader: true,
      isLearner: false,
    });
    for (const f of ['configFile', 'certsDir', 'dataDir']) {
      expect(path.isAbsolute(m.files[f])).toBe(true);
      expect(fs.existsSync(m.files[f])).toBe(true);
    }
    expect(fs.readFileSync(m.files.configFile, 'utf8')).toMatch(/initial-cluster-state: existing/);
  });

  it('serves the real etcdctl with the generated certificates', async () => {
    const c = (await stack.api('GET', `/v1/clusters/${name}`)).body;
    const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
    const ep = [c.members[0].clientURL];
    const certs = c.members[0].files.certsDir;
    expect(await etcdctl(bin, ep, certs, 'endpoint', 'health')).toMatch(/is healthy/);
    expect(await etcdctl(bin, ep, certs, 'member', 'list')).toContain(`${name}-1`);
    expect(await etcdctl(bin, ep, certs, 'put', '/hello', 'world')).toMatch(/OK/);
    expect(await etcdctl(bin, ep, certs, 'get', '/hello', '--print-value-only')).toBe('world\n');
  });

  it('hands out admin credentials', async () => {
    const r = await stack.api('GET', `/v1/clusters/${name}/credentials`);
    expect(r.status).toBe(200);
    expect(r.body.ca).toMatch(/BEGIN CERTIFICATE/);
    expect(r.body.cert).toMatch(/BEGIN CERTIFICATE/);
    expect(r.body.key).toMatch(/PRIVATE KEY/);
  });

  it('reports the operation and its steps', async () => {
    const r = await stack.api('GET', `/v1/operations/${created.operationId}`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('Succeeded');
    expect(r.body.steps.map((s: any) => s.status)).toEqual(Array(8).fill('done'));
  });

  it('keeps private keys out of plaintext workflow history', async () => {
    expect(await historiesContainPrivateKey(name, [created.workflowId])).toBe(false);
  });

  it('is idempotent for the same spec and 409 for a different one', async () => {
    const again = await stack.api('POST', '/v1/clusters', spec(name, [addr]));
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ operationId: created.operationId, created: false });
    const other = await stack.api('POST', '/v1/clusters', spec(name, [addr], { version: 'v3.5.10', tls: { digest: 'sha384' } }));
    expect(other.status).toBe(409);
    expect(other.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('is listed', async () => {
    const r = await stack.api('GET', '/v1/clusters');
    expect(r.body.clusters.map((c: any) => c.name)).toContain(name);
  });

  it('deletes without leaving a process behind, keeping data (set aside) unless purged', async () => {
    const before = (await stack.api('GET', `/v1/clusters/${name}`)).body;
    const pids = memberPids(stack.config.hostsDir);
    expect(pids.length).toBeGreaterThan(0);
    const r = await stack.api('DELETE', `/v1/clusters/${name}`);
    expect(r.status).toBe(202);
    await waitGone(name);
    expect(pids.filter(alive)).toEqual([]);
    // Kept, but renamed aside: a new cluster with the same names must not start on it.
    const { dataDir } = before.members[0].files;
    expect(fs.existsSync(dataDir)).toBe(false);
    expect(fs.readdirSync(path.dirname(dataDir)).some((f) => f.startsWith(`${path.basename(dataDir)}.deleted-`))).toBe(true);
    expect(fs.existsSync(before.members[0].files.configFile)).toBe(false);
  });
});

describe('bad input', () => {
  it('answers 400 with field paths and starts nothing', async () => {
    const r = await stack.api('POST', '/v1/clusters', {
      name: 'bad',
      version: '3.5',
      members: [
        { name: 'a', address: '127.0.42.1' },
        { name: 'a', address: '10.1.2.3' },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const paths = r.body.errors.map((e: any) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['version', 'members[1].name', 'members[1].address']));
    await expect(stack.client.workflow.getHandle(clusterWorkflowId('bad')).describe()).rejects.toThrow();
  });

  it('rejects malformed YAML, oversize bodies and requests without a token', async () => {
    const r = await stack.api('POST', '/v1/clusters', 'name: [oops', { 'content-type': 'application/yaml' });
    expect(r.status).toBe(400);
    const big = await stack.api('POST', '/v1/clusters', `name: big\nnote: "${'x'.repeat(MAX_BODY_BYTES)}"\n`, {
      'content-type': 'application/yaml',
    });
    expect(big.status).toBe(413);
    expect(big.headers.get('content-type')).toMatch(/application\/problem\+json/);
    await expect(stack.client.workflow.getHandle(clusterWorkflowId('big')).describe()).rejects.toThrow();
    const unauth = await stack.api('GET', '/v1/clusters', undefined, { authorization: '' });
    expect(unauth.status).toBe(401);
  });
});

describe('a 3-member TLS cluster', () => {
  const name = 'trio';
  const addrs = loopback(43, 3);

  it('provisions, elects one leader and replicates a write', async () => {
    const r = await stack.api('POST', '/v1/clusters', spec(name, addrs, { tls: { leafKey: { algorithm: 'ecdsa' } } }));
    expect(r.status).toBe(202);
    const c = await stack.waitForPhase(name, ['Running', 'Failed']);
    expect(c.phase).toBe('Running');
    expect(c.members.filter((m: any) => m.isLeader)).toHaveLength(1);
    expect(c.members.every((m: any) => m.healthy && !m.isLearner)).toBe(true);
    const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
    const certs = c.members[0].files.certsDir;
    const eps = c.members.map((m: any) => m.clientURL);
    expect((await etcdctl(bin, eps, certs, 'member', 'list')).trim().split('\n')).toHaveLength(3);
    await etcdctl(bin, [eps[0]], certs, 'put', '/k', 'v');
    expect(await etcdctl(bin, [eps[2]], certs, 'get', '/k', '--print-value-only')).toBe('v\n');
    expect(await etcdctl(bin, eps, certs, 'endpoint', 'health')).toMatch(/is healthy/);
  });

  it('deletes with purge', async () => {
    const before = (await stack.api('GET', `/v1/clusters/${name}`)).body;
    expect((await stack.api('DELETE', `/v1/clusters/${name}?purge=true`)).status).toBe(202);
    await waitGone(name);
    expect(fs.existsSync(before.members[0].files.dataDir)).toBe(false);
    expect(fs.existsSync(path.join(stack.config.hostsDir, name))).toBe(false);
  });
});

async function waitGone(name: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await stack.api('GET', `/v1/clusters/${name}`);
    if (r.status === 404) return;
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(`cluster ${name} still exists`);
}
