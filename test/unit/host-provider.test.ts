// The HostProvider seam: providerFor picks by the spec's provider, and the
// local provider maps host paths (file operations and host command
// arguments) under the member's root, never outside it.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { hostFiles, providerFor } from '../../activities/hosts';
import { LocalHostProvider } from '../../activities/hosts/local';
import { makeSpec } from '../support/local-host-fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-provider-'));
const hostsDir = path.join(tmp, 'hosts');
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

const spec = makeSpec('pv', 'v3.5.10', ['127.0.0.2', '127.0.0.3']);
const at = { spec, member: 'm1' };
const root = path.join(hostsDir, 'pv', 'm1');

describe('providerFor', () => {
  it('gives the local provider for local specs and bare refs', () => {
    expect(providerFor(spec, { hostsDir }).kind).toBe('local');
    expect(providerFor(undefined, { hostsDir }).kind).toBe('local');
  });

  it('gives the ssh provider for ssh specs, refusing a worker without ssh settings', () => {
    const ssh = { allowedNetworks: [], dir: path.join(tmp, 'ssh') };
    expect(providerFor({ provider: 'ssh' }, { hostsDir, ssh }).kind).toBe('ssh');
    let err: unknown;
    try {
      providerFor({ provider: 'ssh' }, { hostsDir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'SshNotConfigured', nonRetryable: true });
  });
});

describe('local provider file operations', () => {
  const hosts = new LocalHostProvider(hostsDir);

  it('maps host paths under the member root', async () => {
    const { configFile } = hostFiles(spec, 'm1');
    expect(configFile).toBe('/etc/etcd/config.yaml');
    expect(await hosts.readFile(at, configFile)).toBeUndefined();
    expect(await hosts.writeFile(at, configFile, 'a: 1\n', 0o644)).toBe(true);
    expect(fs.readFileSync(path.join(root, 'etc/etcd/config.yaml'), 'utf8')).toBe('a: 1\n');
    expect(await hosts.writeFile(at, configFile, 'a: 1\n', 0o644)).toBe(false);
    expect((await hosts.readFile(at, configFile))?.toString()).toBe('a: 1\n');
    expect(await hosts.list(at, '/etc/etcd')).toEqual(['config.yaml']);
    expect(await hosts.list(at, '/nope')).toBeUndefined();
  });

  it('moves, makes and removes on the host', async () => {
    await hosts.makeDir(at, '/var/lib/etcd', 0o700);
    expect(fs.statSync(path.join(root, 'var/lib/etcd')).mode & 0o777).toBe(0o700);
    await hosts.move(at, '/var/lib/etcd', '/var/lib/aside/etcd.removed-1');
    expect(await hosts.exists(at, '/var/lib/etcd')).toBe(false);
    expect(fs.existsSync(path.join(root, 'var/lib/aside/etcd.removed-1'))).toBe(true);
    await hosts.removePath(at, '/var/lib/aside');
    expect(await hosts.exists(at, '/var/lib/aside')).toBe(false);
  });

  it('copies a worker file to the host with putFile', async () => {
    const src = path.join(tmp, 'snap.db');
    fs.writeFileSync(src, 'snapshot');
    await hosts.putFile(at, src, '/var/lib/etcd.restoring-x.db', 0o600);
    const dest = path.join(root, 'var/lib/etcd.restoring-x.db');
    expect(fs.readFileSync(dest, 'utf8')).toBe('snapshot');
    expect(fs.statSync(dest).mode & 0o777).toBe(0o600);
  });

  it('keeps paths with .. inside the member root', async () => {
    // `..` is resolved against the host's `/`, as on a real host: it stays inside the root.
    await hosts.writeFile(at, '/../../outside', 'x', 0o644);
    expect(fs.existsSync(path.join(root, 'outside'))).toBe(true);
    expect(fs.existsSync(path.join(hostsDir, 'outside'))).toBe(false);
  });

  it('runs host commands from the member install with host path arguments mapped', async () => {
    await expect(hosts.exec(at, 'etcdutl', ['version'])).rejects.toMatchObject({ type: 'MissingBinaries' });
    const bin = path.join(root, 'usr/local/bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'etcdutl'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const r = await hosts.exec(at, 'etcdutl', [
      'snapshot',
      'restore',
      { hostPath: '/var/lib/etcd.restoring-x.db' },
      '--data-dir',
      { hostPath: '/var/lib/etcd' },
    ]);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'snapshot',
      'restore',
      path.join(root, 'var/lib/etcd.restoring-x.db'),
      '--data-dir',
      path.join(root, 'var/lib/etcd'),
    ]);
  });

  it('purges what is left of a cluster', async () => {
    expect(await hosts.purgeCluster('pv')).toEqual({ removed: true });
    expect(fs.existsSync(path.join(hostsDir, 'pv'))).toBe(false);
    expect(await hosts.purgeCluster('pv')).toEqual({ removed: false });
  });
});
