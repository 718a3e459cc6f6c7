// Where the ssh provider puts things on a real host (the taskserv layout):
// the spec's paths for config, certificates and data, releases under
// /opt/etcd/vX.Y.Z with /usr/local/bin links, and the systemd unit.
import type { MemberFiles } from '../../../common/topology';
import { shQuote } from '../files';

export const ETCD_USER = 'etcd';
export const UNIT_NAME = 'etcd.service';
export const UNIT_FILE = `/etc/systemd/system/${UNIT_NAME}`;
export const OPT_DIR = '/opt/etcd';
export const BIN_DIR = '/usr/local/bin';
/** Pre-upgrade snapshots the provider keeps, per cluster (removed by purgeCluster). */
export const SNAPSHOT_ROOT = '/var/lib/etcdfleet/snapshots';

export function renderUnit(files: Pick<MemberFiles, 'configFile' | 'envFile' | 'dataDir'>): string {
  return `# etcd as a systemd service, written by etcdfleet (local edits are overwritten).
[Unit]
Description=etcd key-value store
Documentation=https://etcd.io/docs/
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
User=${ETCD_USER}
Group=${ETCD_USER}
EnvironmentFile=${files.envFile}
ExecStart=${BIN_DIR}/etcd --config-file ${files.configFile}
Restart=on-failure
RestartSec=2s
# A member waits for its peers before it reports ready: no start timeout.
TimeoutStartSec=0
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}

/**
 * A script that writes stdin to `file` atomically (temp file, sync, rename)
 * with `mode` and `owner`, unless content, mode and owner are already right.
 * Prints `changed` or `same`.
 */
export function writeFileScript(file: string, mode: number, owner: string): string {
  const p = shQuote(file);
  const m = mode.toString(8).padStart(3, '0');
  return `set -e
p=${p}; d=$(dirname "$p"); mkdir -p "$d"
t="$d/.$(basename "$p").tmp-$$"
trap 'rm -f "$t"' EXIT
cat > "$t"; chmod ${m} "$t"; chown ${owner}:${owner} "$t"
if [ -f "$p" ] && [ ! -L "$p" ] && cmp -s "$t" "$p" && [ "$(stat -c %a:%U "$p")" = "$(stat -c %a:%U "$t")" ]; then echo same; exit 0; fi
sync "$t"; mv -f "$t" "$p"; echo changed`;
}

/** Creates a directory (and parents) and sets its mode and owner; prints `changed` when anything was done. */
export function makeDirScript(dir: string, mode: number, owner: string): string {
  const p = shQuote(dir);
  const m = mode.toString(8).padStart(3, '0');
  const want = `${mode.toString(8)}:${owner}`;
  return `p=${p}
if [ -d "$p" ] && [ "$(stat -c %a:%U "$p")" = ${shQuote(want)} ]; then echo same; exit 0; fi
mkdir -p "$p" && chmod ${m} "$p" && chown ${owner}:${owner} "$p" && echo changed`;
}

/** The etcd system user (no login, no home created). */
export const ENSURE_USER = `id -u ${ETCD_USER} >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /var/lib/etcd --shell /usr/sbin/nologin ${ETCD_USER}`;
