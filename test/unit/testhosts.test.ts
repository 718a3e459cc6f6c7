// Pure parts of the test-host harness (infra/testhosts): finding the Debian
// mirror in apt's sources, dnsmasq's configuration, the boot supervisor script.
import { dnsmasqConfig } from '../../infra/testhosts/dns';
import { bootScript, shq } from '../../infra/testhosts/machine';
import { parseDeb822Sources, parseOneLineSources, pickMirror } from '../../infra/testhosts/sources';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupPids, checkLabel, createCgroup, killCgroup, removeCgroup, spawnDetached } from '../../infra/testhosts/sys';

describe('apt sources', () => {
  test('deb822: the stanza carrying "<suite> main", not -updates, -security or third-party suites', () => {
    const text = [
      'Types: deb',
      '# a comment',
      'URIs: http://mirror.example/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://mirror.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
      'Types: deb',
      'URIs: https://vendor.example/apt',
      'Suites: nodistro',
      'Components: main',
    ].join('\n');
    const sources = parseDeb822Sources(text);
    expect(sources).toHaveLength(3);
    expect(pickMirror(sources, 'bookworm')).toBe('http://mirror.example/debian');
    expect(pickMirror(sources, 'trixie')).toBeUndefined();
  });

  test('deb822: Enabled: no and deb-src stanzas are skipped', () => {
    const text =
      'Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n' +
      'Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n';
    expect(pickMirror(parseDeb822Sources(text), 'bookworm')).toBeUndefined();
  });

  test('one-line format with options and comments', () => {
    const text = [
      '# deb http://old.example/debian bookworm main',
      'deb [signed-by=/usr/share/keyrings/x.gpg arch=amd64] https://vendor.example/apt cloud-sdk-bookworm main',
      'deb-src http://src.example/debian bookworm main',
      'deb http://mirror.example/debian/ bookworm main contrib # trailing',
    ].join('\n');
    expect(pickMirror(parseOneLineSources(text), 'bookworm')).toBe('http://mirror.example/debian/');
  });
});

describe('dnsmasq configuration', () => {
  test('A and SRV records, authoritative only, no upstream', () => {
    const conf = dnsmasqConfig(
      '10.213.0.2',
      {
        a: [{ name: 'h1.it.test', address: '10.213.0.11' }],
        srv: [{ name: '_etcd-server-ssl._tcp.it.test', target: 'h1.it.test', port: 2380, priority: 1, weight: 5 }],
      },
      '/tmp/x.log',
    );
    expect(conf.split('\n')).toEqual(
      expect.arrayContaining([
        'no-resolv',
        'no-hosts',
        'listen-address=10.213.0.2',
        'bind-interfaces',
        'host-record=h1.it.test,10.213.0.11',
        'srv-host=_etcd-server-ssl._tcp.it.test,h1.it.test,2380,1,5',
      ]),
    );
  });

  test('a record that would inject configuration is refused', () => {
    expect(() => dnsmasqConfig('10.213.0.2', { a: [{ name: 'x\nserver=8.8.8.8', address: '10.0.0.1' }] }, '')).toThrow(/bad A record/);
    expect(() => dnsmasqConfig('10.213.0.2', { srv: [{ name: '_a._tcp.t', target: 'h,1', port: 1 }] }, '')).toThrow(/bad SRV/);
  });
});

describe('boot supervisor script', () => {
  const script = bootScript({ hostname: 'h1', machine: 'efth-it-h1', lower: '/cache/rootfs-abc', dir: '/var/tmp/efth-it/h1' }, [
    '/sys/fs/cgroup/systemd/efth-it-h1',
    '/sys/fs/cgroup/unified/efth-it-h1',
  ]);

  test('joins every cgroup hierarchy before nspawn starts with --keep-unit --register=no', () => {
    const lines = script.split('\n');
    const join = lines.findIndex((l) => l.includes('/sys/fs/cgroup/unified/efth-it-h1/cgroup.procs'));
    const exec = lines.findIndex((l) => l.trim().startsWith('exec unshare --mount --propagation private'));
    expect(join).toBeGreaterThan(0);
    expect(exec).toBeGreaterThan(join);
    expect(script).toContain('--keep-unit --register=no');
    expect(script).toContain('/run/netns/efth-it-h1');
  });

  test('private tmpfs on /run/systemd/nspawn, overlay root, boots again after a reboot (exit 133)', () => {
    expect(script).toContain('mount -t tmpfs -o mode=0755 efth-nspawn /run/systemd/nspawn');
    expect(script).toContain('lowerdir=/cache/rootfs-abc,upperdir=/var/tmp/efth-it/h1/upper,workdir=/var/tmp/efth-it/h1/work');
    expect(script).toMatch(/-eq 133/);
  });

  test('shell quoting', () => {
    expect(shq("it's")).toBe(`'it'\\''s'`);
    expect(shq('/var/tmp/efth-it/h1')).toBe('/var/tmp/efth-it/h1');
  });
});

test('labels fit interface names', () => {
  expect(() => checkLabel('it')).not.toThrow();
  expect(() => checkLabel('toolonglabel')).toThrow();
  expect(() => checkLabel('a-b')).toThrow();
});

describe('detached processes in a cgroup', () => {
  // A power-cycled test host was reported "stopped while booting" when the check ran before its
  // supervisor had joined its cgroup: the process is in its cgroups when spawnDetached returns.
  const name = `efth-unit-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'efth-unit-'));
  afterAll(async () => {
    await killCgroup(name);
    removeCgroup(name);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const root = process.getuid?.() === 0 && fs.existsSync('/sys/fs/cgroup');
  (root ? test : test.skip)('is in its cgroups at once', async () => {
    const pid = spawnDetached('/bin/sh', ['-c', 'exec sleep 30'], path.join(dir, 'log'), createCgroup(name));
    expect(cgroupPids(name)).toContain(pid);
    await killCgroup(name);
    expect(cgroupPids(name)).toEqual([]);
  });
});
