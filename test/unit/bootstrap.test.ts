// Tool bootstrap pieces that need no network and no builds: version
// selection, the mirror's file formats and layout, the lock, argument parsing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  DEFAULT_ETCD_VERSION,
  extractRelease,
  formatSha256Sums,
  latestPatch,
  listTarball,
  normalizeVersion,
  packRelease,
  parseBinaryVersion,
  parseGoListVersions,
  parseSha256Sums,
  releaseBinDir,
  releaseName,
  releaseSumsFile,
  releaseTarball,
  resolveEtcdVersions,
  selectEtcdVersions,
  sha256File,
  versionsFromOverride,
  wrapperGoMod,
  mirrorUrl,
  listMirrorVersions,
} from '../../infra/etcd-releases';
import { parseTemporalVersion } from '../../infra/temporal-cli';
import { parseDpkgStatus } from '../../infra/apt';
import { acquireLock, withLock, type LockHolder } from '../../infra/lock';
import { parseArgs, UsageError } from '../../infra/bootstrap';

const GO_LIST_OUTPUT =
  'go.etcd.io/etcd/server/v3 v3.5.0-alpha.0 v3.5.0-beta.1 v3.5.0-rc.0 v3.5.0 v3.5.9 v3.5.10 v3.5.11 v3.5.35 ' +
  'v3.6.0-alpha.0 v3.6.0-rc.5 v3.6.0 v3.6.9 v3.6.16 v3.6.17-rc.0 v3.7.0-rc.0\n';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bootstrap-test-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('etcd version selection', () => {
  test('go list output: releases only, oldest first, numeric order', () => {
    const versions = parseGoListVersions(GO_LIST_OUTPUT);
    expect(versions).toEqual(['v3.5.0', 'v3.5.9', 'v3.5.10', 'v3.5.11', 'v3.5.35', 'v3.6.0', 'v3.6.9', 'v3.6.16']);
  });

  test('latest patch per minor compares numerically and ignores pre-releases', () => {
    const versions = parseGoListVersions(GO_LIST_OUTPUT);
    expect(latestPatch(versions, '3.5')).toBe('v3.5.35');
    expect(latestPatch(versions, '3.6')).toBe('v3.6.16');
    expect(latestPatch(versions, '3.7')).toBeUndefined();
    expect(latestPatch(['v3.5.9', 'v3.5.10', 'v3.5.2'], '3.5')).toBe('v3.5.10');
  });

  test('selection: default first, then latest 3.5 and 3.6', () => {
    const selected = selectEtcdVersions(parseGoListVersions(GO_LIST_OUTPUT));
    expect(selected).toEqual({
      default: 'v3.5.10',
      latest35: 'v3.5.35',
      latest36: 'v3.6.16',
      all: ['v3.5.10', 'v3.5.35', 'v3.6.16'],
    });
    expect(DEFAULT_ETCD_VERSION).toBe('v3.5.10');
  });

  test('selection does not list the default twice when it is the latest 3.5', () => {
    expect(selectEtcdVersions(['v3.5.9', 'v3.5.10', 'v3.6.1']).all).toEqual(['v3.5.10', 'v3.6.1']);
  });

  test('selection fails when a minor has no release', () => {
    expect(() => selectEtcdVersions(['v3.5.10', 'v3.6.0-rc.1'])).toThrow(/3\.6/);
  });

  test('ETCDFLEET_ETCD_VERSIONS override', () => {
    expect(versionsFromOverride('v3.6.16, 3.5.10')).toEqual({
      default: 'v3.5.10',
      latest35: 'v3.5.10',
      latest36: 'v3.6.16',
      all: ['v3.5.10', 'v3.6.16'],
    });
    expect(versionsFromOverride('v3.6.16').default).toBe('v3.6.16');
    expect(() => versionsFromOverride('v3.6.0-rc.1')).toThrow(/not an etcd release/);
  });

  test('normalizeVersion', () => {
    expect(normalizeVersion('3.5.10')).toBe('v3.5.10');
    expect(normalizeVersion('v3.6.16')).toBe('v3.6.16');
    expect(() => normalizeVersion('latest')).toThrow();
    expect(() => normalizeVersion('../v3.5.10')).toThrow();
  });

  test('resolveEtcdVersions reuses a fresh cache without asking the proxy', async () => {
    const env = { ETCDFLEET_CACHE_DIR: tmp, PATH: '/nonexistent' };
    const versions = { default: 'v3.5.10', latest35: 'v3.5.30', latest36: 'v3.6.10', all: ['v3.5.10', 'v3.5.30', 'v3.6.10'] };
    fs.writeFileSync(path.join(tmp, 'etcd-versions.json'), JSON.stringify({ resolvedAt: new Date().toISOString(), versions }));
    const log = jest.fn();
    await expect(resolveEtcdVersions({ env, log })).resolves.toEqual(versions);
    expect(log).not.toHaveBeenCalled();
  });

  test('resolveEtcdVersions falls back to a stale cache when go cannot reach the proxy', async () => {
    const env = { ETCDFLEET_CACHE_DIR: tmp, PATH: '/nonexistent' }; // no `go` at all
    const versions = { default: 'v3.5.10', latest35: 'v3.5.30', latest36: 'v3.6.10', all: ['v3.5.10', 'v3.5.30', 'v3.6.10'] };
    const old = new Date(Date.now() - 30 * 24 * 3600_000).toISOString();
    fs.writeFileSync(path.join(tmp, 'etcd-versions.json'), JSON.stringify({ resolvedAt: old, versions }));
    const lines: string[] = [];
    await expect(resolveEtcdVersions({ env, log: (l) => lines.push(l) })).resolves.toEqual(versions);
    expect(lines.join('\n')).toMatch(/using the list cached/);
    // Without a cache there is nothing to fall back to.
    fs.rmSync(path.join(tmp, 'etcd-versions.json'));
    await expect(resolveEtcdVersions({ env, log: () => undefined })).rejects.toThrow(/go list/);
  });

  test('the override needs neither cache nor proxy', async () => {
    const env = { ETCDFLEET_CACHE_DIR: tmp, PATH: '/nonexistent', ETCDFLEET_ETCD_VERSIONS: 'v3.5.10,v3.6.16' };
    await expect(resolveEtcdVersions({ env })).resolves.toMatchObject({ all: ['v3.5.10', 'v3.6.16'] });
  });
});

