// The release cache: keyed by source and checksum, verified again before every
// use, and errors that never reveal local files. Plain files, no servers.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { fetchRelease } from '../../activities/artifacts';
import { fakeMirror } from '../support/local-host-fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-artifacts-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A mirror whose release of `version` has binaries saying `label`. */
async function labelledMirror(dir: string, version: string, label: string): Promise<string> {
  const top = `etcd-${version}-linux-amd64`;
  const stage = path.join(dir, '.stage', top);
  await fsp.mkdir(stage, { recursive: true });
  for (const b of ['etcd', 'etcdctl', 'etcdutl'])
    await fsp.writeFile(path.join(stage, b), `#!/bin/sh\necho ${label} ${b}\n`, { mode: 0o755 });
  await fsp.mkdir(path.join(dir, version), { recursive: true });
  const tarball = path.join(dir, version, `${top}.tar.gz`);
  await tar.c({ gzip: true, file: tarball, cwd: path.join(dir, '.stage') }, [top]);
  const sha = crypto
    .createHash('sha256')
    .update(await fsp.readFile(tarball))
    .digest('hex');
  await fsp.writeFile(path.join(dir, version, 'SHA256SUMS'), `${sha}  ${top}.tar.gz\n`);
  await fsp.rm(path.join(dir, '.stage'), { recursive: true, force: true });
  return `file://${dir}`;
}

const read = (dir: string, b = 'etcd') => fs.readFileSync(path.join(dir, b), 'utf8');

describe('release cache', () => {
  test('the github source is fetched from where the operator says upstream releases are', async () => {
    const cache = path.join(tmp, 'c-upstream');
    const mirror = await labelledMirror(path.join(tmp, 'upstream-mirror'), 'v3.5.912', 'mirrored');
    const r = await fetchRelease({ version: 'v3.5.912', source: 'github', cacheDir: cache, upstream: mirror });
    expect(read(r.binDir)).toContain('mirrored');
  });

  test('a release one source planted is never served for another source of the same version', async () => {
    const cache = path.join(tmp, 'c1');
    const foreign = await labelledMirror(path.join(tmp, 'foreign'), 'v3.5.911', 'planted');
    const upstream = await labelledMirror(path.join(tmp, 'upstream'), 'v3.5.911', 'genuine');
    const planted = await fetchRelease({ version: 'v3.5.911', source: foreign, cacheDir: cache });
    expect(read(planted.binDir)).toContain('planted');
    const genuine = await fetchRelease({ version: 'v3.5.911', source: upstream, cacheDir: cache });
    expect(genuine.binDir).not.toBe(planted.binDir);
    expect(read(genuine.binDir)).toContain('genuine');
  });

  test('a tampered binary in the cache is replaced by the verified one before use', async () => {
    const cache = path.join(tmp, 'c2');
    const source = await labelledMirror(path.join(tmp, 'm2'), 'v3.5.912', 'genuine');
    const first = await fetchRelease({ version: 'v3.5.912', source, cacheDir: cache });
    fs.rmSync(path.join(first.binDir, 'etcd'));
    fs.writeFileSync(path.join(first.binDir, 'etcd'), '#!/bin/sh\necho evil\n', { mode: 0o755 });
    const again = await fetchRelease({ version: 'v3.5.912', source, cacheDir: cache });
    expect(again).toEqual(first);
    expect(read(again.binDir)).toContain('genuine');
  });

  test('a tampered entry whose source is gone is refused, not served', async () => {
    const cache = path.join(tmp, 'c3');
    const dir = path.join(tmp, 'm3');
    const source = await labelledMirror(dir, 'v3.5.913', 'genuine');
    const first = await fetchRelease({ version: 'v3.5.913', source, cacheDir: cache });
    // Still served while intact, from its own verified tarball.
    fs.rmSync(dir, { recursive: true });
    await expect(fetchRelease({ version: 'v3.5.913', source, cacheDir: cache })).resolves.toEqual(first);
    fs.appendFileSync(path.join(first.binDir, 'etcdctl'), 'echo evil\n');
    const err = await fetchRelease({ version: 'v3.5.913', source, cacheDir: cache }).catch((e) => e);
    expect([err.type, err.nonRetryable]).toEqual(['ArtifactNotFound', true]);
  });

  test('a tarball swapped in the cache (binaries to match) is refused', async () => {
    const cache = path.join(tmp, 'c4');
    const source = await labelledMirror(path.join(tmp, 'm4'), 'v3.5.914', 'genuine');
    const first = await fetchRelease({ version: 'v3.5.914', source, cacheDir: cache });
    const evil = await labelledMirror(path.join(tmp, 'm4-evil'), 'v3.5.914', 'evil');
    fs.copyFileSync(
      path.join(evil.slice('file://'.length), 'v3.5.914/etcd-v3.5.914-linux-amd64.tar.gz'),
      path.join(first.binDir, 'release.tar.gz'),
    );
    for (const b of ['etcd', 'etcdctl', 'etcdutl']) fs.writeFileSync(path.join(first.binDir, b), `#!/bin/sh\necho evil ${b}\n`);
    const again = await fetchRelease({ version: 'v3.5.914', source, cacheDir: cache });
    expect(read(again.binDir)).toContain('genuine');
  });
});

describe('errors never reveal local files', () => {
  test('a file:// source says "not available" whether the path is missing, a directory or present', async () => {
    const base = path.join(tmp, 'probe');
    fs.mkdirSync(path.join(base, 'v3.5.921', 'SHA256SUMS'), { recursive: true }); // a directory where the file should be
    const messages: string[] = [];
    for (const version of ['v3.5.920', 'v3.5.921']) {
      const e = await fetchRelease({ version, source: `file://${base}`, cacheDir: path.join(tmp, 'c5') }).catch((x) => x);
      expect([e.type, e.nonRetryable]).toEqual(['ArtifactNotFound', true]);
      expect(e.message).not.toContain('SHA256SUMS');
      expect(e.message).not.toMatch(/exist|ENOENT|EISDIR/);
      messages.push(e.message.replace(version, 'V'));
    }
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toBe(`etcd V is not available from source file://${base}`);
  });

  test('a checksum mismatch names neither hash', async () => {
    const { sha256 } = await fakeMirror(path.join(tmp, 'm6'), 'v3.5.922', { corruptSums: true });
    const e = await fetchRelease({ version: 'v3.5.922', source: `file://${path.join(tmp, 'm6')}`, cacheDir: path.join(tmp, 'c6') }).catch(
      (x) => x,
    );
    expect(e.type).toBe('ChecksumMismatch');
    expect(JSON.stringify([e.message, e.details])).not.toMatch(new RegExp(`${sha256}|f{64}`));
  });

  test('an oversized SHA256SUMS (e.g. a symlink to a large file) is refused without reading it all', async () => {
    const dir = path.join(tmp, 'm7', 'v3.5.923');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'SHA256SUMS'), Buffer.alloc(2 * 1024 * 1024, 0x41));
    const e = await fetchRelease({ version: 'v3.5.923', source: `file://${path.join(tmp, 'm7')}`, cacheDir: path.join(tmp, 'c7') }).catch(
      (x) => x,
    );
    expect([e.type, e.nonRetryable]).toEqual(['BadReleaseArchive', true]);
  });
});
