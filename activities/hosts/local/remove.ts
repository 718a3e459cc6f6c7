// Removing a member's host tree: everything (purge), or all but its data
// (optionally set aside) and logs.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec, MemberSpec } from '../../../common/spec';
import { MemberFiles, memberFiles } from '../../../common/topology';
import { exists, rmdirIfEmpty } from '../files';
import type { RemoveMemberHostInput } from '../provider';
import { memberOwnFiles } from '../members';
import { BINARIES } from './binaries';
import { localMemberRuntime, readManifest, underRoot } from './layout';
import { stopMember } from './process';

/** Where a deleted cluster's data dir is kept. */
export function deletedDataPath(dataDir: string, stamp: string): string {
  return `${dataDir.replace(/\/+$/, '')}.deleted-${stamp}`;
}

export async function removeMemberHost(hostsDir: string, input: RemoveMemberHostInput): Promise<{ removed: string[]; setAside?: string }> {
  const rt = localMemberRuntime(hostsDir, input.cluster, input.member);
  const removed: string[] = [];
  if (!(await exists(rt.root))) return { removed };
  await stopMember(hostsDir, input);

  if (input.purge) {
    await fsp.rm(rt.root, { recursive: true, force: true });
    removed.push(rt.root);
    const clusterDir = path.dirname(rt.root);
    if (await rmdirIfEmpty(clusterDir)) removed.push(clusterDir);
    return { removed };
  }

  const manifest = await readManifest(hostsDir, input.cluster, input.member);
  let files = manifest?.files;
  if (!files) {
    // No manifest (never prepared, or removed half-way): derive the paths
    // from the spec when given, else from the defaults.
    const paths = input.spec?.paths ?? { dataDir: '/var/lib/etcd', confDir: '/etc/etcd', certsDir: '/etc/ssl/etcd' };
    const m = input.spec?.members.find((x) => x.name === input.member) ?? ({ name: input.member, address: '127.0.0.1' } as MemberSpec);
    const host = memberFiles({ paths } as ClusterSpec, m);
    files = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, underRoot(rt.root, v)])) as unknown as MemberFiles;
  }
  let setAside: string | undefined;
  if (input.setAsideStamp && (await exists(files.dataDir))) {
    // A retry after the rename finds no data dir and moves nothing.
    setAside = deletedDataPath(files.dataDir, input.setAsideStamp);
    if (await exists(setAside))
      throw ApplicationFailure.nonRetryable(`${setAside} already exists; refusing to overwrite kept data`, 'DataAsideExists');
    await fsp.rename(files.dataDir, setAside);
  }

  const targets = [...memberOwnFiles(files), rt.pidFile, rt.lockFile, rt.manifest, ...BINARIES.map((b) => path.join(rt.binDir, b))];
  for (const t of targets) {
    if (await exists(t)) {
      await fsp.rm(t, { force: true });
      removed.push(t);
    }
  }
  if (await exists(rt.optDir)) {
    await fsp.rm(rt.optDir, { recursive: true, force: true });
    removed.push(rt.optDir);
  }
  // Empty directories left behind, deepest first; the data dir and logs stay.
  for (const d of [
    files.confDir,
    files.certsDir,
    rt.binDir,
    path.join(rt.root, 'usr/local'),
    path.join(rt.root, 'usr'),
    path.join(rt.root, 'opt'),
    rt.runDir,
  ]) {
    if (d.startsWith(`${rt.root}/`) && (await rmdirIfEmpty(d))) removed.push(d);
  }
  return { removed, setAside };
}
