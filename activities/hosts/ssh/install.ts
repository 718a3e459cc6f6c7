// Installing a member on an ssh host: the etcd user, directories, files
// (shared rendering, activities/hosts/render.ts), the systemd unit, and the
// release binaries copied from the worker and verified again on the host.
// Every step looks at the host first and only changes what differs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { MemberFiles } from '../../../common/topology';
import { configClusterState, type ClusterState } from '../../etcd/config';
import { shQuote } from '../files';
import type { PrepareMemberHostInput, PrepareMemberHostResult } from '../provider';
import { assertPki, memberHostFileSet } from '../render';
import { BIN_DIR, ENSURE_USER, ETCD_USER, OPT_DIR, UNIT_FILE, UNIT_NAME, makeDirScript, renderUnit, writeFileScript } from './layout';
import type { SshTransport } from './transport';

export const BINARIES = ['etcd', 'etcdctl', 'etcdutl'] as const;

/** Writes content atomically with mode and owner unless it is already so; true when it changed. */
export async function putContent(t: SshTransport, file: string, content: string | Buffer | fs.ReadStream, mode: number, owner: string) {
  const out = await t.ok(writeFileScript(file, mode, owner), { stdin: content, timeoutMs: 120_000, what: `write ${file}` });
  return out.trim() === 'changed';
}

export async function readHostFile(t: SshTransport, file: string): Promise<Buffer | undefined> {
  const r = await t.run(`if [ -f ${shQuote(file)} ]; then exec cat ${shQuote(file)}; else exit 44; fi`, { timeoutMs: 60_000 });
  if (r.code === 44) return undefined;
  if (r.code !== 0) throw new Error(`${t.target.host}: reading ${file} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function prepareSshHost(t: SshTransport, input: PrepareMemberHostInput, files: MemberFiles): Promise<PrepareMemberHostResult> {
  assertPki(input);
  const changed: string[] = [];
  await t.ok(ENSURE_USER, { what: 'create the etcd user' });
  const dirs: [string, number, string][] = [
    [files.confDir, 0o755, 'root'],
    [files.certsDir, 0o700, ETCD_USER],
    // etcd refuses (3.6) or warns about (3.5) a data dir that others can read.
    [files.dataDir, 0o700, ETCD_USER],
  ];
  const made = await t.ok(dirs.map(([d, mode, owner]) => `(${makeDirScript(d, mode, owner)})`).join('\n'), { what: 'create directories' });
  made
    .trim()
    .split('\n')
    .forEach((l, i) => l === 'changed' && changed.push(dirs[i][0]));

  // Once a member's config says `existing` it never goes back to `new`.
  const current = (await readHostFile(t, files.configFile))?.toString('utf8');
  const clusterState: ClusterState = current && configClusterState(current) === 'existing' ? 'existing' : input.clusterState;
  const content = memberHostFileSet(input, { files, etcdctl: `${BIN_DIR}/etcdctl`, clusterState, provider: 'ssh' });
  for (const f of content) {
    if (await putContent(t, f.path, f.content, f.mode, f.secret ? ETCD_USER : 'root')) changed.push(f.path);
  }
  if (await putContent(t, UNIT_FILE, renderUnit(files), 0o644, 'root')) {
    changed.push(UNIT_FILE);
    await t.ok('systemctl daemon-reload', { what: 'systemctl daemon-reload' });
  }
  await t.ok(`systemctl is-enabled -q ${UNIT_NAME} || systemctl enable -q ${UNIT_NAME}`, { what: 'systemctl enable etcd' });
  return { changed, clusterState, root: '/', files };
}

const digests = new Map<string, string>();

/** SHA-256 of a release binary on the worker (the release cache never changes a file in place). */
async function sha256Of(file: string): Promise<string> {
  const st = fs.statSync(file);
  const key = `${file}:${st.size}:${st.mtimeMs}`;
  const have = digests.get(key);
  if (have) return have;
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  const d = h.digest('hex');
  digests.set(key, d);
  return d;
}

/**
 * Copies the release into /opt/etcd/<version>/ (temp dir, checksums checked
 * on the host, then renamed into place) unless the host already has exactly
 * those binaries, and points /usr/local/bin at it. Older versions stay.
 */
export async function installSshBinaries(t: SshTransport, version: string, binDir: string): Promise<{ changed: boolean; version: string }> {
  const v = version.startsWith('v') ? version : `v${version}`;
  if (!/^v\d+\.\d+\.\d+$/.test(v)) throw ApplicationFailure.nonRetryable(`invalid release version ${version}`, 'InvalidVersion');
  const available = BINARIES.filter((b) => fs.existsSync(path.join(binDir, b)));
  if (!available.includes('etcd') || !available.includes('etcdctl')) {
    throw ApplicationFailure.nonRetryable(`${binDir} has no etcd/etcdctl binaries`, 'MissingBinaries');
  }
  const sums = (await Promise.all(available.map(async (b) => `${await sha256Of(path.join(binDir, b))}  ${b}`))).join('\n') + '\n';
  const dest = `${OPT_DIR}/${v}`;
  let changed = false;
  const have = await t.run(`cd ${shQuote(dest)} 2>/dev/null && sha256sum -c --quiet --status`, { stdin: sums, timeoutMs: 60_000 });
  if (have.code !== 0) {
    const tmp = `${OPT_DIR}/.${v}.tmp-${crypto.randomBytes(4).toString('hex')}`;
    await t.ok(`rm -rf ${OPT_DIR}/.${v}.tmp-*; mkdir -p ${shQuote(tmp)}; chmod 755 ${OPT_DIR} ${shQuote(tmp)}`, {
      what: 'create the release dir',
    });
    try {
      for (const b of available) {
        await t.ok(`cat > ${shQuote(`${tmp}/${b}`)}`, {
          stdin: fs.createReadStream(path.join(binDir, b)),
          timeoutMs: 300_000,
          what: `copy ${b}`,
        });
      }
      await t.ok(
        `cd ${shQuote(tmp)} && sha256sum -c --quiet && chmod 755 ${available.join(' ')} && rm -rf ${shQuote(dest)} && mv ${shQuote(tmp)} ${shQuote(dest)}`,
        {
          stdin: sums,
          timeoutMs: 60_000,
          what: `verify the ${v} checksums on the host`,
        },
      );
    } finally {
      await t.run(`rm -rf ${shQuote(tmp)}`).catch(() => undefined);
    }
    changed = true;
  }
  // Links by rename(2): there is never a moment without a binary. A release without etcdutl leaves no stale link.
  const links = BINARIES.map((b) =>
    available.includes(b)
      ? `[ "$(readlink ${BIN_DIR}/${b})" = ${shQuote(`${dest}/${b}`)} ] || { ln -sfn ${shQuote(`${dest}/${b}`)} ${BIN_DIR}/.${b}.tmp && mv -Tf ${BIN_DIR}/.${b}.tmp ${BIN_DIR}/${b} && echo changed; }`
      : `[ -L ${BIN_DIR}/${b} ] && rm -f ${BIN_DIR}/${b} && echo changed`,
  );
  const out = await t.ok(`mkdir -p ${BIN_DIR}\n${links.join('\n')}\ntrue`, { what: 'link the binaries' });
  return { changed: changed || out.includes('changed'), version: v };
}
