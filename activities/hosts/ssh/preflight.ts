// Checks on every ssh host before anything is installed: systemd runs the
// machine, a supported architecture, a working `sudo -n` (non-root users),
// the member's ports free (unless our etcd.service holds them), room on the
// data dir's filesystem, and a clock close to the worker's. All hosts are
// checked in parallel; the failure names each host and its reasons.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../../common/spec';
import { memberPorts } from '../../../common/spec';
import { shQuote } from '../files';
import { hostFiles } from '../members';
import { UNIT_NAME } from './layout';
import type { SshTransport } from './transport';

/** Free space the data dir's filesystem needs (the backend quota is 2 GiB by default; this is the floor to start). */
export const MIN_FREE_BYTES = 1 << 30;
/** Clock offset beyond which a host is refused (TLS validity and raft timing both suffer). */
export const MAX_CLOCK_SKEW_S = 30;
const ARCHES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };

export function preflightScript(ports: number[], dataDir: string): string {
  const checks = ports.map((p) => `ss -Htln "sport = :${p}" | grep -q . && busy="$busy ${p}"`).join('\n');
  return `[ -d /run/systemd/system ] && echo systemd=yes || echo systemd=no
echo arch=$(uname -m)
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
  if (!ARCHES[kv.arch]) problems.push(`unsupported architecture ${kv.arch || 'unknown'} (supported: ${Object.keys(ARCHES).join(', ')})`);
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
