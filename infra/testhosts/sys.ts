// Low-level pieces of the test-host harness: names, commands, cgroups.
//
// Everything the harness creates on the machine carries the prefix `efth-`
// followed by the run's label (`efth-it-h1`, `efth-it-sw`, `efth-it-r`), so a
// later run can find and remove what a crashed one left behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run, tail, type RunOptions, type RunResult } from '../apt';
import { cacheDir } from '../config';

export const PREFIX = 'efth-';

/** Where images and the harness key live (kept between runs). */
export function testhostsCacheDir(env = process.env): string {
  return path.join(cacheDir(env), 'testhosts');
}

/** Per-run state (overlay upper dirs, logs, known_hosts); removed by stop and by the reaper. */
export function runDir(label: string): string {
  return path.join('/var/tmp', `${PREFIX}${label}`);
}

/** Labels end up in interface names (`efth-<label>-r`, at most 15 characters). */
export function checkLabel(label: string): void {
  if (!/^[a-z0-9]{1,8}$/.test(label)) throw new Error(`test-host label ${JSON.stringify(label)}: use 1-8 of [a-z0-9]`);
}

export const names = {
  switchNs: (label: string) => `${PREFIX}${label}-sw`,
  hostNs: (label: string, host: string) => `${PREFIX}${label}-${host}`,
  rootVeth: (label: string) => `${PREFIX}${label}-r`,
  machine: (label: string, host: string) => `${PREFIX}${label}-${host}`,
  cgroup: (label: string, unit: string) => `${PREFIX}${label}-${unit}`,
};

/** Runs a command and throws with its output's tail when it fails. */
export async function must(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.code}:\n${tail(res.output)}`);
  return res;
}

/**
 * Starts a command in a session of its own, output appended to `logFile`; it outlives this process. With
 * `cgroupDirs` it is in those cgroups when this returns (moved there from here), so a check of the cgroup
 * right after a start never finds it empty.
 */
export function spawnDetached(cmd: string, args: string[], logFile: string, cgroupDirs: string[] = []): number {
  const out = fs.openSync(logFile, 'a');
  let child;
  try {
    child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out] });
    child.unref();
  } finally {
    fs.closeSync(out);
  }
  if (child.pid === undefined) throw new Error(`${cmd} could not be started`);
  for (const d of cgroupDirs) fs.writeFileSync(path.join(d, 'cgroup.procs'), String(child.pid));
  return child.pid;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// cgroups
//
// Each container (and dnsmasq) runs in a cgroup of its own, created before
// systemd-nspawn starts with --keep-unit --register=no (there is no systemd on
// the machine to ask for a scope). On a v1/v2 hybrid tree the process joins
// both the name=systemd hierarchy (which nspawn and the container's systemd
// use) and the unified one (whose cgroup.kill stops a whole container at once,
// which SIGKILL to nspawn would not: it orphans the container).

export interface Hierarchy {
  root: string;
  /** cgroup v2: has cgroup.kill and cgroup.events. */
  v2: boolean;
}

export function hierarchies(): Hierarchy[] {
  const base = '/sys/fs/cgroup';
  if (fs.existsSync(path.join(base, 'cgroup.controllers'))) return [{ root: base, v2: true }];
  const found: Hierarchy[] = [];
  if (fs.existsSync(path.join(base, 'systemd', 'cgroup.procs'))) found.push({ root: path.join(base, 'systemd'), v2: false });
  if (fs.existsSync(path.join(base, 'unified', 'cgroup.procs'))) found.push({ root: path.join(base, 'unified'), v2: true });
  return found;
}

/** Creates the cgroup in every hierarchy; returns the directories to write a pid into. */
export function createCgroup(name: string): string[] {
  return hierarchies().map((h) => {
    const dir = path.join(h.root, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  });
}

/** Every pid in the cgroup and below, in every hierarchy. */
export function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
      for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
        if (line.trim()) pids.add(Number(line));
      }
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  for (const h of hierarchies()) walk(path.join(h.root, name));
  return [...pids];
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Kills everything in the cgroup (cgroup.kill where there is one) and waits until it is empty. */
export async function killCgroup(name: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = cgroupPids(name);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`cgroup ${name}: processes ${pids.join(' ')} survive SIGKILL`);
    for (const h of hierarchies()) {
      const kill = path.join(h.root, name, 'cgroup.kill');
      if (h.v2 && fs.existsSync(kill)) fs.writeFileSync(kill, '1');
    }
    killPids(pids);
    await sleep(100);
  }
}

/** Removes an empty cgroup tree (deepest directories first) in every hierarchy. */
export function removeCgroup(name: string): void {
  const rm = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rm(path.join(dir, e.name));
    fs.rmdirSync(dir);
  };
  for (const h of hierarchies()) rm(path.join(h.root, name));
}

/** cgroup names with the given prefix, across hierarchies. */
export function listCgroups(prefix: string): string[] {
  const found = new Set<string>();
  for (const h of hierarchies()) {
    for (const e of fs.readdirSync(h.root, { withFileTypes: true })) {
      if (e.isDirectory() && e.name.startsWith(prefix)) found.add(e.name);
    }
  }
  return [...found];
}

/** Resident memory of everything in the cgroup, in bytes. */
export function cgroupRss(name: string): number {
  let kb = 0;
  for (const pid of cgroupPids(name)) {
    try {
      const m = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return kb * 1024;
}

/** The pid of the first process in the cgroup whose command is `comm`. */
export function findInCgroup(name: string, comm: string): number | undefined {
  return cgroupPids(name).find((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
    } catch {
      return false;
    }
  });
}
