// Removes what a test-host run left behind, also after a crash: processes
// (by cgroup), cgroups, network namespaces, the root namespace's veth, stray
// mounts and the run directory. Everything is found by its `efth-` name.
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../apt';
import { unmountUnder } from './image';
import { netnsList, removeNetwork } from './network';
import { PREFIX, killCgroup, listCgroups, removeCgroup, runDir } from './sys';

export interface Leftovers {
  cgroups: string[];
  netns: string[];
  links: string[];
  mounts: string[];
  dirs: string[];
}

async function rootLinks(prefix: string): Promise<string[]> {
  const res = await run('ip', ['-o', 'link', 'show']);
  return res.stdout
    .split('\n')
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0])
    .filter((n) => n.startsWith(prefix));
}

/** Mounts in this (the root) mount namespace: overlays under a run dir, namespace files, a leaked nspawn tmpfs. */
function mountsWith(prefix: string, dirs: string[]): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter(
      ([src, target]) =>
        target && (src.startsWith(PREFIX) || target.startsWith(`/run/netns/${prefix}`) || dirs.some((d) => target.startsWith(d + '/'))),
    )
    .map(([, target]) => target);
}

function runDirs(label?: string): string[] {
  if (label) return fs.existsSync(runDir(label)) ? [runDir(label)] : [];
  const parent = path.dirname(runDir('x'));
  return fs
    .readdirSync(parent)
    .filter((n) => n.startsWith(PREFIX))
    .map((n) => path.join(parent, n));
}

/** What a run with this label (or any run, without one) left behind. */
export async function findLeftovers(label?: string): Promise<Leftovers> {
  const prefix = label ? `${PREFIX}${label}-` : PREFIX;
  const dirs = runDirs(label);
  return {
    cgroups: listCgroups(prefix),
    netns: (await netnsList()).filter((n) => n.startsWith(prefix)),
    links: await rootLinks(prefix),
    mounts: mountsWith(prefix, dirs),
    dirs,
  };
}

export function isClean(l: Leftovers): boolean {
  return Object.values(l).every((v) => v.length === 0);
}

/** Kills and removes everything of the label's runs (every run's, without a label). Returns what it found. */
export async function reapLeftovers(label?: string): Promise<Leftovers> {
  const found = await findLeftovers(label);
  // Processes first: a live container keeps namespaces and mounts alive.
  for (const cg of found.cgroups) {
    await killCgroup(cg);
    removeCgroup(cg);
  }
  await removeNetwork(found.netns);
  for (const link of await rootLinks(label ? `${PREFIX}${label}-` : PREFIX)) await run('ip', ['link', 'delete', link]);
  for (const m of found.mounts.sort((a, b) => b.length - a.length)) await run('umount', ['-l', m]);
  for (const dir of found.dirs) {
    await unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return found;
}
