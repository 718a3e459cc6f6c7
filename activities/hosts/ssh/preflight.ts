// Checks on every ssh host before anything is installed: systemd runs the
// machine, a supported OS (/etc/os-release), an architecture the worker has
// a release for, a working `sudo -n` (non-root users),
// the member's ports free (unless our etcd.service holds them), room on the
// data dir's filesystem, and a clock close to the worker's. All hosts are
// checked in parallel; the failure names each host and its reasons.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../../common/spec';
import { memberPorts } from '../../../common/spec';
import { RELEASE_OS_ARCH } from '../../artifacts';
import { shQuote } from '../files';
import { hostFiles } from '../members';
import { ETCD_USER, UNIT_NAME } from './layout';
import type { SshTransport } from './transport';

/** Free space the data dir's filesystem needs (the backend quota is 2 GiB by default; this is the floor to start). */
export const MIN_FREE_BYTES = 1 << 30;
/** Clock offset beyond which a host is refused (TLS validity and raft timing both suffer). */
export const MAX_CLOCK_SKEW_S = 30;
/** `uname -m` → the architecture name etcd releases use. */
const RELEASE_ARCH: Record<string, string> = {
  x86_64: 'amd64',
  amd64: 'amd64',
  aarch64: 'arm64',
  arm64: 'arm64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
};
/** os-release IDs (ID or any of ID_LIKE) of the distributions supported on ssh hosts: systemd-based Linux families. */
export const SUPPORTED_OS_IDS = [
  'debian',
  'ubuntu',
  'rhel',
  'centos',
  'fedora',
  'rocky',
  'almalinux',
  'ol',
  'amzn',
  'suse',
  'sles',
  'opensuse',
];

/** Parses os-release text (`KEY=value`, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/** Why a host's OS is not supported (from its os-release text), or undefined when it is. */
export function osReleaseProblem(text: string): string | undefined {
  const os = parseOsRelease(text);
  if (!os.ID) return 'unsupported OS: no /etc/os-release (or /usr/lib/os-release) with an ID';
  const ids = [os.ID, ...(os.ID_LIKE ?? '').split(/\s+/)].map((x) => x.toLowerCase()).filter(Boolean);
  if (ids.some((id) => SUPPORTED_OS_IDS.includes(id) || id.startsWith('opensuse'))) return undefined;
  const like = os.ID_LIKE ? ` (like ${os.ID_LIKE})` : '';
  return `unsupported OS ${os.PRETTY_NAME || os.NAME || os.ID}: ID ${os.ID}${like} is not one of ${SUPPORTED_OS_IDS.join(', ')}`;
}

/** Why etcd cannot run on a host of this `uname -m`: no release of ours is built for it. */
export function archProblem(machine: string): string | undefined {
  const ours = RELEASE_OS_ARCH.split('-')[1];
  const arch = RELEASE_ARCH[machine];
  if (arch === ours) return undefined;
  return arch
    ? `architecture ${machine} (${arch}): the worker's etcd releases are ${RELEASE_OS_ARCH} only`
    : `unsupported architecture ${machine || 'unknown'}: no etcd release for it (the worker's releases are ${RELEASE_OS_ARCH})`;
}

/**
 * Commands the service runs on a host besides coreutils: the release and files arrive as one tar
 * stream, small files base64-encoded, releases are checked with sha256sum, ports with ss.
 */
export const REQUIRED_COMMANDS = ['tar', 'base64', 'sha256sum', 'ss', 'awk', 'sed', 'systemctl'];

export function preflightScript(ports: number[], dataDir: string): string {
  const checks = ports.map((p) => `ss -Htln "sport = :${p}" | grep -q . && busy="$busy ${p}"`).join('\n');
  return `[ -d /run/systemd/system ] && echo systemd=yes || echo systemd=no
echo kernel=$(uname -s)
missing=""; for c in ${REQUIRED_COMMANDS.join(' ')}; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
id -u ${ETCD_USER} >/dev/null 2>&1 || command -v useradd >/dev/null 2>&1 || missing="$missing useradd"
echo missing=$missing
echo arch=$(uname -m)
for f in /etc/os-release /usr/lib/os-release; do [ -r "$f" ] && { sed -n 's/^[A-Z0-9_]*=/os.&/p' "$f"; break; }; done
echo now=$(date +%s)
d=${shQuote(dataDir)}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo free=$(df -Pk "$d" | awk 'NR==2 {print $4 * 1024}')
echo ours=$(systemctl show -p MainPID --value ${UNIT_NAME} 2>/dev/null || echo 0)
busy=""
${checks}
echo busy=$busy`;
}

/** What is wrong with one host, from the script's output; empty when fine. */
export function preflightProblems(out: string, nowS: number): string[] {
  const kv = Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  const problems: string[] = [];
  if (kv.systemd !== 'yes') problems.push('systemd is not running the host');
  if (kv.kernel && kv.kernel !== 'Linux') problems.push(`unsupported OS: kernel ${kv.kernel}, etcd hosts run Linux`);
  if (kv.missing)
    problems.push(
      `missing commands: ${kv.missing.split(/\s+/).join(', ')} (the service runs ${REQUIRED_COMMANDS.join(', ')} and useradd on each host)`,
    );
  const osRelease = Object.entries(kv)
    .filter(([k]) => k.startsWith('os.'))
    .map(([k, v]) => `${k.slice(3)}=${v}`)
    .join('\n');
  const os = osReleaseProblem(osRelease);
  if (os) problems.push(os);
  const arch = archProblem(kv.arch ?? '');
  if (arch) problems.push(arch);
  const skew = Math.abs(Number(kv.now) - nowS);
  if (!Number.isFinite(skew) || skew > MAX_CLOCK_SKEW_S)
    problems.push(`clock is ${Number.isFinite(skew) ? `${skew}s` : 'unreadably'} off from the worker's`);
  const free = Number(kv.free);
  if (!Number.isFinite(free) || free < MIN_FREE_BYTES)
    problems.push(`${Math.floor((free || 0) / 2 ** 20)} MiB free for the data dir, need ${MIN_FREE_BYTES / 2 ** 20} MiB`);
  if (kv.busy && (kv.ours ?? '0') === '0') problems.push(`ports already in use: ${kv.busy}`);
  return problems;
}

export async function preflightSshHosts(spec: ClusterSpec, tx: (member: string) => SshTransport): Promise<{ checked: number }> {
  const results = await Promise.all(
    spec.members.map(async (m) => {
      const t = tx(m.name);
      const p = memberPorts(spec, m);
      try {
        if (t.target.user !== 'root') {
          const sudo = await t.run('true');
          if (sudo.code !== 0) return `${m.name} (${m.address}): sudo -n does not work for ${t.target.user}: ${sudo.stderr.trim()}`;
        }
        const out = await t.ok(preflightScript([p.client, p.peer, p.metrics], hostFiles(spec, m.name).dataDir), { what: 'preflight' });
        const problems = preflightProblems(out, Math.floor(Date.now() / 1000));
        return problems.length ? `${m.name} (${m.address}): ${problems.join('; ')}` : undefined;
      } catch (e) {
        if (e instanceof ApplicationFailure) throw e;
        return `${m.name} (${m.address}): ${(e as Error).message}`;
      }
    }),
  );
  const bad = results.filter(Boolean);
  if (bad.length) throw ApplicationFailure.nonRetryable(`hosts failed the preflight: ${bad.join(' / ')}`, 'PreflightFailed');
  return { checked: spec.members.length };
}
