// The local provider's HostProvider: binds the layout, prepare, binaries,
// process and remove modules to one <hostsDir>, and maps host paths under
// each member's root for file operations and host commands.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../../common/spec';
import { clusterTopology } from '../../../common/topology';
import { ensureDir, exists, writeFileIfChanged } from '../files';
import { hostFiles } from '../members';
import type { ExecArg, ExecResult, HostCommand, HostProvider, MemberAt, MemberRef, SavedSnapshot } from '../provider';
import { installBinaries } from './binaries';
import { localClusterDir, localMemberRoot, localMemberRuntime, underRoot } from './layout';
import { prepareMemberHost, setMemberClusterState } from './prepare';
import { memberLogTail, memberProcessStatus, startMember, stopMember } from './process';
import { removeMemberHost } from './remove';

const run = promisify(execFile);

export class LocalHostProvider implements HostProvider {
  readonly kind = 'local' as const;

  constructor(readonly hostsDir: string) {}

  /** Where a host path of the member lies on this machine. */
  private at(at: MemberAt, hostPath: string): string {
    return underRoot(localMemberRoot(this.hostsDir, at.spec.name, at.member), hostPath);
  }

  prepare: HostProvider['prepare'] = (input) => prepareMemberHost(this.hostsDir, input);
  setClusterState: HostProvider['setClusterState'] = (at, state) => setMemberClusterState(this.hostsDir, { ...at, state });
  installBinaries: HostProvider['installBinaries'] = (input) => installBinaries(this.hostsDir, input);
  start: HostProvider['start'] = (ref) => startMember(this.hostsDir, ref);
  stop: HostProvider['stop'] = (ref) => stopMember(this.hostsDir, ref);
  status: HostProvider['status'] = (ref) => memberProcessStatus(this.hostsDir, ref);
  logTail: HostProvider['logTail'] = (ref, lines) => memberLogTail(this.hostsDir, ref, lines);
  remove: HostProvider['remove'] = (input) => removeMemberHost(this.hostsDir, input);

  async restart(ref: MemberRef) {
    await this.stop(ref);
    return this.start(ref);
  }

  async exec(at: MemberAt, cmd: HostCommand, args: ExecArg[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const bin = path.join(localMemberRuntime(this.hostsDir, at.spec.name, at.member).binDir, cmd);
    if (!(await exists(bin))) {
      throw ApplicationFailure.nonRetryable(`member ${at.spec.name}/${at.member} has no ${cmd} installed`, 'MissingBinaries');
    }
    const argv = args.map((a) => (typeof a === 'string' ? a : this.at(at, a.hostPath)));
    return run(bin, argv, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' },
      timeout: opts.timeoutMs ?? 600_000,
      maxBuffer: 16 << 20,
    });
  }

  async putFile(at: MemberAt, localFile: string, hostPath: string, mode: number): Promise<void> {
    const dest = this.at(at, hostPath);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.copyFile(localFile, dest, fs.constants.COPYFILE_FICLONE);
    await fsp.chmod(dest, mode);
  }

  async readFile(at: MemberAt, hostPath: string): Promise<Buffer | undefined> {
    return fsp.readFile(this.at(at, hostPath)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
  }

  async writeFile(at: MemberAt, hostPath: string, content: string | Buffer, mode: number): Promise<boolean> {
    const file = this.at(at, hostPath);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    return writeFileIfChanged(file, content, mode);
  }

  exists(at: MemberAt, hostPath: string): Promise<boolean> {
    return exists(this.at(at, hostPath));
  }

  async list(at: MemberAt, hostPath: string): Promise<string[] | undefined> {
    return fsp.readdir(this.at(at, hostPath)).catch(() => undefined);
  }

  async move(at: MemberAt, from: string, to: string): Promise<void> {
    const dest = this.at(at, to);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.rename(this.at(at, from), dest);
  }

  async removePath(at: MemberAt, hostPath: string): Promise<void> {
    await fsp.rm(this.at(at, hostPath), { recursive: true, force: true });
  }

  async makeDir(at: MemberAt, hostPath: string, mode: number): Promise<void> {
    await ensureDir(this.at(at, hostPath), mode);
  }

  /** Into <hostsDir>/<cluster>/_snapshots/<name>.db; an existing complete snapshot of that name is kept (a retry after a crash). */
  async saveSnapshot(spec: ClusterSpec, name: string): Promise<SavedSnapshot> {
    const dir = path.join(localClusterDir(this.hostsDir, spec.name), '_snapshots');
    const file = path.join(dir, `${name}.db`);
    const have = await fsp.stat(file).catch(() => undefined);
    if (have && have.size > 0) return { file, bytes: have.size, member: 'existing' };
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const errors: string[] = [];
    for (const t of clusterTopology(spec)) {
      const at = { spec, member: t.name };
      if (!(await exists(localMemberRuntime(this.hostsDir, spec.name, t.name).etcdctl))) continue;
      const f = hostFiles(spec, t.name);
      const tls: ExecArg[] = spec.tls.enabled
        ? ['--cacert', { hostPath: f.caCert }, '--cert', { hostPath: f.clientCert }, '--key', { hostPath: f.clientKey }]
        : [];
      try {
        // The file lies outside every member root: a path on this machine, passed as it is.
        await this.exec(at, 'etcdctl', [`--endpoints=${t.clientURL}`, ...tls, '--command-timeout=60s', 'snapshot', 'save', file], {
          timeoutMs: 120_000,
        });
        return { file, bytes: (await fsp.stat(file)).size, member: t.name };
      } catch (e) {
        errors.push(`${t.name}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n').slice(-1)[0]}`);
      }
    }
    throw new Error(`no member could take a snapshot: ${errors.join('; ')}`);
  }

  /** The cluster's whole directory on this machine (member roots, set-aside data, snapshots). */
  async purgeCluster(cluster: string): Promise<{ removed: boolean }> {
    const dir = localClusterDir(this.hostsDir, cluster);
    const existed = await exists(dir);
    await fsp.rm(dir, { recursive: true, force: true });
    return { removed: existed };
  }
}
