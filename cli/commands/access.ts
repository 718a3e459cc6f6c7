// Talking to a cluster directly: `credentials` writes a fresh admin client
// certificate; `etcdctl` runs the real etcdctl with one in a temporary
// directory (removed afterwards) and the cluster's client endpoints.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { cacheDir } from '../../infra/config';
import type { CtxFactory } from '../context';
import type { Api } from '../http';
import { CliError, EXIT } from '../errors';

const enc = encodeURIComponent;
type Run = (fn: () => Promise<number | void>) => Promise<void>;

export const CREDENTIAL_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

/** Fetches admin credentials (admin role) and writes ca.pem, cert.pem and key.pem, each 0600, into `dir`. */
export async function writeCredentials(api: Api, cluster: string, dir: string): Promise<Record<keyof typeof CREDENTIAL_FILES, string>> {
  const c = await api.get<{ ca: string; cert: string; key: string }>(`/v1/clusters/${enc(cluster)}/credentials`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out = {} as Record<keyof typeof CREDENTIAL_FILES, string>;
  for (const [k, file] of Object.entries(CREDENTIAL_FILES) as [keyof typeof CREDENTIAL_FILES, string][]) {
    const p = path.join(dir, file);
    fs.rmSync(p, { force: true }); // a file left by another run keeps its mode on write: make it anew
    fs.writeFileSync(p, c[k], { mode: 0o600 });
    out[k] = p;
  }
  return out;
}

/**
 * The etcdctl to run for a cluster of `version`: ETCDFLEET_ETCDCTL, else one
 * from the release cache the worker fills (`<cache>/releases/<v>/<entry>/`, then
 * `<cache>/bin/<v>/`), else any cached version, else `etcdctl` on PATH.
 */
export function findEtcdctl(version: string | undefined, env = process.env): string {
  if (env.ETCDFLEET_ETCDCTL) return env.ETCDFLEET_ETCDCTL;
  const cache = cacheDir(env);
  const v = version ? (version.startsWith('v') ? version : `v${version}`) : undefined;
  const candidates = (ver: string) => {
    const dir = path.join(cache, 'releases', ver);
    const entries = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((e) => !e.startsWith('.'))
          .sort()
      : [];
    return [...entries.map((e) => path.join(dir, e, 'etcdctl')), path.join(cache, 'bin', ver, 'etcdctl')];
  };
  const versions = fs.existsSync(path.join(cache, 'releases')) ? fs.readdirSync(path.join(cache, 'releases')).sort().reverse() : [];
  for (const ver of [...(v ? [v] : []), ...versions]) {
    const found = candidates(ver).find((p) => fs.existsSync(p));
    if (found) return found;
  }
  return 'etcdctl';
}

export function accessCommands(program: Command, ctxOf: CtxFactory, run: Run): void {
  program
    .command('credentials')
    .argument('<cluster>')
    .requiredOption('--out <dir>', 'directory for ca.pem, cert.pem and key.pem (0600)')
    .description('a fresh admin client certificate and key, and the CA (admin role)')
    .action((cluster: string, o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const files = await writeCredentials(ctx.api, cluster, o.out);
        for (const p of Object.values(files)) ctx.write(p);
      }),
    );

  program
    .command('etcdctl')
    .argument('<cluster>')
    .argument('[args...]', 'etcdctl arguments, after --')
    .passThroughOptions()
    .allowUnknownOption()
    .description("run the real etcdctl against the cluster's endpoints with fresh admin credentials (removed afterwards)")
    .action((cluster: string, args: string[], _o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const view = await ctx.api.get(`/v1/clusters/${enc(cluster)}`);
        const endpoints = (view.members ?? []).map((m: { clientURL: string }) => m.clientURL);
        if (!endpoints.length) throw new CliError(`cluster ${cluster} has no members yet`);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-etcdctl-'));
        try {
          const tls = view.spec?.tls?.enabled === false ? [] : Object.values(await writeCredentials(ctx.api, cluster, dir));
          const [ca, cert, key] = tls;
          const flags = [`--endpoints=${endpoints.join(',')}`, ...(ca ? [`--cacert=${ca}`, `--cert=${cert}`, `--key=${key}`] : [])];
          // With passThroughOptions commander keeps the `--` that separates etcdctl's arguments.
          return await runChild(findEtcdctl(view.version), [...flags, ...(args[0] === '--' ? args.slice(1) : args)]);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
    );
}

/** Runs a program with this terminal; resolves with its exit status (signals are passed on). */
function runChild(file: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, ETCDCTL_API: '3' } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    const done = () => process.off('SIGINT', forward).off('SIGTERM', forward);
    child.on('error', (err) => {
      done();
      reject(new CliError(`cannot run ${file}: ${err.message} (set ETCDFLEET_ETCDCTL to an etcdctl binary)`, EXIT.usage));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1));
    });
  });
}
