// The `local` host provider: each member "host" is a directory tree under
// <hostsDir>/<cluster>/<member>/ laid out like the upstream taskserv puts
// etcd on a real machine, and a supervised etcd process bound to the
// member's loopback address. The process runs in its own session so it
// outlives the worker that started it, like a systemd unit would.
//
// Tree under the member root:
//   etc/etcd/{config.yaml,env,etcdctl.sh,cert-show.sh}     (confDir, per spec)
//   etc/ssl/etcd/{ca,etcd,etcd-key,peer,peer-key,admin,admin-key}.pem (certsDir)
//   var/lib/etcd/                                           (dataDir, 0700)
//   opt/etcd/vX.Y.Z/{etcd,etcdctl,etcdutl}
//   usr/local/bin/{etcd,etcdctl,etcdutl} -> ../../../opt/etcd/vX.Y.Z/...
//   run/etcd.pid  run/member.json  var/log/etcd.log
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ClusterSpec, MemberSpec } from '../../common/spec';
import type { PemPair } from '../pki/types';
import { MemberFiles, clusterTopology, initialCluster as initialClusterOf, memberFiles } from '../../common/topology';
import { ClusterState, configClusterState, renderEtcdConfig, withClusterState } from '../etcd/config';
import { atomicWrite, ensureDir, ensureSymlink, exists, rmdirIfEmpty, shQuote, writeFileIfChanged } from './files';
import { ProcInfo, findEtcdProcesses, isAlive, readProc, signal, sleep, waitGone } from './proc';

/** What one member's host gets from the cluster PKI (all PEM): never the CA key or other members' keys. */
export interface MemberHostPki {
  ca: string;
  server: PemPair;
  peer: PemPair;
  admin: PemPair;
}

export const BINARIES = ['etcd', 'etcdctl', 'etcdutl'] as const;
/** How long a started etcd must stay up before start reports success; later crashes are the health gates' to find. */
const START_CONFIRM_MS = 150;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const KILL_WAIT_MS = 5_000;

// ---------------------------------------------------------------- layout

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

function findMember(spec: ClusterSpec, member: string): MemberSpec {
  const m = spec.members.find((x) => x.name === member);
  if (!m) throw ApplicationFailure.nonRetryable(`member "${member}" is not in cluster "${spec.name}"`, 'UnknownMember');
  return m;
}

