// Certificate rotation. Renewal: new member and admin certificates from the
// same CA, rolled out member by member. CA rotation without downtime, in
// three rolling passes: (1) every member trusts old + new CA, (2) every member
// gets leaves signed by the new CA (still trusting both), (3) the old CA is
// dropped. Clients switch to the trust bundle and the new admin certificate
// between pass 1 and pass 3 (`caRotation` query, `phaseGraceSeconds`); the
// new admin certificate is signed from a CSR (`signClientCertificate` update),
// so no private key ever crosses Temporal. Each rotation starts by removing
// the cluster's keys that the PKI it was given does not use (superseded by the
// previous rotation, removed members, failed attempts): the entity's PKI is the
// one source of truth, and nothing else issues keys while a rotation runs.
import { ApplicationFailure, defineQuery, setHandler, sleep } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import type { ClusterHealthView } from '../../common/operations';
import { clusterTopology, initialCluster } from '../../common/topology';
import type { ClusterPki } from '../../activities/pki';
import { signClientCertificateUpdate } from '../definitions';
import { Progress } from '../progress';
import { call, download, rollback, rolloutStep, step } from '../activities';
import { memberStep, rollMembers, rollOrder } from './rolling';
import { setSearchAttributes } from '../search-attributes';

export interface RotateCertificatesInput {
  spec: ClusterSpec;
  pki: ClusterPki;
}

/** What a member's host is given: trust (one CA or a bundle) and its leaves. */
function hostPki(trust: string, pki: ClusterPki, member: string) {
  const m = pki.members[member];
  return { ca: trust, server: m.server, peer: m.peer, admin: pki.admin };
}

function bundle(...cas: string[]): string {
  return cas.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');
}

async function releaseAndPrepare(spec: ClusterSpec, progress: Progress) {
  const release = await step(progress, 'Locate etcd release', download.fetchRelease, `etcd ${spec.version}`, {
    version: spec.version,
    source: spec.artifactSource,
  });
  const initial = initialCluster(clusterTopology(spec));
  return (trust: string, pki: ClusterPki, ops: typeof rolloutStep) => async (member: string) => {
    await call(ops.prepareMember, `${member}: write certificates`, {
      spec,
      member,
      pki: hostPki(trust, pki, member),
      initialCluster: initial,
      clusterState: 'existing',
      binDir: release.binDir,
    });
  };
}

export async function rotateCertificates({ spec, pki }: RotateCertificatesInput): Promise<{ pki: ClusterPki; health?: ClusterHealthView }> {
  setSearchAttributes({ cluster: spec.name, operation: 'rotate-certificates', phase: 'Updating' });
  const progress = new Progress(`Renew certificates of ${spec.name}`, [
    'Check cluster is safe to disrupt',
    'Issue new certificates',
    'Locate etcd release',
  ]);
  const { order, leader } = await progress.step(
    'Check cluster is safe to disrupt',
    () => rollOrder(spec),
    (o) => `order ${o.order.join(' → ')}`,
  );
  progress.add(...order.map((m) => memberStep('Renew', m, leader)));
  await pruneKeys(spec, pki);
  const renewed = await step(
    progress,
    'Issue new certificates',
    download.renewCertificates,
    `new server, peer and admin certificates from the same CA`,
    { spec, pki },
  );
  const prepare = await releaseAndPrepare(spec, progress);
  const health = await rollMembers(
    spec,
    progress,
    {
      what: 'certificate renewal',
      apply: prepare(pki.ca.cert, renewed, rolloutStep),
      revert: prepare(pki.ca.cert, pki, rollback),
      version: spec.version,
      previousVersion: spec.version,
    },
    { order, leader, prefix: 'Renew' },
  );
  progress.succeed();
  return { pki: renewed, health };
}

/** Unused keys are only clutter: a failure to remove them does not fail the rotation. */
async function pruneKeys(spec: ClusterSpec, keep: ClusterPki): Promise<void> {
  await call(rolloutStep.pruneClusterKeys, 'remove superseded private keys from the key store', { cluster: spec.name, keep: [keep] }).catch(
    () => undefined,
  );
}

