// docker-compose.yml stays valid for users: `docker-compose config -q` (Debian's
// docker-compose, installed by the script when missing; no engine needed), the
// required secrets really required, every bind-mounted file present.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../infra/config';

const run = promisify(execFile);

it('docker-compose.yml passes infra/compose/validate.sh', async () => {
  const { stdout, stderr } = await run('sh', [path.join(REPO_ROOT, 'infra/compose/validate.sh')], { cwd: REPO_ROOT });
  expect(stderr + stdout).toContain('compose-validate: ok');
}, 300_000);
