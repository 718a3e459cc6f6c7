// Provision a new cluster: the runbook, one idempotent activity per step.
import { getExternalWorkflowHandle, patched, workflowInfo } from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import type { ClusterHealthView } from '../common/operations';
import { clusterTopology, initialCluster, type MemberFiles } from '../common/topology';
import type { ClusterPki } from '../activities/pki';
import { Progress, settled } from './progress';
import { pkiIssuedSignal } from './definitions';
import { call, certificates, fetchReleaseStep, healthGate, hostStep, step } from './activities';
import { setSearchAttributes } from './search-attributes';

export interface ProvisionInput {
  spec: ClusterSpec;
  /** Certificates kept from an earlier attempt, reused so clients keep trusting the CA. */
  pki?: ClusterPki;
}
export interface ProvisionResult {
  pki: ClusterPki;
  health: ClusterHealthView;
  files: Record<string, MemberFiles>;
}

export const PROVISION_STEPS = [
  'Validate hosts',
  'Fetch etcd release',
  'Issue certificates',
  'Prepare hosts',
  'Start members',
  'Wait for quorum and health',
  'Verify write and read',
  'Mark cluster existing',
] as const;

/** With STAGE_ON_PROVISION_PATCH: the release is copied to the hosts while the certificates are issued. */
export const PROVISION_STEPS_STAGED = [...PROVISION_STEPS.slice(0, 3), 'Stage release', ...PROVISION_STEPS.slice(3)] as const;

/**
 * Histories recorded before it ran host validation, the release fetch and certificate issuance
 * one after the other, started all members at once, and ran the health gate, the write check and the marking of
 * members existing as activities of their own. With it, the first three run at once, one activity
 * starts the member whose peer URL sorts first before the others, and one does the last three.
 */
export const FAST_PROVISION_PATCH = 'provision-fast-path';

/**
 * Histories recorded before it prepared the hosts with the release and the member files in one step. With it
 * (and the fast path), once the hosts are validated and the release fetched, "Stage release" copies and
 * verifies the release on every host (providers that stage: ssh) while the certificates are still being
 * issued; "Prepare hosts" then links it and writes the member files.
 */
export const STAGE_ON_PROVISION_PATCH = 'provision-stage-release';

