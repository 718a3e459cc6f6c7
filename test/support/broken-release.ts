// A release mirror of a test's own whose `to` release is broken on purpose:
// its etcd prints a line and exits 3 after a second (past the start
// confirmation, so an upgrade's gate has to notice), etcdctl and etcdutl are
// the real ones. `from` is the real release (a link into the bootstrapped
// mirror). With a release cache of its own, so the broken release is never
// served to another test.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { cacheDir } from '../../infra/config';

export interface BrokenMirror {
  /** file:// URL of the mirror (a spec's artifactSource, and the allowlist entry). */
  source: string;
  /** A release cache holding only the version list: point ETCDFLEET_CACHE_DIR at it for the stack. */
  cache: string;
}

export async function brokenReleaseMirror(dir: string, from: string, to: string): Promise<BrokenMirror> {
  const realCache = cacheDir();
  const mirror = path.join(dir, 'mirror');
  fs.mkdirSync(path.join(mirror, to), { recursive: true });
  fs.symlinkSync(path.join(realCache, `mirror/${from}`), path.join(mirror, from));
  const top = path.join(dir, `build/etcd-${to}-linux-amd64`);
  fs.mkdirSync(top, { recursive: true });
  fs.writeFileSync(path.join(top, 'etcd'), '#!/bin/sh\necho "this etcd release is broken on purpose" >&2\nsleep 1\nexit 3\n', {
    mode: 0o755,
  });
  // etcdctl and etcdutl from the real release's tarball (not its extracted copy, which only exists once another test fetched it).
  await tar.x({
    file: path.join(realCache, `mirror/${to}/etcd-${to}-linux-amd64.tar.gz`),
    cwd: path.join(dir, 'build'),
    filter: (p) => /\/etcd(ctl|utl)$/.test(p),
  });
  const tarball = path.join(mirror, `${to}/etcd-${to}-linux-amd64.tar.gz`);
  await tar.c({ gzip: true, file: tarball, cwd: path.join(dir, 'build') }, [`etcd-${to}-linux-amd64`]);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(tarball)).digest('hex');
  fs.writeFileSync(path.join(mirror, `${to}/SHA256SUMS`), `${sha}  etcd-${to}-linux-amd64.tar.gz\n`);
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  fs.copyFileSync(path.join(realCache, 'etcd-versions.json'), path.join(cache, 'etcd-versions.json'));
  return { source: `file://${mirror}`, cache };
}

/** Runs `fn` (e.g. startStack) with ETCDFLEET_CACHE_DIR set to `cache`, restoring it afterwards. */
export async function withCacheDir<T>(cache: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.ETCDFLEET_CACHE_DIR;
  process.env.ETCDFLEET_CACHE_DIR = cache;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.ETCDFLEET_CACHE_DIR;
    else process.env.ETCDFLEET_CACHE_DIR = saved;
  }
}
