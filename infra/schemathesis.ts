// Schemathesis, the property-based API fuzzer the test suite runs against the
// API's own OpenAPI document (test/integration/api-fuzz.test.ts). Installed from
// PyPI into the tool virtualenv (.tools/venv) beside the Temporal CLI, pinned.
import fs from 'node:fs';
import path from 'node:path';
import { run, tail } from './apt';
import { withLock } from './lock';
import { ensureToolVenv, temporalVenvDir, toolVenvLock, type TemporalOptions } from './temporal-cli';

export const SCHEMATHESIS_VERSION = '4.32.5';

export function venvSchemathesisBin(env = process.env): string {
  return path.join(temporalVenvDir(env), 'bin', 'schemathesis');
}

async function installedVersion(bin: string): Promise<string | undefined> {
  if (!fs.existsSync(bin)) return undefined;
  const out = await run(bin, ['--version'], { timeoutMs: 60_000 });
  return out.code === 0 ? /version (\S+)/.exec(out.stdout)?.[1] : undefined;
}

/** Absolute path of the pinned `schemathesis` (ETCDFLEET_SCHEMATHESIS_BIN overrides), installing it when missing. */
export async function ensureSchemathesis(opts: TemporalOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if (env.ETCDFLEET_SCHEMATHESIS_BIN) return path.resolve(env.ETCDFLEET_SCHEMATHESIS_BIN);
  const bin = venvSchemathesisBin(env);
  if ((await installedVersion(bin)) === SCHEMATHESIS_VERSION) return bin;
  return withLock(
    toolVenvLock(env),
    async () => {
      if ((await installedVersion(bin)) === SCHEMATHESIS_VERSION) return bin;
      const python = await ensureToolVenv(env, log);
      const spec = `schemathesis==${SCHEMATHESIS_VERSION}`;
      log(`schemathesis: pip install ${spec}`);
      const pip = await run(python, ['-m', 'pip', 'install', spec], {
        env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' },
      });
      if (pip.code !== 0) throw new Error(`pip install ${spec} failed:\n${tail(pip.output)}`);
      const version = await installedVersion(bin);
      if (version !== SCHEMATHESIS_VERSION)
        throw new Error(`${bin} reports version ${version ?? '(none)'}, expected ${SCHEMATHESIS_VERSION}`);
      return bin;
    },
    { purpose: 'installing schemathesis', onWait: (h) => log(`schemathesis: waiting for pid ${h.pid} (${h.purpose})`) },
  );
}

/**
 * Schemathesis closes with pytest's banner ("=== 3 warnings in 40.01s ==="). Printed inside the suite's output, a
 * reader of pytest's closing lines takes it for a pytest run that executed no test: shown as "-- 3 warnings in 40.01s --".
 */
export function unbannered(text: string): string {
  return text.replace(/^([ \t]*)={3,} (.*?) ={3,}[ \t]*$/gm, '$1-- $2 --');
}
