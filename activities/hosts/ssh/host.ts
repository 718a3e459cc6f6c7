// The ssh provider's HostProvider: each member is a real machine (its
// `address`), reached with the OpenSSH client (transport.ts), laid out like the
// taskserv installs etcd (layout.ts), etcd running as the systemd unit
// etcd.service (service.ts). Host paths are used as they are.
import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import type { SshConfig } from '../../../infra/config';
import type { ClusterSpec } from '../../../common/spec';
import { clusterTopology } from '../../../common/topology';
import { withClusterState } from '../../etcd/config';
import { shQuote } from '../files';
import { findMember, hostFiles } from '../members';
import type {
  ExecArg,
  ExecResult,
  HostCommand,
  HostProvider,
  MemberAt,
  MemberRef,
  RemoveMemberHostInput,
  SavedSnapshot,
} from '../provider';
import { installSshBinaries, prepareSshHost, putContent, readHostFile, readHostFiles } from './install';
import { knownHostsFiles } from './known-hosts';
import { BIN_DIR, ETCD_USER, SNAPSHOT_ROOT } from './layout';
import { preflightSshHosts } from './preflight';
import { removeSshMember } from './remove';
import { restartService, serviceLogTail, serviceStatus, startService, stopService } from './service';
import { SshTransport } from './transport';

export class SshHostProvider implements HostProvider {
  readonly kind = 'ssh' as const;

  constructor(readonly cfg: SshConfig) {}

  /** The transport to a member's host (its address, the spec's ssh user and port). */
  transport(spec: ClusterSpec | undefined, member: string): SshTransport {
    if (!spec)
      throw ApplicationFailure.nonRetryable(`member ${member}: the ssh provider needs the cluster spec to find the host`, 'MissingSpec');
    if (!this.cfg.identity) {
      throw ApplicationFailure.nonRetryable('the ssh provider needs ETCDFLEET_SSH_IDENTITY (path of the private key)', 'SshNotConfigured');
    }
    const m = findMember(spec, member);
    return new SshTransport(
      { host: m.address, port: spec.ssh?.port ?? 22, user: spec.ssh?.user ?? 'root' },
      { identity: this.cfg.identity, knownHosts: knownHostsFiles(this.cfg, spec), controlDir: this.cfg.dir },
    );
  }

  private tx(at: MemberAt | MemberRef): SshTransport {
    return this.transport(at.spec, at.member);
  }

  /** Files in the member's data or certificate directories belong to the etcd user. */
  private ownerOf(at: MemberAt, hostPath: string): string {
    const f = hostFiles(at.spec, at.member);
    const under = (dir: string) => hostPath === dir || hostPath.startsWith(`${dir.replace(/\/+$/, '')}/`);
    return under(f.dataDir) || under(f.certsDir) ? ETCD_USER : 'root';
  }

  preflight = (spec: ClusterSpec) => preflightSshHosts(spec, (member) => this.transport(spec, member));
  prepare: HostProvider['prepare'] = (input) => prepareSshHost(this.tx(input), input, hostFiles(input.spec, input.member));

  async setClusterState(at: MemberAt, state: 'existing'): Promise<{ changed: boolean }> {
    const { configFile } = hostFiles(at.spec, at.member);
    const t = this.tx(at);
    const current = await readHostFile(t, configFile);
    if (!current) {
      throw ApplicationFailure.nonRetryable(
        `${t.target.host}: ${configFile} does not exist: prepare the member host first`,
        'MemberHostNotPrepared',
      );
    }
    return { changed: await putContent(t, configFile, withClusterState(current.toString('utf8'), state), 0o644, 'root') };
  }

