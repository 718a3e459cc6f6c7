// One round trip that brings an ssh host to a wanted state: a tar stream
// (tar.ts) with every file to write and, when the host lacks them, the
// release binaries, extracted by one script into a private staging dir
// (0700, under /opt/etcd so binaries are renamed, not copied, into place),
// which then creates the etcd user and directories, writes each file
// atomically only where content, mode or owner differ, verifies the release
// checksums before the release dir appears, swaps the /usr/local/bin links by
// rename(2), and reloads / enables the unit when it changed. The staging dir
// is removed on exit, whatever happened.
import path from 'node:path';
import { shQuote } from '../files';
import { BIN_DIR, ENSURE_USER, OPT_DIR, UNIT_NAME, makeDirScript } from './layout';
import { tarStream, type TarEntry } from './tar';
import type { SshInput, SshTransport } from './transport';

export interface HostFile {
  path: string;
  content: string | Buffer;
  mode: number;
  owner: string;
  /** The systemd unit: `daemon-reload` when it changed, and enabled. */
  unit?: boolean;
}

export interface Release {
  /** vX.Y.Z */
  version: string;
  /** /opt/etcd/vX.Y.Z */
  dir: string;
  /** Where the worker holds the binaries. */
  binDir: string;
  available: readonly string[];
  /** The binaries' SHA-256 sums, `sha256sum -c` input. */
  sums: string;
  /** Copy the binaries (the host does not hold exactly them). */
  send: boolean;
  /** Point /usr/local/bin at the release. */
  link: boolean;
  /**
   * Copied and checked on the host before (an upgrade's "Stage release"):
   * only its record of that check (`.etcdfleet-sha256`, these sums) is
   * looked at; without it the script exits 7 and nothing is changed.
   */
  staged?: boolean;
}

/** Written into a release dir once its checksums were verified there: the sums it was checked against. */
export const VERIFIED_RECORD = '.etcdfleet-sha256';

export interface HostPlan {
  user?: boolean;
  dirs?: [string, number, string][];
  files?: HostFile[];
  release?: Release;
}

/**
 * A shell condition, true when the files in the current dir have the SHA-256
 * sums `sums` (`sha256sum` format, "<hex>  <name>" lines). Where the host has
 * `openssl`, its `dgst -sha256 -r` output ("<hex> *<name>") is compared
 * exactly with the sums (it uses the CPU's SHA instructions: ~5× faster than
 * coreutils' sha256sum on an 86 MB release); without openssl, or when its
 * answer differs, `sha256sum -c <check>` decides (and says what differs).
 * `check` is the rest of that command: its flags and input file, or nothing
 * to read the sums from stdin.
 */
export function sumsMatchScript(sums: string, check: string): string {
  const lines = sums
    .trimEnd()
    .split('\n')
    .map((l) => {
      const i = l.indexOf('  ');
      return { hash: l.slice(0, i), name: l.slice(i + 2) };
    });
  const names = lines.map((l) => shQuote(l.name)).join(' ');
  const want = shQuote(lines.map((l) => `${l.hash} *${l.name}`).join('\n'));
  return `{ [ "$(openssl dgst -sha256 -r ${names} 2>/dev/null </dev/null)" = ${want} ] || sha256sum -c ${check}; }`;
}

/** The binaries the links cover; a release without one of them leaves no stale link. */
const LINKED = ['etcd', 'etcdctl', 'etcdutl'];

/**
 * Puts each staged file (`src(i)`, a shell word) at its path with mode and
 * owner, atomically, unless content, mode and owner are already right; sets
 * `r<i>` to `changed` or `same`. A file that is the same costs two processes
 * (cmp, stat); one that differs goes to a temp file next to it (`t<i>`: one
 * `install` for content, mode and owner), then all temp files are synced by
 * one `sync`, then each is renamed into place. The EXIT trap it sets removes
 * `$s` and any temp file left.
 */
export function placeFilesScript(files: readonly Omit<HostFile, 'content'>[], src: (i: number) => string): string[] {
  if (!files.length) return [];
  const lines = files.map((f, i) => `t${i}=${shQuote(`${path.posix.dirname(f.path)}/.${path.posix.basename(f.path)}.tmp-`)}$$`);
  lines.push(`trap 'rm -rf "$s" ${files.map((_, i) => `"$t${i}"`).join(' ')}' EXIT`);
  files.forEach((f, i) => {
    const p = shQuote(f.path);
    const dir = shQuote(path.posix.dirname(f.path));
    const want = shQuote(`${f.mode.toString(8)}:${f.owner}`);
    const m = f.mode.toString(8).padStart(4, '0');
    lines.push(
      `if [ -f ${p} ] && [ ! -L ${p} ] && cmp -s ${src(i)} ${p} && [ "$(stat -c %a:%U ${p})" = ${want} ]; then r${i}=same; else`,
      `  [ -d ${dir} ] || mkdir -p ${dir}; install -m ${m} -o ${f.owner} -g ${f.owner} ${src(i)} "$t${i}"; r${i}=changed; fi`,
    );
  });
  lines.push('set --', ...files.map((_, i) => `[ "$r${i}" = same ] || set -- "$@" "$t${i}"`), '[ $# -eq 0 ] || sync "$@"');
  files.forEach((f, i) => lines.push(`[ "$r${i}" = same ] || mv -f "$t${i}" ${shQuote(f.path)}`));
  return lines;
}

/**
 * The script for `plan`; file i of the plan is `$s/f<i>` in the staging dir, binaries are under `$s/bin/`.
 * `archive`: what stdin holds, a tar of the files and `bin/<binary>` entries (`files`), or of the
 * binaries alone under their own names (`binaries`).
 */
