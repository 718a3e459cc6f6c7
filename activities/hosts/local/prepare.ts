// Preparing a member's host tree: directories, config, certificates, scripts, manifest.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../../common/spec';
import { ClusterState, configClusterState, withClusterState } from '../../etcd/config';
import { ensureDir, writeFileIfChanged } from '../files';
import type { PrepareMemberHostInput, PrepareMemberHostResult } from '../provider';
import { Manifest, localMemberFiles, localMemberRoot, localMemberRuntime } from './layout';
import { assertPki, memberHostFileSet } from '../render';

export async function prepareMemberHost(hostsDir: string, input: PrepareMemberHostInput): Promise<PrepareMemberHostResult> {
  const { spec, member } = input;
  const root = localMemberRoot(hostsDir, spec.name, member);
  const rt = localMemberRuntime(hostsDir, spec.name, member);
  const files = localMemberFiles(hostsDir, spec, member);
  const changed: string[] = [];
  const rel = (p: string) => path.relative(root, p) || '.';
  const note = (p: string, did: boolean) => {
    if (did) changed.push(rel(p));
  };

  assertPki(input);
  note(root, await ensureDir(root, 0o755));
  for (const d of [files.confDir, rt.runDir, rt.logDir, rt.optDir, rt.binDir]) note(d, await ensureDir(d, 0o755));
  note(files.certsDir, await ensureDir(files.certsDir, 0o700));
  // etcd refuses (3.6) or warns about (3.5) a data dir that others can read.
  note(files.dataDir, await ensureDir(files.dataDir, 0o700));

  // Once a member's config says `existing` it never goes back to `new`:
  // a retried or replayed bootstrap step must not be able to re-bootstrap.
  const current = await fsp.readFile(files.configFile, 'utf8').catch(() => undefined);
  const clusterState: ClusterState = current && configClusterState(current) === 'existing' ? 'existing' : input.clusterState;

  const content = memberHostFileSet(input, { files, etcdctl: rt.etcdctl, clusterState, provider: 'local', hostRoot: root });
  for (const f of content) note(f.path, await writeFileIfChanged(f.path, f.content, f.mode));

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