export async function provisionCluster({ spec, pki: existing }: ProvisionInput): Promise<ProvisionResult> {
  setSearchAttributes({ cluster: spec.name, operation: 'provision', phase: 'Provisioning', version: spec.version });
  const n = spec.members.length;
  const members = clusterTopology(spec);
  const concurrent = patched(FAST_PROVISION_PATCH);
  // The local provider installs the release with the member files: nothing to stage, no step for it.
  const staging = concurrent && spec.provider !== 'local' && patched(STAGE_ON_PROVISION_PATCH);
  const progress = new Progress(`Provision ${spec.name}: ${n} × etcd ${spec.version}`, staging ? PROVISION_STEPS_STAGED : PROVISION_STEPS);

  const validate = () => step(progress, 'Validate hosts', hostStep.preflight, `check ${n} member addresses and ports are free`, { spec });
  const fetch = () => fetchReleaseStep(progress, spec);
  const issue = () =>
    step(
      progress,
      'Issue certificates',
      certificates.issueCertificates,
      `CA, ${n} server + ${n} peer certificates, admin client (${spec.tls.leafKey.algorithm})`,
      { spec, existing },
      () => (existing ? 'reused existing CA' : 'new CA'),
    );
  const parent = workflowInfo().parent;
  const reportPki = async (issued: ClusterPki) => {
    if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(pkiIssuedSignal, issued);
  };

  let release: Awaited<ReturnType<typeof fetch>>;
  let pki: ClusterPki;
  let staged: boolean[] = [];
  if (concurrent) {
    const issuing = issue();
    // Certificates issued alongside a failed check are still reported (a retry reuses their CA).
    const reported = issuing.then(reportPki, () => undefined);
    const validated = validate();
    const fetched = fetch();
    // Only to hosts that passed the check, while the certificates are still being issued.
    const copied = staging
      ? Promise.all([validated, fetched]).then(([, r]) => stageRelease(progress, spec, r.binDir))
      : Promise.resolve([]);
    [, release, pki, , staged] = await settled([validated, fetched, issuing, reported, copied] as const);
  } else {
    await validate();
    release = await fetch();
    pki = await issue();
    await reportPki(pki);
  }

  const initial = initialCluster(members);
  const prepared = await progress.step('Prepare hosts', () =>
    Promise.all(
      spec.members.map((m, i) =>
        call(hostStep.prepareMember, `${m.name}: install etcd ${spec.version}, write config and certificates`, {
          spec,
          member: m.name,
          pki: memberPki(pki, m.name),
          initialCluster: initial,
          clusterState: 'new',
          binDir: release.binDir,
          ...(staged[i] && { staged: true as const }),
        }),
      ),
    ),
  );

  await progress.step('Start members', async () => {
    if (concurrent && members.length > 1) {
      // The member whose peer URL sorts first starts alone until it serves its peer port: every other
      // member asks it first in etcd's bootstrap check and is answered at once, instead of waiting out
      // the check's 1 s timeout on a peer that is itself still bootstrapping. One activity: no
      // workflow task between the first start and the others.
      const first = [...members].sort((a, b) => (a.peerURL < b.peerURL ? -1 : a.peerURL > b.peerURL ? 1 : 0))[0];
      const summary = `start ${first.name} (${first.clientURL}) until it serves peers, then ${n - 1} more`;
      return call(hostStep.startNewMembers, summary, { spec, first: first.name, awaitPeerMs: FIRST_PEER_WAIT_MS });
    }
    return Promise.all(
      members.map((m) => call(hostStep.startMember, `start ${m.name} (${m.clientURL})`, { cluster: spec.name, member: m.name, spec })),
    );
  });

  const markerKey = `/etcdfleet/provisioned/${workflowInfo().workflowId}`;
  // From now on a member with a wiped data dir can never bootstrap a second cluster.
  const mark = () =>
    progress.step('Mark cluster existing', () =>
      Promise.all(
        spec.members.map((m) => call(hostStep.markMemberExisting, `${m.name}: initial-cluster-state existing`, { spec, member: m.name })),
      ),
    );
  let health: ClusterHealthView;
  if (concurrent) {
    // One activity for the three last steps: no workflow task between them. Every member has
    // bootstrapped once all are healthy, so the marking follows the write check at once.
    const done = await step(
      progress,
      'Wait for quorum and health',
      healthGate.confirmBootstrap,
      `all ${n} members healthy, one leader, no alarms; put and get ${markerKey}; initial-cluster-state existing`,
      { spec, pollMs: HEALTH_POLL_MS, markerKey },
      (r) => `leader ${r.health.leader}`,
    );
    await progress.step(
      'Verify write and read',
      async () => done,
      () => `put and get ${done.key} (with the health gate)`,
    );
    await progress.step(
      'Mark cluster existing',
      async () => done,
      () => `${done.marked} members (with the health gate)`,
    );
    health = done.health;
  } else {
    health = await waitHealthyAndVerify(progress, spec, markerKey);
    await mark();
  }

  progress.succeed();
  const files = Object.fromEntries(spec.members.map((m, i) => [m.name, prepared[i].files]));
  return { pki, health, files };
}

/**
 * Copies and verifies the release on each member's host, links untouched; per member, whether its provider
 * staged it. A host step (30 s per attempt), as the prepare that copied the release before: a worker killed
 * mid-copy is noticed as soon.
 */
async function stageRelease(progress: Progress, spec: ClusterSpec, binDir: string): Promise<boolean[]> {
  const copies = await progress.step(
    'Stage release',
    () =>
      Promise.all(
        spec.members.map((m) =>
          call(hostStep.stageRelease, `${m.name}: copy and verify etcd ${spec.version}`, {
            cluster: spec.name,
            member: m.name,
            version: spec.version,
            binDir,
            spec,
          }),
        ),
      ),
    (r) =>
      r.some((x) => x.staged)
        ? `${r.filter((x) => x.changed).length} of ${r.length} hosts copied`
        : 'not needed: the provider installs with the member files',
  );
  return copies.map((c) => c.staged);
}

/** Only what one member's host needs: never other members' keys or the CA key. */
export function memberPki(pki: ClusterPki, member: string) {
  const m = pki.members[member];
  return { ca: pki.ca.cert, server: m.server, peer: m.peer, admin: pki.admin };
}

/** How long the first member may take to serve its peer port before the others start anyway. */
const FIRST_PEER_WAIT_MS = 3_000;

/** How long one attempt of provisioning's last gate keeps polling health (every 100 ms) before the retry policy's back-off. */
const HEALTH_POLL_MS = 5_000;

/** The last steps once every member runs: quorum and health, then a marker key written and read back. */
export async function waitHealthyAndVerify(progress: Progress, spec: ClusterSpec, markerKey: string): Promise<ClusterHealthView> {
  const n = spec.members.length;
  const health = await step(
    progress,
    'Wait for quorum and health',
    healthGate.checkHealthy,
    `all ${n} members healthy, one leader, no alarms`,
    { spec, expectMembers: n },
    (h) => `leader ${h.leader}`,
  );
  await step(progress, 'Verify write and read', hostStep.verifyWriteRead, `put and get ${markerKey}`, { spec, key: markerKey });
  return health;
}
