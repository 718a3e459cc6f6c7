// The ssh provider end to end on real machines: three Debian test hosts
// (systemd-nspawn, systemd as PID 1, real sshd; infra/testhosts), the real
// stack, a native `provider: ssh` spec. Checks what the taskserv README
// promises on every host (systemctl, etcdctl as written, file modes and
// owners), that systemd brings a kill -9'd etcd back, and that a purge
// leaves nothing. Label `ssh`, subnet 10.213.3.0/24. Skipped, with the
// reason, where the machine cannot run the test hosts.
import { startTestHosts, type TestHost, type TestHosts } from '../../infra/testhosts/hosts';
import { testhostsSupport } from '../../infra/testhosts/support';
import { bootstrappedEtcdVersions } from '../../infra/etcd-releases';
import { fastSpec, startStack, type Stack } from '../support/stack';
import { ETCDCTL, ok, sshEnv, until, waitOp as waitOperation } from '../support/ssh-hosts';

const support = testhostsSupport();
if (!support.ok) console.warn(`test/integration/ssh-provision.test.ts skipped: ${support.reason}`);
const maybe = support.ok ? describe : describe.skip;
jest.setTimeout(10 * 60_000);

const waitOp = (id: string) => waitOperation(stack, id);
/** What of an etcd installation is on a host: empty when nothing (an earlier member's kept-aside data does not count). */
const installed = (h: TestHost) =>
  ok(
    h,
    'for p in /etc/etcd /etc/ssl/etcd /opt/etcd /etc/systemd/system/etcd.service /usr/local/bin/etcd /usr/local/bin/etcdctl; do [ -e $p ] && echo $p; done; ls -A /var/lib/etcd 2>/dev/null; systemctl is-active etcd 2>/dev/null | grep -x active; true',
  );

let stack: Stack;

