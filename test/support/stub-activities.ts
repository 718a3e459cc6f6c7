// Stub activities for the workflow tests and the replay recordings: what each
// real activity returns, shaped enough for the workflows, with a call log and
// per-activity overrides (a failure, a gate that holds the step).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterPki } from '../../activities/pki';
import type { ClusterSpec } from '../../common/spec';
import type { ClusterHealthView } from '../../common/operations';
import { watchReadings } from '../../activities/etcd/gates';
import { clusterTopology, initialCluster } from '../../common/topology';

export interface StubCall {
  name: string;
  input: any;
}

function pkiFor(spec: ClusterSpec, n: number): ClusterPki {
  const keyed = (what: string) => ({ cert: `CERT ${what} ${spec.name} #${n}`, keyId: `key-${what}-${spec.name}-${n}` });
  return {
    ca: keyed('ca'),
    admin: keyed('admin'),
    members: Object.fromEntries(spec.members.map((m) => [m.name, { server: keyed(`${m.name}-server`), peer: keyed(`${m.name}-peer`) }])),
  };
}

/** The stub `clusterHealth` reading: every member healthy, the first the leader. */
export function stubHealth(spec: ClusterSpec) {
  return {
    healthy: true,
    leader: spec.members[0].name,
    alarms: [],
    members: spec.members.map((m) => ({ name: m.name, healthy: true, version: spec.version })),
    checkedAt: new Date().toISOString(),
  };
}

/** The test worker's machine queue (workflow-env.ts polls it): what the stub `workerMachine` answers. */
export const stubMachineQueue = (taskQueue: string) => `${taskQueue.replace(/@.*$/, '')}@stub`;