export interface CaRotationView {
  phase: 'issue' | 'trust-both' | 'new-leaves' | 'drop-old' | 'done';
  /** ca.pem for clients while the rotation runs (old + new CA). */
  trustBundle?: string;
  /** The new CA alone (clients trust only this once the rotation is done). */
  newCa?: string;
}
export const caRotationQuery = defineQuery<CaRotationView>('caRotation');

export interface RotateCaInput extends RotateCertificatesInput {
  /** Pause after each pass so clients can pick up the trust bundle / new admin certificate. */
  phaseGraceSeconds?: number;
}

export async function rotateCa({
  spec,
  pki,
  phaseGraceSeconds = 0,
}: RotateCaInput): Promise<{ pki: ClusterPki; health?: ClusterHealthView }> {
  setSearchAttributes({ cluster: spec.name, operation: 'rotate-ca', phase: 'Updating' });
  const view: CaRotationView = { phase: 'issue' };
  setHandler(caRotationQuery, () => view);
  // A new admin client certificate (signed by the new CA) for a CSR; valid everywhere once pass 1 is done.
  let newCa: ClusterPki['ca'] | undefined;
  setHandler(
    signClientCertificateUpdate,
    async ({ csr }) => {
      const ca = newCa!;
      const { cert } = await call(rolloutStep.signClientCertificate, 'sign an admin client certificate request with the new CA', {
        spec,
        ca,
        csr,
      });
      return { ca: view.phase === 'done' ? ca.cert : view.trustBundle!, cert };
    },
    {
      validator: (_req) => {
        if (!newCa) throw ApplicationFailure.create({ type: 'Conflict', message: 'the new CA is not issued yet', nonRetryable: true });
      },
    },
  );
  const progress = new Progress(`Rotate the CA of ${spec.name}`, [
    'Check cluster is safe to disrupt',
    'Issue new CA and certificates',
    'Locate etcd release',
  ]);
  const { order, leader } = await progress.step(
    'Check cluster is safe to disrupt',
    () => rollOrder(spec),
    (o) => `order ${o.order.join(' → ')}`,
  );
  const passes = [
    { prefix: 'Trust both CAs:', phase: 'trust-both' as const },
    { prefix: 'New certificates:', phase: 'new-leaves' as const },
    { prefix: 'Drop old CA:', phase: 'drop-old' as const },
  ];
  for (const [i, p] of passes.entries()) {
    progress.add(...order.map((m) => memberStep(p.prefix, m, leader)));
    if (phaseGraceSeconds > 0 && i < passes.length - 1) progress.add(`Grace period after pass ${i + 1}`);
  }
  await pruneKeys(spec, pki);
  const next = await step(
    progress,
    'Issue new CA and certificates',
    download.issueRotatedCa,
    'new CA, server, peer and admin certificates',
    { spec, pki },
  );
  const both = bundle(pki.ca.cert, next.ca.cert);
  Object.assign(view, { trustBundle: both, newCa: next.ca.cert });
  newCa = next.ca;
  const prepare = await releaseAndPrepare(spec, progress);

  // Each pass reverts to the state the previous pass left.
  const states: [string, ClusterPki][] = [
    [pki.ca.cert, pki],
    [both, pki],
    [both, next],
    [next.ca.cert, next],
  ];
  let health: ClusterHealthView | undefined;
  for (const [i, p] of passes.entries()) {
    view.phase = p.phase;
    const [fromTrust, fromPki] = states[i];
    const [toTrust, toPki] = states[i + 1];
    // Leadership may have moved during the previous pass: the current leader goes last again.
    const o = i === 0 ? { order, leader } : await rollOrder(spec);
    health = await rollMembers(
      spec,
      progress,
      {
        what: p.prefix.replace(/:$/, '').toLowerCase(),
        apply: prepare(toTrust, toPki, rolloutStep),
        revert: prepare(fromTrust, fromPki, rollback),
        version: spec.version,
        previousVersion: spec.version,
      },
      { ...o, order: o.order, leader, prefix: p.prefix },
    );
    if (phaseGraceSeconds > 0 && i < passes.length - 1)
      await progress.step(`Grace period after pass ${i + 1}`, () => sleep(phaseGraceSeconds * 1000));
  }
  view.phase = 'done';
  progress.succeed();
  return { pki: next, health };
}
