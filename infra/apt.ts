// Debian packages the project relies on at run time: openssl (certificate
// inspection in cert-show.sh), procps and iproute2 (member process and
// loopback address checks), ca-certificates (TLS to S3 and registries),
// openssh-client (the ssh host provider), and
// python3-venv for the Temporal CLI virtualenv when the system python lacks it.
import os from 'node:os';
import { spawn } from 'node:child_process';

export const BASE_PACKAGES = ['openssl', 'procps', 'iproute2', 'ca-certificates', 'openssh-client'] as const;

export interface AptOptions {
  /** Progress lines (only written when something has to be installed). */
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------
// Running commands (shared by the bootstrap modules)

export interface RunResult {
  /** Exit code; 127 when the command could not be started, 128+n when killed by a signal. */
  code: number;
  stdout: string;
  /** stdout and stderr in arrival order, for build logs and error tails. */
  output: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Runs a command directly, without a shell: nothing to quote, and no shell
 * start-up files (bash reads ~/.bashrc when its stdio looks like a socket and
 * SHLVL is unset, which is how node's pipes look). stdin is closed so apt,
 * pip or go can never sit waiting for an answer.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let output = '';
    let settled = false;
    const finish = (code: number) => {
      if (!settled) resolve({ code, stdout, output });
      settled = true;
    };
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      output += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    child.on('error', (err) => {
      output += `${cmd}: ${err.message}\n`;
      finish(127);
    });
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}

/** The last lines of a command's output, for error messages. */
export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------
// Debian packages

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
  const out = await run('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...packages]);
  const installed = parseDpkgStatus(out.stdout);
  return packages.filter((p) => !installed.has(p));
}

/** `python3 -m venv` needs ensurepip, which Debian ships separately in python3-venv. */
export async function pythonVenvWorks(): Promise<boolean> {
  return (await run('python3', ['-c', 'import venv, ensurepip'])).code === 0;
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
  if ((await run('dpkg-query', ['--version'])).code === 127) {
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
    const update = await run('apt-get', [...lockWait, 'update'], { env });
    if (update.code !== 0) throw new Error(`apt-get update failed:\n${tail(update.output)}`);
    aptUpdated = true;
  }
  log(`apt: installing ${missing.join(' ')}`);
  const install = await run('apt-get', [...lockWait, 'install', '-y', '--no-install-recommends', ...missing], { env });
  if (install.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${tail(install.output)}`);
  log(`apt: installed ${missing.join(' ')} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return missingPackages(missing);
}

/** Installs the project's Debian packages (and python3-venv only when `python3 -m venv` cannot work). */
export async function ensureDebianPackages(opts: AptOptions = {}): Promise<string[]> {
  const wanted: string[] = [...BASE_PACKAGES];
  if (!(await pythonVenvWorks())) wanted.push('python3-venv');
  return installDebianPackages(wanted, opts);
}
