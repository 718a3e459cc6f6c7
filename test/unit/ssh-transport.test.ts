// The ssh provider's pieces that need no host: the OpenSSH arguments, the
// quoting of remote scripts, host key refusal, the spec's host keys against
// the operator's allowed networks and the unit file (preflight: ssh-preflight.test.ts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { SshTransport, isHostKeyFailure, remoteCommand, sshArgs } from '../../activities/hosts/ssh/transport';
import { allowedHostKeyLines, inNetworks, knownHostsFiles } from '../../activities/hosts/ssh/known-hosts';
import { renderUnit } from '../../activities/hosts/ssh/layout';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-ssh-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const target = { host: '10.0.0.11', port: 2222, user: 'deploy' };
const settings = {
  identity: '/keys/id_ed25519',
  knownHosts: ['/etc/fleet/known_hosts', '/state/ssh/known_hosts.c1'],
  controlDir: '/state/ssh',
};

describe('ssh arguments', () => {
  const args = sshArgs(target, settings, 'true');
  const opts = args.filter((_, i) => args[i - 1] === '-o');

  it('pins host keys with OpenSSH, never asks, multiplexes, and ends with host and command', () => {
    expect(opts).toEqual(
      expect.arrayContaining([
        'BatchMode=yes',
        'StrictHostKeyChecking=yes',
        'UserKnownHostsFile=/etc/fleet/known_hosts /state/ssh/known_hosts.c1',
        'GlobalKnownHostsFile=/dev/null',
        'ControlMaster=auto',
        'ControlPersist=60',
        'IdentitiesOnly=yes',
      ]),
    );
    expect(opts.find((o) => o.startsWith('ControlPath='))).toMatch(/^ControlPath=\/state\/ssh\/[0-9a-f]{16}$/);
    expect(opts.find((o) => o.startsWith('ConnectTimeout='))).toBeDefined();
    expect(args.slice(-7)).toEqual(['-p', '2222', '-l', 'deploy', '--', '10.0.0.11', 'true']);
    // The key is a path after -i, nothing else.
    expect(args[args.indexOf('-i') + 1]).toBe('/keys/id_ed25519');
  });

  it('keeps control socket paths short enough for a socket name', () => {
    const long = { ...settings, controlDir: `/var/lib/${'x'.repeat(80)}/ssh` };
    const cp = sshArgs(target, long, 'true').find((a) => a.startsWith('ControlPath='))!;
    expect(cp.length).toBeLessThan(100);
    expect(cp).toMatch(/etcdfleet-ssh-[0-9a-f]{12}\/[0-9a-f]{16}$/);
  });

  it('refuses known_hosts paths OpenSSH would split', () => {
    expect(() => sshArgs(target, { ...settings, knownHosts: ['/a b/known_hosts'] }, 'true')).toThrow(/whitespace/);
  });
});

describe('remote scripts', () => {
  const script = `printf '%s\\n' "it's" "$HOME-less" 'a "quoted" word'; echo $((1+2))`;

  it('survive the remote shell exactly (sh -c with one quoted argument)', () => {
    // sshd hands the command string to the login shell: sh -c <string> here.
    const out = execFileSync('sh', ['-c', remoteCommand('root', script)], { env: { HOME: '/h', PATH: process.env.PATH } }).toString();
    expect(out).toBe(`it's\n/h-less\na "quoted" word\n3\n`);
  });

  it('go through sudo -n for a user other than root', () => {
    expect(remoteCommand('deploy', 'id -u')).toBe(`sudo -n sh -c 'id -u'`);
    expect(remoteCommand('root', 'id -u')).toBe(`sh -c 'id -u'`);
  });
});

