// The test hosts' root filesystem: a debootstrapped Debian (minbase plus
// systemd, sshd and a few tools), prepared for booting under systemd-nspawn
// and cached under ~/.cache/etcdfleet/testhosts as a zstd tarball and as an
// extracted directory (the read-only lower layer every host's overlay shares).
// Both are keyed by a hash of the recipe below, so changing the recipe builds
// a new image and a cached one is ready at once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { installDebianPackages, run } from '../apt';
import { acquireLock } from '../lock';
import { debianCodename, pickMirror, readAptSources } from './sources';
import { must, testhostsCacheDir } from './sys';

/** Debian packages the harness itself needs on the machine. */
export const HARNESS_PACKAGES = ['debootstrap', 'systemd-container', 'dnsmasq-base', 'openssh-client', 'zstd'] as const;

export const RECIPE = {
  version: 1,
  variant: 'minbase',
  packages: [
    'systemd',
    'systemd-sysv',
    'dbus',
    'openssh-server',
    'iproute2',
    'iputils-ping',
    'netbase',
    'ca-certificates',
    'sudo',
    'procps',
    'openssl',
    'curl',
    'bind9-dnsutils',
  ],
  /** Units that are slow, noisy or meaningless in a container. */
  masked: [
    'console-getty.service',
    'getty@tty1.service',
    'getty-static.service',
    'systemd-pstore.service',
    'e2scrub_reap.service',
    'e2scrub_all.timer',
    'apt-daily.timer',
    'apt-daily-upgrade.timer',
    'dpkg-db-backup.timer',
    'fstrim.timer',
    'systemd-networkd-wait-online.service',
  ],
  /** Only the per-host ed25519 key the harness writes (and pins); keys only, no passwords. */
  sshd: ['HostKey /etc/ssh/ssh_host_ed25519_key', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'UseDNS no'],
  journald: ['[Journal]', 'Storage=volatile', 'RuntimeMaxUse=16M'],
};

export interface Image {
  /** Extracted root filesystem (never booted directly; hosts overlay it). */
  rootfs: string;
  tarball: string;
  /** The harness's SSH key pair (root's authorized key on every host). */
  keyPath: string;
  publicKey: string;
  built: boolean;
}

export interface ImageOptions {
  log?: (line: string) => void;
}

export function recipeHash(suite: string, arch: string): string {
  const h = crypto.createHash('sha256').update(JSON.stringify({ ...RECIPE, suite, arch }));
  return h.digest('hex').slice(0, 12);
}

/** The harness SSH key, generated once. */
export async function ensureKey(dir = testhostsCacheDir()): Promise<{ keyPath: string; publicKey: string }> {
  const keyPath = path.join(dir, 'id_ed25519');
  if (!fs.existsSync(keyPath) || !fs.existsSync(`${keyPath}.pub`)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(keyPath, { force: true });
    fs.rmSync(`${keyPath}.pub`, { force: true });
    await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'etcdfleet-testhosts', '-f', keyPath]);
  }
  return { keyPath, publicKey: fs.readFileSync(`${keyPath}.pub`, 'utf8').trim() };
}

export async function ensureHarnessPackages(log: (line: string) => void): Promise<void> {
  const missing = await installDebianPackages(HARNESS_PACKAGES, { log });
  if (missing.length) throw new Error(`test hosts need these Debian packages: ${missing.join(' ')}`);
}

