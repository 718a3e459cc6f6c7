// Helpers for the local-host integration test: specs on the test's own
// loopback range, a fake release mirror for fetchRelease edge cases, and
// discovery of the real etcd releases in the local mirror.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as tar from 'tar';
import { ClusterSpec, ClusterSpecInput, parseVersion } from '../../common/spec';
import { localMirrorDir } from '../../infra/config';

export function makeSpec(name: string, version: string, addresses: string[], over: Partial<ClusterSpecInput> = {}): ClusterSpec {
  return ClusterSpec.parse({
    name,
    version,
    members: addresses.map((address, i) => ({ name: `m${i + 1}`, address })),
    // Fast elections keep the test short; the values are still valid for etcd.
    tunables: {
      heartbeatInterval: 50,
      electionTimeout: 500,
      grpcKeepaliveInterval: '2h',
      grpcKeepaliveTimeout: '20s',
      autoCompactionMode: 'periodic',
      autoCompactionRetention: '1h',
      quotaBackendBytes: 256 * 1024 * 1024,
      snapshotCount: 10000,
      maxRequestBytes: 1572864,
      maxTxnOps: 128,
      enablePprof: false,
      strictReconfigCheck: true,
    },
    ...over,
  });
}

/** Versions available in the local mirror: v3.5.10 (when built) and the newest 3.6. */
export function mirrorVersions(mirror = localMirrorDir()): { mirror: string; v35?: string; v36?: string } {
  const ok = (v: string) =>
    fs.existsSync(path.join(mirror, v, 'SHA256SUMS')) && fs.existsSync(path.join(mirror, v, `etcd-${v}-linux-amd64.tar.gz`));
  const all = fs.existsSync(mirror) ? fs.readdirSync(mirror).filter((v) => parseVersion(v) && ok(v)) : [];
  const newest = (minor: number) =>
    all
      .filter((v) => parseVersion(v)!.minor === minor)
      .sort((a, b) => parseVersion(a)!.patch - parseVersion(b)!.patch)
      .at(-1);
  return { mirror, v35: all.includes('v3.5.10') ? 'v3.5.10' : undefined, v36: newest(6) };
}

/** A mirror with one fake release (shell scripts instead of binaries). */
export async function fakeMirror(
  dir: string,
  version: string,
  opts: { corruptSums?: boolean; omitLine?: boolean } = {},
): Promise<{ sha256: string }> {
  const top = `etcd-${version}-linux-amd64`;
  const stage = path.join(dir, '.stage', top);
  await fsp.mkdir(stage, { recursive: true });
  for (const b of ['etcd', 'etcdctl', 'etcdutl']) {
    await fsp.writeFile(path.join(stage, b), `#!/bin/sh\necho fake ${b} ${version}\n`, { mode: 0o755 });
  }
  await fsp.writeFile(path.join(stage, 'README.md'), 'fake release\n');
  const vdir = path.join(dir, version);
  await fsp.mkdir(vdir, { recursive: true });
  const tarball = path.join(vdir, `${top}.tar.gz`);
  await tar.c({ gzip: true, file: tarball, cwd: path.join(dir, '.stage') }, [top]);
  const sha256 = crypto
    .createHash('sha256')
    .update(await fsp.readFile(tarball))
    .digest('hex');
  const lines = [`${'0'.repeat(64)}  etcd-${version}-darwin-amd64.zip`];
  if (!opts.omitLine) lines.push(`${opts.corruptSums ? 'f'.repeat(64) : sha256}  ${top}.tar.gz`);
  await fsp.writeFile(path.join(vdir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
  await fsp.rm(path.join(dir, '.stage'), { recursive: true, force: true });
  return { sha256 };
}

/** Serves a directory over http on a loopback address of the test's range. */
export async function serveDir(dir: string, host: string): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const p = path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!p.startsWith(dir) || !fs.existsSync(p) || fs.statSync(p).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    fs.createReadStream(p).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
