// The member's etcd as the systemd unit etcd.service: start / stop / status
// through systemctl, the log through journalctl. Each is one ssh call running
// a short script, so a step is one round trip on the multiplexed connection.
import { ApplicationFailure } from '@temporalio/common';
import type { MemberProcessStatus, StartMemberResult, StopMemberResult } from '../provider';
import { BIN_DIR, UNIT_NAME } from './layout';
import type { SshResult, SshTransport } from './transport';

const show = (prop: string) => `systemctl show -p ${prop} --value ${UNIT_NAME}`;

/**
 * Starts the unit without waiting for etcd's readiness (a new member is only
 * ready once its peers are up, and members start in parallel): done when
 * systemd has a main pid. Already running (or activating) counts as started.
 */
/** Starts the unit unless it runs (or activates); prints `already|started <pid>`, exit 3 when not installed, 4 when it did not start. */
function startScript(timeoutMs: number): string {
  const tries = Math.max(1, Math.floor((timeoutMs - 2_000) / 50));
  return `pid=$(${show('MainPID')}); st=$(${show('ActiveState')})
if [ "$pid" != 0 ] && { [ "$st" = active ] || [ "$st" = activating ]; }; then echo "already $pid"; exit 0; fi
[ "$(${show('LoadState')})" = loaded ] || { echo "${UNIT_NAME} is not installed" >&2; exit 3; }
systemctl reset-failed ${UNIT_NAME} 2>/dev/null || true
systemctl start --no-block ${UNIT_NAME}
i=0
while [ $i -lt ${tries} ]; do
  pid=$(${show('MainPID')}); [ "$pid" != 0 ] && { echo "started $pid"; exit 0; }
  [ "$(${show('ActiveState')})" = failed ] && break
  sleep 0.05; i=$((i+1))
done
journalctl -u ${UNIT_NAME} -n 10 --no-pager -o cat >&2 || true
exit 4`;
}

function startResult(t: SshTransport, out: SshResult): StartMemberResult {
  const m = /^(already|started) (\d+)/m.exec(out.stdout.toString('utf8'));
  if (out.code === 0 && m) return { pid: Number(m[2]), alreadyRunning: m[1] === 'already' };
  const tail = out.stderr.trim().split('\n').slice(-5).join(' | ');
  if (out.code === 3) throw ApplicationFailure.nonRetryable(`${t.target.host}: ${tail}: prepare the member first`, 'MemberHostNotPrepared');
  throw new Error(`${t.target.host}: etcd did not start: ${tail}`);
}

/**
 * Starts the unit without waiting for etcd's readiness (a new member is only
 * ready once its peers are up, and members start in parallel): done when
 * systemd has a main pid. Already running (or activating) counts as started.
 */
export async function startService(t: SshTransport, timeoutMs = 20_000): Promise<StartMemberResult> {
  return startResult(t, await t.run(startScript(timeoutMs), { timeoutMs }));
}

/** Stops the unit (systemd sends SIGTERM, then SIGKILL after its stop timeout); prints `<state> <pid> <result>`. */
const STOP_SCRIPT = `pid=$(${show('MainPID')}); st=$(${show('ActiveState')})
if [ "$(${show('LoadState')})" != loaded ]; then echo "none 0 none"; exit 0; fi
systemctl stop ${UNIT_NAME}
echo "$st $pid $(${show('Result')})"`;

export async function stopService(t: SshTransport, timeoutMs = 30_000): Promise<StopMemberResult> {
  const out = await t.ok(STOP_SCRIPT, { timeoutMs: timeoutMs + 5_000, what: 'systemctl stop etcd' });
  const [state, pidText, result] = out.trim().split(/\s+/);
  const pid = Number(pidText);
  const stopped = pid > 0 && ['active', 'activating', 'deactivating', 'reloading'].includes(state);
  return { stopped, pids: stopped ? [pid] : [], killed: result === 'timeout' || result === 'signal' };
}

/** Stop then start in one round trip (picks up new files or binaries); a failed stop is reported as such. */
export async function restartService(t: SshTransport, stopTimeoutMs = 30_000, startTimeoutMs = 20_000): Promise<StartMemberResult> {
  const out = await t.run(
    `(${STOP_SCRIPT}) >/dev/null || { echo "systemctl stop ${UNIT_NAME} failed" >&2; exit 5; }\n${startScript(startTimeoutMs)}`,
    {
      timeoutMs: stopTimeoutMs + startTimeoutMs + 5_000,
    },
  );
  if (out.code === 5)
    throw new Error(`${t.target.host}: systemctl stop etcd exited non-zero: ${out.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  return startResult(t, out);
}

/** Main pid, the version of the binary it runs (its /opt/etcd/vX.Y.Z path, else `etcd --version`), and whether the link moved on. */
export async function serviceStatus(t: SshTransport): Promise<MemberProcessStatus> {
  const out = await t.ok(
    `pid=$(${show('MainPID')}); echo "pid=$pid"
[ "$pid" != 0 ] || exit 0
exe=$(readlink /proc/$pid/exe || true); echo "exe=$exe"
echo "link=$(readlink -f ${BIN_DIR}/etcd || true)"
case "$exe" in /opt/etcd/v*/etcd) ;; *) [ -x "$exe" ] && echo "ver=$("$exe" --version 2>/dev/null | sed -n 's/^etcd Version: /v/p')" ;; esac`,
    { timeoutMs: 15_000, what: 'systemctl show etcd' },
  );
  const kv = Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  const pid = Number(kv.pid ?? 0);
  if (!pid) return { running: false };
  const exe = (kv.exe ?? '').replace(/ \(deleted\)$/, '');
  const version = /^\/opt\/etcd\/(v\d+\.\d+\.\d+)\/etcd$/.exec(exe)?.[1] ?? (kv.ver || undefined);
  const binaryOutdated = !!kv.link && !!exe && (kv.exe.endsWith(' (deleted)') || kv.link !== exe);
  return { running: true, pid, version, binaryOutdated };
}

export async function serviceLogTail(t: SshTransport, lines = 20): Promise<string> {
  const n = Math.max(1, Math.min(10_000, Math.floor(lines)));
  return (await t.ok(`journalctl -u ${UNIT_NAME} -n ${n} --no-pager -o cat`, { timeoutMs: 15_000, what: 'journalctl' })).trimEnd();
}
