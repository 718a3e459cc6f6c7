// Issue 13: the README's quick start runs as written. The fenced `sh` blocks
// under "## Quick start" (its subsections included) are read from README.md at
// test time and run in one bash, in order, from the checkout, against this
// test's stack. One substitution: the first block is `npm start` (Temporal dev
// server + worker + API on :8080); the test's stack stands in for it, and the
// commands find it through the variables they document: ETCDFLEET_URL and
// ETCDFLEET_TOKEN (the command line and the curl blocks), ETCDFLEET_STATE_DIR
// (the members' wrappers). Between blocks the test only looks: which files the
// commands left where, and with which modes. The cluster uses the README's own
// addresses (127.0.0.2-4, default ports).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/config';
import { startStack, TOKEN, type Stack } from '../support/stack';

jest.setTimeout(420_000);

let stack: Stack;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-quickstart-'));
const seen = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-quickstart-log-')), 'files');

beforeAll(async () => {
  stack = await startStack({ label: 'quickstart' });
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(path.dirname(seen), { recursive: true, force: true });
});

/** The fenced sh blocks between "## Quick start" and the next second-level heading. */
function quickStartBlocks(readme: string): string[] {
  const start = readme.indexOf('\n## Quick start\n');
  if (start < 0) throw new Error('README.md has no "## Quick start" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

function bash(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', script],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, maxBuffer: 32 << 20, timeout: 400_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const gitState = async () =>
  (await bash('git status --porcelain --untracked-files=all --ignored', {})).stdout.split('\n').filter(Boolean).sort();

it("runs the README's quick start as written, leaving no files in the checkout and no credentials readable by others", async () => {
  const blocks = quickStartBlocks(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
  expect(blocks.length).toBeGreaterThanOrEqual(4);
  // The stack stands in for `npm start` (see the header).
  expect(blocks[0]).toMatch(/^npm start\b/);
  const commands = blocks.slice(1);
  expect(commands.join('\n')).toMatch(/npx etcdfleet apply/);

  const before = await gitState();
  // After each block: every file under the scratch TMPDIR with its mode, and every directory's mode.
  const look = (i: number) => `find "$TMPDIR" -mindepth 1 -printf 'block${i} %y %m %p\\n' >> "${seen}"`;
  const script = ['set -e', ...commands.flatMap((b, i) => [b, look(i + 1)])].join('\n');
  const r = await bash(script, {
    ETCDFLEET_URL: stack.base,
    ETCDFLEET_TOKEN: TOKEN,
    ETCDFLEET_STATE_DIR: stack.config.stateDir,
    TMPDIR: scratch,
  });
  if (r.code !== 0) console.log(`quick start failed (${r.code})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  expect(r.code).toBe(0);

  // What the commands said: the cluster provisioned, etcdctl listed three members, the delete went through.
  expect(r.stdout).toMatch(/demo\.1-provision/);
  expect((r.stdout.match(/\| *started *\| demo-[123] *\|/g) ?? []).length).toBeGreaterThanOrEqual(6);

  // Nothing new in the checkout, tracked, untracked or ignored.
  expect(await gitState()).toEqual(before);

  // Every file the commands wrote is in a scratch directory of mode 0700; credentials are 0600.
  const lines = fs.readFileSync(seen, 'utf8').split('\n').filter(Boolean);
  const entries = lines.map((l) => {
    const [, type, mode, p] = l.split(' ');
    return { type, mode, p };
  });
  // The README's scratch directories are mktemp's (tmp.*); npx may leave its own files in TMPDIR.
  const ours = (p: string) => path.relative(scratch, p).startsWith('tmp.');
  const files = entries.filter((e) => e.type === 'f' && ours(e.p));
  expect(files.map((f) => path.basename(f.p))).toEqual(
    expect.arrayContaining(['demo.yaml', 'creds.json', 'ca.pem', 'cert.pem', 'key.pem']),
  );
  for (const f of files) {
    expect(path.relative(REPO_ROOT, f.p).startsWith('..')).toBe(true);
    if (/\.(pem|json)$/.test(f.p)) expect(`${f.p} ${f.mode}`).toBe(`${f.p} 600`);
  }
  const dirs = entries.filter((e) => e.type === 'd' && path.dirname(e.p) === scratch && ours(e.p));
  expect(dirs.length).toBeGreaterThanOrEqual(2);
  for (const d of dirs) expect(`${d.p} ${d.mode}`).toBe(`${d.p} 700`);
  // The quick start cleans up after itself.
  expect(fs.readdirSync(scratch).filter((n) => n.startsWith('tmp.'))).toEqual([]);

  // The last block deleted the cluster (with purge): wait for the end, so its members are gone with the test.
  const deadline = Date.now() + 120_000;
  let last: { status: number; body: any } | undefined;
  while (Date.now() < deadline) {
    last = await stack.api('GET', '/v1/clusters/demo');
    if (last.status === 404 || last.body?.phase === 'Deleted') break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  expect(last?.status === 404 || last?.body?.phase === 'Deleted').toBe(true);
});
