// The `etcdfleet` command line (bin/etcdfleet) against the real stack: apply
// with --wait, dry-run plan, get/describe, refusals and a failed operation's
// exit status, credentials and etcdctl, and the live display in a pseudo-terminal.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { REPO_ROOT } from '../../infra/config';
import { fastSpec, loopback, startStack, TOKEN, type Stack } from '../support/stack';

jest.setTimeout(90_000);

const BIN = path.join(REPO_ROOT, 'bin/etcdfleet');
const name = 'clidemo';
const addrs = loopback(123, 3);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-cli-'));
let stack: Stack;
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ETCDFLEET_URL: stack.base, ETCDFLEET_TOKEN: TOKEN, ...env }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the command in a pseudo-terminal (util-linux `script`); the output is the terminal's, escapes included. */
function inPty(args: string[]): Promise<Run> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  // A pseudo-terminal of `script` starts with no size: give it one, as a terminal window has.
  const command = `stty cols 120 rows 40; ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qfec', command, '/dev/null'],
      { env: { ...process.env, ETCDFLEET_URL: stack.base, ETCDFLEET_TOKEN: TOKEN, TERM: 'xterm-256color' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const specFile = (file: string, spec: unknown) => {
  const p = path.join(tmp, file);
  fs.writeFileSync(p, YAML.stringify(spec));
  return p;
};

beforeAll(async () => {
  stack = await startStack({ label: 'cli' });
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('apply -f --wait creates a 3-member cluster and prints one line per step change, exit 0', async () => {
  const r = await cli(['apply', '-f', specFile('demo.yaml', fastSpec(name, addrs)), '--wait']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toBe(`cluster ${name}: created, operation ${name}.1-provision`);
  expect(lines).toContain(`${name}.1-provision: [running] Validate hosts`);
  expect(lines.some((l) => l.startsWith(`${name}.1-provision: [done] Verify write and read`))).toBe(true);
  expect(lines[lines.length - 1]).toMatch(new RegExp(`^${name}\\.1-provision succeeded in \\d`));
  // No terminal: no escape sequences.
  expect(r.stdout).not.toContain('\x1b[');
});

it('get and describe show the cluster in every output format', async () => {
  const [list, one, json, yaml, desc] = await Promise.all([
    cli(['get', 'clusters']),
    cli(['get', 'cluster', name]),
    cli(['get', 'cluster', name, '-o', 'json']),
    cli(['get', 'cluster', name, '-o', 'yaml']),
    cli(['describe', 'cluster', name]),
  ]);
  expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+VERSION\s+MEMBERS\s+OPERATION\s+REASON$/);
  expect(list.stdout).toMatch(new RegExp(`^${name}\\s+Running\\s+v3\\.5\\.10\\s+3\\s`, 'm'));
  expect(one.stdout).toMatch(new RegExp(`^${name}\\s+Running\\s+v3\\.5\\.10\\s+3/3\\s+${name}-\\d`, 'm'));
  expect(JSON.parse(json.stdout)).toMatchObject({ name, phase: 'Running', members: expect.any(Array) });
  expect(YAML.parse(yaml.stdout)).toMatchObject({ name, phase: 'Running' });
  expect(desc.code).toBe(0);
  expect(desc.stdout).toMatch(/^Phase:\s+Running/m);
  expect(desc.stdout).toMatch(/^Health:\s+healthy, leader clidemo-\d/m);
  for (const a of addrs) expect(desc.stdout).toContain(`https://${a}:2379`);
  expect(desc.stdout).toMatch(/^Backups:\s+0 kept/m);
  expect(desc.stdout).toMatch(new RegExp(`^  ${name}\\.1-provision\\s+Succeeded`, 'm'));
});

