// Debian packages the project relies on at run time: openssl (certificate
// inspection in cert-show.sh), procps and iproute2 (member process and
// loopback address checks), ca-certificates (TLS to S3 and registries), and
// python3-venv for the Temporal CLI virtualenv when the system python lacks it.
import { $ } from 'zx';

export const BASE_PACKAGES = ['openssl', 'procps', 'iproute2', 'ca-certificates'] as const;

export interface AptOptions {
  /** Progress lines (only written when something has to be installed). */
  log?: (line: string) => void;
}

const quiet$ = $({ quiet: true, nothrow: true });

async function commandExists(name: string): Promise<boolean> {
  return (await quiet$`command -v ${name}`).exitCode === 0;
}

/** Parses `dpkg-query -W -f='${Package} ${db:Status-Status}\n'` output into the set of installed packages. */
export function parseDpkgStatus(output: string): Set<string> {
  const installed = new Set<string>();
  for (const line of output.split('\n')) {
    const [name, status] = line.trim().split(/\s+/);
    // Multi-arch packages are reported as name:arch.
    if (name && status === 'installed') installed.add(name.split(':')[0]);
  }
  return installed;
}

/** Packages from the list that dpkg does not report as installed. */
export async function missingPackages(packages: readonly string[]): Promise<string[]> {
  // dpkg-query exits 1 when a package is unknown but still reports the known ones.
  const out = await quiet$`dpkg-query -W -f=${'${Package} ${db:Status-Status}\n'} ${packages}`;
  const installed = parseDpkgStatus(out.stdout);
  return packages.filter((p) => !installed.has(p));
}

/** `python3 -m venv` needs ensurepip, which Debian ships separately in python3-venv. */
export async function pythonVenvWorks(): Promise<boolean> {
  return (await quiet$`python3 -c ${'import venv, ensurepip'}`).exitCode === 0;
}

let aptUpdated = false;

function installCommand(packages: string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

/**
 * Installs the given Debian packages when dpkg lacks them. Not being root is
 * not an error: the command to run is printed and the bootstrap carries on.
 * Returns the packages that are still missing afterwards.
 */
export async function installDebianPackages(packages: readonly string[], opts: AptOptions = {}): Promise<string[]> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if (!(await commandExists('dpkg-query'))) {
    log(`apt: not a Debian system; make sure these are installed: ${packages.join(' ')}`);
    return [...packages];
  }
  const missing = await missingPackages(packages);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    log(`apt: missing ${missing.join(' ')}; run as root:  sudo sh -c '${installCommand(missing)}'`);
    return missing;
  }
  const started = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt/dpkg run (e.g. a parallel bootstrap) instead of failing on its lock.
  const lockWait = ['-o', 'DPkg::Lock::Timeout=600'];
  if (!aptUpdated) {
    log(`apt: missing ${missing.join(' ')}; apt-get update`);
    const update = await $({ quiet: true, nothrow: true, env })`apt-get ${lockWait} update`;
    if (update.exitCode !== 0) throw new Error(`apt-get update failed:\n${tail(update.stdall)}`);
    aptUpdated = true;
  }
  log(`apt: installing ${missing.join(' ')}`);
  const install = await $({ quiet: true, nothrow: true, env })`apt-get ${lockWait} install -y --no-install-recommends ${missing}`;
  if (install.exitCode !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${tail(install.stdall)}`);
  log(`apt: installed ${missing.join(' ')} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return missingPackages(missing);
}

/** Installs the project's Debian packages (and python3-venv only when `python3 -m venv` cannot work). */
export async function ensureDebianPackages(opts: AptOptions = {}): Promise<string[]> {
  const wanted: string[] = [...BASE_PACKAGES];
  if (!(await pythonVenvWorks())) wanted.push('python3-venv');
  return installDebianPackages(wanted, opts);
}

export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
