// The host provider seam: everything the activities do on a member's host
// goes through one HostProvider, chosen from the spec's `provider` by
// providerFor (activities/hosts/index.ts). Nothing outside activities/hosts/
// knows which implementation it talks to.
//
// Operations are per member. File operations take host paths: the paths the
// spec names (memberFiles in common/topology, e.g. /etc/etcd/config.yaml),
// which the local provider maps under its member root and an ssh provider
// uses as they are. Process control is start / stop / restart / status of
// the member's etcd service (local: a detached supervised process and a
// pidfile; ssh: the systemd unit etcd.service).
import type { ClusterSpec } from '../../common/spec';
import type { MemberFiles } from '../../common/topology';
import type { ClusterState } from '../etcd/config';
import type { PemPair } from '../pki/types';

export type ProviderKind = ClusterSpec['provider'];

/** What one member's host gets from the cluster PKI (all PEM): never the CA key or other members' keys. */
export interface MemberHostPki {
  ca: string;
  server: PemPair;
  peer: PemPair;
  admin: PemPair;
}

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

export interface InstallBinariesInput {
  cluster: string;
  member: string;
  /** vX.Y.Z */
  version: string;
  /** Directory with the release's binaries (fetchRelease's binDir). */
  binDir: string;
  /** The cluster's spec: the ssh provider finds the host there. */
  spec?: ClusterSpec;
}

export interface MemberRef {
  cluster: string;
  member: string;
  /** The cluster's spec: providers that reach other machines (ssh) find the host and its paths there; workflows always pass it. */
  spec?: ClusterSpec;
  /** start / restart: how long a started etcd must stay up before success (the provider's default when unset; 0 when a gate follows at once). */
  startConfirmMs?: number;
}
export interface MemberProcessStatus {
  running: boolean;
  pid?: number;
  /** Version of the binary the process runs (from /proc/<pid>/exe), when recognisable. */
  version?: string;
  /** True when the running binary is not the one usr/local/bin/etcd points at (restart pending). */
  binaryOutdated?: boolean;
}

export interface StartMemberResult {
  pid: number;
  alreadyRunning: boolean;
}

export interface StopMemberResult {
  /** False when nothing was running. */
  stopped: boolean;
  pids: number[];
  /** True when SIGKILL was needed. */
  killed: boolean;
}

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

/** A member of a cluster as the spec describes it: what every per-member file operation needs. */
export interface MemberAt {
  spec: ClusterSpec;
  member: string;
}

/** A binary installed on the member's host (the release version prepare installed). */
export type HostCommand = 'etcd' | 'etcdctl' | 'etcdutl';
/** An argument to a host command: literal, or a host path the provider maps to where the host sees it. */
export type ExecArg = string | { hostPath: string };

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface SavedSnapshot {
  /** Where the provider keeps it (removed with the cluster by purgeCluster). */
  file: string;
  bytes: number;
  /** The member it was taken from, or `existing` when a complete snapshot of that name was already there. */
  member: string;
}

export interface HostProvider {
  readonly kind: ProviderKind;

  /**
   * Checks every member's host before anything is installed (ssh: systemd,
   * architecture, sudo, ports, disk, clock); throws non-retryable with each
   * host and reason. Without it the activity checks the ports on this machine.
   */
  preflight?(spec: ClusterSpec): Promise<{ checked: number }>;

  /** Directories, config, certificates, env and scripts; writes only what differs. */
  prepare(input: PrepareMemberHostInput): Promise<PrepareMemberHostResult>;
  /** Rewrites initial-cluster-state (after bootstrap every member says `existing`). */
  setClusterState(at: MemberAt, state: 'existing'): Promise<{ changed: boolean }>;
  /** Installs a release's binaries; older versions stay for a rollback. */
  installBinaries(input: InstallBinariesInput): Promise<{ changed: boolean; version: string }>;
  /** installBinaries then prepare as one step (ssh: one copy, two round trips); without it the activity makes both calls. */
  prepareWithRelease?(
    input: PrepareMemberHostInput & { release: { version: string; binDir: string; staged?: boolean } },
  ): Promise<PrepareMemberHostResult & { binariesChanged: boolean }>;
  /** Copies and verifies a release on the member's host, links untouched (an upgrade's "Stage release"); optional. */
  stageRelease?(input: InstallBinariesInput): Promise<{ changed: boolean; version: string }>;

  start(ref: MemberRef): Promise<StartMemberResult>;
  stop(ref: MemberRef & { timeoutMs?: number }): Promise<StopMemberResult>;
  /** Stop then start: picks up a new config, certificates or binary. */
  restart(ref: MemberRef): Promise<StartMemberResult>;
  status(ref: MemberRef): Promise<MemberProcessStatus>;
  /** Last lines of the member's etcd log (for diagnostics in activity errors). */
  logTail(ref: MemberRef, lines?: number): Promise<string>;

  /** Runs an installed binary on the member's host; rejects with its stderr when it fails. */
  exec(at: MemberAt, cmd: HostCommand, args: ExecArg[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Copies a file from the worker to the member's host. */
  putFile(at: MemberAt, localFile: string, hostPath: string, mode: number): Promise<void>;
  /** undefined when the file does not exist. */
  readFile(at: MemberAt, hostPath: string): Promise<Buffer | undefined>;
  /** Several files at once (ssh: one round trip); without it each is read with readFile. */
  readFiles?(at: MemberAt, hostPaths: string[]): Promise<(Buffer | undefined)[]>;
  /** Atomic write (parent directories created), skipped when content and mode are already right. Returns whether anything changed. */
  writeFile(at: MemberAt, hostPath: string, content: string | Buffer, mode: number): Promise<boolean>;
  exists(at: MemberAt, hostPath: string): Promise<boolean>;
  /** Entries of a directory; undefined when it does not exist. */
  list(at: MemberAt, hostPath: string): Promise<string[] | undefined>;
  /** rename(2) on the host; creates the target's parent directory. */
  move(at: MemberAt, from: string, to: string): Promise<void>;
  /** Removes a file or a directory tree; missing is fine. */
  removePath(at: MemberAt, hostPath: string): Promise<void>;
  /** Creates a directory (and parents) with `mode`. */
  makeDir(at: MemberAt, hostPath: string, mode: number): Promise<void>;

  /** `etcdctl snapshot save` from the first member that answers, kept by the provider under `name`. */
  saveSnapshot(spec: ClusterSpec, name: string): Promise<SavedSnapshot>;
  /** Stops the member and removes its host files (see RemoveMemberHostInput). */
  remove(input: RemoveMemberHostInput): Promise<{ removed: string[]; setAside?: string }>;
  /** Whatever is left of the cluster on its hosts (set-aside data, snapshots). */
  purgeCluster(cluster: string, spec?: ClusterSpec): Promise<{ removed: boolean }>;
}