it('apply --dry-run prints the plan of a changed spec and queues nothing', async () => {
  const changed = fastSpec(name, addrs, { tunables: { heartbeatInterval: 50, electionTimeout: 600 } });
  const r = await cli(['apply', '--dry-run', '-f', specFile('changed.yaml', changed)]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^cluster ${name}: would queue 1 operation`, 'm'));
  expect(r.stdout).toMatch(/^ {2}1\. config-change: /m);
  // Each field the step changes, old → new (issue 13).
  expect(r.stdout).toMatch(/^ {7}tunables\.electionTimeout: 500 → 600$/m);
  const ops = await cli(['ops', name, '-o', 'json']);
  expect(JSON.parse(ops.stdout).map((o: { id: string }) => o.id)).toEqual([`${name}.1-provision`]);
  // The same spec again is no change at all.
  const same = await cli(['apply', '--dry-run', '-f', specFile('same.yaml', fastSpec(name, addrs))]);
  expect(same.stdout).toContain(`cluster ${name}: unchanged`);
});

it('a refused apply exits 3 and prints each field path on its own line', async () => {
  const bad = {
    name: 'Bad_Name',
    version: 'v3.5.10',
    members: [
      { name: 'a', address: 'not-an-ip' },
      { name: 'a', address: addrs[0] },
    ],
  };
  const r = await cli(['apply', '-f', specFile('bad.yaml', bad)]);
  expect(r.code).toBe(3);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^etcdfleet: refused \(400 Invalid Request\): \d+ fields$/m);
  expect(r.stderr).toMatch(/^ {2}name: /m);
  expect(r.stderr).toMatch(/^ {2}members\[0\]\.address: /m);
});

it('an upgrade the API refuses exits 3 with the reason; an operation that fails exits 1 with its reason', async () => {
  const refused = await cli(['upgrade', name, 'v3.5.9999', '--wait']);
  expect(refused.code).toBe(3);
  expect(refused.stderr).toMatch(/refused \(422 Unprocessable Operation\): 1 field\n {2}version: .*not an available etcd release/);
  const failed = await cli(['restore', name, '--backup', 'nosuch', '--force', '--wait']);
  expect(failed.code).toBe(1);
  expect(failed.stdout).toMatch(/\[failed\] Fetch and verify backup/);
  expect(failed.stdout).toMatch(new RegExp(`${name}\\.2-restore failed in .*no backup nosuch`));
});

it('credentials writes 0600 files and etcdctl talks to the cluster with them', async () => {
  const out = path.join(tmp, 'creds');
  const c = await cli(['credentials', name, '--out', out]);
  expect(c.code).toBe(0);
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) expect(fs.statSync(path.join(out, f)).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(path.join(out, 'key.pem'), 'utf8')).toContain('PRIVATE KEY');
  const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('etcdfleet-etcdctl-')).length;
  const e = await cli(['etcdctl', name, '--', 'endpoint', 'health', '-w', 'table']);
  expect(e.code).toBe(0);
  for (const a of addrs) expect(e.stdout).toContain(`https://${a}:2379`);
  expect(e.stdout).toContain('true');
  expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('etcdfleet-etcdctl-')).length).toBe(before);
});

it('in a terminal, backup --wait draws the step list with spinner and bar, then restores the cursor', async () => {
  const r = await inPty(['backup', name, '--wait']);
  expect(r.code).toBe(0);
  const out = r.stdout;
  const hide = out.indexOf('\x1b[?25l');
  const show = out.indexOf('\x1b[?25h', hide);
  expect(hide).toBeGreaterThanOrEqual(0);
  expect(show).toBeGreaterThan(hide);
  expect(out).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/); // listr2's spinner
  expect(out).toContain('\u2588'); // a bar cell
  expect(out).toContain('Stream snapshot, verify with etcdutl, write manifest');
  // The last thing printed is the final state, after the display ended.
  const tail = out.slice(show).replace(ESCAPES, '').trim().split(/\r?\n/);
  expect(tail[tail.length - 1]).toMatch(new RegExp(`^${name}\\.3-backup succeeded in \\d`));
  // The display's last frame: every step done, the operation's bar full.
  const frame = out.slice(0, show).replace(ESCAPES, '');
  expect(frame).toMatch(/backup clidemo \(clidemo\.3-backup\): succeeded \u2588{20} 2\/2 steps/);
  const backups = await cli(['backups', name]);
  expect(backups.stdout.trim().split('\n')).toHaveLength(2);
});

it('delete cluster --purge --wait ends with exit 0', async () => {
  const r = await cli(['delete', 'cluster', name, '--purge', '--wait']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`${name}\\.4-delete succeeded`));
  const gone = await cli(['get', 'cluster', name]);
  expect(gone.code).toBe(3);
  expect(gone.stderr).toMatch(/refused \(404 Not Found\)/);
});
