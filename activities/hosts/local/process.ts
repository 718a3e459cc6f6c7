// The local provider's service: a detached etcd in its own session (it
// outlives the worker, like a systemd unit), a pidfile, a per-member lock,
// and /proc scans so a lost pidfile or a stray duplicate is still found.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { atomicWrite, ensureDir, exists } from '../files';
import { ProcInfo, findEtcdProcesses, isAlive, isEtcdOf, readProc, signal, sleep, waitGone } from '../proc';
import type { MemberProcessStatus, MemberRef, StartMemberResult, StopMemberResult } from '../provider';
import { localMemberRuntime, readManifest } from './layout';

/** How long a started etcd must stay up before start reports success; later crashes are the health gates' to find. */
const START_CONFIRM_MS = 150;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const KILL_WAIT_MS = 5_000;

async function readPid(file: string): Promise<number | undefined> {
  const s = await fsp.readFile(file, 'utf8').catch(() => undefined);
  const n = s ? Number.parseInt(s.trim(), 10) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

async function memberProcesses(hostsDir: string, ref: MemberRef, fullScan = false): Promise<ProcInfo[]> {
  const rt = localMemberRuntime(hostsDir, ref.cluster, ref.member);
  const hint = fullScan ? undefined : await readPid(rt.pidFile);
  return findEtcdProcesses(rt.root, hint);
}

export async function memberProcessStatus(hostsDir: string, ref: MemberRef): Promise<MemberProcessStatus> {
  const [p] = await memberProcesses(hostsDir, ref);
  if (!p) return { running: false };
  const rt = localMemberRuntime(hostsDir, ref.cluster, ref.member);
  const exe = p.exe?.replace(/ \(deleted\)$/, '');
  const version = exe ? /\/(v\d+\.\d+\.\d+)\/etcd$/.exec(exe)?.[1] : undefined;
  const linked = await fsp.realpath(rt.etcd).catch(() => undefined);
  return { running: true, pid: p.pid, version, binaryOutdated: !!exe && !!linked && (exe !== linked || p.exe !== exe) };
}

/**
 * A per-member lock (O_EXCL file holding the holder's pid) so two attempts of
 * the same activity (a retry racing a slow predecessor) never start two etcds
 * on one data dir. A lock whose holder is dead is taken over.
 */
async function withMemberLock<T>(lockFile: string, fn: () => Promise<T>, waitMs = 15_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  const token = `${process.pid} ${crypto.randomBytes(6).toString('hex')}\n`;
  for (;;) {
    try {
      await fsp.writeFile(lockFile, token, { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number.parseInt((await fsp.readFile(lockFile, 'utf8').catch(() => '')).split(' ')[0], 10);
      if (!Number.isInteger(holder) || !(await isAlive(holder))) {
        await fsp.rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`member lock ${lockFile} is held by pid ${holder}`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    const cur = await fsp.readFile(lockFile, 'utf8').catch(() => '');
    if (cur === token) await fsp.rm(lockFile, { force: true });
  }
}

export async function startMember(hostsDir: string, ref: MemberRef): Promise<StartMemberResult> {
  const rt = localMemberRuntime(hostsDir, ref.cluster, ref.member);
  const manifest = await readManifest(hostsDir, ref.cluster, ref.member);
  if (!manifest || !(await exists(manifest.files.configFile))) {
    throw ApplicationFailure.nonRetryable(
      `member ${ref.cluster}/${ref.member} has no config: prepare the member host first`,
      'MemberHostNotPrepared',
    );
  }
  if (!(await exists(rt.etcd))) {
    throw ApplicationFailure.nonRetryable(
      `member ${ref.cluster}/${ref.member} has no etcd binary: install binaries first`,
      'MemberHostNotPrepared',
    );
  }
  await ensureDir(rt.runDir, 0o755);
  return withMemberLock(rt.lockFile, async () => {
    const [running] = await memberProcesses(hostsDir, ref);
    if (running) {
      if ((await readPid(rt.pidFile)) !== running.pid) await atomicWrite(rt.pidFile, `${running.pid}\n`, 0o644);
      return { pid: running.pid, alreadyRunning: true };
    }
    await fsp.rm(rt.pidFile, { force: true });
    await ensureDir(rt.logDir, 0o755);

    const logFd = fs.openSync(rt.logFile, 'a', 0o644);
    const logStart = fs.fstatSync(logFd).size;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let pid: number | undefined;
    try {
      const child = spawn(rt.etcd, ['--config-file', manifest.files.configFile], {
        cwd: rt.root,
        // detached = setsid(): own session and process group, so neither the
        // worker's exit nor a signal to its group reaches etcd.
        detached: true,
        stdio: ['ignore', logFd, logFd],
        // A clean environment: etcd also reads ETCD_* variables, and
        // JOURNAL_STREAM would divert `default` log output to journald.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? rt.root },
      });
      child.on('exit', (code, sig) => (exited = { code, signal: sig }));
      child.on('error', (e) => (spawnError = e));
      child.unref();
      pid = child.pid;
    } finally {
      fs.closeSync(logFd);
    }
    if (pid === undefined) {
      await sleep(10);
      throw new Error(`could not start ${rt.etcd}: ${spawnError?.message ?? 'no pid'}`);
    }
    await atomicWrite(rt.pidFile, `${pid}\n`, 0o644);

    const until = Date.now() + Math.max(0, ref.startConfirmMs ?? START_CONFIRM_MS);
    while (Date.now() < until && !exited && (await isAlive(pid))) await sleep(25);
    if (exited || spawnError || !(await isAlive(pid))) {
      await fsp.rm(rt.pidFile, { force: true });
      const tail = await logTail(rt.logFile, logStart, 20);
      const how = exited
        ? exited.signal
          ? `signal ${exited.signal}`
          : `exit code ${exited.code}`
        : spawnError
          ? spawnError.message
          : 'exited';
      throw new Error(`etcd for member ${ref.cluster}/${ref.member} exited right after start (${how}); last log lines:\n${tail}`);
    }
    return { pid, alreadyRunning: false };
  });
}

async function logTail(file: string, from: number, lines: number): Promise<string> {
  const buf = await fsp.readFile(file).catch(() => Buffer.alloc(0));
  const text = buf.subarray(Math.min(from, buf.length)).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .slice(-lines)
    .join('\n');
}

/** Last lines of a member's log file (for diagnostics in activity errors). */
export async function memberLogTail(hostsDir: string, ref: MemberRef, lines = 20): Promise<string> {
  return logTail(localMemberRuntime(hostsDir, ref.cluster, ref.member).logFile, 0, lines);
}

/** The flock(2) locks each process holds (dev:inode), from /proc/locks: etcd's bbolt backend holds one while it is open. */
export async function flocksByPid(): Promise<Map<number, Set<string>>> {
  const out = new Map<number, Set<string>>();
  const text = await fsp.readFile('/proc/locks', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 2884 fe:00:9978081 0 EOF"; blocked waiters ("1: -> FLOCK …") are skipped.
    if (f[1] !== 'FLOCK') continue;
    const pid = Number(f[4]);
    if (!out.has(pid)) out.set(pid, new Set());
    out.get(pid)!.add(f[5]);
  }
  return out;
}

/**
 * Waits until the SIGTERMed `pids` are gone (false on timeout). An etcd closes its raft log and then its
 * backend (releasing the backend's flock) before it lets its peer listener drain, which etcd bounds at
 * one second and which a peer's reconnect attempt often fills: a pid that held flocks before the SIGTERM
 * and holds none now has closed its storage, and is ended with SIGKILL instead of waiting for that.
 */
async function waitStopped(pids: number[], timeoutMs: number, held: Map<number, Set<string>>, root: string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const cut = new Set<number>();
  for (;;) {
    const live = (await Promise.all(pids.map(async (p) => ((await isAlive(p)) ? p : 0)))).filter((p) => p > 0);
    if (!live.length) return true;
    if (Date.now() >= deadline) return false;
    const locks = await flocksByPid();
    for (const p of live) {
      if (cut.has(p) || !held.get(p)?.size || locks.get(p)?.size) continue;
      const info = await readProc(p);
      if (info && isEtcdOf(info, root)) signal(p, 'SIGKILL');
      cut.add(p);
    }
    await sleep(10);
  }
}

export async function stopMember(hostsDir: string, input: MemberRef & { timeoutMs?: number }): Promise<StopMemberResult> {
  const rt = localMemberRuntime(hostsDir, input.cluster, input.member);
  const stop = async (): Promise<StopMemberResult> => {
    // A full scan, not just the pidfile: stray duplicates must go too.
    const procs = await memberProcesses(hostsDir, input, true);
    const pids = procs.map((p) => p.pid);
    let killed = false;
    if (pids.length > 0) {
      const held = await flocksByPid();
      pids.forEach((p) => signal(p, 'SIGTERM'));
      if (!(await waitStopped(pids, input.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, held, rt.root))) {
        for (const p of pids) {
          // Re-check identity right before SIGKILL: never kill a recycled pid.
          const info = await readProc(p);
          if (info && info.configFile && path.resolve(info.configFile).startsWith(`${rt.root}/`)) signal(p, 'SIGKILL');
        }
        killed = true;
        if (!(await waitGone(pids, KILL_WAIT_MS)))
          throw new Error(`etcd pids ${pids.join(',')} of ${input.cluster}/${input.member} survived SIGKILL`);
      }
    }
    await fsp.rm(rt.pidFile, { force: true });
    return { stopped: pids.length > 0, pids, killed };
  };
  if (!(await exists(rt.runDir))) return stop();
  return withMemberLock(rt.lockFile, stop, (input.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS) + KILL_WAIT_MS + 5_000);
}
