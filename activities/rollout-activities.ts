// Rollout activities (upgrade, config change, certificate and CA rotation),
// bound to the worker's configuration and spread into createActivities.
// Each checks the world before acting, so retries are safe.
import http from 'node:http';
import https from 'node:https';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../common/spec';
import type { ClusterHealthView } from '../common/operations';
import { clusterTopology } from '../common/topology';
import { caPassphrase, type Config } from '../infra/config';
import { resolveEtcdVersions } from '../infra/etcd-releases';
import { clusterHealth, describeHealth, clientCredentials } from './etcd/client';
import { moveLeader } from './etcd/membership';
import { providerFor, type HostProvider } from './hosts';
import { issueRotatedStoredPki, keyStoreFor, renewStoredLeaves, type ClusterPki } from './pki';
import { toView } from './index';

export interface MemberGateInput {
  spec: ClusterSpec;
  member: string;
  /** Server version the member must report (vX.Y.Z). */
  version?: string;
}

export function createRolloutActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);
  const keys = keyStoreFor(cfg);
  const passphrase = () => caPassphrase(cfg);

  return {
    /** The etcd releases this installation knows (the resolved version set). */
    async availableEtcdVersions(): Promise<string[]> {
      const v = await resolveEtcdVersions({ env: { ...process.env, ETCDFLEET_CACHE_DIR: cfg.cacheDir }, log: () => undefined });
      return v.all;
    },

    /**
     * `etcdctl snapshot save` from the first member that answers, kept by the
     * host provider under `name` (purged with the cluster).
     * An existing complete snapshot of that name is kept (a retry after a crash).
     */
    async snapshotCluster({ spec, name }: { spec: ClusterSpec; name: string }): Promise<{ file: string; bytes: number; member: string }> {
      return hosts(spec).saveSnapshot(spec, name);
    },

    /**
     * The gate after a member restarts: its process runs, it is a healthy
     * voter reporting `version`, its applied raft index has reached the
     * leader's index as seen before, and the whole cluster is healthy.
     * Throws (retryable) until then; the workflow's retry policy is the poll loop.
     */
    async memberGate({ spec, member, version }: MemberGateInput): Promise<ClusterHealthView> {
      const host = hosts(spec);
      const proc = await host.status({ cluster: spec.name, member, spec });
      if (!proc.running) {
        const tail = await host.logTail({ cluster: spec.name, member, spec }, 5).catch(() => '');
        // Nothing restarts a crashed member by itself: fail now, so the rollback starts at once.
        throw ApplicationFailure.nonRetryable(`${member}: etcd is not running; last log lines: ${tail}`, 'MemberNotRunning');
      }
      const first = await clusterHealth(host, spec);
      const leader = first.members.find((m) => m.isLeader);
      const leaderIndex = leader?.raftIndex;
      const second = await clusterHealth(host, spec);
      const m = second.members.find((x) => x.name === member);
      const problems: string[] = [];
      if (!m) problems.push(`${member} is not listed by the cluster`);
      else {
        if (!m.healthy) problems.push(`${member} unhealthy${m.error ? ` (${m.error})` : ''}`);
        if (m.isLearner) problems.push(`${member} is a learner`);
        const want = version?.replace(/^v/, '');
        if (want && m.version !== want) problems.push(`${member} reports version ${m.version ?? 'unknown'}, want ${want}`);
        const applied = m.raftAppliedIndex ?? m.raftIndex;
        if (leaderIndex === undefined || applied === undefined) problems.push('raft index unknown');
        else if (applied < leaderIndex) problems.push(`${member} raft applied index ${applied} behind the leader's ${leaderIndex}`);
      }
      if (!second.healthy) problems.push(`cluster unhealthy: ${describeHealth(second)}`);
      if (problems.length) throw ApplicationFailure.retryable(problems.join('; '), 'GateNotPassed');
      return toView(second);
    },

    /**
     * Moves leadership away from `from` (to `to`, or any other healthy voter)
     * when `from` leads; no-op otherwise. Verified: throws until the leader changed.
     */
    async transferLeadership({
      spec,
      from,
      to,
    }: {
      spec: ClusterSpec;
      from: string;
      to?: string;
    }): Promise<{ moved: boolean; leader: string }> {
      const host = hosts(spec);
      const h = await clusterHealth(host, spec);
      if (!h.leader) throw ApplicationFailure.retryable('no leader right now', 'NoLeader');
      if (h.leader !== from) return { moved: false, leader: h.leader };
      const target = to || h.members.find((m) => m.name !== from && !m.isLearner && m.healthy)?.name;
      if (!target) throw ApplicationFailure.nonRetryable(`no healthy voter to move leadership to from ${from}`, 'NoLeaderTarget');
      await moveLeader(host, spec, { to: target });
      const after = await clusterHealth(host, spec);
      if (after.leader !== target)
        throw ApplicationFailure.retryable(
          `leadership did not move to ${target} yet (leader: ${after.leader ?? 'none'})`,
          'LeaderNotMoved',
        );
      return { moved: true, leader: target };
    },

    /** Server and cluster version as every member's /version endpoint reports them. */
    async clusterVersions({ spec }: { spec: ClusterSpec }): Promise<{ member: string; etcdserver: string; etcdcluster: string }[]> {
      const creds = await clientCredentials(hosts(spec), spec);
      return Promise.all(
        clusterTopology(spec).map(async (t) => {
          const body = await getJson(`${t.clientURL}/version`, creds);
          return { member: t.name, etcdserver: String(body.etcdserver), etcdcluster: String(body.etcdcluster) };
        }),
      );
    },

    /** Throws (retryable) until every member reports cluster version `minor` (e.g. 3.6). */
    async checkClusterVersion({
      spec,
      minor,
    }: {
      spec: ClusterSpec;
      minor: string;
    }): Promise<{ member: string; etcdserver: string; etcdcluster: string }[]> {
      const creds = await clientCredentials(hosts(spec), spec);
      const rows = await Promise.all(
        clusterTopology(spec).map(async (t) => {
          const body = await getJson(`${t.clientURL}/version`, creds);
          return { member: t.name, etcdserver: String(body.etcdserver), etcdcluster: String(body.etcdcluster) };
        }),
      );
      const off = rows.filter((r) => !r.etcdcluster.startsWith(`${minor}.`));
      if (off.length)
        throw ApplicationFailure.retryable(
          `cluster version not ${minor} yet: ${off.map((r) => `${r.member}=${r.etcdcluster}`).join(', ')}`,
          'ClusterVersion',
        );
      return rows;
    },

    /** Forced renewal: new member and admin certificates from the same CA. */
    async renewCertificates({ spec, pki }: { spec: ClusterSpec; pki: ClusterPki }): Promise<ClusterPki> {
      return renewStoredLeaves({ spec, pki, store: keys, caPassphrase: passphrase });
    },

    /** A new CA and all leaves signed by it. */
    async issueRotatedCa({ spec }: { spec: ClusterSpec; pki: ClusterPki }): Promise<ClusterPki> {
      return issueRotatedStoredPki({ spec, store: keys, caPassphrase: passphrase });
    },
  };
}

function getJson(
  url: string,
  creds: { rootCertificate?: Buffer | null; certChain?: Buffer | null; privateKey?: Buffer | null } | undefined,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(
      url,
      {
        ca: creds?.rootCertificate ?? undefined,
        cert: creds?.certChain ?? undefined,
        key: creds?.privateKey ?? undefined,
        timeout: 3000,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(data));
          } catch (e) {
            reject(new Error(`${url}: ${res.statusCode} ${data.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
  });
}
