// Rolling operations (upgrade, config change, certificate and CA rotation):
// the entity's handlers. Each runs one child workflow (workflows/rollout/*).
//
// Upgrade paths: `validate` (pure) refuses malformed targets, the current
// version and downgrades etcd cannot do; `precheck` asks the worker for the
// known releases (an activity, so the answer is recorded in history and
// replays deterministically) and refuses anything but a patch upgrade, one
// minor step from the latest patch, or the one downgrade etcd's API allows
// (3.6 → latest 3.5), naming the path to take; before 3.5 → 3.6 it runs
// etcd's v2 store check on every member. The child re-checks
// the path when it starts (the queue may have changed the version meanwhile).
import { executeChild, patched } from '@temporalio/workflow';
import { minorOf } from '../common/release-version';
import { checkUpgradePath, checkUpgradeShape, normalizeRelease } from '../common/upgrade-path';
import { call, lookup } from './activities';
import { clusterQueue } from './placement';
import { refusalGate, refuse, refuseIssues, withParams, type ClusterState, type OperationHandlers } from './state';
import { rollingUpgrade } from './rollout/upgrade';
import { rollingConfigChange } from './rollout/config';
import { rotateCa, rotateCertificates } from './rollout/certificates';

/** An upgrade already queued or running decides the version the next one starts from. */
function versionAfterQueue(state: Readonly<ClusterState>): string {
  const pending = state.queue.filter((o) => o.kind === 'upgrade').at(-1);
  return pending ? normalizeRelease(String(pending.params?.version)) : state.spec!.version;
}

function requireRunning(state: Readonly<ClusterState>, what: string) {
  if (state.phase === 'Provisioning' || state.phase === 'Pending' || state.phase === 'Failed') {
    throw refuse(`cluster ${state.name} is ${state.phase}: ${what} needs a provisioned cluster`, 'Conflict');
  }
}

export const rolloutOperations: OperationHandlers = {
  upgrade: withParams('upgrade', {
    phase: 'Upgrading',
    validate(state, params) {
      requireRunning(state, 'an upgrade');
      const v = checkUpgradeShape(versionAfterQueue(state), params.version);
      if (!v.allowed) throw refuseIssues([{ path: 'version', message: v.reason! }]);
      if (state.spec!.members.length < 3)
        throw refuse(
          `a rolling upgrade needs at least 3 voting members to keep quorum (cluster ${state.name} has ${state.spec!.members.length})`,
        );
    },
    async precheck(state, params) {
      const available = await lookup.availableEtcdVersions.executeWithOptions({ summary: 'known etcd releases' }, []);
      const from = versionAfterQueue(state);
      const v = checkUpgradePath(from, params.version, available);
      if (!v.allowed) throw refuseIssues([{ path: 'version', message: v.reason! }]);
      // 3.5 → 3.6: etcd's v2 store check on every member (3.6 has no v2 store). Not in histories recorded before it.
      if (minorOf(from) === '3.5' && minorOf(normalizeRelease(params.version)) === '3.6' && patched('upgrade-v2store-check'))
        await refusalGate(() =>
          call(lookup.checkV2Store, 'precheck: etcdutl check v2store on every member', { spec: state.spec! }, clusterQueue(state)),
        );
    },
    async run({ state, spec, op, params, taskQueue }) {
      const version = normalizeRelease(params.version);
      const r = await executeChild(rollingUpgrade, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, pki: state.pki, version, snapshotName: `pre-upgrade-${op.seq}` }],
        staticSummary: `Upgrade ${spec.name}: etcd ${spec.version} → ${version}`,
      });
      return { spec: r.spec, health: r.health, result: { order: r.order, snapshot: r.snapshot, clusterVersion: r.clusterVersion } };
    },
  }),

  'config-change': withParams('config-change', {
    phase: 'Updating',
    validate(state) {
      requireRunning(state, 'a config change');
      if (state.spec!.members.length < 3) throw refuse(`a rolling config change needs at least 3 voting members to keep quorum`);
    },
    async run({ state, spec, op, params, taskQueue }) {
      const r = await executeChild(rollingConfigChange, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, pki: state.pki, tunables: params.tunables, logging: params.logging }],
        staticSummary: `Config change on ${spec.name}`,
      });
      return { spec: r.spec, health: r.health, result: { order: r.order } };
    },
  }),

  'rotate-certificates': withParams('rotate-certificates', {
    phase: 'Updating',
    validate(state) {
      requireRunning(state, 'certificate rotation');
      if (!state.spec!.tls.enabled || !state.pki) throw refuse(`cluster ${state.name} does not use TLS`);
      if (state.spec!.members.length < 3) throw refuse('a rolling certificate rotation needs at least 3 voting members to keep quorum');
    },
    async run({ state, spec, op, taskQueue }) {
      const r = await executeChild(rotateCertificates, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, pki: state.pki! }],
        staticSummary: `Renew certificates of ${spec.name}`,
      });
      return { pki: r.pki, health: r.health };
    },
  }),

  'rotate-ca': withParams('rotate-ca', {
    phase: 'Updating',
    validate(state) {
      requireRunning(state, 'CA rotation');
      if (!state.spec!.tls.enabled || !state.pki) throw refuse(`cluster ${state.name} does not use TLS`);
      if (state.spec!.members.length < 3) throw refuse('a rolling CA rotation needs at least 3 voting members to keep quorum');
    },
    async run({ state, spec, op, params, taskQueue }) {
      const r = await executeChild(rotateCa, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, pki: state.pki!, phaseGraceSeconds: params.phaseGraceSeconds ?? 0 }],
        staticSummary: `Rotate the CA of ${spec.name}`,
      });
      return { pki: r.pki, health: r.health };
    },
  }),
};
