// One test host as a process tree: a small shell supervisor that joins the
// host's cgroup, enters a private mount namespace (a tmpfs on
// /run/systemd/nspawn there, and the host's overlay root), and runs
// systemd-nspawn --boot in the host's network namespace. When the container
// reboots, nspawn exits 133 and the supervisor boots it again. Everything dies
// with the cgroup (cgroup.kill), and the mounts die with the namespace.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cgroupPids, createCgroup, findInCgroup, killCgroup, must, removeCgroup, sleep, spawnDetached } from './sys';

export interface MachineSpec {
  /** Host name inside the container (`h1`). */
  hostname: string;
  /** Machine name, cgroup and network namespace name (`efth-it-h1`). */
  machine: string;
  /** The shared read-only image. */
  lower: string;
  /** This host's directory: upper/, work/, root/ (mount point), boot.sh, console.log. */
  dir: string;
}

/** Quotes a word for sh when it needs quoting. */
export function shq(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The supervisor: run without arguments it joins the host's cgroups and
 * re-executes itself in a private mount namespace ("inside"), which mounts the
 * nspawn tmpfs and the overlay root and runs nspawn until it exits for good.
 */
export function bootScript(spec: MachineSpec, cgroupDirs: string[]): string {
  const upper = path.join(spec.dir, 'upper');
  const work = path.join(spec.dir, 'work');
  const root = path.join(spec.dir, 'root');
  const nspawn = [
    'systemd-nspawn',
    '--quiet',
    '--boot',
    '--keep-unit',
    '--register=no',
    `--machine=${spec.machine}`,
    `--hostname=${spec.hostname}`,
    '-D',
    root,
    `--network-namespace-path=/run/netns/${spec.machine}`,
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    '--console=read-only',
  ]
    .map(shq)
    .join(' ');
  return [
    '#!/bin/sh',
    `# etcdfleet test host ${spec.hostname} (${spec.machine}), written by infra/testhosts/machine.ts`,
    'if [ "${1:-}" != inside ]; then',
    ...cgroupDirs.map((d) => `  echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`),
    '  exec unshare --mount --propagation private /bin/sh "$0" inside',
    'fi',
    'set -e',
    `mkdir -p /run/systemd/nspawn ${shq(root)}`,
    'mount -t tmpfs -o mode=0755 efth-nspawn /run/systemd/nspawn',
    `mount -t overlay efth-overlay -o ${shq(`lowerdir=${spec.lower},upperdir=${upper},workdir=${work}`)} ${shq(root)}`,
    'set +e',
    'while :; do',
    `  ${nspawn}`,
    '  rc=$?',
    '  [ "$rc" -eq 133 ] || exit "$rc"',
    '  echo "etcdfleet-testhosts: the container rebooted; booting it again"',
    'done',
    '',
  ].join('\n');
}

/** Writes the per-host files into the overlay's upper layer (first boot only). */
export async function prepareHostDir(spec: MachineSpec, files: { publicKey: string; resolver: string; address: string }): Promise<string> {
  const upper = path.join(spec.dir, 'upper');
  for (const d of ['work', 'root']) fs.mkdirSync(path.join(spec.dir, d), { recursive: true });
  // Upper-layer directories shadow the image's attributes: give them the image's modes.
  fs.mkdirSync(path.join(upper, 'etc', 'ssh'), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.join(upper, 'root', '.ssh'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(upper, 'root'), 0o700);
  const put = (rel: string, text: string, mode = 0o644) => fs.writeFileSync(path.join(upper, rel), text, { mode });
  put('etc/hostname', `${spec.hostname}\n`);
  put('etc/hosts', `127.0.0.1 localhost\n${files.address} ${spec.hostname}\n::1 localhost ip6-localhost ip6-loopback\n`);
  put('etc/resolv.conf', `nameserver ${files.resolver}\n`);
  put('etc/machine-id', `${crypto.randomUUID().replace(/-/g, '')}\n`, 0o444);
  put('root/.ssh/authorized_keys', `${files.publicKey}\n`, 0o600);
  // A host key of its own, generated here so the harness can pin it.
  const hostKey = path.join(upper, 'etc', 'ssh', 'ssh_host_ed25519_key');
  await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${spec.hostname}`, '-f', hostKey]);
  return fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

/** Starts the supervisor detached (it outlives this process, e.g. after `testhosts up`). */
export function bootMachine(spec: MachineSpec): void {
  const cgroups = createCgroup(spec.machine);
  const script = path.join(spec.dir, 'boot.sh');
  fs.writeFileSync(script, bootScript(spec, cgroups), { mode: 0o755 });
  spawnDetached('/bin/sh', [script], path.join(spec.dir, 'console.log'), cgroups);
}

export function machineRunning(spec: MachineSpec): boolean {
  return cgroupPids(spec.machine).length > 0;
}

/**
 * Stops the container. graceful: SIGTERM to nspawn, which shuts the container
 * down cleanly, then the hard way after timeoutMs. Hard: cgroup.kill (a power cut).
 */
export async function stopMachine(spec: MachineSpec, opts: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
  if (opts.graceful) {
    const nspawn = findInCgroup(spec.machine, 'systemd-nspawn');
    if (nspawn !== undefined) {
      try {
        process.kill(nspawn, 'SIGTERM');
      } catch {
        /* exited meanwhile */
      }
      const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
      while (machineRunning(spec) && Date.now() < deadline) await sleep(100);
    }
  }
  await killCgroup(spec.machine);
  removeCgroup(spec.machine);
}
