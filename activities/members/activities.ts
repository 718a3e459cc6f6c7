// Member host activities: a member's files and process on its host, through
// the spec's host provider. Each checks the host first, so a retry or a
// replay after a worker crash never moves a data dir that is still in use.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../common/spec';
import { clusterTopology, type MemberFiles } from '../../common/topology';
import type { Config } from '../../infra/config';
import { isListed } from '../etcd/membership';
import { hostFiles, providerFor, type HostProvider, type InstallBinariesInput, type MemberRef, type RemoveMemberHostInput } from '../hosts';
import { shQuote } from '../hosts/files';
import { keyStoreFor } from '../pki';
import { checkMemberPorts } from './preflight';
import { prepareMemberFiles, releaseHere, type PrepareMemberInput } from './roll';

export type { PrepareMemberInput } from './roll';

/** `initial-cluster: …` in a rendered config, replaced in place (everything else kept byte for byte). */
export function withInitialCluster(yamlText: string, initialCluster: string): string {
  const value = /^[A-Za-z0-9._=:/,-]+$/.test(initialCluster) ? initialCluster : JSON.stringify(initialCluster);
  const re = /^initial-cluster:.*$/m;
  if (re.test(yamlText)) return yamlText.replace(re, `initial-cluster: ${value}`);
  return `${yamlText.replace(/\n?$/, '\n')}initial-cluster: ${value}\n`;
}

/** `<dataDir>.removed-<stamp>`: where a removed member's data is kept; never reused. */
export function setAsidePath(dataDir: string, stamp: string): string {
  return `${dataDir.replace(/\/+$/, '')}.removed-${stamp}`;
}

type MemberAt = { spec: ClusterSpec; member: string };

export function memberActivities(cfg: Config) {
  /** The spec's host provider; a bare member ref (no spec) is on the default provider. */
  const hosts = (spec?: Pick<ClusterSpec, 'provider'>): HostProvider => providerFor(spec, cfg);
  const keys = keyStoreFor(cfg);

  const listed = (at: MemberAt) => isListed(hosts(at.spec), at.spec, at.member);

  const setAside = async (at: MemberAt, stamp: string): Promise<string | undefined> => {
    const host = hosts(at.spec);
    const { dataDir } = hostFiles(at.spec, at.member);
    if (!(await host.exists(at, dataDir))) return undefined;
    const aside = setAsidePath(dataDir, stamp);
    if (await host.exists(at, aside))
      throw ApplicationFailure.nonRetryable(`${aside} already exists; refusing to overwrite kept data`, 'DataAsideExists');
    await host.move(at, dataDir, aside);
    return aside;
  };

  const readText = async (at: MemberAt, file: string) =>
    (
      await hosts(at.spec)
        .readFile(at, file)
        .catch(() => undefined)
    )?.toString('utf8');

  return {
    async preflight({ spec }: { spec: ClusterSpec }): Promise<{ checked: number }> {
      const host = hosts(spec);
      if (host.preflight) return host.preflight(spec);
      return checkMemberPorts(spec, async (member) => (await host.status({ cluster: spec.name, member, spec })).running);
    },

    async prepareMember(input: PrepareMemberInput): Promise<{ changed: string[]; files: MemberFiles }> {
      return prepareMemberFiles(cfg, hosts(input.spec), keys, input);
    },

    /** Copies and verifies a release on the member's host ahead of a roll; providers without staging skip it. */
    async stageRelease(input: InstallBinariesInput): Promise<{ changed: boolean; version: string; staged: boolean }> {
      const host = hosts(input.spec);
      if (!host.stageRelease) return { changed: false, version: input.version, staged: false };
      const binDir = await releaseHere(cfg, input.binDir, input.version, input.spec?.artifactSource);
      return { ...(await host.stageRelease({ ...input, binDir })), staged: true };
    },

    async startMember(ref: MemberRef) {
      return hosts(ref.spec).start(ref);
    },

    async stopMember(ref: MemberRef) {
      return hosts(ref.spec).stop(ref);
    },

    /** Stop then start: picks up a new config, certificates or binary. */
    async restartMember(ref: MemberRef) {
      return hosts(ref.spec).restart(ref);
    },

    async markMemberExisting({ spec, member }: MemberAt) {
      return hosts(spec).setClusterState({ spec, member }, 'existing');
    },

    async removeMemberHost(input: RemoveMemberHostInput) {
      return hosts(input.spec).remove(input);
    },

    /** Purge: the cluster's whole directory on this host (member roots, pre-upgrade snapshots). */
    async purgeClusterDir({ cluster, spec }: { cluster: string; spec?: ClusterSpec }): Promise<{ removed: boolean }> {
      return hosts(spec).purgeCluster(cluster, spec);
    },

    /**
     * Points a member's stored config (initial-cluster) and etcdctl endpoints
     * at the current membership, without restarting it: a running member
     * ignores initial-cluster, but a restart after a data loss or an operator
     * reading the file must see the truth. A member whose host files are gone
     * is skipped.
     */
    async writeMemberList({
      spec,
      member,
      initialCluster,
    }: MemberAt & { initialCluster: string }): Promise<{ changed: boolean; missing?: boolean }> {
      const host = hosts(spec);
      const at = { spec, member };
      const files = hostFiles(spec, member);
      const config = await readText(at, files.configFile);
      if (config === undefined) return { changed: false, missing: true };
      let changed = await host.writeFile(at, files.configFile, withInitialCluster(config, initialCluster), 0o644);
      const env = await readText(at, files.envFile);
      if (env !== undefined) {
        const topo = clusterTopology(spec);
        const endpoints = [...topo.filter((t) => t.name === member), ...topo.filter((t) => t.name !== member)]
          .map((t) => t.clientURL)
          .join(',');
        const next = env.replace(/^ETCDCTL_ENDPOINTS=.*$/m, `ETCDCTL_ENDPOINTS=${shQuote(endpoints)}`);
        changed = (await host.writeFile(at, files.envFile, next, 0o644)) || changed;
      }
      return { changed };
    },

    /**
     * Before a member joins: a data dir left from an earlier life of this
     * member name (and not in use by a listed member) is set aside, so the
     * joining member starts empty and never replays another cluster's WAL.
     */
    async ensureFreshDataDir({ spec, member, stamp }: MemberAt & { stamp: string }): Promise<{ setAside?: string }> {
      const at = { spec, member };
      const { dataDir } = hostFiles(spec, member);
      const entries = await hosts(spec)
        .list(at, dataDir)
        .catch(() => undefined);
      if (!entries?.length) return {};
      if (await listed(at)) return {};
      return { setAside: await setAside(at, stamp) };
    },

    /**
     * After MemberRemove: stop the process, keep its data dir renamed aside
     * (`<dataDir>.removed-<stamp>`, never reused) and remove its config,
     * certificates, binaries and pidfile. Refuses while etcd still lists it.
     */
    async retireMemberHost({
      spec,
      member,
      stamp,
    }: MemberAt & { stamp: string }): Promise<{ stopped: boolean; setAside?: string; removed: number }> {
      const at = { spec, member };
      if (await listed(at)) {
        throw ApplicationFailure.nonRetryable(
          `${member} is still a member of ${spec.name}: remove it from the cluster first`,
          'StillMember',
        );
      }
      const stop = await hosts(spec).stop({ cluster: spec.name, member, spec });
      const aside = await setAside(at, stamp);
      const { removed } = await hosts(spec).remove({ cluster: spec.name, member, purge: false, spec });
      return { stopped: stop.stopped, setAside: aside, removed: removed.length };
    },
  };
}
