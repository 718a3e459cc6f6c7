// Installing a member on an ssh host: the etcd user, directories, files
// (shared rendering, activities/hosts/render.ts), the systemd unit, and the
// release binaries copied from the worker and verified again on the host.
// A step is two round trips on the multiplexed connection: a probe (the
// current config, whether the host already has exactly this release), then
// one tar stream with everything to write, extracted into a private staging
// dir by one script that changes only what differs (sync.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { MemberFiles } from '../../../common/topology';
import { configClusterState, type ClusterState } from '../../etcd/config';
import { shQuote } from '../files';
import type { PrepareMemberHostInput, PrepareMemberHostResult } from '../provider';
import { assertPki, memberHostFileSet } from '../render';
import { BIN_DIR, ETCD_USER, OPT_DIR, UNIT_FILE, renderUnit, writeFileScript } from './layout';
import { applyToHost, sumsMatchScript, type HostFile, type Release } from './sync';
import type { SshInput, SshTransport } from './transport';

export const BINARIES = ['etcd', 'etcdctl', 'etcdutl'] as const;

/** Writes content atomically with mode and owner unless it is already so; true when it changed. */
export async function putContent(t: SshTransport, file: string, content: SshInput, mode: number, owner: string) {
  const out = await t.ok(writeFileScript(file, mode, owner), { stdin: content, timeoutMs: 120_000, what: `write ${file}` });
  return out.trim() === 'changed';
}

