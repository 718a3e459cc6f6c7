// The test-host harness (infra/testhosts) on real machines: three Debian
// containers booted by systemd-nspawn with systemd as PID 1 and real sshd,
// each in its own network namespace on a private bridge, dnsmasq for A and
// SRV records, and the faults later tests inject (power cycle, reboot, link
// cut). Addresses: 10.213.0.0/24 in namespaces this file creates (label `it`).
// Skipped, with the reason, where the machine cannot run containers.
import { spawn } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../infra/apt';
import { startTestHosts, sshOptions, type TestHost, type TestHosts } from '../../infra/testhosts/hosts';
import { findLeftovers, isClean } from '../../infra/testhosts/reap';
import { testhostsSupport } from '../../infra/testhosts/support';
import { createCgroup, runDir } from '../../infra/testhosts/sys';

const support = testhostsSupport();
if (!support.ok) {
  console.warn(`test/integration/testhosts.test.ts skipped: ${support.reason}`);
}
const maybe = support.ok ? describe : describe.skip;
// A cold image build (debootstrap) takes a minute or a few on a busy machine.
jest.setTimeout(15 * 60_000);

const LABEL = 'it';

/** Gone, or a zombie waiting for this process (its parent) to reap it. */
function processGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

maybe('test hosts', () => {
  let fleet: TestHosts;
  let h1: TestHost, h2: TestHost, h3: TestHost;

  /** What a crashed earlier run left: a process in a cgroup, a namespace, a run directory. */
  const stale = { pid: 0, netns: `efth-${LABEL}-old`, dir: path.join(runDir(LABEL), 'old') };

  beforeAll(async () => {
    const joins = createCgroup(`efth-${LABEL}-old`).map((d) => `echo $$ > ${d}/cgroup.procs`);
    const sleeper = spawn('/bin/sh', ['-c', `${joins.join('; ')}; exec sleep 600`], { detached: true, stdio: 'ignore' });
    sleeper.unref();
    stale.pid = sleeper.pid!;
    expect((await run('ip', ['netns', 'add', stale.netns])).code).toBe(0);
    fs.mkdirSync(stale.dir, { recursive: true });

    const started = Date.now();
    fleet = await startTestHosts({ count: 3, label: LABEL, subnet: 0, log: (l) => console.log(l) });
    [h1, h2, h3] = fleet.hosts;
    console.log(`3 hosts up in ${((Date.now() - started) / 1000).toFixed(1)}s (image build included when cold)`);
  });

  afterAll(async () => {
    await fleet?.stopAll();
  });

  const ok = async (host: TestHost, cmd: string) => {
    const res = await host.exec(cmd);
    if (res.code !== 0) throw new Error(`${host.name}: ${cmd} exited ${res.code}: ${res.output}`);
    return res.stdout.trim();
  };

  test("a crashed run's leftovers are gone once the hosts start", async () => {
    expect(processGone(stale.pid)).toBe(true);
    expect(fs.existsSync(stale.dir)).toBe(false);
    expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(stale.netns);
  });

  test('systemd is PID 1 and the system is running', async () => {
    for (const h of fleet.hosts) {
      expect(await ok(h, 'ps -p 1 -o comm=')).toBe('systemd');
      expect(await ok(h, 'hostname')).toBe(h.name);
      const state = (await h.exec('systemctl is-system-running --wait')).stdout.trim();
      expect(['running', 'degraded']).toContain(state);
      expect(h.address).toBe(`10.213.0.${10 + Number(h.name.slice(1))}`);
    }
  });

  test('sshd answers with the pinned host key and refuses a wrong pin', async () => {
    expect(h1.knownHostsLine).toMatch(/^10\.213\.0\.11 ssh-ed25519 \S+$/);
    expect(h1.knownHostsLine).not.toBe(h2.knownHostsLine.replace(h2.address, h1.address));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'efth-pin-'));
    try {
      const wrong = path.join(tmp, 'known_hosts');
      fs.writeFileSync(wrong, h2.knownHostsLine.replace(h2.address, h1.address) + '\n');
      const res = await run('ssh', [...sshOptions(fleet.keyPath, wrong), `root@${h1.address}`, 'true']);
      expect(res.code).not.toBe(0);
      expect(res.output).toMatch(/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('hosts reach each other over the bridge, and nothing else', async () => {
    await ok(h1, `ping -c1 -W2 ${h2.address} && timeout 3 bash -c '</dev/tcp/${h3.address}/22'`);
    await ok(h3, `timeout 3 bash -c '</dev/tcp/${h1.address}/22'`);
    for (const h of fleet.hosts) {
      expect(await ok(h, 'ip route show default')).toBe('');
      expect(await ok(h, 'ip -4 route show')).toBe(`10.213.0.0/24 dev eth0 proto kernel scope link src ${h.address}`);
      const out = await h.exec('ip route get 1.1.1.1');
      expect(out.code).not.toBe(0);
      expect(out.output).toMatch(/unreachable/i);
    }
  });

  test('dnsmasq answers A and SRV records, from the hosts and from here', async () => {
    const domain = `${LABEL}.test`;
    const a = fleet.hosts.map((h) => ({ name: `${h.name}.${domain}`, address: h.address }));
    const srv = fleet.hosts.map((h) => ({ name: `_etcd-server-ssl._tcp.${domain}`, target: `${h.name}.${domain}`, port: 2380 }));
    const server = await fleet.startDns({ a, srv });
    expect(server.address).toBe(fleet.dnsAddress);

    const answer = await ok(h1, `dig +short +time=2 SRV _etcd-server-ssl._tcp.${domain}`);
    expect(answer.split('\n').sort()).toEqual(['0 0 2380 h1.it.test.', '0 0 2380 h2.it.test.', '0 0 2380 h3.it.test.']);
    expect(await ok(h2, `getent hosts h3.${domain}`)).toMatch(new RegExp(`^${h3.address.replace(/\./g, '\\.')}\\s+h3\\.it\\.test`));

    const resolver = new dns.Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([fleet.dnsAddress]);
    const records = await resolver.resolveSrv(`_etcd-server-ssl._tcp.${domain}`);
    expect(records.map((r) => r.name).sort()).toEqual(['h1.it.test', 'h2.it.test', 'h3.it.test']);

    await server.setRecords({ a, srv: srv.slice(0, 1) });
    expect(await ok(h3, `dig +short +time=2 SRV _etcd-server-ssl._tcp.${domain}`)).toBe('0 0 2380 h1.it.test.');
  });

  test('a power cycle (cgroup.kill, boot again) brings a host back with its disk, not its /run', async () => {
    await ok(h2, 'echo kept > /root/disk-marker && echo lost > /run/ram-marker');
    const started = Date.now();
    await h2.powerCycle();
    console.log(`power cycle of ${h2.name}: ${((Date.now() - started) / 1000).toFixed(1)}s until sshd answered`);
    expect(await ok(h2, 'cat /root/disk-marker; ls /run/ram-marker 2>/dev/null; ps -p 1 -o comm=')).toBe('kept\nsystemd');
    expect(Number(await ok(h2, 'ps -o etimes= -p 1'))).toBeLessThan(60);
  });

  test('`systemctl reboot` inside a host boots it again', async () => {
    await h3.exec('systemctl reboot');
    await new Promise((r) => setTimeout(r, 1000));
    await h3.waitForSsh(60_000);
    expect(h3.running()).toBe(true);
    expect(Number(await ok(h3, 'ps -o etimes= -p 1'))).toBeLessThan(60);
  });

  test('cutLink makes a host unreachable and restoreLink (or the timer) brings it back', async () => {
    await h1.cutLink();
    expect((await h1.exec('true', { timeoutMs: 10_000 })).code).not.toBe(0);
    expect((await h2.exec(`timeout 3 bash -c '</dev/tcp/${h1.address}/22'`)).code).not.toBe(0);
    await h1.restoreLink();
    await h1.waitForSsh(20_000);
    await ok(h2, `timeout 3 bash -c '</dev/tcp/${h1.address}/22'`);

    // With a timer: unreachable at first, back by itself once the cut is over.
    const cut = Date.now();
    await h1.cutLink(6_000);
    expect((await h2.exec(`timeout 2 bash -c '</dev/tcp/${h1.address}/22'`)).code).not.toBe(0);
    await h1.waitForSsh(30_000);
    expect(Date.now() - cut).toBeGreaterThanOrEqual(6_000);
  });

  test('each host takes well under 150 MB of RSS', () => {
    for (const h of fleet.hosts) {
      const mb = h.rss() / 2 ** 20;
      console.log(`${h.name}: ${mb.toFixed(0)} MB RSS`);
      expect(mb).toBeGreaterThan(10);
      expect(mb).toBeLessThan(150);
    }
  });

  test('stopAll leaves no namespace, link, cgroup, mount or directory behind', async () => {
    await fleet.stopAll();
    const left = await findLeftovers(LABEL);
    expect(left).toEqual({ cgroups: [], netns: [], links: [], mounts: [], dirs: [] });
    expect(isClean(left)).toBe(true);
  });
});
