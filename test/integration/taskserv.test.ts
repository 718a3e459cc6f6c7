// Clusters from taskserv ETCD configs: the single-node example and a 3-node
// production-style list, rewritten onto this test's loopback addresses and
// the local artifact mirror.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { localMirrorDir } from '../../infra/config';
import { anyCachedRelease } from '../../activities/artifacts';
import { etcdctl, loopback, startStack, type Stack } from '../support/stack';

jest.setTimeout(240_000);

const fixtures = path.join(__dirname, '../fixtures/taskserv');
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'taskserv' });
});
afterAll(async () => {
  await stack?.stop();
});

/** Moves every node of a fixture onto `addrs` (and distinct client ports when asked). */
function relocate(file: string, addrs: string[], clientPorts?: number[], overrides: Record<string, unknown> = {}): string {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(fixtures, file), 'utf8')).map((d) => d.toJS());
  const old = docs.map((d) => d.cli_ip as string);
  const peerPort = (d: any) => d.peer_port as number;
  return docs
    .map((d, i) => {
      const cli = clientPorts?.[i] ?? d.cli_port;
      const a = addrs[i];
      const out = {
        ...d,
        cli_ip: a,
        peer_ip: a,
        cli_port: cli,
        listen_clients: `https://${a}:${cli}`,
        adv_listen_clients: `https://${a}:${cli}`,
        listen_peers: `https://${a}:${peerPort(d)}`,
        adv_listen_peers: `https://${a}:${peerPort(d)}`,
        source_url: `file://${localMirrorDir()}`,
        ...overrides,
      };
      const rewrite = (s: string) => old.reduce((acc, o, j) => acc.split(`${o}:`).join(`${addrs[j]}:`), s);
      if (Array.isArray(out.initial_peers)) out.initial_peers = out.initial_peers.map(rewrite);
      else if (typeof out.initial_peers === 'string') out.initial_peers = rewrite(out.initial_peers);
      return YAML.stringify(out);
    })
    .join('---\n');
}

it('provisions the single-node example', async () => {
  const [addr] = loopback(44, 1);
  const r = await stack.api('POST', '/v1/imports/taskserv', relocate('single-node.yaml', [addr]));
  expect(r.status).toBe(202);
  expect(r.body.name).toBe('single');
  expect(Array.isArray(r.body.unsupported)).toBe(true);
  const c = await stack.waitForPhase('single', ['Running', 'Failed']);
  expect(c.phase).toBe('Running');
  expect(c.members[0]).toMatchObject({ name: 'etcd-single', clientURL: `https://${addr}:23790`, healthy: true, isLeader: true });
  const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
  expect(await etcdctl(bin, [c.members[0].clientURL], c.members[0].files.certsDir, 'put', '/a', 'b')).toMatch(/OK/);
});

it('provisions the 3-node production-style list with ECC certificates and localhost listeners', async () => {
  const addrs = loopback(45, 3);
  const ports = [23791, 23792, 23793];
  const r = await stack.api('POST', '/v1/imports/taskserv', relocate('cluster-3.yaml', addrs, ports, { use_localhost: true }));
  expect(r.status).toBe(202);
  const name = r.body.name;
  expect(r.body.unsupported).toEqual([]);
  const c = await stack.waitForPhase(name, ['Running', 'Failed']);
  expect(c.phase).toBe('Running');
  expect(c.members.map((m: any) => m.name)).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
  expect(c.members.filter((m: any) => m.isLeader)).toHaveLength(1);

  const certs = c.members[0].files.certsDir;
  const text = execFileSync('openssl', ['x509', '-in', `${certs}/etcd.pem`, '-noout', '-text'], { encoding: 'utf8' });
  expect(text).toMatch(/ecdsa-with-SHA384/);
  expect(text).toMatch(/prime256v1|P-256/);
  expect(text).toMatch(/IP Address:127\.0\.0\.1/);
  execFileSync('openssl', ['verify', '-CAfile', `${certs}/ca.pem`, `${certs}/etcd.pem`]);

  const bin = anyCachedRelease(stack.config.cacheDir, 'v3.5.10');
  // use_localhost: every member also answers on 127.0.0.1:<its client port>.
  expect(await etcdctl(bin, ['https://127.0.0.1:23792'], certs, 'endpoint', 'health')).toMatch(/is healthy/);
  expect(
    (
      await etcdctl(
        bin,
        c.members.map((m: any) => m.clientURL),
        certs,
        'member',
        'list',
      )
    )
      .trim()
      .split('\n'),
  ).toHaveLength(3);

  expect((await stack.api('DELETE', `/v1/clusters/${name}?purge=true`)).status).toBe(202);
});