export function stubActivities() {
  const calls: StubCall[] = [];
  /** Replaces an activity's behaviour (for the next calls) by name. */
  const overrides: Record<string, (input: any) => Promise<unknown>> = {};
  /** Certificates issued per cluster: the n-th CA of cluster c is `CERT ca c #n`. */
  const issued = new Map<string, number>();
  const next = (cluster: string) => issued.set(cluster, (issued.get(cluster) ?? 0) + 1).get(cluster)!;
  let revision = 0;
  const defaults: Record<string, (input: any) => Promise<unknown>> = {
    preflight: async () => ({}),
    // The test worker polls `<queue>@stub` too (workflow-env.ts).
    workerMachine: async () => ({ machine: 'stub', taskQueue: stubMachineQueue(Context.current().info.taskQueue) }),
    fetchRelease: async ({ version }) => ({ version, sha256: 'ab'.repeat(32), binDir: `/stub/etcd-${version}` }),
    // Reuses the CA it is given; leaves for members that have none yet.
    issueCertificates: async ({ spec, existing }) =>
      existing ? { ...existing, members: { ...pkiFor(spec, 0).members, ...existing.members } } : pkiFor(spec, next(spec.name)),
    prepareMember: async ({ member }) => ({ changed: [], files: { config: `/stub/${member}/etcd.yaml` } }),
    // As a provider that stages (ssh): copied to each host.
    stageRelease: async ({ version }) => ({ changed: true, version, staged: true }),
    startMember: async () => ({ pid: 4242, alreadyRunning: false }),
    startNewMembers: async ({ spec }) => ({
      started: Object.fromEntries(spec.members.map((m: { name: string }) => [m.name, { pid: 4242, alreadyRunning: false }])),
      firstServing: true,
    }),
    restartMember: async () => ({ pid: 4243 }),
    checkHealthy: async ({ spec }) => stubHealth(spec),
    confirmBootstrap: async ({ spec, markerKey }) => ({ health: stubHealth(spec), key: markerKey, marked: spec.members.length }),
    clusterHealth: async ({ spec }) => stubHealth(spec),
    // The real loop (activities/etcd/gates.ts) around readings that are `clusterHealth` calls (logged, overridable).
    watchHealth: async (input) =>
      watchReadings(input, async () => {
        calls.push({ name: 'clusterHealth', input });
        return (await (overrides.clusterHealth ?? defaults.clusterHealth)(input)) as ClusterHealthView;
      }),
    verifyWriteRead: async () => ({}),
    markMemberExisting: async () => ({}),
    stopMember: async () => ({ stopped: true, pids: [], killed: false }),
    removeMemberHost: async () => ({ removed: [], setAside: false }),
    purgeClusterDir: async () => ({ removed: false }),
    pruneClusterKeys: async () => ({ removed: 0 }),
    // membership
    checkSafeToDisrupt: async ({ spec }) => stubHealth(spec),
    ensureFreshDataDir: async () => ({}),
    addLearner: async ({ spec }) => ({
      id: '8e9e05c52164694d',
      alreadyMember: false,
      isLearner: true,
      initialCluster: initialCluster(clusterTopology(spec)),
    }),
    promoteLearner: async () => ({ promoted: true }),
    writeMemberList: async () => ({ changed: true }),
    // maintenance: each reading is ten revisions on
    currentRevision: async () => (revision += 10),
    compactKeyspace: async () => ({ compacted: true }),
    // rollouts
    availableEtcdVersions: async () => ['v3.5.10', 'v3.5.35', 'v3.6.16'],
    snapshotCluster: async ({ name }) => ({ file: `/stub/${name}.db`, bytes: 2048 }),
    transferLeadership: async () => ({ moved: false }),
    prepareRestart: async () => ({ moved: false }),
    memberGate: async ({ spec }) => stubHealth(spec),
    rollMember: async ({ spec, readVersions, version }) => ({
      passed: true,
      view: stubHealth(spec),
      ...(readVersions && {
        versions: spec.members.map((m: { name: string }) => ({
          member: m.name,
          etcdserver: version.replace(/^v/, ''),
          etcdcluster: `${version.replace(/^v(\d+\.\d+)\..*$/, '$1')}.0`,
        })),
      }),
    }),
    checkClusterVersion: async ({ spec, minor }) =>
      spec.members.map((m: { name: string }) => ({ member: m.name, etcdserver: `${minor}.0`, etcdcluster: `${minor}.0` })),
    signClientCertificate: async ({ ca, commonName }) => ({
      cert: `CLIENT CERT${commonName ? ` ${commonName}` : ''} signed with ${ca.keyId}`,
    }),
    etcdPutRole: async () => ({ created: true, granted: 1, revoked: 0 }),
    etcdDeleteRole: async () => ({ deleted: true }),
    etcdPutUser: async ({ user }) => ({ created: true, granted: user.roles, revoked: [] }),
    etcdDeleteUser: async () => ({ deleted: false }),
    etcdEnsureRoot: async () => ({ created: ['role root', 'user root', 'user etcdfleet-admin'] }),
    etcdSetAuth: async () => ({ changed: true }),
    etcdCheckServiceAccess: async () => ({ checked: ['member list (1)', 'read'] }),
    takeBackup: async ({ spec }) => ({
      id: 'b-1',
      cluster: spec.name,
      member: spec.members[0].name,
      createdAt: new Date().toISOString(),
      snapshotBytes: 1024,
      sha256: 'cd'.repeat(32),
      verified: { revision: 7, totalKey: 3 },
    }),
    // quorum-loss recovery: every member answers, the first is the most advanced
    assessMembers: async ({ spec }) =>
      spec.members.map((m: { name: string }, i: number) => ({
        name: m.name,
        running: true,
        hasData: true,
        answers: true,
        appliedIndex: 100 - i,
        revision: 50,
      })),
    snapshotMember: async ({ member, tag }) => ({ file: `/stub/${tag}.db`, member, revision: 50, totalKey: 9, bytes: 4096 }),
    stageBackup: async ({ tag }) => ({ manifest: { id: 'b-1' }, file: `/stub/${tag}.db`, revision: 7, totalKey: 3 }),
    removeStagedBackup: async () => undefined,
    restoreMemberData: async ({ member }) => ({ dataDir: `/stub/${member}/data`, alreadyRestored: false }),
    applyBackupRetention: async () => ({
      deleted: [],
      remaining: [{ id: 'b-1', createdAt: new Date().toISOString(), bytes: 1024 }],
      location: '/stub/backups',
    }),
  };
  const activities = Object.fromEntries(
    Object.keys(defaults).map((name) => [
      name,
      async (input: any) => {
        calls.push({ name, input });
        return (overrides[name] ?? defaults[name])(input);
      },
    ]),
  );
  /** Holds `activity` at its first call for `cluster` until the returned gate opens. */
  const hold = (cluster: string, activity: string): Gate => {
    const gate = new Gate();
    overrides[activity] = async (input) => {
      if (clusterOf(input) === cluster && !gate.entered) await gate.pass();
      return defaults[activity](input);
    };
    return gate;
  };
  /** Calls of `activity` for `cluster`, in order. */
  const callsFor = (cluster: string, activity: string) => calls.filter((c) => c.name === activity && clusterOf(c.input) === cluster);
  return { activities, calls, overrides, hold, callsFor };
}

const clusterOf = (input: any): string | undefined => input?.spec?.name ?? input?.cluster;

/** A promise the test resolves later: holds a stub activity mid-step. */
export class Gate {
  entered = false;
  private release!: () => void;
  private arrive!: () => void;
  readonly opened = new Promise<void>((r) => (this.release = r));
  /** Resolves when the held activity has been called. */
  readonly reached = new Promise<void>((r) => (this.arrive = r));
  async pass(): Promise<void> {
    this.entered = true;
    this.arrive();
    await this.opened;
  }
  open(): void {
    this.release();
  }
}

export const stubFailure = (message: string) => ApplicationFailure.nonRetryable(message, 'StubFailure');
