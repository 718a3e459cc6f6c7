// Finding and signalling member processes through /proc (Linux).
//
// A process belongs to a member when its command line is an etcd started
// with `--config-file <path>` and that path lies inside the member's root.
// Matching on the command line (not just the pid) protects against pid
// reuse after a reboot or a long outage, and lets us find a process whose
// pidfile was never written because the worker crashed right after spawn.
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface ProcInfo {
  pid: number;
  argv: string[];
  configFile?: string;
  /** Resolved executable (/proc/<pid>/exe), e.g. <root>/opt/etcd/v3.5.10/etcd. */
  exe?: string;
}

export async function readProc(pid: number): Promise<ProcInfo | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    if (!(await isAlive(pid))) return undefined;
    const raw = await fsp.readFile(`/proc/${pid}/cmdline`);
    const argv = raw.toString('utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    let configFile: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--config-file' || a === '-config-file') configFile = argv[i + 1];
      else if (a.startsWith('--config-file=') || a.startsWith('-config-file=')) configFile = a.slice(a.indexOf('=') + 1);
    }
    const exe = await fsp.readlink(`/proc/${pid}/exe`).catch(() => undefined);
    return { pid, argv, configFile, exe };
  } catch {
    return undefined;
  }
}

/** Whether the contents of /proc/<pid>/stat describe a live process (not a zombie, not dead). */
export function statIsAlive(stat: string): boolean {
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state !== '' && !'ZXx'.includes(state);
}

/** Alive and not a zombie (a zombie still answers kill(pid, 0)). */
export async function isAlive(pid: number): Promise<boolean> {
  return statIsAlive(await fsp.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''));
}

/** Process group and session of a pid (fields 5 and 6 of /proc/<pid>/stat). */
export async function procGroupAndSession(pid: number): Promise<{ pgid: number; sid: number } | undefined> {
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pgid: Number(rest[2]), sid: Number(rest[3]) };
  } catch {
    return undefined;
  }
}

export function isEtcdOf(p: ProcInfo, root: string): boolean {
  if (!p.configFile) return false;
  const argv0 = path.basename(p.argv[0] ?? '');
  const exe = path.basename((p.exe ?? '').replace(/ \(deleted\)$/, ''));
  if (argv0 !== 'etcd' && exe !== 'etcd') return false;
  const cfg = path.resolve(p.configFile);
  return cfg.startsWith(`${path.resolve(root)}/`);
}

/** Every live etcd process whose config file lies under `root`, the `hint` pid checked first. */
export async function findEtcdProcesses(root: string, hint?: number): Promise<ProcInfo[]> {
  if (hint) {
    const p = await readProc(hint);
    if (p && isEtcdOf(p, root)) {
      // The pidfile is authoritative when it matches; a full scan is only
      // needed when it is missing or stale.
      return [p];
    }
  }
  // In parallel: a sequential walk costs about a millisecond per process, twice per restart.
  const pids = (await fsp.readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  const procs = await Promise.all(pids.map(etcdCandidate));
  return procs.filter((p): p is ProcInfo => !!p && isEtcdOf(p, root));
}

/** One read for most processes: only a command line with a config file is looked at closer. */
async function etcdCandidate(pid: number): Promise<ProcInfo | undefined> {
  const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`).catch(() => undefined);
  return cmdline?.includes('config-file') ? readProc(pid) : undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until none of `pids` is alive; false on timeout. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = (await Promise.all(pids.map(isAlive))).some(Boolean);
    if (!alive) return true;
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