maybe('ssh provider on test hosts', () => {
  let fleet: TestHosts;
  const name = 'sshc';

  beforeAll(async () => {
    fleet = await startTestHosts({ count: 4, label: 'ssh', subnet: 3, log: (l) => console.log(l) });
    stack = await startStack({
      label: 'ssh',
      env: {
        ...sshEnv(fleet),
        // Lets the second cluster's spec pin its hosts' keys on port 2222 itself.
        ETCDFLEET_SSH_ALLOWED_NETWORKS: '10.213.3.0/24',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await fleet?.stopAll();
  });

  const three = () => fleet.hosts.slice(0, 3);

  it('provisions a 3-member TLS cluster as etcd.service on the taskserv layout', async () => {
    const spec = fastSpec(
      name,
      three().map((h) => h.address),
      { provider: 'ssh', tls: { useLocalhost: true } },
    );
    const r = await stack.api('POST', '/v1/clusters', spec);
    expect(r.status).toBe(202);
    const c = await stack.waitForPhase(name, ['Running', 'Failed'], 240_000);
    expect(c.phase).toBe('Running');
    expect(c.members.map((m: any) => m.clientURL)).toEqual(three().map((h) => `https://${h.address}:2379`));

    for (const h of three()) {
      expect(await ok(h, 'systemctl is-active etcd')).toBe('active');
      expect(await ok(h, 'systemctl is-enabled etcd')).toBe('enabled');
      expect(await ok(h, 'systemctl show -p Type --value etcd')).toBe('notify');
      expect(await ok(h, `${ETCDCTL} endpoint health`)).toContain('is healthy');
      expect(await ok(h, 'etcd --version')).toContain('etcd Version: 3.5.10');
      expect(await ok(h, 'readlink /usr/local/bin/etcd')).toBe('/opt/etcd/v3.5.10/etcd');
      expect(await ok(h, 'stat -c "%a %U" /var/lib/etcd /etc/ssl/etcd/etcd-key.pem /etc/ssl/etcd/peer-key.pem /etc/etcd/config.yaml')).toBe(
        ['700 etcd', '600 etcd', '600 etcd', '644 root'].join('\n'),
      );
      expect(await ok(h, 'ps -o user= -p "$(systemctl show -p MainPID --value etcd)"')).toBe('etcd');
      expect(await ok(h, '/etc/etcd/etcdctl.sh member list')).toContain(h.address);
      expect(await ok(h, 'journalctl -u etcd --no-pager -n 50 -o cat')).toMatch(/ready to serve client requests|serving client traffic/);
    }
  });

  it('a kill -9 of etcd is restarted by systemd and the cluster stays Running', async () => {
    const h = fleet.hosts[1];
    const before = await ok(h, 'systemctl show -p MainPID --value etcd');
    await ok(h, `kill -9 ${before}`);
    const after = await until('a new etcd pid', async () => {
      const pid = await ok(h, 'systemctl show -p MainPID --value etcd');
      return pid !== '0' && pid !== before ? pid : undefined;
    });
    expect(after).not.toBe(before);
    await until('endpoint health', async () => ((await ok(h, `${ETCDCTL} endpoint health`)).includes('is healthy') ? true : undefined));
    expect(Number(await ok(h, 'systemctl show -p NRestarts --value etcd'))).toBeGreaterThanOrEqual(1);
    const c = await stack.waitForPhase(name, ['Running'], 60_000);
    expect(c.phase).toBe('Running');
  });

  it('a power-cycled host brings its member back by itself (the unit is enabled)', async () => {
    const h = fleet.hosts[2];
    await h.powerCycle();
    await until(
      'endpoint health after the reboot',
      async () => ((await ok(h, `${ETCDCTL} endpoint health`)).includes('is healthy') ? true : undefined),
      120_000,
    );
    expect(await ok(h, 'systemctl is-active etcd')).toBe('active');
    expect((await stack.waitForPhase(name, ['Running'], 60_000)).phase).toBe('Running');
  });

  it('a rolling upgrade to the latest 3.5 swaps the links and restarts etcd.service member by member', async () => {
    const { latest35: to } = bootstrappedEtcdVersions();
    const r = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: to });
    expect(r.status).toBe(202);
    const op = await waitOp(r.body.operationId);
    expect(op.error ?? null).toBeNull();
    expect(op.status).toBe('Succeeded');
    for (const h of three()) {
      expect(await ok(h, 'readlink /usr/local/bin/etcd')).toBe(`/opt/etcd/${to}/etcd`);
      expect(await ok(h, 'readlink /proc/$(systemctl show -p MainPID --value etcd)/exe')).toBe(`/opt/etcd/${to}/etcd`);
      // The previous release stays for a rollback.
      expect(await ok(h, 'ls /opt/etcd')).toContain('v3.5.10');
    }
    expect((await stack.api('GET', `/v1/clusters/${name}`)).body.version).toBe(to);
  });

  it('adds a member on a fourth host and removes it again', async () => {
    const h4 = fleet.hosts[3];
    const add = await stack.api('POST', `/v1/clusters/${name}/members`, { name: `${name}-4`, address: h4.address });
    expect(add.status).toBe(202);
    const added = await waitOp(add.body.operationId);
    expect(added.error ?? null).toBeNull();
    expect(added.status).toBe('Succeeded');
    expect(await ok(h4, 'systemctl is-active etcd')).toBe('active');
    expect(await ok(fleet.hosts[0], `${ETCDCTL} member list`)).toContain(`https://${h4.address}:2380`);

    const del = await stack.api('DELETE', `/v1/clusters/${name}/members/${name}-4`);
    expect(del.status).toBe(202);
    expect((await waitOp(del.body.operationId)).status).toBe('Succeeded');
    expect(await ok(fleet.hosts[0], `${ETCDCTL} member list`)).not.toContain(h4.address);
    expect(await ok(h4, 'ls -A /etc/etcd /opt/etcd /etc/systemd/system/etcd.service 2>/dev/null; true')).toBe('');
    // Its data is kept aside, never reused.
    expect(await ok(h4, 'ls -d /var/lib/etcd.removed-* | wc -l')).toBe('1');
  });

  it('backs up and restores in place (snapshot copied to each host, etcdutl there, data dir owned by etcd)', async () => {
    const h = fleet.hosts[0];
    await ok(h, `${ETCDCTL} put /ssh/k before`);
    const b = await stack.api('POST', `/v1/clusters/${name}/backups`, {});
    expect(b.status).toBe(202);
    const backup = await waitOp(b.body.operationId);
    expect(backup.error ?? null).toBeNull();
    await ok(h, `${ETCDCTL} put /ssh/k after`);
    const r = await stack.api('POST', `/v1/clusters/${name}/restore`, { backup: backup.result.backup.id, force: true });
    expect(r.status).toBe(202);
    const restored = await waitOp(r.body.operationId);
    expect(restored.error ?? null).toBeNull();
    expect(restored.status).toBe('Succeeded');
    expect(await ok(h, `${ETCDCTL} get /ssh/k --print-value-only`)).toBe('before');
    for (const x of three()) {
      expect(await ok(x, 'stat -c "%a %U" /var/lib/etcd /var/lib/etcd/member/snap/db')).toBe('700 etcd\n600 etcd');
      expect(await ok(x, 'systemctl is-active etcd')).toBe('active');
    }
  });

  it('delete with purge leaves nothing of etcd on the hosts', async () => {
    expect((await stack.api('DELETE', `/v1/clusters/${name}?purge=true`)).status).toBe(202);
    await until(
      'the cluster to be gone',
      async () => ((await stack.api('GET', `/v1/clusters/${name}`)).status === 404 ? true : undefined),
      120_000,
    );
    for (const h of fleet.hosts) {
      expect(await ok(h, 'ls -A /var/lib/etcd /etc/etcd /etc/ssl/etcd /opt/etcd /etc/systemd/system/etcd.service 2>/dev/null; true')).toBe(
        '',
      );
      expect(await ok(h, 'ls /usr/local/bin')).toBe('');
      expect((await h.exec('systemctl is-active etcd')).stdout.trim()).not.toBe('active');
    }
    // Restore leftovers and snapshots on the cluster's hosts are purged too; the
    // removed member's kept data stays on its host, which the cluster no longer names.
    for (const h of three()) expect(await ok(h, 'ls -d /var/lib/etcd.* /var/lib/etcdfleet 2>/dev/null; true')).toBe('');
    expect(await ok(fleet.hosts[3], 'ls -d /var/lib/etcd.* | wc -l')).toBe('1');
  });

  describe('a non-root user through sudo -n, on an sshd whose key the operator file does not pin', () => {
    const user = 'sshu';
    // A second sshd on port 2222 with a host key of its own: the operator's known_hosts pins another key for these hosts.
    const altKeys: string[] = [];
    const spec = (name: string, hosts: TestHost[], hostKeys?: string[]) =>
      fastSpec(
        name,
        hosts.map((h) => h.address),
        { provider: 'ssh', ssh: { user: 'deploy', port: 2222, ...(hostKeys ? { hostKeys } : {}) } },
      );
    const gone = () =>
      until(
        'the cluster to be gone',
        async () => ((await stack.api('GET', `/v1/clusters/${user}`)).status === 404 ? true : undefined),
        120_000,
      );

    beforeAll(async () => {
      const conf = [
        'Port 2222',
        'HostKey /etc/ssh/alt_host_ed25519_key',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'UsePAM yes',
        'UseDNS no',
      ];
      for (const h of fleet.hosts) {
        await ok(
          h,
          [
            'id -u deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy',
            'install -d -m 700 -o deploy -g deploy ~deploy/.ssh',
            'install -m 600 -o deploy -g deploy /root/.ssh/authorized_keys ~deploy/.ssh/authorized_keys',
            "echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy && chmod 440 /etc/sudoers.d/deploy",
            "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/alt_host_ed25519_key",
            `printf '%s\\n' ${conf.map((l) => `'${l}'`).join(' ')} > /etc/ssh/alt_sshd_config`,
            'systemd-run --unit=sshd-alt /usr/sbin/sshd -D -f /etc/ssh/alt_sshd_config',
          ].join(' && '),
        );
        altKeys.push(`[${h.address}]:2222 ${await ok(h, 'cut -d" " -f1,2 /etc/ssh/alt_host_ed25519_key.pub')}`);
      }
    });

    it('refuses a host whose key nobody pinned, naming it, before installing anything; delete refuses it too', async () => {
      // On the fourth host, so the refused cluster (which keeps its addresses) is out of the way.
      const h4 = fleet.hosts[3];
      expect((await stack.api('POST', '/v1/clusters', spec('sshx', [h4]))).status).toBe(202);
      const c = await stack.waitForPhase('sshx', ['Running', 'Failed'], 120_000);
      expect(c.phase).toBe('Failed');
      const op = c.operations.find((o: any) => o.kind === 'provision');
      expect(op.error).toMatch(/host key refused/);
      expect(op.error).toContain(`deploy@${h4.address}:2222`);
      expect(await installed(h4)).toBe('');
      // Nothing is touched on a host that cannot prove who it is: the delete fails with the same reason.
      expect((await stack.api('DELETE', '/v1/clusters/sshx?purge=true')).status).toBe(202);
      const del = await until('the delete to fail', async () => {
        const v = (await stack.api('GET', '/v1/clusters/sshx')).body;
        return v.operations?.find((o: any) => o.kind === 'delete' && o.status === 'Failed');
      });
      expect(del.error).toMatch(/host key refused/);
    });

    it('provisions one member through sudo, scales it 1 → 3 → 1 with PATCH, every step through sudo', async () => {
      const [h1, h2, h3] = three();
      expect((await stack.api('POST', '/v1/clusters', spec(user, [h1], altKeys.slice(0, 3)))).status).toBe(202);
      expect((await stack.waitForPhase(user, ['Running', 'Failed'], 240_000)).phase).toBe('Running');
      const scale = async (hosts: TestHost[], kinds: string[]) => {
        const desired = { ...(await stack.api('GET', `/v1/clusters/${user}`)).body.spec, members: spec(user, hosts).members };
        const r = await stack.api('PATCH', `/v1/clusters/${user}`, desired);
        expect(r.status).toBe(202);
        expect(r.body.plan.map((s: any) => s.kind)).toEqual(kinds);
        for (const id of r.body.operations) {
          const op = await waitOperation(stack, id);
          expect(op.error ?? null).toBeNull();
          expect(op.status).toBe('Succeeded');
        }
        const c = await stack.waitForPhase(user, ['Running'], 60_000);
        expect(c.spec.members.map((m: any) => m.address)).toEqual(hosts.map((h) => h.address));
        expect(c.members.map((m: any) => m.name)).toEqual(desired.members.map((m: any) => m.name));
      };
      await scale([h1, h2, h3], ['add-member', 'add-member']);
      // This cluster listens on the hosts' addresses only: the taskserv etcdctl.sh, not the loopback line.
      const list = await ok(h1, `/etc/etcd/etcdctl.sh member list`);
      expect(list.split('\n')).toHaveLength(3);
      expect(list).not.toMatch(/unstarted|true$/m);
      for (const h of three()) {
        expect(await ok(h, 'systemctl is-active etcd')).toBe('active');
        expect(await ok(h, 'stat -c "%a %U" /var/lib/etcd /etc/ssl/etcd/etcd-key.pem')).toBe('700 etcd\n600 etcd');
        expect(await ok(h, `/etc/etcd/etcdctl.sh endpoint health`)).toContain('is healthy');
      }
      await scale([h1], ['remove-member', 'remove-member']);
      expect((await ok(h1, `/etc/etcd/etcdctl.sh member list`)).split('\n')).toHaveLength(1);
      for (const h of [h2, h3]) expect(await installed(h)).toBe('');
      expect(await ok(h1, 'journalctl _COMM=sudo --no-pager -o cat | grep -c "USER=root" || true')).not.toBe('0');
      expect(await ok(h2, 'journalctl _COMM=sudo --no-pager -o cat | grep -c "USER=root" || true')).not.toBe('0');
      expect((await stack.api('DELETE', `/v1/clusters/${user}?purge=true`)).status).toBe(202);
      await gone();
      for (const h of three()) expect(await installed(h)).toBe('');
    });

    it('preflight refuses a busy port and an unsupported OS, naming host and reason, and installs nothing on any host', async () => {
      const [, h2, h3] = three();
      await ok(
        h2,
        'systemd-run --unit=busy-2379 /usr/sbin/sshd -D -f /etc/ssh/alt_sshd_config -p 2379 && sleep 0.5 && ss -Htln "sport = :2379" | grep -q .',
      );
      await ok(h3, `mv /etc/os-release /etc/os-release.real && printf '%s\\n' 'NAME="Plan 9"' 'ID=plan9' > /etc/os-release`);
      try {
        expect((await stack.api('POST', '/v1/clusters', spec('sshp', three(), altKeys.slice(0, 3)))).status).toBe(202);
        const c = await stack.waitForPhase('sshp', ['Running', 'Failed'], 120_000);
        expect(c.phase).toBe('Failed');
        const op = c.operations.find((o: any) => o.kind === 'provision');
        expect(op.error).toContain(`sshp-2 (${h2.address}): ports already in use: 2379`);
        expect(op.error).toContain(`sshp-3 (${h3.address}): unsupported OS Plan 9: ID plan9 is not one of debian`);
        expect(op.error).not.toContain('sshp-1');
        for (const h of three()) expect(await installed(h)).toBe('');
      } finally {
        await ok(h2, 'systemctl stop busy-2379');
        await ok(h3, 'rm /etc/os-release && mv /etc/os-release.real /etc/os-release');
      }
      expect((await stack.api('DELETE', '/v1/clusters/sshp?purge=true')).status).toBe(202);
      await until(
        'sshp to be gone',
        async () => ((await stack.api('GET', '/v1/clusters/sshp')).status === 404 ? true : undefined),
        120_000,
      );
    });
  });
});
