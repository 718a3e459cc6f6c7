// Provision a new cluster: the runbook, one idempotent activity per step.
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import type { ClusterHealthView } from '../common/operations';
import { clusterTopology, initialCluster, type MemberFiles } from '../common/topology';
import type { ClusterPki } from '../activities/pki';
import { Progress } from './progress';
import { pkiIssuedSignal } from './definitions';
import { call, download, fetchReleaseStep, healthGate, hostStep, step } from './activities';
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

export async function provisionCluster({ spec, pki: existing }: ProvisionInput): Promise<ProvisionResult> {
  setSearchAttributes({ cluster: spec.name, operation: 'provision', phase: 'Provisioning', version: spec.version });
  const n = spec.members.length;
  const members = clusterTopology(spec);
  const progress = new Progress(`Provision ${spec.name}: ${n} × etcd ${spec.version}`, PROVISION_STEPS);

  await step(progress, 'Validate hosts', hostStep.preflight, `check ${n} member addresses and ports are free`, { spec });

  const release = await fetchReleaseStep(progress, spec);

  const pki = await step(
    progress,
    'Issue certificates',
    download.issueCertificates,
    `CA, ${n} server + ${n} peer certificates, admin client (${spec.tls.leafKey.algorithm})`,
    { spec, existing },
    () => (existing ? 'reused existing CA' : 'new CA'),
  );
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(pkiIssuedSignal, pki);

  const initial = initialCluster(members);
  const prepared = await progress.step('Prepare hosts', () =>
    Promise.all(
      spec.members.map((m) =>
        call(hostStep.prepareMember, `${m.name}: install etcd ${spec.version}, write config and certificates`, {
          spec,
          member: m.name,
          pki: memberPki(pki, m.name),
          initialCluster: initial,
          clusterState: 'new',
          binDir: release.binDir,
        }),
      ),
    ),
  );

  await progress.step('Start members', () =>
    Promise.all(
      members.map((m) => call(hostStep.startMember, `start ${m.name} (${m.clientURL})`, { cluster: spec.name, member: m.name, spec })),
    ),
  );

  const health = await waitHealthyAndVerify(progress, spec, `/etcdfleet/provisioned/${workflowInfo().workflowId}`);

  // From now on a member with a wiped data dir can never bootstrap a second cluster.
  await progress.step('Mark cluster existing', () =>
    Promise.all(
      spec.members.map((m) => call(hostStep.markMemberExisting, `${m.name}: initial-cluster-state existing`, { spec, member: m.name })),
    ),
  );

  progress.succeed();
  const files = Object.fromEntries(spec.members.map((m, i) => [m.name, prepared[i].files]));
  return { pki, health, files };
}

/** Only what one member's host needs: never other members' keys or the CA key. */
export function memberPki(pki: ClusterPki, member: string) {
  const m = pki.members[member];
  return { ca: pki.ca.cert, server: m.server, peer: m.peer, admin: pki.admin };
}

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
