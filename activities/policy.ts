// The operator's allowlists, enforced again where the values are used: the API
// refuses a spec outside them (403), and so does the worker, in case a
// request reached Temporal another way. Refusals are non-retryable `Forbidden`
// failures (the API maps that type to 403 too).
import { ApplicationFailure } from '@temporalio/common';
import { formatPath, type Issue } from '../common/issues';
import { specPathIssues } from '../common/paths';
import { artifactSourceAllowed, checkBackupPolicy } from '../common/policy';
import type { ClusterSpec } from '../common/spec';
import type { Config } from '../infra/config';
import { fetchRelease, type FetchReleaseResult } from './artifacts';
import type { BackupSettings } from './backup/target';

function forbidden(what: string, issues: Issue[]): ApplicationFailure {
  const list = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return ApplicationFailure.create({ type: 'Forbidden', message: `${what} refused by this service's policy: ${list}`, nonRetryable: true });
}

/** A verified release from `source` (default: the service's), if the policy allows that source. */
export async function allowedRelease(
  cfg: Pick<Config, 'policy' | 'cacheDir' | 'defaultArtifactSource' | 'upstreamReleases'>,
  version: string,
  source?: string,
): Promise<FetchReleaseResult> {
  const s = source ?? cfg.defaultArtifactSource;
  if (!artifactSourceAllowed(s, cfg.policy)) {
    throw forbidden(`etcd ${version}`, [{ path: 'artifactSource', message: `${s} is not an allowed artifact source` }]);
  }
  return fetchRelease({ version, source: s, cacheDir: cfg.cacheDir, upstream: cfg.upstreamReleases });
}

/** Throws unless the backup settings (dir, S3 endpoint, credential variables) are allowed. */
export function assertBackupAllowed(cfg: Pick<Config, 'policy'>, settings: BackupSettings | undefined): void {
  const issues = checkBackupPolicy(settings, cfg.policy);
  if (issues.length) throw forbidden('backup target', issues);
}

/** Throws unless the spec's member directories and log files follow the path rules (common/paths.ts). */
export function assertPathsAllowed(spec: ClusterSpec): void {
  const issues = specPathIssues(spec).map((i) => ({ path: formatPath(i.path), message: i.message }));
  if (issues.length) throw forbidden(`paths of cluster ${spec.name}`, issues);
}
