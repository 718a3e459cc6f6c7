// The activities the worker registers, bound to this worker's configuration.
// Each is idempotent: it checks the world before acting, so any retry is safe.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../common/spec';
import { X509Certificate } from 'node:crypto';
import type { CertificateExpiry, ClusterHealthView } from '../common/operations';
import type { MemberFiles } from '../common/topology';
import { caPassphrase, type Config } from '../infra/config';
import { allowedRelease, assertPathsAllowed } from './policy';
import {
  issueStoredPki,
  keyStoreFor,
  loadHostPki,
  pruneStoredKeys,
  signClientCsr,
  type ClusterPki,
  type KeyedCert,
  type MemberHostRefs,
} from './pki';
import { hostFiles, providerFor, type HostProvider, type MemberRef, type RemoveMemberHostInput } from './hosts';
import { clusterHealth, putAndGet, type ClusterHealth } from './etcd/client';
import { checkMemberPorts } from './preflight';
import { checkSafeToDisrupt, type DisruptionCheck } from './safety';
import { createMembershipActivities } from './membership-activities';
import { createRolloutActivities } from './rollout-activities';
import { createMaintenanceActivities } from './maintenance-activities';

/** A member ref as workflows pass it; `spec` (when given) picks the provider, else the default one. */
export type MemberOnHost = MemberRef;

export interface PrepareMemberInput {
  spec: ClusterSpec;
  member: string;
  /** Certificates and key ids: the keys are read from the key store here. */
  pki: MemberHostRefs;
  initialCluster: string;
  clusterState: 'new' | 'existing';
  binDir: string;
}

export function createActivities(cfg: Config) {
  /** The spec's host provider; a bare member ref (no spec) is on the default provider. */
  const hosts = (spec?: Pick<ClusterSpec, 'provider'>): HostProvider => providerFor(spec, cfg);
  const keys = keyStoreFor(cfg);
  const passphrase = () => caPassphrase(cfg);
  return {
    async preflight({ spec }: { spec: ClusterSpec }): Promise<{ checked: number }> {
      const host = hosts(spec);
      if (host.preflight) return host.preflight(spec);
      return checkMemberPorts(spec, async (member) => (await host.status({ cluster: spec.name, member, spec })).running);
    },

    /** Refuses a source the service does not allow; verifies the cached release on every call. */
    async fetchRelease({ version, source }: { version: string; source?: string }) {
      return allowedRelease(cfg, version, source);
    },

    /** Keys go to the key store; the result carries certificates and key ids only. */
    async issueCertificates({ spec, existing }: { spec: ClusterSpec; existing?: ClusterPki }): Promise<ClusterPki> {
      return issueStoredPki({ spec, existing, store: keys, caPassphrase: passphrase });
    },

    /** An admin client certificate for a CSR (the requester holds the key), signed with the CA key from the store. */
    async signClientCertificate({ spec, ca, csr }: { spec: ClusterSpec; ca: KeyedCert; csr: string }): Promise<{ cert: string }> {
      return { cert: await signClientCsr({ spec, ca, csr, store: keys, caPassphrase: passphrase }) };
    },

    /** Removes the cluster's stored keys that `keep` does not refer to; with no `keep`, all of them (purge). */
    async pruneClusterKeys({ cluster, keep }: { cluster: string; keep?: ClusterPki[] }): Promise<{ removed: number }> {
      if (!keep) return { removed: await keys.deletePrefix(`${cluster}/`) };
      return { removed: (await pruneStoredKeys(keys, cluster, keep)).length };
    },

    async prepareMember(input: PrepareMemberInput): Promise<{ changed: string[]; files: MemberFiles }> {
      const { spec, member } = input;
      assertPathsAllowed(spec);
      const host = hosts(spec);
      await host.installBinaries({ cluster: spec.name, member, version: spec.version, binDir: input.binDir, spec });
      const pki = spec.tls.enabled && input.pki ? await loadHostPki(keys, input.pki) : undefined;
      const r = await host.prepare({ ...input, pki });
      return { changed: r.changed, files: r.files };
    },

    async startMember(ref: MemberOnHost) {
      return hosts(ref.spec).start(ref);
    },

    async stopMember(ref: MemberOnHost) {
      return hosts(ref.spec).stop(ref);
    },

    /** Stop then start: picks up a new config, certificates or binary. */
    async restartMember(ref: MemberOnHost) {
      return hosts(ref.spec).restart(ref);
    },

    /** Throws a non-retryable `Refused` failure when the step would risk quorum or the cluster is unhealthy. */
    async checkSafeToDisrupt({ spec, check }: { spec: ClusterSpec; check: DisruptionCheck }): Promise<ClusterHealthView> {
      return toView(await checkSafeToDisrupt(hosts(spec), spec, check));
    },

    async removeMemberHost(input: RemoveMemberHostInput) {
      return hosts(input.spec).remove(input);
    },

    /** Purge: the cluster's whole directory on this host (member roots, pre-upgrade snapshots). */
    async purgeClusterDir({ cluster, spec }: { cluster: string; spec?: ClusterSpec }): Promise<{ removed: boolean }> {
      return hosts(spec).purgeCluster(cluster, spec);
    },

    async markMemberExisting({ spec, member }: { spec: ClusterSpec; member: string }) {
      return hosts(spec).setClusterState({ spec, member }, 'existing');
    },

    /** Health gate: throws (and so is retried) until every expected member is a healthy voter with one leader and no alarms. */
    async checkHealthy({ spec, expectMembers }: { spec: ClusterSpec; expectMembers: number }): Promise<ClusterHealthView> {
      const view = toView(await clusterHealth(hosts(spec), spec));
      const voters = view.members.filter((m) => !m.isLearner);
      if (!view.healthy || voters.length !== expectMembers) {
        throw ApplicationFailure.retryable(`not healthy yet: ${summarize(view, expectMembers)}`, 'NotHealthy');
      }
      return view;
    },

    async verifyWriteRead({ spec, key }: { spec: ClusterSpec; key: string }): Promise<{ key: string }> {
      const value = new Date().toISOString();
      const read = await putAndGet(hosts(spec), spec, key, value);
      if (read !== value) throw ApplicationFailure.retryable(`wrote ${value} to ${key} but read back ${read}`, 'ReadMismatch');
      return { key };
    },

    /** Health as the entity observes it: members, leader, alarms, raft lag, db sizes and certificate expiry. */
    async clusterHealth({ spec }: { spec: ClusterSpec }): Promise<ClusterHealthView> {
      const view = toView(await clusterHealth(hosts(spec), spec));
      view.certificates = await certificateExpiry(hosts(spec), spec);
      return view;
    },

    ...createMembershipActivities(cfg),
    ...createRolloutActivities(cfg),
    ...createMaintenanceActivities(cfg),
  };
}