/** Builds or unpacks the image when needed; seconds when cached. */
export async function ensureImage(opts: ImageOptions = {}): Promise<Image> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  await ensureHarnessPackages(log);
  const dir = testhostsCacheDir();
  const key = await ensureKey(dir);
  const suite = debianCodename();
  const arch = (await must('dpkg', ['--print-architecture'])).stdout.trim();
  const hash = recipeHash(suite, arch);
  const rootfs = path.join(dir, `rootfs-${hash}`);
  const tarball = path.join(dir, `rootfs-${hash}.tar.zst`);
  const done = `${rootfs}.complete`;
  const image = (built: boolean): Image => ({ rootfs, tarball, ...key, built });
  if (fs.existsSync(done)) return image(false);

  const release = await acquireLock(path.join(dir, 'build.lock'), { purpose: 'test-host image' });
  try {
    if (fs.existsSync(done)) return image(false);
    const tmp = `${rootfs}.tmp`;
    await removeTree(tmp);
    let built = false;
    if (fs.existsSync(tarball)) {
      log(`testhosts: unpacking ${path.basename(tarball)}`);
      fs.mkdirSync(tmp);
      await must('tar', ['-x', '-I', 'zstd', '--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', tmp, '-f', tarball]);
    } else {
      await debootstrap(tmp, suite, log);
      customize(tmp);
      log('testhosts: packing the image');
      await must('tar', [
        '-c',
        '-I',
        'zstd -T0 -9',
        '--numeric-owner',
        '--xattrs',
        '--xattrs-include=*',
        '-C',
        tmp,
        '-f',
        `${tarball}.tmp`,
        '.',
      ]);
      fs.renameSync(`${tarball}.tmp`, tarball);
      built = true;
    }
    await removeTree(rootfs);
    fs.renameSync(tmp, rootfs);
    fs.writeFileSync(done, `${new Date().toISOString()}\n`);
    return image(built);
  } finally {
    release();
  }
}

async function debootstrap(target: string, suite: string, log: (line: string) => void): Promise<void> {
  const mirror = pickMirror(readAptSources(), suite);
  if (!mirror) throw new Error(`no "deb ... ${suite} main" source in /etc/apt: cannot tell debootstrap where Debian is`);
  const started = Date.now();
  log(`testhosts: debootstrap ${suite} (${RECIPE.variant}) from apt's configured mirror`);
  const res = await run('debootstrap', [
    `--variant=${RECIPE.variant}`,
    `--include=${RECIPE.packages.join(',')}`,
    '--components=main',
    suite,
    target,
    mirror,
  ]);
  if (res.code !== 0) {
    await unmountUnder(target);
    const logFile = path.join(target, 'debootstrap', 'debootstrap.log');
    const detail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : res.output;
    throw new Error(`debootstrap failed (${res.code}):\n${detail}`);
  }
  log(`testhosts: debootstrap done (${((Date.now() - started) / 1000).toFixed(0)}s)`);
}

/** Makes the debootstrapped tree bootable as a test host. Per-host files come later (see hosts.ts). */
export function customize(root: string): void {
  const write = (rel: string, text: string, mode = 0o644) => {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true }); // may be a symlink
    fs.writeFileSync(file, text, { mode });
  };
  // debootstrap copied the build machine's resolver, hostname and hosts.
  write('etc/resolv.conf', '# written per host by the etcdfleet test-host harness\n');
  write('etc/hostname', 'localhost\n');
  write('etc/hosts', '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n');
  write('etc/machine-id', '');
  for (const f of fs.readdirSync(path.join(root, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) fs.rmSync(path.join(root, 'etc/ssh', f));
  }
  write('etc/ssh/sshd_config.d/etcdfleet-testhosts.conf', RECIPE.sshd.join('\n') + '\n');
  write('etc/systemd/journald.conf.d/etcdfleet-testhosts.conf', RECIPE.journald.join('\n') + '\n');
  for (const unit of RECIPE.masked) {
    const link = path.join(root, 'etc/systemd/system', unit);
    fs.rmSync(link, { force: true });
    fs.symlinkSync('/dev/null', link);
  }
  fs.mkdirSync(path.join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const f of fs.readdirSync(path.join(root, dir))) {
      if (f.endsWith('.deb') || (dir.endsWith('lists') && f !== 'partial' && f !== 'lock')) fs.rmSync(path.join(root, dir, f));
    }
  }
}

/** Unmounts anything left mounted below a directory (a failed debootstrap leaves /proc and /sys). */
export async function unmountUnder(dir: string): Promise<void> {
  const mounts = fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]);
}

async function removeTree(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  await unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}