/** The member's files as real absolute paths on this machine (per-member path overrides honoured). */
export function localMemberFiles(hostsDir: string, spec: ClusterSpec, member: string): MemberFiles {
  const root = localMemberRoot(hostsDir, spec.name, member);
  const hostFiles = memberFiles(spec, findMember(spec, member));
  const out = {} as MemberFiles;
  for (const [k, v] of Object.entries(hostFiles)) out[k as keyof MemberFiles] = underRoot(root, v);
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
interface Manifest {
  cluster: string;
  member: string;
  files: MemberFiles;
}

async function readManifest(hostsDir: string, cluster: string, member: string): Promise<Manifest | undefined> {
  const rt = localMemberRuntime(hostsDir, cluster, member);
  try {
    return JSON.parse(await fsp.readFile(rt.manifest, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- prepare

export interface PrepareMemberHostInput {
  spec: ClusterSpec;
  member: string;
  /** Required when spec.tls.enabled. */
  pki?: MemberHostPki;
  initialCluster: string;
  clusterState: ClusterState;
}
export interface PrepareMemberHostResult {
  /** Paths (relative to the member root) that were created or rewritten. */
  changed: string[];
  /** The state written: `existing` sticks once set, even when `new` is asked for. */
  clusterState: ClusterState;
  root: string;
  files: MemberFiles;
}

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

function ensureNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

function renderEnv(spec: ClusterSpec, m: MemberSpec, files: MemberFiles): string {
  // This member first: etcdctl commands that talk to one endpoint hit the local one.
  const topo = clusterTopology(spec);
  const endpoints = [...topo.filter((t) => t.name === m.name), ...topo.filter((t) => t.name !== m.name)].map((t) => t.clientURL);
  const lines = [
    `# etcdctl settings for cluster ${spec.name}, written on member ${m.name}. Sourced by etcdctl.sh.`,
    `ETCDCTL_API=3`,
    `ETCDCTL_ENDPOINTS=${shQuote(endpoints.join(','))}`,
  ];
  if (spec.tls.enabled) {
    lines.push(`ETCDCTL_CACERT=${shQuote(files.caCert)}`, `ETCDCTL_CERT=${shQuote(files.clientCert)}`, `ETCDCTL_KEY=${shQuote(files.clientKey)}`);
  }
  return `${lines.join('\n')}\n`;
}

function renderEtcdctlScript(spec: ClusterSpec, member: string, files: MemberFiles, etcdctl: string): string {
  return `#!/bin/sh
# etcdctl for cluster ${spec.name} with the endpoints and admin certificate
# of member ${member}. Examples:
#   ${files.etcdctlScript} endpoint health
#   ${files.etcdctlScript} member list -w table
set -a
. ${shQuote(files.envFile)}
set +a
exec ${shQuote(etcdctl)} "$@"
`;
}

function renderCertShowScript(files: MemberFiles): string {
  const certs = [files.caCert, files.serverCert, files.peerCert, files.clientCert].map(shQuote).join(' ');
  return `#!/bin/sh
# Subject, subject alternative names and expiry of this member's certificates.
for f in ${certs}; do
  [ -f "$f" ] || continue
  echo "== $f"
  openssl x509 -in "$f" -noout -subject -enddate
  sans=$(openssl x509 -in "$f" -noout -ext subjectAltName 2>/dev/null | sed -n '2,$p' | sed 's/^ *//')
  echo "SANs=\${sans:-none}"
done
`;
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

// ---------------------------------------------------------------- binaries

export interface InstallBinariesInput {
  cluster: string;
  member: string;
  /** vX.Y.Z */
  version: string;
  /** Directory with the release's binaries (fetchRelease's binDir). */
  binDir: string;
}

/**
 * Copies a release into opt/etcd/<version>/ and points usr/local/bin at it.
 * Older versions stay, so a rollback is a symlink swap; the running process
 * keeps its binary until restarted.
 */
export async function installBinaries(hostsDir: string, input: InstallBinariesInput): Promise<{ changed: boolean; version: string }> {
  const version = input.version.startsWith('v') ? input.version : `v${input.version}`;
  const rt = localMemberRuntime(hostsDir, input.cluster, input.member);
  await ensureDir(rt.optDir, 0o755);
  await ensureDir(rt.binDir, 0o755);
  const dest = path.join(rt.optDir, version);
  const available = [];
  for (const b of BINARIES) if (await exists(path.join(input.binDir, b))) available.push(b);
  if (!available.includes('etcd') || !available.includes('etcdctl')) {
    throw ApplicationFailure.nonRetryable(`${input.binDir} has no etcd/etcdctl binaries`, 'MissingBinaries');
  }

  let changed = false;
  if (!(await sameBinaries(input.binDir, dest, available))) {
    // Copy into a temp dir and rename it into place: a crash mid-copy never
    // leaves a half-written version dir that looks complete.
    const tmp = path.join(rt.optDir, `.${version}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    await fsp.mkdir(tmp, { mode: 0o755 });
    try {
      for (const b of available) await linkOrCopy(path.join(input.binDir, b), path.join(tmp, b));
      await fsp.rm(dest, { recursive: true, force: true });
      await fsp.rename(tmp, dest);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
    changed = true;
  }
  for (const b of BINARIES) {
    const link = path.join(rt.binDir, b);
    if (available.includes(b)) {
      changed = (await ensureSymlink(path.relative(rt.binDir, path.join(dest, b)), link)) || changed;
    } else if (await exists(link)) {
      // e.g. a release without etcdutl: never leave a link to another version's tool.
      await fsp.rm(link, { force: true });
      changed = true;
    }
  }
  return { changed, version };
}

/**
 * A hard link to the verified, never-modified release cache when it is on the
 * same filesystem (an upgrade then swaps no 60 MB of binaries per member), else a copy.
 */
async function linkOrCopy(src: string, dest: string): Promise<void> {
  try {
    await fsp.link(src, dest);
  } catch (e) {
    if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    await fsp.copyFile(src, dest, fs.constants.COPYFILE_FICLONE);
    await fsp.chmod(dest, 0o755);
  }
}

async function sameBinaries(src: string, dest: string, names: string[]): Promise<boolean> {
  for (const b of names) {
    const [a, d] = await Promise.all([fsp.stat(path.join(src, b)).catch(() => undefined), fsp.stat(path.join(dest, b)).catch(() => undefined)]);
    if (!a || !d || a.size !== d.size) return false;
    if (a.ino === d.ino && a.dev === d.dev) continue;
    if (!(await fileSha256(path.join(src, b))).equals(await fileSha256(path.join(dest, b)))) return false;
  }
  return true;
}

async function fileSha256(file: string): Promise<Buffer> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest();
}

/** The version usr/local/bin/etcd points at, if any. */
export async function installedVersion(hostsDir: string, cluster: string, member: string): Promise<string | undefined> {
  const rt = localMemberRuntime(hostsDir, cluster, member);
  const target = await fsp.readlink(rt.etcd).catch(() => undefined);
  return target ? /\/(v\d+\.\d+\.\d+)\/etcd$/.exec(target)?.[1] : undefined;
}

// ---------------------------------------------------------------- process

export interface MemberRef {
  cluster: string;
  member: string;
}
export interface MemberProcessStatus {
  running: boolean;
  pid?: number;
  /** Version of the binary the process runs (from /proc/<pid>/exe), when recognisable. */
  version?: string;
  /** True when the running binary is not the one usr/local/bin/etcd points at (restart pending). */
  binaryOutdated?: boolean;
}

async function readPid(file: string): Promise<number | undefined> {
  const s = await fsp.readFile(file, 'utf8').catch(() => undefined);
  const n = s ? Number.parseInt(s.trim(), 10) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

async function memberProcesses(hostsDir: string, ref: MemberRef, fullScan = false): Promise<ProcInfo[]> {
  const rt = localMemberRuntime(hostsDir, ref.cluster, ref.member);
  const hint = fullScan ? undefined : await readPid(rt.pidFile);
  return findEtcdProcesses(rt.root, hint);
}

export async function memberProcessStatus(hostsDir: string, ref: MemberRef): Promise<MemberProcessStatus> {
  const [p] = await memberProcesses(hostsDir, ref);
  if (!p) return { running: false };
  const rt = localMemberRuntime(hostsDir, ref.cluster, ref.member);
  const exe = p.exe?.replace(/ \(deleted\)$/, '');
  const version = exe ? /\/(v\d+\.\d+\.\d+)\/etcd$/.exec(exe)?.[1] : undefined;
  const linked = await fsp.realpath(rt.etcd).catch(() => undefined);
  return { running: true, pid: p.pid, version, binaryOutdated: !!exe && !!linked && (exe !== linked || p.exe !== exe) };
}

/**
 * A per-member lock (O_EXCL file holding the holder's pid) so two attempts of
 * the same activity (a retry racing a slow predecessor) never start two etcds
 * on one data dir. A lock whose holder is dead is taken over.
 */
async function withMemberLock<T>(lockFile: string, fn: () => Promise<T>, waitMs = 15_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  const token = `${process.pid} ${crypto.randomBytes(6).toString('hex')}\n`;
  for (;;) {
    try {
      await fsp.writeFile(lockFile, token, { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number.parseInt((await fsp.readFile(lockFile, 'utf8').catch(() => '')).split(' ')[0], 10);
      if (!Number.isInteger(holder) || !(await isAlive(holder))) {
        await fsp.rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`member lock ${lockFile} is held by pid ${holder}`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    const cur = await fsp.readFile(lockFile, 'utf8').catch(() => '');
    if (cur === token) await fsp.rm(lockFile, { force: true });
  }
}

export interface StartMemberResult {
  pid: number;
  alreadyRunning: boolean;
}

export async function startMember(hostsDir: string, ref: MemberRef): Promise<StartMemberResult> {
  const rt = localMemberRuntime(hostsDir, ref.cluster, ref.member);
  const manifest = await readManifest(hostsDir, ref.cluster, ref.member);
  if (!manifest || !(await exists(manifest.files.configFile))) {
    throw ApplicationFailure.nonRetryable(`member ${ref.cluster}/${ref.member} has no config: prepare the member host first`, 'MemberHostNotPrepared');
  }
  if (!(await exists(rt.etcd))) {
    throw ApplicationFailure.nonRetryable(`member ${ref.cluster}/${ref.member} has no etcd binary: install binaries first`, 'MemberHostNotPrepared');
  }
  await ensureDir(rt.runDir, 0o755);
  return withMemberLock(rt.lockFile, async () => {
    const [running] = await memberProcesses(hostsDir, ref);
    if (running) {
      if ((await readPid(rt.pidFile)) !== running.pid) await atomicWrite(rt.pidFile, `${running.pid}\n`, 0o644);
      return { pid: running.pid, alreadyRunning: true };
    }
    await fsp.rm(rt.pidFile, { force: true });
    await ensureDir(rt.logDir, 0o755);

    const logFd = fs.openSync(rt.logFile, 'a', 0o644);
    const logStart = fs.fstatSync(logFd).size;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let pid: number | undefined;
    try {
      const child = spawn(rt.etcd, ['--config-file', manifest.files.configFile], {
        cwd: rt.root,
        // detached = setsid(): own session and process group, so neither the
        // worker's exit nor a signal to its group reaches etcd.
        detached: true,
        stdio: ['ignore', logFd, logFd],
        // A clean environment: etcd also reads ETCD_* variables, and
        // JOURNAL_STREAM would divert `default` log output to journald.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? rt.root },
      });
      child.on('exit', (code, sig) => (exited = { code, signal: sig }));
      child.on('error', (e) => (spawnError = e));
      child.unref();
      pid = child.pid;
    } finally {
      fs.closeSync(logFd);
    }
    if (pid === undefined) {
      await sleep(10);
      throw new Error(`could not start ${rt.etcd}: ${spawnError?.message ?? 'no pid'}`);
    }
    await atomicWrite(rt.pidFile, `${pid}\n`, 0o644);

    const until = Date.now() + START_CONFIRM_MS;
    while (Date.now() < until && !exited && (await isAlive(pid))) await sleep(25);
    if (exited || spawnError || !(await isAlive(pid))) {
      await fsp.rm(rt.pidFile, { force: true });
      const tail = await logTail(rt.logFile, logStart, 20);
      const how = exited ? (exited.signal ? `signal ${exited.signal}` : `exit code ${exited.code}`) : spawnError ? spawnError.message : 'exited';
      throw new Error(`etcd for member ${ref.cluster}/${ref.member} exited right after start (${how}); last log lines:\n${tail}`);
    }
    return { pid, alreadyRunning: false };
  });
}

async function logTail(file: string, from: number, lines: number): Promise<string> {
  const buf = await fsp.readFile(file).catch(() => Buffer.alloc(0));
  const text = buf.subarray(Math.min(from, buf.length)).toString('utf8');
  return text.split('\n').filter((l) => l.length > 0).slice(-lines).join('\n');
}

/** Last lines of a member's log file (for diagnostics in activity errors). */
export async function memberLogTail(hostsDir: string, ref: MemberRef, lines = 20): Promise<string> {
  return logTail(localMemberRuntime(hostsDir, ref.cluster, ref.member).logFile, 0, lines);
}

export interface StopMemberResult {
  /** False when nothing was running. */
  stopped: boolean;
  pids: number[];
  /** True when SIGKILL was needed. */
  killed: boolean;
}

export async function stopMember(hostsDir: string, input: MemberRef & { timeoutMs?: number }): Promise<StopMemberResult> {
  const rt = localMemberRuntime(hostsDir, input.cluster, input.member);
  const stop = async (): Promise<StopMemberResult> => {
    // A full scan, not just the pidfile: stray duplicates must go too.
    const procs = await memberProcesses(hostsDir, input, true);
    const pids = procs.map((p) => p.pid);
    let killed = false;
    if (pids.length > 0) {
      pids.forEach((p) => signal(p, 'SIGTERM'));
      if (!(await waitGone(pids, input.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS))) {
        for (const p of pids) {
          // Re-check identity right before SIGKILL: never kill a recycled pid.
          const info = await readProc(p);
          if (info && info.configFile && path.resolve(info.configFile).startsWith(`${rt.root}/`)) signal(p, 'SIGKILL');
        }
        killed = true;
        if (!(await waitGone(pids, KILL_WAIT_MS))) throw new Error(`etcd pids ${pids.join(',')} of ${input.cluster}/${input.member} survived SIGKILL`);
      }
    }
    await fsp.rm(rt.pidFile, { force: true });
    return { stopped: pids.length > 0, pids, killed };
  };
  if (!(await exists(rt.runDir))) return stop();
  return withMemberLock(rt.lockFile, stop, (input.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS) + KILL_WAIT_MS + 5_000);
}

// ---------------------------------------------------------------- removal

export interface RemoveMemberHostInput extends MemberRef {
  /** Remove the whole member root (data included) and the cluster dir when empty. */
  purge: boolean;
  /** Used for path overrides when the host manifest is gone. */
  spec?: ClusterSpec;
  /**
   * Without purge: rename the data dir to `<dataDir>.deleted-<stamp>` so a
   * later cluster with the same names starts empty instead of silently serving
   * this one's data under a new CA. Kept, never reused automatically.
   */
  setAsideStamp?: string;
}

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
    if (await exists(setAside)) throw ApplicationFailure.nonRetryable(`${setAside} already exists; refusing to overwrite kept data`, 'DataAsideExists');
    await fsp.rename(files.dataDir, setAside);
  }

  const targets = [
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
    rt.pidFile,
    rt.lockFile,
    rt.manifest,
    ...BINARIES.map((b) => path.join(rt.binDir, b)),
  ];
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
  for (const d of [files.confDir, files.certsDir, rt.binDir, path.join(rt.root, 'usr/local'), path.join(rt.root, 'usr'), path.join(rt.root, 'opt'), rt.runDir]) {
    if (d.startsWith(`${rt.root}/`) && (await rmdirIfEmpty(d))) removed.push(d);
  }
  return { removed, setAside };
}

// ---------------------------------------------------------------- convenience

/** initial-cluster for a spec (all members), as used at bootstrap. */
export function specInitialCluster(spec: ClusterSpec): string {
  return initialClusterOf(clusterTopology(spec));
}
