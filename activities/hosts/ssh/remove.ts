// Removing a member from an ssh host: the unit stops and goes, then the
// config, certificates, scripts and binaries; the data dir is purged, or set
// aside (`<dataDir>.deleted-<stamp>`) so a later cluster never serves it.
import { ApplicationFailure } from '@temporalio/common';
import type { MemberFiles } from '../../../common/topology';
import { shQuote } from '../files';
import type { RemoveMemberHostInput, StopMemberResult } from '../provider';
import { memberOwnFiles } from '../members';
import { BIN_DIR, OPT_DIR, UNIT_FILE, UNIT_NAME } from './layout';
import type { SshTransport } from './transport';
import { BINARIES } from './install';

/** Where a deleted cluster's data dir is kept (as the local provider names it). */
export function deletedDataPath(dataDir: string, stamp: string): string {
  return `${dataDir.replace(/\/+$/, '')}.deleted-${stamp}`;
}

export async function removeSshMember(
  t: SshTransport,
  files: MemberFiles,
  input: RemoveMemberHostInput,
  stop: () => Promise<StopMemberResult>,
): Promise<{ removed: string[]; setAside?: string }> {
  await stop();
  const q = shQuote;
  const lines = ['set -e', 'gone() { if [ -e "$1" ] || [ -L "$1" ]; then rm -rf "$1"; echo "removed $1"; fi; }'];
  let setAside: string | undefined;
  if (input.purge) {
    lines.push(`gone ${q(files.dataDir)}`, `gone ${q(files.confDir)}`, `gone ${q(files.certsDir)}`);
  } else {
    if (input.setAsideStamp) {
      setAside = deletedDataPath(files.dataDir, input.setAsideStamp);
      // A retry after the rename finds no data dir and moves nothing.
      lines.push(
        `if [ -e ${q(files.dataDir)} ]; then [ ! -e ${q(setAside)} ] || exit 45; mv -T ${q(files.dataDir)} ${q(setAside)}; echo "aside"; fi`,
      );
    }
    const own = memberOwnFiles(files);
    lines.push(...own.map((f) => `gone ${q(f)}`), `rmdir ${q(files.confDir)} ${q(files.certsDir)} 2>/dev/null || true`);
  }
  lines.push(
    `if [ -e ${UNIT_FILE} ]; then systemctl disable -q ${UNIT_NAME} 2>/dev/null || true; rm -f ${UNIT_FILE}; systemctl daemon-reload; echo "removed ${UNIT_FILE}"; fi`,
    `systemctl reset-failed ${UNIT_NAME} 2>/dev/null || true`,
    ...BINARIES.map(
      (b) => `case "$(readlink ${BIN_DIR}/${b} || true)" in ${OPT_DIR}/*) rm -f ${BIN_DIR}/${b}; echo "removed ${BIN_DIR}/${b}";; esac`,
    ),
    `gone ${OPT_DIR}`,
  );
  const r = await t.run(lines.join('\n'), { timeoutMs: 120_000 });
  if (r.code === 45) {
    throw ApplicationFailure.nonRetryable(
      `${t.target.host}: ${setAside} already exists; refusing to overwrite kept data`,
      'DataAsideExists',
    );
  }
  if (r.code !== 0) throw new Error(`${t.target.host}: removing the member failed: ${r.stderr.trim()}`);
  const out = r.stdout.toString('utf8').split('\n');
  const removed = out.filter((l) => l.startsWith('removed ')).map((l) => l.slice('removed '.length));
  return { removed, setAside: out.includes('aside') ? setAside : undefined };
}
