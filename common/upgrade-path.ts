// Which etcd upgrades are allowed (pure, deterministic: used by workflows,
// the API and unit tests). etcd supports patch upgrades within a minor and a
// rolling upgrade by exactly one minor, and a minor step is only safe from the
// latest patch of the older minor (it carries the fixes for mixed-version
// clusters), and never from below the patch etcd names safe (MINOR_STEP_FLOOR). Downgrades are not supported.
import { compareVersions as compareReleases, latestPatchOf, parseVersion, withV } from './release-version';

export interface UpgradeVerdict {
  allowed: boolean;
  /** Why it is refused (with the path to take when there is one). */
  reason?: string;
  /** The upgrades to run in order to reach the target, when refused but reachable. */
  path?: string[];
  /** An allowed minor-version rollback, run through etcd's downgrade API. */
  downgrade?: boolean;
}

/** etcd has a downgrade API (validate / enable / cancel) from 3.6 on: one minor down, to that minor's latest patch. */
const DOWNGRADE_API_FROM = { major: 3, minor: 6 };

/**
 * The lowest patch the etcd project names safe to leave a minor from: before
 * 3.5 → 3.6 every member must run 3.5.26 or later ("too many learner members",
 * etcd-io/etcd#19557, #20793), whatever the newest 3.5 in the artifact source is.
 */
const MINOR_STEP_FLOOR: Record<string, string> = { '3.5': 'v3.5.26' };

/** A release version's parts; surrounding space is tolerated. */
function parseRelease(v: string): [number, number, number] | undefined {
  const p = parseVersion(v.trim());
  return p ? [p.major, p.minor, p.patch] : undefined;
}

/** `3.5.35` → `v3.5.35` (trimmed; not validated). */
export const normalizeRelease = withV;

/**
 * Checks that need no release list (the Update validator): well-formed,
 * not the current version, same major, and a downgrade only one minor down
 * from a release that has etcd's downgrade API.
 */
export function checkUpgradeShape(current: string, target: unknown): UpgradeVerdict {
  if (typeof target !== 'string' || !parseRelease(target)) {
    return { allowed: false, reason: `version must be an etcd release like v3.5.35 (got ${JSON.stringify(target)})` };
  }
  const [c, t] = [parseRelease(current)!, parseRelease(target)!];
  const tv = normalizeRelease(target);
  if (compareReleases(current, tv) === 0) return { allowed: false, reason: `the cluster already runs ${current}` };
  if (compareReleases(tv, current) < 0) {
    const api = c[0] === DOWNGRADE_API_FROM.major && c[1] >= DOWNGRADE_API_FROM.minor;
    if (api && t[0] === c[0] && t[1] === c[1] - 1) return { allowed: true, downgrade: true };
    return {
      allowed: false,
      reason: api
        ? `the only downgrade from ${current} is to the latest patch of ${c[0]}.${c[1] - 1} (etcd's downgrade API goes one minor down); ${current} → ${tv} is not`
        : `downgrades are not supported from ${c[0]}.${c[1]} (${current} → ${tv}; etcd's downgrade API starts with 3.6); restore a snapshot taken before the upgrade instead`,
    };
  }
  if (t[0] !== c[0]) return { allowed: false, reason: `major version upgrades are not supported (${current} → ${tv})` };
  return { allowed: true };
}

/**
 * The full rule against the releases that exist: a patch upgrade within the
 * minor, or one minor step from the latest patch of the current minor.
 * Anything else is refused with the path to take.
 */
export function checkUpgradePath(current: string, target: string, available: readonly string[]): UpgradeVerdict {
  const shape = checkUpgradeShape(current, target);
  if (!shape.allowed) return shape;
  const tv = normalizeRelease(target);
  const known = available.map(normalizeRelease).filter((v) => parseRelease(v));
  if (shape.downgrade) {
    const [c, t] = [parseRelease(current)!, parseRelease(tv)!];
    const only = latestPatchOf(known, t[0], t[1]);
    if (only === tv) return shape;
    return {
      allowed: false,
      reason: only
        ? `a downgrade from ${current} goes to the latest patch of ${t[0]}.${t[1]}: ${only}, not ${tv}`
        : `no ${t[0]}.${t[1]} release is available to downgrade ${c[0]}.${c[1]} to`,
    };
  }
  if (!known.includes(tv)) {
    return {
      allowed: false,
      reason: `${tv} is not an available etcd release (available: ${[...known].sort(compareReleases).join(', ') || 'none'})`,
    };
  }
  const [c, t] = [parseRelease(current)!, parseRelease(tv)!];
  if (t[1] === c[1]) return { allowed: true };

  const first = latestPatchOf(known, c[0], c[1]) ?? current;
  const floor = MINOR_STEP_FLOOR[`${c[0]}.${c[1]}`];
  if (t[1] - c[1] === 1 && floor && compareReleases(first, floor) < 0)
    return {
      allowed: false,
      reason:
        `${c[0]}.${c[1]} → ${t[0]}.${t[1]} needs ${floor} or later first (etcd's upgrade guide: older ${c[0]}.${c[1]} ` +
        `members can make the upgrade fail); the newest ${c[0]}.${c[1]} available is ${first}: add a release ≥ ${floor} ` +
        `to the artifact source, upgrade to it, then to ${tv}`,
    };
  if (t[1] - c[1] === 1 && compareReleases(first, current) <= 0) return { allowed: true };
  for (let minor = c[1] + 1; minor < t[1]; minor++) {
    if (!latestPatchOf(known, c[0], minor))
      return { allowed: false, reason: `no release of ${c[0]}.${minor} is available to step through on the way to ${tv}` };
  }
  // Intermediate minors: their latest patches.
  const steps: string[] = [];
  if (compareReleases(first, current) > 0) steps.push(first);
  for (let minor = c[1] + 1; minor < t[1]; minor++) steps.push(latestPatchOf(known, c[0], minor)!);
  steps.push(tv);
  const why =
    t[1] - c[1] > 1
      ? `upgrades go one minor at a time (${current} → ${tv} skips ${t[1] - c[1] - 1} minor${t[1] - c[1] > 2 ? 's' : ''})`
      : `a minor upgrade must start from the latest patch of ${c[0]}.${c[1]} (${first}), not ${current}`;
  return { allowed: false, path: steps, reason: `${why}: ${describePath(steps)}` };
}

function describePath(steps: string[]): string {
  if (steps.length === 1) return `upgrade to ${steps[0]}`;
  return `upgrade to ${steps.slice(0, -1).join(', then ')} first, then ${steps.at(-1)}`;
}
