// The one parser of etcd release versions, shared by the spec, the upgrade
// rules, the artifacts activity and the tool bootstrap. A release version is
// `v3.5.10` or `3.5.10`; pre-releases and build metadata are not releases.
// Pure and deterministic (workflows import it through upgrade-path).

/** The version a cluster spec gets when it names none (and the bootstrap always builds). */
export const DEFAULT_ETCD_VERSION = 'v3.5.10';

export const RELEASE_VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)$/;

export interface ReleaseVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Parses "3.5.10" or "v3.5.10" into its parts; undefined when malformed. */
export function parseVersion(v: string): ReleaseVersion | undefined {
  const m = RELEASE_VERSION_RE.exec(v);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** A release as the Go module proxy and the mirror name it: `v`-prefixed, no pre-release. */
export function isTaggedRelease(v: string): boolean {
  return v.startsWith('v') && parseVersion(v) !== undefined;
}

/** `3.5.10` or `v3.5.10` -> `v3.5.10`; anything else (pre-releases included) throws. */
export function normalizeVersion(version: string): string {
  const v = withV(version);
  if (!parseVersion(v)) throw new Error(`not an etcd release version: ${JSON.stringify(version)}`);
  return v;
}

/** `major.minor` of a release version, '' when malformed. */
export function minorOf(v: string): string {
  const p = parseVersion(v);
  return p ? `${p.major}.${p.minor}` : '';
}

/** The `v`-prefixed form, surrounding space trimmed (no validation: see parseVersion). */
export function withV(v: string): string {
  const t = v.trim();
  return t.startsWith('v') ? t : `v${t}`;
}

/** Orders two well-formed release versions (oldest first). */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a)!;
  const pb = parseVersion(b)!;
  return pa.major - pb.major || pa.minor - pb.minor || pa.patch - pb.patch;
}

/** Highest release of major.minor among `versions` (malformed entries are skipped). */
export function latestPatchOf(versions: readonly string[], major: number, minor: number): string | undefined {
  return versions
    .filter((x) => {
      const p = parseVersion(x);
      return p !== undefined && p.major === major && p.minor === minor;
    })
    .sort(compareVersions)
    .at(-1);
}