describe('mirror layout', () => {
  test('paths follow the upstream release layout', () => {
    const env = { ETCDFLEET_CACHE_DIR: tmp };
    expect(releaseName('3.5.10', 'linux-amd64')).toBe('etcd-v3.5.10-linux-amd64');
    expect(releaseTarball('v3.5.10', env)).toBe(path.join(tmp, 'mirror', 'v3.5.10', `etcd-v3.5.10-${hostPlatformForTest()}.tar.gz`));
    expect(releaseSumsFile('3.5.10', env)).toBe(path.join(tmp, 'mirror', 'v3.5.10', 'SHA256SUMS'));
    expect(releaseBinDir('3.5.10', env)).toBe(path.join(tmp, 'bin', 'v3.5.10'));
    expect(mirrorUrl(env)).toBe(`file://${tmp}/mirror`);
  });

  test('SHA256SUMS lines are `<hex>  <file>` and parse back', () => {
    const sha = 'ab'.repeat(32);
    const text = formatSha256Sums([{ sha256: sha, file: 'etcd-v3.5.10-linux-amd64.tar.gz' }]);
    expect(text).toBe(`${sha}  etcd-v3.5.10-linux-amd64.tar.gz\n`);
    expect(parseSha256Sums(text).get('etcd-v3.5.10-linux-amd64.tar.gz')).toBe(sha);
    // Upstream files list several artifacts; binary-mode markers and upper case hex are accepted.
    const upstream = `${'CD'.repeat(32)} *etcd-v3.5.10-darwin-amd64.zip\n${sha}  etcd-v3.5.10-linux-amd64.tar.gz\nnot a line\n`;
    const parsed = parseSha256Sums(upstream);
    expect(parsed.get('etcd-v3.5.10-darwin-amd64.zip')).toBe('cd'.repeat(32));
    expect(parsed.size).toBe(2);
  });

  test('a packed fake release has one top directory and three 0755 executables', async () => {
    const bins = path.join(tmp, 'bins');
    fs.mkdirSync(bins);
    for (const name of ['etcd', 'etcdctl', 'etcdutl']) {
      fs.writeFileSync(path.join(bins, name), `#!/bin/sh\necho "${name} version: 3.5.10"\n`, { mode: 0o700 });
    }
    const out = path.join(tmp, 'mirror', 'v3.5.10');
    fs.mkdirSync(out, { recursive: true });
    const name = 'etcd-v3.5.10-linux-amd64';

    const packed = await packRelease(bins, out, name, { mtime: new Date('2023-10-27T10:41:17Z') });
    expect(packed.tarball).toBe(path.join(out, `${name}.tar.gz`));
    expect(packed.sha256).toBe(await sha256File(packed.tarball));
    expect(fs.readdirSync(out)).toEqual([`${name}.tar.gz`]); // no temp or stage files left behind

    const entries = await listTarball(packed.tarball);
    expect(entries.map((e) => [e.path, e.type, e.mode.toString(8)])).toEqual([
      [`${name}/`, 'Directory', '755'],
      [`${name}/etcd`, 'File', '755'],
      [`${name}/etcdctl`, 'File', '755'],
      [`${name}/etcdutl`, 'File', '755'],
    ]);
    // gzip magic: a real .tar.gz
    expect(fs.readFileSync(packed.tarball).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    // Reproducible: packing the same binaries again gives the same checksum.
    const again = await packRelease(bins, out, name, { mtime: new Date('2023-10-27T10:41:17Z') });
    expect(again.sha256).toBe(packed.sha256);

    // Extraction strips the top directory and records which tarball it came from.
    const dest = path.join(tmp, 'bin', 'v3.5.10');
    await extractRelease(packed.tarball, dest, packed.sha256);
    expect(fs.readdirSync(dest).sort()).toEqual(['.sha256', 'etcd', 'etcdctl', 'etcdutl']);
    expect(fs.statSync(path.join(dest, 'etcdctl')).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(path.join(dest, '.sha256'), 'utf8').trim()).toBe(packed.sha256);
    expect(spawnSync(path.join(dest, 'etcdutl')).stdout.toString()).toBe('etcdutl version: 3.5.10\n');
  });

  test('listMirrorVersions lists versions with tarball and SHA256SUMS, in version order', () => {
    const env = { ETCDFLEET_CACHE_DIR: tmp };
    for (const v of ['v3.6.16', 'v3.5.10', 'v3.5.9']) {
      fs.mkdirSync(path.dirname(releaseTarball(v, env)), { recursive: true });
      fs.writeFileSync(releaseTarball(v, env), '');
      if (v !== 'v3.5.9') fs.writeFileSync(releaseSumsFile(v, env), '');
    }
    expect(listMirrorVersions(env)).toEqual(['v3.5.10', 'v3.6.16']);
  });
});

describe('wrapper module and version output', () => {
  test('go.mod requires the three etcd modules at the version', () => {
    const gomod = wrapperGoMod('3.6.16');
    expect(gomod).toMatch(/^module etcdfleet\.local\/etcdbuild$/m);
    for (const m of ['server', 'etcdctl', 'etcdutl']) expect(gomod).toContain(`\tgo.etcd.io/etcd/${m}/v3 v3.6.16\n`);
  });

  test('binary version lines', () => {
    expect(parseBinaryVersion('etcd', 'etcd Version: 3.5.10\nGit SHA: Not provided\nGo Version: go1.26.8\n')).toBe('3.5.10');
    expect(parseBinaryVersion('etcdctl', 'etcdctl version: 3.6.16\nAPI version: 3.6\n')).toBe('3.6.16');
    expect(parseBinaryVersion('etcdutl', 'etcdutl version: 3.5.35\nAPI version: 3.5\n')).toBe('3.5.35');
    expect(parseBinaryVersion('etcdutl', 'etcdctl version: 3.5.35\n')).toBeUndefined();
    expect(parseTemporalVersion('temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)\n')).toBe('1.9.1');
  });

  test('dpkg status parsing', () => {
    const installed = parseDpkgStatus('openssl installed\nprocps not-installed\nlibc6:amd64 installed\n\n');
    expect([...installed].sort()).toEqual(['libc6', 'openssl']);
  });
});

describe('bootstrap lock', () => {
  test('callers in one process take turns', async () => {
    const lock = path.join(tmp, 'a.lock');
    const order: string[] = [];
    const job = (name: string) =>
      withLock(lock, async () => {
        order.push(`${name} start`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name} end`);
      });
    await Promise.all([job('a'), job('b')]);
    expect(order).toEqual(['a start', 'a end', 'b start', 'b end']);
    expect(fs.existsSync(lock)).toBe(false);
  });

  test('a lock left by a dead process is broken', async () => {
    const lock = path.join(tmp, 'b.lock');
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    const holder: LockHolder = { pid: Number(dead), host: os.hostname(), createdAt: new Date().toISOString(), token: 'old' };
    fs.writeFileSync(lock, JSON.stringify(holder));
    const release = await acquireLock(lock, { timeoutMs: 2000 });
    expect(JSON.parse(fs.readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    release();
    expect(fs.existsSync(lock)).toBe(false);
  });

  test('a lock held by a live process is waited for, then times out with its holder named', async () => {
    const lock = path.join(tmp, 'c.lock');
    const holder: LockHolder = {
      pid: process.ppid, // alive for the whole test
      host: os.hostname(),
      createdAt: new Date().toISOString(),
      purpose: 'building etcd v3.5.10',
      token: 'theirs',
    };
    fs.writeFileSync(lock, JSON.stringify(holder));
    const onWait = jest.fn();
    await expect(acquireLock(lock, { timeoutMs: 300, pollMs: 50, onWait })).rejects.toThrow(/building etcd v3\.5\.10/);
    expect(onWait).toHaveBeenCalledTimes(1);
    expect(JSON.parse(fs.readFileSync(lock, 'utf8')).token).toBe('theirs'); // untouched
  });
});

describe('command line', () => {
  test('targets and flags', () => {
    expect(parseArgs([])).toEqual({ target: 'all', refresh: false, quiet: false });
    expect(parseArgs(['etcd', '--refresh', '--quiet'])).toEqual({ target: 'etcd', refresh: true, quiet: true });
    expect(parseArgs(['promtool'])).toEqual({ target: 'promtool', refresh: false, quiet: false });
    expect(() => parseArgs(['everything'])).toThrow(UsageError);
    expect(() => parseArgs(['etcd', 'apt'])).toThrow(UsageError);
  });
});

function hostPlatformForTest(): string {
  return `${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
}