export async function readHostFile(t: SshTransport, file: string): Promise<Buffer | undefined> {
  const r = await t.run(`if [ -f ${shQuote(file)} ]; then exec cat ${shQuote(file)}; else exit 44; fi`, { timeoutMs: 60_000 });
  if (r.code === 44) return undefined;
  if (r.code !== 0) throw new Error(`${t.target.host}: reading ${file} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Several files in one round trip (undefined for each that does not exist). */
export async function readHostFiles(t: SshTransport, files: string[]): Promise<(Buffer | undefined)[]> {
  const script = files
    .map((f) => `if [ -f ${shQuote(f)} ]; then printf 'file '; base64 -w0 < ${shQuote(f)}; echo; else echo none; fi`)
    .join('\n');
  const lines = (await t.ok(script, { timeoutMs: 60_000, what: 'read files' })).split('\n');
  return files.map((_, i) => (lines[i]?.startsWith('file ') ? Buffer.from(lines[i].slice(5), 'base64') : undefined));
}

const digests = new Map<string, Promise<string>>();

/** SHA-256 of a release binary on the worker, computed once per file (the release cache never changes a file in place). */
function sha256Of(file: string): Promise<string> {
  const st = fs.statSync(file);
  const key = `${file}:${st.size}:${st.mtimeMs}`;
  let d = digests.get(key);
  if (!d) {
    d = (async () => {
      const h = crypto.createHash('sha256');
      for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
      return h.digest('hex');
    })();
    // Members prepared at once share one hashing; a failed one is not remembered.
    digests.set(key, d);
    d.catch(() => digests.delete(key));
  }
  return d;
}

/** The release in `binDir` as the host will get it: its version dir, binaries and their checksums. */
export async function releaseOf(version: string, binDir: string): Promise<Omit<Release, 'send' | 'link'>> {
  const v = version.startsWith('v') ? version : `v${version}`;
  if (!/^v\d+\.\d+\.\d+$/.test(v)) throw ApplicationFailure.nonRetryable(`invalid release version ${version}`, 'InvalidVersion');
  const available = BINARIES.filter((b) => fs.existsSync(path.join(binDir, b)));
  if (!available.includes('etcd') || !available.includes('etcdctl')) {
    throw ApplicationFailure.nonRetryable(`${binDir} has no etcd/etcdctl binaries`, 'MissingBinaries');
  }
  const sums = (await Promise.all(available.map(async (b) => `${await sha256Of(path.join(binDir, b))}  ${b}`))).join('\n') + '\n';
  return { version: v, dir: `${OPT_DIR}/${v}`, binDir, available, sums };
}

/** What the host has now: the member's config (undefined when absent) and whether it holds exactly this release. */
async function probe(t: SshTransport, configFile: string | undefined, release: { dir: string; sums: string } | undefined) {
  const lines: string[] = [];
  if (configFile) lines.push(`c=${shQuote(configFile)}`, `if [ -f "$c" ]; then printf 'config '; base64 -w0 < "$c"; echo; fi`);
  if (release) {
    lines.push(
      `if (cd ${shQuote(release.dir)} 2>/dev/null && ${sumsMatchScript(release.sums, '--quiet --status')}) <<'ETCDFLEET_SUMS'`,
      release.sums.trimEnd(),
      'ETCDFLEET_SUMS',
      'then echo release ok; fi',
    );
  }
  const out = await t.ok(`${lines.join('\n')}\ntrue`, { timeoutMs: 60_000, what: 'look at the host' });
  const config = /^config (\S*)$/m.exec(out)?.[1];
  return {
    config: config === undefined ? undefined : Buffer.from(config, 'base64').toString('utf8'),
    hasRelease: /^release ok$/m.test(out),
  };
}

/**
 * Prepares the member's host: the etcd user, directories, config, env,
 * scripts, certificates and keys, the unit (enabled), and with `release`
 * also its binaries (copied only when the host does not hold exactly them)
 * and the /usr/local/bin links.
 */
export async function prepareSshHost(
  t: SshTransport,
  input: PrepareMemberHostInput,
  files: MemberFiles,
  release?: { version: string; binDir: string; staged?: boolean },
): Promise<PrepareMemberHostResult & { binariesChanged: boolean }> {
  assertPki(input);
  const rel = release ? await releaseOf(release.version, release.binDir) : undefined;
  // Staged (copied and checked by "Stage release"): link it, unless its record of the check is not there.
  if (rel && release?.staged) {
    const seen = input.clusterState === 'existing' ? undefined : await probe(t, files.configFile, undefined);
    const r = await writeMember(t, input, files, seen?.config, { ...rel, send: false, link: true, staged: true });
    if (r) return r;
  }
  // `existing` asked for needs no look at the config: it is the state that sticks.
  const seen = input.clusterState === 'existing' && !rel ? undefined : await probe(t, files.configFile, rel);
  return (await writeMember(t, input, files, seen?.config, rel && { ...rel, send: !seen?.hasRelease, link: true }))!;
}

/** Renders and applies the member's files (and release); undefined when a staged release was not found staged. */
async function writeMember(t: SshTransport, input: PrepareMemberHostInput, files: MemberFiles, config: string | undefined, rel?: Release) {
  // Once a member's config says `existing` it never goes back to `new`.
  const clusterState: ClusterState = config && configClusterState(config) === 'existing' ? 'existing' : input.clusterState;
  const content = memberHostFileSet(input, { files, etcdctl: `${BIN_DIR}/etcdctl`, clusterState, provider: 'ssh' });
  const hostFiles: HostFile[] = [
    ...content.map((f) => ({ path: f.path, content: f.content, mode: f.mode, owner: f.secret ? ETCD_USER : 'root' })),
    { path: UNIT_FILE, content: renderUnit(files), mode: 0o644, owner: 'root', unit: true },
  ];
  const r = await applyToHost(t, {
    user: true,
    dirs: [
      [files.confDir, 0o755, 'root'],
      [files.certsDir, 0o700, ETCD_USER],
      // etcd refuses (3.6) or warns about (3.5) a data dir that others can read.
      [files.dataDir, 0o700, ETCD_USER],
    ],
    files: hostFiles,
    release: rel,
  });
  if (r.notStaged) return undefined;
  return { changed: r.changed, clusterState, root: '/', files, binariesChanged: r.binaries };
}

/**
 * Copies the release into /opt/etcd/<version>/ (staging dir, checksums
 * checked on the host, then renamed into place) unless the host already has
 * exactly those binaries, and (unless `link` is false: staging for an
 * upgrade) points /usr/local/bin at it. Older versions stay.
 */
export async function installSshBinaries(
  t: SshTransport,
  version: string,
  binDir: string,
  { link = true }: { link?: boolean } = {},
): Promise<{ changed: boolean; version: string }> {
  const rel = await releaseOf(version, binDir);
  const { hasRelease } = await probe(t, undefined, rel);
  if (hasRelease && !link) return { changed: false, version: rel.version };
  const r = await applyToHost(t, { release: { ...rel, send: !hasRelease, link } });
  return { changed: r.binaries, version: rel.version };
}
