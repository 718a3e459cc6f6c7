// Release activities: etcd binaries from an allowed source, verified on every call
// (a file unchanged since this worker hashed it is not read again).
import type { Config } from '../../infra/config';
import { resolveEtcdVersions } from '../../infra/etcd-releases';
import { allowedRelease } from '../policy';

export function artifactActivities(cfg: Config) {
  return {
    /** Refuses a source the service does not allow; verifies the cached release on every call. */
    async fetchRelease({ version, source }: { version: string; source?: string }) {
      return allowedRelease(cfg, version, source);
    },

    /** The etcd releases this installation knows (the resolved version set). */
    async availableEtcdVersions(): Promise<string[]> {
      const v = await resolveEtcdVersions({ env: { ...process.env, ETCDFLEET_CACHE_DIR: cfg.cacheDir }, log: () => undefined });
      return v.all;
    },
  };
}
