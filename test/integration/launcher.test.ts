// `npm start` as a user runs it: infra/start.ts with its own persistent dev
// server (free ports instead of 7233/8233/8080), a cluster provisioned through
// it, Ctrl-C (SIGINT) stopping the service cleanly while the member keeps
// running, a second start finding the cluster again; and TEMPORAL_ADDRESS
// pointing it at an existing Temporal instead.
// Addresses: 127.0.30.0/24 (this file's).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/config';
import { freePort } from '../../infra/temporal-server';
import { alive, killMembers, memberPids } from '../support/stack';
import { apiClient, waitForPhase, type ApiCall } from '../support/api-client';

jest.setTimeout(240_000);

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-launcher-'));
const hostsDir = path.join(stateDir, 'hosts');
const children: ChildProcess[] = [];
let ports: { api: number; temporal: number; ui: number };

interface Launched {
  child: ChildProcess;
  token: string;
  banner: string;
  api: ApiCall;
}

async function launch(extraEnv: NodeJS.ProcessEnv = {}): Promise<Launched> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ETCDFLEET_STATE_DIR: stateDir,
    PORT: String(ports.api),
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    LOG_LEVEL: 'warn',
  };
  delete env.TEMPORAL_ADDRESS;
  delete env.ETCDFLEET_API_TOKEN;
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/start.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const banner = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`npm start did not come up in 120 s:\n${out}\n${err}`)), 120_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (/Ctrl-C stops the service/.test(out)) {
        clearTimeout(t);
        resolve(out);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`npm start exited with ${code}:\n${out}\n${err}`));
    });
  });
  // stdout is a pipe here, so the banner names the token's file instead of printing it.
  const token = fs.readFileSync(path.join(stateDir, 'api-token'), 'utf8').trim();
  const api = apiClient(`http://127.0.0.1:${ports.api}`, token);
  return { child, token, banner, api };
}

async function ctrlC(l: Launched): Promise<number | null> {
  const exited = new Promise<number | null>((r) => l.child.once('exit', (code) => r(code)));
  l.child.kill('SIGINT');
  return exited;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  ports = { api: await freePort(), temporal: await freePort(), ui: await freePort() };
});
/** Every process but the members whose command line names the state dir (a launcher's dev server outlives a SIGKILLed launcher). */
function processesOfStateDir(withMembers = false): number[] {
  return fs
    .readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
    .filter((n) => {
      try {
        const cmd = fs.readFileSync(`/proc/${n}/cmdline`, 'utf8');
        return cmd.includes(stateDir) && (withMembers || !cmd.includes(`${hostsDir}/`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await killMembers(hostsDir);
  for (const pid of processesOfStateDir(true)) process.kill(pid, 'SIGKILL');
  fs.rmSync(stateDir, { recursive: true, force: true });
});

it('starts, provisions, stops on Ctrl-C leaving the member running, and finds the cluster again on the next start', async () => {
  const first = await launch();
  expect(first.banner).toContain(`API        http://127.0.0.1:${ports.api}`);
  expect(first.banner).toContain(`UI         http://127.0.0.1:${ports.ui}`);
  expect(first.banner).toContain(`(token: in ${path.join(stateDir, 'api-token')})`);
  expect(first.banner).not.toContain(first.token);
  // The UI decodes through the capability URL it was given; a forged Origin alone gets nothing.
  const capability = fs.readFileSync(path.join(stateDir, 'codec-capability'), 'utf8').trim();
  const settings = (await (await fetch(`http://127.0.0.1:${ports.ui}/api/v1/settings`)).json()) as any;
  expect(settings.Codec.Endpoint).toBe(`http://127.0.0.1:${ports.api}/codec/${capability}`);
  const codecCall = (url: string) =>
    fetch(url, {
      method: 'POST',
      headers: { origin: `http://127.0.0.1:${ports.ui}`, 'content-type': 'application/json' },
      body: '{"payloads":[]}',
    });
  expect((await codecCall(`http://127.0.0.1:${ports.api}/codec/decode`)).status).toBe(401);
  expect((await codecCall(`${settings.Codec.Endpoint}/decode`)).status).toBe(200);
  expect((await first.api('GET', '/readyz')).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${ports.ui}/`)).status).toBe(200);

  const r = await first.api('POST', '/v1/clusters', { name: 'launched', members: [{ name: 'l1', address: '127.0.30.1' }] });
  expect(r.status).toBe(202);
  expect((await waitForPhase(first.api, 'launched', ['Running', 'Failed'])).phase).toBe('Running');
  const [member] = memberPids(hostsDir);

  expect(await ctrlC(first)).toBe(0);
  expect(processesOfStateDir().filter(alive)).toEqual([]);
  expect(await listening(ports.temporal)).toBe(false);
  expect(await listening(ports.api)).toBe(false);
  expect(alive(member)).toBe(true);
  expect(fs.existsSync(path.join(stateDir, 'temporal.db'))).toBe(true);

  const second = await launch();
  try {
    expect(second.token).toBe(first.token);
    const list = await second.api('GET', '/v1/clusters');
    expect(list.body.clusters.map((c: any) => c.name)).toEqual(['launched']);
    // Stopping a worker is no news about the cluster (its health watch goes on in the next one).
    const again = await waitForPhase(second.api, 'launched', ['Running', 'Degraded']);
    expect(again.phase).toBe('Running');
    expect(again.members.map((m: any) => m.name)).toEqual(['l1']);

    expect((await second.api('DELETE', '/v1/clusters/launched?purge=true')).status).toBe(202);
    const deadline = Date.now() + 60_000;
    while ((await second.api('GET', '/v1/clusters/launched')).status !== 404 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 500));
    expect(alive(member)).toBe(false);
    expect(await ctrlC(second)).toBe(0);
  } finally {
    // Stopped even when an expectation failed: the next test counts the state dir's processes.
    if (second.child.exitCode === null && second.child.signalCode === null) await ctrlC(second);
  }
  expect(processesOfStateDir().filter(alive)).toEqual([]);
});

it('uses an existing Temporal given TEMPORAL_ADDRESS and starts no dev server', async () => {
  const address = process.env.ETCDFLEET_TEST_TEMPORAL!;
  const l = await launch({ TEMPORAL_ADDRESS: address, ETCDFLEET_TASK_QUEUE: `launcher-external-${process.pid}` });
  expect(l.banner).toContain(`Temporal   ${address} (external)`);
  expect(processesOfStateDir()).toEqual([]);
  expect((await l.api('GET', '/readyz')).status).toBe(200);
  expect((await l.api('GET', '/v1/clusters')).status).toBe(200);
  expect(await ctrlC(l)).toBe(0);
});
