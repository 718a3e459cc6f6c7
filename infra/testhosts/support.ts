// Can this machine run the test hosts? The integration test skips (with the
// reason) where it cannot: not root, no cgroup tree to create cgroups in, or
// neither systemd-nspawn nor apt-get to install it.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { hierarchies } from './sys';

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function testhostsSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (network namespaces, cgroups and systemd-nspawn need root)' };
  const hs = hierarchies();
  if (hs.length === 0) return { ok: false, reason: 'no cgroup v2 or name=systemd hierarchy under /sys/fs/cgroup' };
  try {
    for (const h of hs) fs.accessSync(h.root, fs.constants.W_OK);
  } catch {
    return { ok: false, reason: '/sys/fs/cgroup is read-only here' };
  }
  if (!onPath('ip')) return { ok: false, reason: 'no ip(8) (iproute2)' };
  if (!onPath('systemd-nspawn') && !onPath('apt-get')) {
    return { ok: false, reason: 'systemd-nspawn is missing and apt-get is not there to install systemd-container' };
  }
  return { ok: true };
}
