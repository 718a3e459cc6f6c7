// Preparing a member's host tree: directories, config, certificates, scripts, manifest.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../../common/spec';
import { ClusterState, configClusterState, renderEtcdConfig, withClusterState } from '../../etcd/config';
import { ensureDir, writeFileIfChanged } from '../files';
import type { PrepareMemberHostInput, PrepareMemberHostResult } from '../provider';
import { findMember } from '../members';
import { Manifest, localMemberFiles, localMemberRoot, localMemberRuntime } from './layout';
import { ensureNewline, renderCertShowScript, renderEnv, renderEtcdctlScript } from './render';

export async function prepareMemberHost(hostsDir: string, input: PrepareMemberHostInput): Promise<PrepareMemberHostResult> {
  const { spec, member } = input;
  const m = findMember(spec, member);
  const root = localMemberRoot(hostsDir, spec.name, member);
  const rt = localMemberRuntime(hostsDir, spec.name, member);
  const files = localMemberFiles(hostsDir, spec, member);
  const changed: string[] = [];
  const rel = (p: string) => path.relative(root, p) || '.';
  const note = (p: string, did: boolean) => {
    if (did) changed.push(rel(p));
  };

  if (spec.tls.enabled && !input.pki) {
    throw ApplicationFailure.nonRetryable(`member ${member}: TLS is enabled but no certificates were given`, 'MissingPki');
  }

  note(root, await ensureDir(root, 0o755));
  for (const d of [files.confDir, rt.runDir, rt.logDir, rt.optDir, rt.binDir]) note(d, await ensureDir(d, 0o755));
  note(files.certsDir, await ensureDir(files.certsDir, 0o700));
  // etcd refuses (3.6) or warns about (3.5) a data dir that others can read.
  note(files.dataDir, await ensureDir(files.dataDir, 0o700));

  // Once a member's config says `existing` it never goes back to `new`:
  // a retried or replayed bootstrap step must not be able to re-bootstrap.
  const current = await fsp.readFile(files.configFile, 'utf8').catch(() => undefined);
  const clusterState: ClusterState = current && configClusterState(current) === 'existing' ? 'existing' : input.clusterState;

  const config = renderEtcdConfig({
    spec,
    member,
    initialCluster: input.initialCluster,
    clusterState,
    files,
    provider: 'local',
    hostRoot: root,
  });
  note(files.configFile, await writeFileIfChanged(files.configFile, config, 0o644));

  if (spec.tls.enabled && input.pki) {
    const { pki } = input;
    const pems: [string, string, number][] = [
      [files.caCert, pki.ca, 0o644],
      [files.serverCert, pki.server.cert, 0o644],
      [files.serverKey, pki.server.key, 0o600],
      [files.peerCert, pki.peer.cert, 0o644],
      [files.peerKey, pki.peer.key, 0o600],
      [files.clientCert, pki.admin.cert, 0o644],
      [files.clientKey, pki.admin.key, 0o600],
    ];
    for (const [file, pem, mode] of pems) note(file, await writeFileIfChanged(file, ensureNewline(pem), mode));
  }

  note(files.envFile, await writeFileIfChanged(files.envFile, renderEnv(spec, m, files), 0o644));
  note(files.etcdctlScript, await writeFileIfChanged(files.etcdctlScript, renderEtcdctlScript(spec, member, files, rt.etcdctl), 0o755));
  note(files.certShowScript, await writeFileIfChanged(files.certShowScript, renderCertShowScript(files), 0o755));

  const manifest: Manifest = { cluster: spec.name, member, files };
  note(rt.manifest, await writeFileIfChanged(rt.manifest, `${JSON.stringify(manifest, null, 2)}\n`, 0o644));

  return { changed, clusterState, root, files };
}

/** Rewrites initial-cluster-state (after bootstrap every member says `existing`). */
export async function setMemberClusterState(
  hostsDir: string,
  input: { spec: ClusterSpec; member: string; state: 'existing' },
): Promise<{ changed: boolean }> {
  const files = localMemberFiles(hostsDir, input.spec, input.member);
  const current = await fsp.readFile(files.configFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') {
      throw ApplicationFailure.nonRetryable(`${files.configFile} does not exist: prepare the member host first`, 'MemberHostNotPrepared');
    }
    throw e;
  });
  return { changed: await writeFileIfChanged(files.configFile, withClusterState(current, input.state), 0o644) };
}
