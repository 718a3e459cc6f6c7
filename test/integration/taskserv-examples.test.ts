// The taskserv README's example configs, as users have them (one config per
// node, each naming its node), with only the addresses moved to loopback:
// each reaches Running, and every member's certificate names that member.
// Their source_url is GitHub's: the service fetches upstream releases from
// where its configuration says (here the bootstrap's mirror, no internet).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startStack, type Stack } from '../support/stack';

jest.setTimeout(300_000);

const dir = path.join(__dirname, '../fixtures/taskserv/readme');
const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
const docs = (file: string) => YAML.parseAllDocuments(read(file)).map((d) => d.toJS());

let stack: Stack;
const created: string[] = [];
beforeAll(async () => {
  stack = await startStack({ label: 'taskserv-examples' });
});
afterAll(async () => {
  for (const name of created) await stack?.api('DELETE', `/v1/clusters/${name}?purge=true`).catch(() => undefined);
  const deadline = Date.now() + 60_000;
  for (const name of created) {
    while (Date.now() < deadline && (await stack?.api('GET', `/v1/clusters/${name}`))?.status === 200)
      await new Promise((r) => setTimeout(r, 300));
  }
  await stack?.stop();
});

async function importExample(body: string, contentType = 'application/yaml') {
  const r = await stack.api('POST', '/v1/imports/taskserv', body, { 'content-type': contentType });
  expect(r.status).toBe(202);
  if (r.body.created) created.push(r.body.name);
  return r.body;
}

function certificate(certsDir: string): { subject: string; sans: string[] } {
  const text = execFileSync(
    'openssl',
    ['x509', '-in', `${certsDir}/etcd.pem`, '-noout', '-subject', '-ext', 'subjectAltName', '-nameopt', 'RFC2253'],
    { encoding: 'utf8' },
  );
  const subject = /subject=(.*)/.exec(text)![1].trim();
  const sanLine = text.split('\n').find((l) => /DNS:|IP Address:/.test(l)) ?? '';
  return { subject, sans: sanLine.split(',').map((s) => s.trim().replace('IP Address:', 'IP:')) };
}

/** Each member's etcd.pem carries its own CN, host name and addresses, and chains to the cluster CA. */
async function expectMemberCertificates(name: string, domain?: string) {
  const c = await stack.waitForPhase(name, ['Running', 'Failed', 'Degraded']);
  expect(c.phase).toBe('Running');
  const nodes = new Map<string, any>();
  for (const d of docs(fileOf[name])) nodes.set(d.etcd_name, d);
  for (const m of c.members) {
    const node = nodes.get(m.name);
    const cert = certificate(m.files.certsDir);
    expect(cert.subject).toContain(`CN=${node.cn}`);
    const want = [`DNS:${node.hostname}`, `IP:${node.cli_ip}`, `DNS:${m.name}`];
    if (/\./.test(node.cn)) want.push(`DNS:${node.cn}`);
    if (domain) want.push(`DNS:${node.hostname}.${domain}`, `DNS:${m.name}.${domain}`);
    expect(cert.sans).toEqual(expect.arrayContaining([...new Set(want)]));
    // The API shows what the certificate names.
    expect(m.certificate.commonName).toBe(node.cn);
    expect(m.certificate.sans).toEqual(expect.arrayContaining([...new Set(want)]));
    execFileSync('openssl', ['verify', '-CAfile', `${m.files.certsDir}/ca.pem`, `${m.files.certsDir}/etcd.pem`]);
  }
  // The CA is the cluster's: subject from cluster_name (or name) and c.
  const ca = execFileSync(
    'openssl',
    ['x509', '-in', `${c.members[0].files.certsDir}/ca.pem`, '-noout', '-subject', '-nameopt', 'RFC2253'],
    { encoding: 'utf8' },
  );
  expect(ca).toContain(`CN=${name}-ca`);
  return c;
}

const fileOf: Record<string, string> = {};

it('imports every README example and each reaches Running with per-member certificates', async () => {
  const single = await importExample(read('single-node.yaml'));
  fileOf[single.name] = 'single-node.yaml';
  const prod = await importExample(read('production.yaml'));
  fileOf[prod.name] = 'production.yaml';
  // The second client URL (127.0.0.1) is the one thing the local provider says it cannot honour.
  expect(prod.unsupported.map((u: any) => u.field)).toEqual(['[0].listen_clients', '[1].listen_clients', '[2].listen_clients']);
  const k8s = await importExample(read('kubernetes.yaml'));
  fileOf[k8s.name] = 'kubernetes.yaml';
  const perf = await importExample(read('high-performance.yaml'));
  fileOf[perf.name] = 'high-performance.yaml';
  const dns = await importExample(read('dns-discovery.yaml'));
  fileOf[dns.name] = 'dns-discovery.yaml';
  expect(dns.unsupported.map((u: any) => u.field)).toEqual(['[0].discovery_srv']);

  await expectMemberCertificates(single.name);
  const p = await expectMemberCertificates(prod.name, 'company.com');
  expect(p.members.map((m: any) => m.name)).toEqual(['etcd-prod-1', 'etcd-prod-2', 'etcd-prod-3']);
  const k = await expectMemberCertificates(k8s.name, 'cluster.local');
  expect(k.spec.backup).toMatchObject({ enabled: true, interval: '6h', retention: '7d', s3: { bucket: 'k8s-etcd-backups' } });
  expect(k.spec.maintenance).toMatchObject({ compactionInterval: '5m', defragThresholdPercent: 30, healthCheckInterval: '30s' });
  const h = await expectMemberCertificates(perf.name);
  expect(h.spec.tunables).toMatchObject({ heartbeatInterval: 50, electionTimeout: 500, maxTxnOps: 1024 });
  await expectMemberCertificates(dns.name, 'etcd.example.internal');

  // The production configs as a JSON list are the same cluster: same spec, nothing new started.
  const again = await importExample(JSON.stringify(docs('production.yaml')), 'application/json');
  expect(again).toMatchObject({ name: prod.name, created: false, operationId: prod.operationId });
});

it('a malformed address in a field another field overrides is a 400 and starts nothing', async () => {
  const nodes = docs('production.yaml').map((d) => ({
    ...d,
    cluster_name: 'etcd-bad',
    cli_ip: d.etcd_name === 'etcd-prod-2' ? 'not-an-ip!' : d.cli_ip,
  }));
  const r = await stack.api('POST', '/v1/imports/taskserv', YAML.stringify(nodes), { 'content-type': 'application/yaml' });
  expect(r.status).toBe(400);
  expect(r.headers.get('content-type')).toMatch(/problem\+json/);
  expect(r.body.errors.map((e: any) => e.path)).toEqual(['[1].cli_ip']);
  expect((await stack.api('GET', '/v1/clusters/etcd-bad')).status).toBe(404);
});
