// The AWS CLI (v1, from PyPI), for bench:backup's S3 ceiling: the same
// snapshot uploaded by `aws s3 cp`. Installed into its own virtualenv under
// .tools (its botocore pins would fight the tool venv's other packages), pinned.
import fs from 'node:fs';
import path from 'node:path';
import { run, tail } from './apt';
import { toolsDir } from './config';
import { withLock } from './lock';

export const AWSCLI_VERSION = '1.46.2';

export function awsCliVenvDir(env = process.env): string {
  return path.join(toolsDir(env), 'awscli-venv');
}

async function installedVersion(bin: string): Promise<string | undefined> {
  if (!fs.existsSync(bin)) return undefined;
  const out = await run(bin, ['--version'], { timeoutMs: 60_000 });
  return out.code === 0 ? /aws-cli\/(\S+)/.exec(out.stdout + out.output)?.[1] : undefined;
}

/** Absolute path of the pinned `aws` (ETCDFLEET_AWS_BIN overrides), installing it when missing. */
export async function ensureAwsCli(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (env.ETCDFLEET_AWS_BIN) return path.resolve(env.ETCDFLEET_AWS_BIN);
  const venv = awsCliVenvDir(env);
  const bin = path.join(venv, 'bin', 'aws');
  if ((await installedVersion(bin)) === AWSCLI_VERSION) return bin;
  return withLock(
    `${venv}.lock`,
    async () => {
      if ((await installedVersion(bin)) === AWSCLI_VERSION) return bin;
      const made = await run('python3', ['-m', 'venv', '--clear', venv], { env });
      if (made.code !== 0) throw new Error(`python3 -m venv ${venv} failed:\n${tail(made.output)}`);
      const spec = `awscli==${AWSCLI_VERSION}`;
      log(`awscli: pip install ${spec}`);
      const pip = await run(path.join(venv, 'bin', 'python'), ['-m', 'pip', 'install', spec], {
        env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' },
      });
      if (pip.code !== 0) throw new Error(`pip install ${spec} failed:\n${tail(pip.output)}`);
      const version = await installedVersion(bin);
      if (version !== AWSCLI_VERSION) throw new Error(`${bin} reports version ${version ?? '(none)'}, expected ${AWSCLI_VERSION}`);
      return bin;
    },
    { purpose: 'installing the AWS CLI' },
  );
}