describe('host keys', () => {
  it('recognises OpenSSH refusing an unknown or changed key', () => {
    expect(
      isHostKeyFailure('No ED25519 host key is known for 10.0.0.11 and you have requested strict checking.\nHost key verification failed.'),
    ).toBe(true);
    expect(isHostKeyFailure('@@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@@')).toBe(true);
    expect(isHostKeyFailure('ssh: connect to host 10.0.0.11 port 22: Connection refused')).toBe(false);
  });

  it('fails non-retryably, naming the host, when ssh refuses the key', async () => {
    // A stand-in ssh that behaves like OpenSSH meeting an unknown host key.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh\necho 'Host key verification failed.' >&2\nexit 255\n`, { mode: 0o755 });
    const t = new SshTransport(target, { ...settings, controlDir: path.join(tmp, 'ctl'), sshCommand: path.join(bin, 'ssh') });
    const err = await t.run('true').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'HostKeyRefused', nonRetryable: true });
    expect((err as Error).message).toContain('deploy@10.0.0.11:2222');
    expect((err as Error).message).toContain('ETCDFLEET_SSH_KNOWN_HOSTS');
    expect(fs.statSync(path.join(tmp, 'ctl')).mode & 0o777).toBe(0o700);
  });

  it('only counts spec host keys for hosts in the allowed networks', () => {
    expect(inNetworks('10.213.3.11', ['10.213.3.0/24'])).toBe(true);
    expect(inNetworks('10.213.4.11', ['10.213.3.0/24'])).toBe(false);
    expect(inNetworks('10.0.0.1', ['10.0.0.1'])).toBe(true);
    expect(inNetworks('etcd-1.example.com', ['0.0.0.0/0'])).toBe(false);
    expect(() => inNetworks('10.0.0.1', ['10.0.0.0/33'])).toThrow(/CIDR/);
    const lines = [
      '10.213.3.11 ssh-ed25519 AAAA',
      '[10.213.3.12]:2222 ssh-ed25519 BBBB',
      '10.213.3.13,10.9.9.9 ssh-ed25519 CCCC',
      '* ssh-ed25519 DDDD',
    ];
    expect(allowedHostKeyLines(lines, [])).toEqual([]);
    expect(allowedHostKeyLines(lines, ['10.213.3.0/24'])).toEqual(lines.slice(0, 2));
  });

  it('writes the allowed spec keys next to the operator file, and needs at least one', () => {
    const cfg = { allowedNetworks: ['10.213.3.0/24'], dir: path.join(tmp, 'state-ssh'), knownHosts: '/etc/fleet/known_hosts' };
    const spec = { name: 'c1', ssh: { user: 'root', port: 22, hostKeys: ['10.213.3.11 ssh-ed25519 AAAA', '10.1.1.1 ssh-ed25519 BBBB'] } };
    const files = knownHostsFiles(cfg, spec);
    expect(files).toEqual(['/etc/fleet/known_hosts', path.join(cfg.dir, 'known_hosts.c1')]);
    expect(fs.readFileSync(files[1], 'utf8')).toBe('10.213.3.11 ssh-ed25519 AAAA\n');
    expect(knownHostsFiles({ ...cfg, allowedNetworks: [] }, spec)).toEqual(['/etc/fleet/known_hosts']);
    expect(() => knownHostsFiles({ allowedNetworks: [], dir: cfg.dir }, spec)).toThrow(/ETCDFLEET_SSH_KNOWN_HOSTS/);
  });
});

describe('etcd.service', () => {
  it('is a notify unit restarted on failure, after the network, reading the taskserv files', () => {
    const unit = renderUnit({ configFile: '/etc/etcd/config.yaml', envFile: '/etc/etcd/env', dataDir: '/var/lib/etcd' });
    for (const line of [
      'Type=notify',
      'Restart=on-failure',
      'LimitNOFILE=65536',
      'After=network-online.target',
      'Wants=network-online.target',
      'EnvironmentFile=/etc/etcd/env',
      'ExecStart=/usr/local/bin/etcd --config-file /etc/etcd/config.yaml',
      'User=etcd',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
  });
});

describe('stdin from a local command (a release sent without passing through the worker)', () => {
  // A stand-in ssh that runs the remote command here, as sshd would hand it to the shell.
  const localSsh = () => {
    const bin = path.join(tmp, 'local-ssh');
    fs.writeFileSync(bin, '#!/bin/sh\nfor a; do last=$a; done\nexec sh -c "$last"\n', { mode: 0o755 });
    return new SshTransport({ ...target, user: 'root' }, { ...settings, controlDir: path.join(tmp, 'ctl2'), sshCommand: bin });
  };

  it("pipes the command's output into ssh: a tar of binaries extracted intact under bin/", async () => {
    const src = path.join(tmp, 'rel');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'etcd'), Buffer.alloc(3_000_000, 7));
    fs.writeFileSync(path.join(src, 'etcdctl'), 'ctl');
    const out = path.join(tmp, 'out');
    fs.rmSync(out, { recursive: true, force: true });
    const r = await localSsh().run(`mkdir -p ${out}/bin && tar -x -f - -C ${out}/bin --no-same-owner && wc -c < ${out}/bin/etcd`, {
      stdin: { command: 'tar', args: ['-cf', '-', '--', 'etcd', 'etcdctl'], cwd: src },
    });
    expect(r.code).toBe(0);
    expect(r.stdout.toString().trim()).toBe('3000000');
    expect(fs.readFileSync(path.join(out, 'bin/etcdctl'), 'utf8')).toBe('ctl');
  });

  it('fails the call when the local command fails, even if the remote side took what it got', async () => {
    const err = await localSsh()
      .run('cat > /dev/null', { stdin: { command: 'sh', args: ['-c', 'printf abc; echo gone >&2; exit 3'] } })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/local sh exited 3: gone/);
  });

  it("answers with the remote side's exit when it stops reading early, without waiting for the sender", async () => {
    const big = path.join(tmp, 'big');
    fs.writeFileSync(big, Buffer.alloc(20_000_000));
    const r = await localSsh().run('echo not staged >&2; exit 7', { stdin: { command: 'cat', args: [big] }, timeoutMs: 20_000 });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('not staged');
  });
});