export function applyScript(plan: HostPlan, archive?: 'files' | 'binaries'): string {
  const lines = [
    'set -e',
    'umask 077',
    `mkdir -p ${OPT_DIR} && chmod 755 ${OPT_DIR}`,
    // Staging dirs of attempts that died long ago (a concurrent attempt's is young).
    `find ${OPT_DIR} -maxdepth 1 -name '.stage-*' -mmin +30 -exec rm -rf {} + 2>/dev/null || true`,
    `s=$(mktemp -d ${OPT_DIR}/.stage-XXXXXX)`,
    `trap 'rm -rf "$s"' EXIT`,
  ];
  if (archive === 'files') lines.push('tar -x -f - -C "$s" --no-same-owner');
  if (archive === 'binaries') lines.push('mkdir "$s/bin" && tar -x -f - -C "$s/bin" --no-same-owner');
  const rel = plan.release;
  if (rel?.staged) {
    const present = rel.available.map((b) => `[ -f ${shQuote(`${rel.dir}/${b}`)} ]`).join(' && ');
    lines.push(
      `if ! { ${present} && cmp -s ${shQuote(`${rel.dir}/${VERIFIED_RECORD}`)} - <<'ETCDFLEET_SUMS'`,
      rel.sums.trimEnd(),
      'ETCDFLEET_SUMS',
      `}; then echo "etcd ${rel.version} is not staged" >&2; exit 7; fi`,
    );
  }
  if (plan.user) lines.push(ENSURE_USER);
  (plan.dirs ?? []).forEach(([d, mode, owner], i) => lines.push(`r=$( ( ${makeDirScript(d, mode, owner)} ) ); echo "dir ${i} $r"`));
  const files = plan.files ?? [];
  lines.push(...placeFilesScript(files, (i) => `"$s/f${i}"`));
  files.forEach((f, i) => {
    lines.push(`echo "file ${i} $r${i}"`);
    // `enable` reloads the manager itself: a new unit costs one reload, not two.
    if (f.unit)
      lines.push(
        `if systemctl is-enabled -q ${UNIT_NAME}; then [ "$r${i}" = same ] || systemctl daemon-reload; else systemctl enable -q ${UNIT_NAME}; fi`,
      );
  });
  if (rel?.send) {
    const dest = shQuote(rel.dir);
    lines.push(
      `(cd "$s/bin" && cat > ${VERIFIED_RECORD} && ${sumsMatchScript(rel.sums, `--quiet ${VERIFIED_RECORD}`)}) <<'ETCDFLEET_SUMS'`,
      rel.sums.trimEnd(),
      'ETCDFLEET_SUMS',
      `chmod 755 "$s/bin" ${rel.available.map((b) => `"$s/bin/${b}"`).join(' ')}; chmod 644 "$s/bin/${VERIFIED_RECORD}"`,
      `rm -rf ${dest} && mv -T "$s/bin" ${dest} && echo "bin changed"`,
    );
  }
  if (rel?.link) {
    lines.push(`mkdir -p ${BIN_DIR}`);
    // Links by rename(2): there is never a moment without a binary.
    for (const b of LINKED) {
      const target = shQuote(`${rel.dir}/${b}`);
      lines.push(
        rel.available.includes(b)
          ? `[ "$(readlink ${BIN_DIR}/${b})" = ${target} ] || { ln -sfn ${target} ${BIN_DIR}/.${b}.tmp && mv -Tf ${BIN_DIR}/.${b}.tmp ${BIN_DIR}/${b} && echo "link ${b} changed"; }`
          : `if [ -L ${BIN_DIR}/${b} ]; then rm -f ${BIN_DIR}/${b} && echo "link ${b} changed"; fi`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Applies `plan` in one ssh call; the paths that changed and whether the
 * binaries (copy or links) did, or `notStaged` (nothing changed) when a
 * staged release was not found as staged.
 */
export async function applyToHost(t: SshTransport, plan: HostPlan): Promise<{ changed: string[]; binaries: boolean; notStaged?: boolean }> {
  const entries: TarEntry[] = (plan.files ?? []).map((f, i) => ({ name: `f${i}`, content: f.content }));
  const rel = plan.release;
  const what = rel?.send ? `install etcd ${rel.version}` : 'write the member files';
  let stdin: SshInput | undefined;
  let archive: 'files' | 'binaries' | undefined;
  if (rel?.send && !entries.length) {
    // The binaries alone (staging, an upgrade's install): the worker's tar writes them straight into ssh.
    [archive, stdin] = ['binaries', { command: 'tar', args: ['-cf', '-', '--', ...rel.available], cwd: rel.binDir }];
  } else {
    if (rel?.send) entries.push(...rel.available.map((b) => ({ name: `bin/${b}`, file: path.join(rel.binDir, b) })));
    if (entries.length) [archive, stdin] = ['files', tarStream(entries)];
  }
  const res = await t.run(applyScript(plan, archive), { stdin, timeoutMs: rel?.send ? 300_000 : 60_000 });
  if (res.code === 7 && rel?.staged) return { changed: [], binaries: false, notStaged: true };
  if (res.code !== 0)
    throw new Error(`${t.target.host}: ${what} exited ${res.code}: ${res.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const out = res.stdout.toString('utf8');
  const changed: string[] = [];
  let binaries = false;
  for (const line of out.split('\n')) {
    const [kind, i, r] = line.trim().split(' ');
    if (kind === 'dir' && r === 'changed') changed.push(plan.dirs![Number(i)][0]);
    if (kind === 'file' && r === 'changed') changed.push(plan.files![Number(i)].path);
    if (kind === 'bin' || kind === 'link') binaries = true;
  }
  return { changed, binaries };
}
