// etcd's own minor-version rollback (3.6+): validate and enable the downgrade,
// wait until every member's storage is migrated to the target, cancel. And
// the v2 store check a cluster must pass before 3.5 → 3.6. Each is idempotent:
// an enabled downgrade to the same target, or no downgrade to cancel, is fine.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { hostFiles, providerFor, type HostProvider } from '../hosts';
import { withEtcdClient } from './client';
import { memberVersions, type MemberVersion } from './versions';

/** `v3.5.35` → `3.5` */
const minorOfRelease = (v: string) => v.replace(/^v/, '').split('.').slice(0, 2).join('.');
const atMinor = (v: string | undefined, minor: string) => v !== undefined && (v === minor || v.startsWith(`${minor}.`));

/** Members whose storage is not yet at the target minor (a 3.5 member has no storage field: it is there already). */
export function storageBehind(rows: MemberVersion[], minor: string): MemberVersion[] {
  return rows.filter((r) => r.storage !== undefined && !atMinor(r.storage, minor));
}

/** What `etcdutl check v2store` said, as the refusal a 3.5 → 3.6 upgrade gets (undefined: nothing custom). */
export function v2StoreRefusal(member: string, output: string): string | undefined {
  if (/No custom content found/i.test(output)) return undefined;
  const found =
    output
      .trim()
      .split('\n')
      .at(-1)
      ?.replace(/^Error:\s*/, '') || 'custom v2 content';
  return (
    `member ${member}: ${found} (etcdutl check v2store); etcd 3.6 has no v2 store: migrate that data to v3, then on ` +
    `each such member restart etcd once with --snapshot-count=1 so the v2 content leaves the WAL, and retry the upgrade`
  );
}

export function downgradeActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);
  return {
    /**
     * `etcdctl downgrade validate` + `enable` to `target`'s minor. Already enabled (the cluster version is
     * the target minor) is a no-op; a refusal by etcd is non-retryable with etcd's reason.
     */
    async enableDowngrade({ spec, target }: { spec: ClusterSpec; target: string }): Promise<{ clusterVersion: string; enabled: boolean }> {
      const minor = minorOfRelease(target);
      const before = await memberVersions(hosts(spec), spec);
      if (before.every((r) => atMinor(r.etcdcluster, minor))) return { clusterVersion: before[0].etcdcluster, enabled: false };
      const version = `${minor}.0`;
      await withEtcdClient(hosts(spec), spec, async (c) => {
        try {
          await c.maintenance.downgrade({ action: 'Validate', version });
          await c.maintenance.downgrade({ action: 'Enable', version });
        } catch (e) {
          const msg = (e as Error).message;
          if (/downgrade job in progress/.test(msg)) return; // enabled by an earlier attempt: checked below
          if (/FAILED_PRECONDITION|INVALID_ARGUMENT|not supported|invalid downgrade/i.test(msg))
            throw ApplicationFailure.create({
              type: 'Refused',
              nonRetryable: true,
              message: `etcd refused the downgrade to ${minor}: ${msg}`,
            });
          throw e;
        }
      });
      const after = await memberVersions(hosts(spec), spec);
      const off = after.filter((r) => !atMinor(r.etcdcluster, minor));
      if (off.length)
        throw ApplicationFailure.retryable(
          `cluster version not ${minor} yet: ${off.map((r) => `${r.member}=${r.etcdcluster}`).join(', ')}`,
          'ClusterVersion',
        );
      return { clusterVersion: after[0].etcdcluster, enabled: true };
    },

    /** Gate: every member's storage version is the target minor (etcd migrates it once the downgrade is enabled). */
    async checkStorageVersion({ spec, target }: { spec: ClusterSpec; target: string }): Promise<MemberVersion[]> {
      const minor = minorOfRelease(target);
      const rows = await memberVersions(hosts(spec), spec);
      const behind = storageBehind(rows, minor);
      if (behind.length)
        throw ApplicationFailure.retryable(
          `storage not migrated to ${minor} yet: ${behind.map((r) => `${r.member}=${r.storage}`).join(', ')}`,
          'StorageVersion',
        );
      return rows;
    },

    /** `etcdctl downgrade cancel` (after a failed roll back to the newer minor); no downgrade in progress is fine. */
    async cancelDowngrade({ spec }: { spec: ClusterSpec }): Promise<{ cancelled: boolean }> {
      return withEtcdClient(hosts(spec), spec, async (c) => {
        try {
          await c.maintenance.downgrade({ action: 'Cancel', version: '' });
          return { cancelled: true };
        } catch (e) {
          if (/no inflight downgrade job|no downgrade/i.test((e as Error).message)) return { cancelled: false };
          throw e;
        }
      });
    },

    /**
     * etcd's v2 store check before 3.5 → 3.6, on every member with the installed etcdutl (it reads the
     * data dir without a lock, so the member keeps running). Custom v2 content is a non-retryable `Refused`.
     */
    async checkV2Store({ spec }: { spec: ClusterSpec }): Promise<{ checked: string[] }> {
      const h = hosts(spec);
      const refusals: string[] = [];
      await Promise.all(
        spec.members.map(async (m) => {
          const at = { spec, member: m.name };
          const args = ['check', 'v2store', '--data-dir', { hostPath: hostFiles(spec, m.name).dataDir }];
          let out: string;
          try {
            const r = await h.exec(at, 'etcdutl', args, { timeoutMs: 8_000 });
            out = `${r.stdout}\n${r.stderr}`;
          } catch (e) {
            out = (e as Error).message;
            if (!/custom v2 content/i.test(out)) throw e;
          }
          const refusal = v2StoreRefusal(m.name, out);
          if (refusal) refusals.push(refusal);
        }),
      );
      if (refusals.length) throw ApplicationFailure.create({ type: 'Refused', nonRetryable: true, message: refusals.sort().join('; ') });
      return { checked: spec.members.map((m) => m.name) };
    },
  };
}
