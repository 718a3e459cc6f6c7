// Local provider layout: where a member's host lives under <hostsDir>, and
// how the spec's host paths map under its root.
//
// Tree under the member root:
//   etc/etcd/{config.yaml,env,etcdctl.sh,cert-show.sh}     (confDir, per spec)
//   etc/ssl/etcd/{ca,etcd,etcd-key,peer,peer-key,admin,admin-key}.pem (certsDir)
//   var/lib/etcd/                                           (dataDir, 0700)
//   opt/etcd/vX.Y.Z/{etcd,etcdctl,etcdutl}
//   usr/local/bin/{etcd,etcdctl,etcdutl} -> ../../../opt/etcd/vX.Y.Z/...
//   run/etcd.pid  run/member.json  var/log/etcd.log
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../../common/spec';
import type { MemberFiles } from '../../../common/topology';
import { hostFiles } from '../members';

function checkName(what: string, v: string): void {
  if (!v || v === '.' || v === '..' || v.includes('/') || v.includes('\0')) {
    throw ApplicationFailure.nonRetryable(`invalid ${what} name "${v}"`, 'InvalidName');
  }
}

/** A cluster's directory on this host: its member roots and its pre-upgrade snapshots. */
export function localClusterDir(hostsDir: string, cluster: string): string {
  checkName('cluster', cluster);
  return path.join(path.resolve(hostsDir), cluster);
}

export function localMemberRoot(hostsDir: string, cluster: string, member: string): string {
  checkName('member', member);
  return path.join(localClusterDir(hostsDir, cluster), member);
}

/** A host path (as the spec sees it) under the member root, refusing anything that escapes it. */
export function underRoot(root: string, hostPath: string): string {
  const p = path.resolve(root, `.${path.posix.normalize(`/${hostPath}`)}`);
  if (p !== root && !p.startsWith(`${root}/`)) {
    throw ApplicationFailure.nonRetryable(`path ${hostPath} escapes the member root ${root}`, 'InvalidPath');
  }
  return p;
}

/** The member's files as real absolute paths on this machine (per-member path overrides honoured). */
export function localMemberFiles(hostsDir: string, spec: ClusterSpec, member: string): MemberFiles {
  const root = localMemberRoot(hostsDir, spec.name, member);
  const out = {} as MemberFiles;
  for (const [k, v] of Object.entries(hostFiles(spec, member))) out[k as keyof MemberFiles] = underRoot(root, v);
  return out;
}

/** Paths the local provider owns that the spec does not describe. */
export function localMemberRuntime(hostsDir: string, cluster: string, member: string) {
  const root = localMemberRoot(hostsDir, cluster, member);
  return {
    root,
    binDir: path.join(root, 'usr/local/bin'),
    optDir: path.join(root, 'opt/etcd'),
    etcd: path.join(root, 'usr/local/bin/etcd'),
    etcdctl: path.join(root, 'usr/local/bin/etcdctl'),
    runDir: path.join(root, 'run'),
    pidFile: path.join(root, 'run/etcd.pid'),
    lockFile: path.join(root, 'run/etcd.lock'),
    manifest: path.join(root, 'run/member.json'),
    logDir: path.join(root, 'var/log'),
    logFile: path.join(root, 'var/log/etcd.log'),
  };
}

/** What prepareMemberHost recorded about the member, so later steps need no spec. */
export interface Manifest {
  cluster: string;
  member: string;
  files: MemberFiles;
}

export async function readManifest(hostsDir: string, cluster: string, member: string): Promise<Manifest | undefined> {
  const rt = localMemberRuntime(hostsDir, cluster, member);
  try {
    return JSON.parse(await fsp.readFile(rt.manifest, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}