export type Activities = ReturnType<typeof createActivities>;

export function toView(h: ClusterHealth): ClusterHealthView {
  const leaderIndex = h.members.find((m) => m.isLeader)?.raftIndex;
  const members = h.members.map((m) => ({
    ...m,
    raftLag: leaderIndex !== undefined && m.raftIndex !== undefined ? Math.max(0, leaderIndex - m.raftIndex) : undefined,
  }));
  return { healthy: h.healthy, leader: h.leader, alarms: h.alarms, checkedAt: h.checkedAt, members, error: h.error };
}

/** notAfter of every certificate on every member host (missing files are skipped). */
async function certificateExpiry(hosts: HostProvider, spec: ClusterSpec): Promise<CertificateExpiry[]> {
  const out: CertificateExpiry[] = [];
  for (const m of spec.members) {
    const f = hostFiles(spec, m.name);
    const files = { ca: f.caCert, server: f.serverCert, peer: f.peerCert, admin: f.clientCert };
    for (const [certificate, file] of Object.entries(files)) {
      const pem = (await hosts.readFile({ spec, member: m.name }, file).catch(() => undefined))?.toString('utf8');
      if (!pem) continue;
      // A CA bundle (during CA rotation) holds several: the first is the one in use.
      out.push({ member: m.name, certificate, notAfter: new Date(new X509Certificate(pem).validTo).toISOString() });
    }
  }
  return out;
}

function summarize(v: ClusterHealthView, expect: number): string {
  const parts = [`${v.members.filter((m) => m.healthy).length}/${expect} members healthy`, v.leader ? `leader ${v.leader}` : 'no leader'];
  if (v.alarms.length) parts.push(`alarms ${v.alarms.join(',')}`);
  const errs = v.members.filter((m) => m.error).map((m) => `${m.name}: ${m.error}`);
  return [...parts, ...errs].join('; ');
}
