// Provision a new cluster: the runbook, one idempotent activity per step.
import { getExternalWorkflowHandle, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import type { ClusterHealthView } from '../common/operations';
import { clusterTopology, initialCluster, type MemberFiles } from '../common/topology';
import { EtcdCluster, EtcdOperation, EtcdPhase, EtcdVersion } from '../common/searchAttributes';
import type { ClusterPki } from '../activities/pki';
import { Progress } from './progress';
import { pkiIssuedSignal } from './definitions';
import { healthGate, hostOps, slowOps } from './activities';

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
  upsertSearchAttributes([
    { key: EtcdCluster, value: spec.name },
    { key: EtcdOperation, value: 'provision' },
    { key: EtcdPhase, value: 'Provisioning' },
    { key: EtcdVersion, value: spec.version },
  ]);
  const n = spec.members.length;
  const members = clusterTopology(spec);
  const progress = new Progress(`Provision ${spec.name}: ${n} × etcd ${spec.version}`, PROVISION_STEPS);

  await progress.step('Validate hosts', () =>
    hostOps.preflight.executeWithOptions({ summary: `check ${n} member addresses and ports are free` }, [{ spec }]),
  );

  const release = await progress.step(
    'Fetch etcd release',
    () =>
      slowOps.fetchRelease.executeWithOptions({ summary: `etcd ${spec.version} (SHA-256 checked)` }, [
        { version: spec.version, source: spec.artifactSource },
      ]),
    (r) => `sha256 ${r.sha256.slice(0, 16)}…`,
  );

  const pki = await progress.step(
    'Issue certificates',
    () =>
      slowOps.issueCertificates.executeWithOptions(
        { summary: `CA, ${n} server + ${n} peer certificates, admin client (${spec.tls.leafKey.algorithm})` },
        [{ spec, existing }],
      ),
    () => (existing ? 'reused existing CA' : 'new CA'),
  );
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(pkiIssuedSignal, pki);

  const initial = initialCluster(members);
  const prepared = await progress.step('Prepare hosts', () =>
    Promise.all(
      spec.members.map((m) =>
        hostOps.prepareMember.executeWithOptions({ summary: `${m.name}: install etcd ${spec.version}, write config and certificates` }, [
          { spec, member: m.name, pki: memberPki(pki, m.name), initialCluster: initial, clusterState: 'new', binDir: release.binDir },
        ]),
      ),
    ),
  );

  await progress.step('Start members', () =>
    Promise.all(
      members.map((m) =>
        hostOps.startMember.executeWithOptions({ summary: `start ${m.name} (${m.clientURL})` }, [
          { cluster: spec.name, member: m.name, spec },
        ]),
      ),
    ),
  );

  const health = await progress.step(
    'Wait for quorum and health',
    () =>
      healthGate.checkHealthy.executeWithOptions({ summary: `all ${n} members healthy, one leader, no alarms` }, [
        { spec, expectMembers: n },
      ]),
    (h) => `leader ${h.leader}`,
  );

  await progress.step('Verify write and read', () =>
    hostOps.verifyWriteRead.executeWithOptions({ summary: 'put and get a marker key through the client URL' }, [
      { spec, key: `/etcdfleet/provisioned/${workflowInfo().workflowId}` },
    ]),
  );

  // From now on a member with a wiped data dir can never bootstrap a second cluster.
  await progress.step('Mark cluster existing', () =>
    Promise.all(
      spec.members.map((m) =>
        hostOps.markMemberExisting.executeWithOptions({ summary: `${m.name}: initial-cluster-state existing` }, [{ spec, member: m.name }]),
      ),
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
