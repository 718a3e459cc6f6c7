// promtool, Prometheus' rule checker, for the alerting-rule tests
// (test/unit/alerts.test.ts). Debian's `prometheus` package carries it; the
// package is downloaded with `apt-get download` and unpacked with `dpkg -x`
// into the cache (never installed: that would start a Prometheus daemon).
// ETCDFLEET_PROMTOOL_BIN, or a promtool on PATH, is used instead when set.
import fs from 'node:fs';
import path from 'node:path';
import { run, tail } from './apt';
import { withLock } from './lock';
import { cacheDir } from './config';

export function promtoolDir(env = process.env): string {
  return path.join(cacheDir(env), 'promtool');
}
export function cachedPromtoolBin(env = process.env): string {
  return path.join(promtoolDir(env), 'root', 'usr', 'bin', 'promtool');
}

async function works(bin: string): Promise<boolean> {
  return fs.existsSync(bin) && (await run(bin, ['--version'], { timeoutMs: 30_000 })).code === 0;
}

/** The promtool to use, or undefined when none is set, cached or on PATH (no download). */
export async function findPromtool(env = process.env): Promise<string | undefined> {
  if (env.ETCDFLEET_PROMTOOL_BIN) return path.resolve(env.ETCDFLEET_PROMTOOL_BIN);
  const cached = cachedPromtoolBin(env);
  if (await works(cached)) return cached;
  const onPath = await run('sh', ['-c', 'command -v promtool'], { env });
  return onPath.code === 0 && onPath.stdout.trim() ? onPath.stdout.trim() : undefined;
}

/** Absolute path of promtool, fetching Debian's `prometheus` package into the cache when missing. */
export async function ensurePromtool(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const found = await findPromtool(env);
  if (found) return found;
  const dir = promtoolDir(env);
  fs.mkdirSync(dir, { recursive: true });
  return withLock(
    path.join(dir, '.lock'),
    async () => {
      const bin = cachedPromtoolBin(env);
      if (await works(bin)) return bin;
      const dl = path.join(dir, 'download');
      fs.rmSync(dl, { recursive: true, force: true });
      fs.mkdirSync(dl, { recursive: true });
      log('promtool: apt-get download prometheus');
      let got = await run('apt-get', ['download', 'prometheus'], { cwd: dl, env });
      if (got.code !== 0 && process.getuid?.() === 0) {
        // A fresh machine may have no package lists yet.
        await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { env });
        got = await run('apt-get', ['download', 'prometheus'], { cwd: dl, env });
      }
      const deb = fs.readdirSync(dl).find((f) => f.endsWith('.deb'));
      if (got.code !== 0 || !deb) throw new Error(`apt-get download prometheus failed:\n${tail(got.output)}`);
      const root = path.join(dir, 'root');
      fs.rmSync(root, { recursive: true, force: true });
      const x = await run('dpkg', ['-x', path.join(dl, deb), root]);
      if (x.code !== 0) throw new Error(`dpkg -x ${deb} failed:\n${tail(x.output)}`);
      fs.rmSync(dl, { recursive: true, force: true });
      if (!(await works(bin))) throw new Error(`${bin} does not run after unpacking ${deb}`);
      log(`promtool: ${bin} (from ${deb})`);
      return bin;
    },
    { purpose: 'fetching promtool', onWait: (h) => log(`promtool: waiting for pid ${h.pid} (${h.purpose})`) },
  );
}
