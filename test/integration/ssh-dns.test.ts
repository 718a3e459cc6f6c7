// DNS SRV bootstrap on real machines: three Debian test hosts
// (infra/testhosts) and dnsmasq serving the members' A records and the
// `_etcd-server-ssl`/`_etcd-client-ssl` SRV records of etcd.test. The cluster
// is provisioned through the API with `dns.discoverySrv`, bootstraps from
// DNS (no initial-cluster), and lists DNS-named peer URLs. Label `dns`,
// subnet 10.213.4.0/24. Skipped, with the reason, where the machine cannot
// run the test hosts.
import { startTestHosts, type TestHosts } from '../../infra/testhosts/hosts';
import { testhostsSupport } from '../../infra/testhosts/support';
import { fastSpec, startStack, type Stack } from '../support/stack';
import { gone, ok, sshEnv } from '../support/ssh-hosts';

const support = testhostsSupport();
if (!support.ok) console.warn(`test/integration/ssh-dns.test.ts skipped: ${support.reason}`);
const maybe = support.ok ? describe : describe.skip;
jest.setTimeout(6 * 60_000);

const DOMAIN = 'etcd.test';
const TLS = '--cacert=/etc/ssl/etcd/ca.pem --cert=/etc/ssl/etcd/admin.pem --key=/etc/ssl/etcd/admin-key.pem';

maybe('DNS SRV bootstrap on test hosts', () => {
  let fleet: TestHosts;
  let stack: Stack;
  const name = 'dnsc';
  const peer = (i: number) => `${name}-${i + 1}.${DOMAIN}`;

  beforeAll(async () => {
    fleet = await startTestHosts({ count: 3, label: 'dns', subnet: 4, log: (l) => console.log(l) });
    await fleet.startDns({
      a: fleet.hosts.map((h, i) => ({ name: peer(i), address: h.address })),
      srv: fleet.hosts.flatMap((_, i) => [
        { name: `_etcd-server-ssl._tcp.${DOMAIN}`, target: peer(i), port: 2380 },
        { name: `_etcd-client-ssl._tcp.${DOMAIN}`, target: peer(i), port: 2379 },
      ]),
    });
    stack = await startStack({
      label: 'dns',
      env: sshEnv(fleet),
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await fleet?.stopAll();
  });

  it('bootstraps from the SRV records and lists DNS-named peers', async () => {
    const spec = fastSpec(
      name,
      fleet.hosts.map((h) => h.address),
      { provider: 'ssh', dns: { discoverySrv: DOMAIN } },
    );
    const r = await stack.api('POST', '/v1/clusters', spec);
    expect(r.status).toBe(202);
    const c = await stack.waitForPhase(name, ['Running', 'Failed'], 150_000);
    expect(c.phase).toBe('Running');

    const h = fleet.hosts[0];
    const config = await ok(h, 'cat /etc/etcd/config.yaml');
    expect(config).toContain(`discovery-srv: ${DOMAIN}`);
    expect(config).toContain(`initial-advertise-peer-urls: https://${peer(0)}:2380`);
    const list = await ok(h, '/etc/etcd/etcdctl.sh member list');
    for (let i = 0; i < 3; i++) expect(list).toContain(`https://${peer(i)}:2380`);
    // Clients find the cluster through the client SRV records as well (etcdctl's
    // endpoint commands ignore --discovery-srv; member list follows it).
    expect(await ok(h, `ETCDCTL_API=3 etcdctl --discovery-srv=${DOMAIN} ${TLS} member list`)).toContain(`https://${peer(2)}:2380`);
  });

  it('delete with purge removes etcd from the hosts', async () => {
    expect((await stack.api('DELETE', `/v1/clusters/${name}?purge=true`)).status).toBe(202);
    await gone(stack, name);
    for (const h of fleet.hosts) {
      expect(await ok(h, 'ls -A /var/lib/etcd /etc/etcd /etc/ssl/etcd 2>/dev/null; true')).toBe('');
    }
  });
});
