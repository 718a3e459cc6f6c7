// A member's host files as the spec names them, for any provider.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import { type MemberFiles, memberFiles } from '../../common/topology';

export function findMember(spec: ClusterSpec, member: string): MemberSpec {
  const m = spec.members.find((x) => x.name === member);
  if (!m) throw ApplicationFailure.nonRetryable(`member "${member}" is not in cluster "${spec.name}"`, 'UnknownMember');
  return m;
}

/** The member's files as host paths (per-member path overrides honoured): what HostProvider file operations take. */
export function hostFiles(spec: ClusterSpec, member: string): MemberFiles {
  return memberFiles(spec, findMember(spec, member));
}

/** The files a member's host holds for it (config, env, scripts, certificates, keys): what removing the member deletes. */
export function memberOwnFiles(files: MemberFiles): string[] {
  return [
    files.configFile,
    files.envFile,
    files.etcdctlScript,
    files.certShowScript,
    files.caCert,
    files.serverCert,
    files.serverKey,
    files.peerCert,
    files.peerKey,
    files.clientCert,
    files.clientKey,
  ];
}
