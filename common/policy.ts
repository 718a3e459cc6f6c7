// What a spec may reach is the operator's decision: artifact sources, S3
// endpoints and credential variables, the backup root come from service
// configuration (infra/config.ts, ETCDFLEET_*). `checkSpecPolicy` is pure and
// runs in the API before anything is sent to Temporal (403 with field paths),
// and again in the activities that use the values (defence in depth).
// It reads only the few fields it checks and tolerates raw, unvalidated input,
// so one answer carries both schema and policy errors.
import type { Issue } from './issues';
import { isWithin, normalizeAbsPath } from './paths';
import { isValidationError, parseClusterSpec, ValidationError } from './parse';

/** HTTP status of a policy refusal: the request is well-formed, the service does not allow it. */
export const POLICY_STATUS = 403;

export interface SpecPolicy {
  /** Allowed `artifactSource` values (normalized: `github` or a URL without trailing slash). */
  artifactSources: string[];
  /** Allowed custom S3 endpoints (normalized URLs); empty: AWS's own endpoints only. */
  s3Endpoints: string[];
  /** Environment variables of the worker a spec may name as S3 credentials. */
  s3CredentialEnvs: string[];
  /** Directory every `backup.dir` must be (or be under). */
  backupRoot: string;
}

export const DEFAULT_S3_CREDENTIAL_ENVS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

/** `github`, or a URL without trailing slashes (scheme and host lowercased). */
export function normalizeSource(source: string): string {
  const s = source.trim();
  if (s === 'github') return s;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/.exec(s);
  if (!m) return s.replace(/\/+$/, '');
  return `${m[1].toLowerCase()}://${m[2].toLowerCase()}${m[3].replace(/\/+$/, '')}`;
}

/** An S3 endpoint for comparison: a URL without trailing slashes. */
export const normalizeEndpoint = normalizeSource;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * Field-path issues for everything in `spec` the policy does not allow:
 * `artifactSource`, `backup.dir`, `backup.s3.endpoint`,
 * `backup.s3.accessKeyIdEnv`, `backup.s3.secretAccessKeyEnv` (whose defaults,
 * the AWS variables, are checked as well). An absent artifactSource means the
 * service's default, which is always allowed.
 */
export function checkSpecPolicy(spec: unknown, policy: SpecPolicy): Issue[] {
  const issues: Issue[] = [];
  const s = obj(spec);
  if (!s) return issues;
  const source = str(s.artifactSource);
  if (source !== undefined && !artifactSourceAllowed(source, policy)) {
    issues.push({
      path: 'artifactSource',
      message: `not an artifact source this service allows (allowed: ${policy.artifactSources.join(', ') || 'none'})`,
    });
  }
  const backup = obj(s.backup);
  if (backup) issues.push(...checkBackupPolicy(backup, policy, 'backup'));
  return issues;
}

export function artifactSourceAllowed(source: string, policy: Pick<SpecPolicy, 'artifactSources'>): boolean {
  const n = normalizeSource(source);
  return policy.artifactSources.some((a) => normalizeSource(a) === n);
}

/** Issues of backup settings (`backup` of a spec, or a restore's source settings) under `prefix`. */
export function checkBackupPolicy(backup: unknown, policy: SpecPolicy, prefix = 'backup'): Issue[] {
  const issues: Issue[] = [];
  const b = obj(backup);
  if (!b) return issues;
  const dir = str(b.dir);
  const s3 = obj(b.s3);
  if (
    dir !== undefined &&
    dir.startsWith('/') &&
    !dir.split('/').includes('..') &&
    !isWithin(normalizeAbsPath(dir), normalizeAbsPath(policy.backupRoot))
  ) {
    issues.push({ path: `${prefix}.dir`, message: `must be under the service's backup root ${policy.backupRoot}` });
  }
  if (s3) {
    const endpoint = str(s3.endpoint);
    if (
      endpoint !== undefined &&
      endpoint !== '' &&
      !policy.s3Endpoints.some((e) => normalizeEndpoint(e) === normalizeEndpoint(endpoint))
    ) {
      const allowed = policy.s3Endpoints.length
        ? `allowed: ${policy.s3Endpoints.join(', ')}`
        : 'this service allows no custom endpoint; leave it out for AWS';
      issues.push({ path: `${prefix}.s3.endpoint`, message: `not an S3 endpoint this service allows (${allowed})` });
    }
    const defaults = { accessKeyIdEnv: DEFAULT_S3_CREDENTIAL_ENVS[0], secretAccessKeyEnv: DEFAULT_S3_CREDENTIAL_ENVS[1] };
    for (const f of ['accessKeyIdEnv', 'secretAccessKeyEnv'] as const) {
      const name = s3[f] === undefined ? defaults[f] : str(s3[f]);
      if (name !== undefined && !policy.s3CredentialEnvs.includes(name)) {
        issues.push({
          path: `${prefix}.s3.${f}`,
          message: `not a credential variable this service allows (allowed: ${policy.s3CredentialEnvs.join(', ') || 'none'})`,
        });
      }
    }
  }
  return issues;
}

/**
 * parseClusterSpec, then the policy. Schema errors (400) carry the policy's
 * issues for other fields too, so one answer lists everything; a spec whose
 * only problem is the policy is a 403.
 */
export function parseAllowedClusterSpec(input: unknown, policy: SpecPolicy): ReturnType<typeof parseClusterSpec> {
  const refusals = checkSpecPolicy(input, policy);
  let parsed: ReturnType<typeof parseClusterSpec>;
  try {
    parsed = parseClusterSpec(input);
  } catch (e) {
    if (!isValidationError(e) || e.status !== 400 || refusals.length === 0) throw e;
    const seen = new Set(e.issues.map((i) => i.path));
    throw new ValidationError([...e.issues, ...refusals.filter((r) => !seen.has(r.path))], 400);
  }
  // The normalized spec is what runs: check it as well (defaults filled in).
  const all = [...refusals, ...checkSpecPolicy(parsed.spec, policy).filter((r) => !refusals.some((x) => x.path === r.path))];
  if (all.length) throw new ValidationError(all, POLICY_STATUS);
  return parsed;
}