  installBinaries: HostProvider['installBinaries'] = (input) =>
    installSshBinaries(this.transport(input.spec, input.member), input.version, input.binDir);
  /** Binaries, links and member files in one tar stream: two round trips for the whole step. */
  prepareWithRelease: NonNullable<HostProvider['prepareWithRelease']> = (input) =>
    prepareSshHost(this.tx(input), input, hostFiles(input.spec, input.member), input.release);
  stageRelease: NonNullable<HostProvider['stageRelease']> = (input) =>
    installSshBinaries(this.transport(input.spec, input.member), input.version, input.binDir, { link: false });
  start: HostProvider['start'] = (ref) => startService(this.tx(ref));
  stop: HostProvider['stop'] = (ref) => stopService(this.tx(ref), ref.timeoutMs);
  status: HostProvider['status'] = (ref) => serviceStatus(this.tx(ref));
  logTail: HostProvider['logTail'] = (ref, lines) => serviceLogTail(this.tx(ref), lines);

  /** Stop and start in one ssh call. */
  restart: HostProvider['restart'] = (ref) => restartService(this.tx(ref));

  async exec(at: MemberAt, cmd: HostCommand, args: ExecArg[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const t = this.tx(at);
    const argv = args.map((a) => shQuote(typeof a === 'string' ? a : a.hostPath)).join(' ');
    const r = await t.run(`[ -x ${BIN_DIR}/${cmd} ] || exit 127\nETCDCTL_API=3 exec ${BIN_DIR}/${cmd} ${argv}`, {
      timeoutMs: opts.timeoutMs ?? 600_000,
    });
    if (r.code === 127) {
      throw ApplicationFailure.nonRetryable(
        `member ${at.spec.name}/${at.member} (${t.target.host}) has no ${cmd} installed`,
        'MissingBinaries',
      );
    }
    const result = { stdout: r.stdout.toString('utf8'), stderr: r.stderr };
    if (r.code !== 0) throw Object.assign(new Error(`${t.target.host}: ${cmd} exited ${r.code}: ${r.stderr.trim()}`), result);
    return result;
  }

  async putFile(at: MemberAt, localFile: string, hostPath: string, mode: number): Promise<void> {
    await putContent(this.tx(at), hostPath, fs.createReadStream(localFile), mode, this.ownerOf(at, hostPath));
  }

  readFile(at: MemberAt, hostPath: string): Promise<Buffer | undefined> {
    return readHostFile(this.tx(at), hostPath);
  }

  readFiles(at: MemberAt, hostPaths: string[]): Promise<(Buffer | undefined)[]> {
    return readHostFiles(this.tx(at), hostPaths);
  }

  writeFile(at: MemberAt, hostPath: string, content: string | Buffer, mode: number): Promise<boolean> {
    return putContent(this.tx(at), hostPath, content, mode, this.ownerOf(at, hostPath));
  }

  async exists(at: MemberAt, hostPath: string): Promise<boolean> {
    const r = await this.tx(at).run(`[ -e ${shQuote(hostPath)} ] || [ -L ${shQuote(hostPath)} ]`, { timeoutMs: 30_000 });
    return r.code === 0;
  }

  async list(at: MemberAt, hostPath: string): Promise<string[] | undefined> {
    const r = await this.tx(at).run(`[ -d ${shQuote(hostPath)} ] || exit 44; ls -A1 ${shQuote(hostPath)}`, { timeoutMs: 30_000 });
    if (r.code === 44) return undefined;
    if (r.code !== 0) throw new Error(`listing ${hostPath} failed: ${r.stderr.trim()}`);
    return r.stdout.toString('utf8').split('\n').filter(Boolean);
  }

  /** rename(2); a data dir moved into place gets the etcd user as owner throughout. */
  async move(at: MemberAt, from: string, to: string): Promise<void> {
    const chown = this.ownerOf(at, to) === ETCD_USER ? `\nchown -R ${ETCD_USER}:${ETCD_USER} ${shQuote(to)}` : '';
    await this.tx(at).ok(`set -e\nmkdir -p "$(dirname ${shQuote(to)})"\nmv -T ${shQuote(from)} ${shQuote(to)}${chown}`, {
      what: `move ${from}`,
    });
  }

  async removePath(at: MemberAt, hostPath: string): Promise<void> {
    if (!hostPath.startsWith('/') || hostPath.replace(/\/+$/, '') === '') throw new Error(`refusing to remove ${hostPath}`);
    await this.tx(at).ok(`rm -rf ${shQuote(hostPath)}`, { what: `remove ${hostPath}` });
  }

  async makeDir(at: MemberAt, hostPath: string, mode: number): Promise<void> {
    const owner = this.ownerOf(at, hostPath);
    const m = mode.toString(8).padStart(3, '0');
    await this.tx(at).ok(
      `mkdir -p ${shQuote(hostPath)} && chmod ${m} ${shQuote(hostPath)} && chown ${owner}:${owner} ${shQuote(hostPath)}`,
      {
        what: `mkdir ${hostPath}`,
      },
    );
  }

  /** On the host of the first member that answers, under /var/lib/etcdfleet/snapshots/<cluster>/<name>.db. */
  async saveSnapshot(spec: ClusterSpec, name: string): Promise<SavedSnapshot> {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw ApplicationFailure.nonRetryable(`invalid snapshot name ${name}`, 'InvalidName');
    const dir = `${SNAPSHOT_ROOT}/${spec.name}`;
    const file = `${dir}/${name}.db`;
    const errors: string[] = [];
    for (const t of clusterTopology(spec)) {
      const f = hostFiles(spec, t.name);
      const tls = spec.tls.enabled ? ['--cacert', f.caCert, '--cert', f.clientCert, '--key', f.clientKey] : [];
      const args = [`--endpoints=${t.clientURL}`, ...tls, '--command-timeout=60s', 'snapshot', 'save', `${file}.part`]
        .map(shQuote)
        .join(' ');
      try {
        const out = await this.tx({ spec, member: t.name }).ok(
          `set -e\nf=${shQuote(file)}\nif [ -s "$f" ]; then echo "existing $(stat -c %s "$f")"; exit 0; fi\n` +
            `mkdir -p ${shQuote(dir)}; chmod 700 ${SNAPSHOT_ROOT} ${shQuote(dir)}\n` +
            `ETCDCTL_API=3 ${BIN_DIR}/etcdctl ${args} >&2\nmv "$f.part" "$f"\necho "saved $(stat -c %s "$f")"`,
          { timeoutMs: 120_000, what: 'etcdctl snapshot save' },
        );
        const [how, bytes] = out.trim().split(/\s+/);
        return { file, bytes: Number(bytes), member: how === 'existing' ? 'existing' : t.name };
      } catch (e) {
        errors.push(`${t.name}: ${(e as Error).message.split('\n').slice(-1)[0]}`);
      }
    }
    throw new Error(`no member could take a snapshot: ${errors.join('; ')}`);
  }

  remove: HostProvider['remove'] = (input: RemoveMemberHostInput) => {
    const t = this.tx(input);
    return removeSshMember(t, hostFiles(input.spec!, input.member), input, () => stopService(t));
  };

  /** Set-aside data dirs, restore leftovers and snapshots of the cluster on every member host. */
  async purgeCluster(cluster: string, spec?: ClusterSpec): Promise<{ removed: boolean }> {
    if (!spec) return { removed: false };
    let removed = false;
    for (const m of spec.members) {
      const d = shQuote(hostFiles(spec, m.name).dataDir.replace(/\/+$/, ''));
      const out = await this.tx({ spec, member: m.name }).ok(
        `for p in ${d}.deleted-* ${d}.removed-* ${d}.before-* ${d}.restoring-* ${d}.restored ${shQuote(`${SNAPSHOT_ROOT}/${cluster}`)}; do\n` +
          `  if [ -e "$p" ]; then rm -rf "$p"; echo "$p"; fi\ndone\nrmdir ${SNAPSHOT_ROOT} /var/lib/etcdfleet 2>/dev/null || true`,
        { what: 'purge the cluster leftovers' },
      );
      removed = removed || out.trim() !== '';
    }
    return { removed };
  }
}
