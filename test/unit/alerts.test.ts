// The Prometheus alerting rules (deploy/prometheus/alerts.yml) pass `promtool
// check rules` and their unit tests (alerts.test.yml) under `promtool test rules`;
// a wrong expectation really fails. promtool comes from the bootstrap's cache
// (infra/promtool.ts; fetched here when missing).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../infra/config';
import { ensurePromtool } from '../../infra/promtool';

const run = promisify(execFile);
const dir = path.join(REPO_ROOT, 'deploy/prometheus');
let promtool: string;

beforeAll(async () => {
  promtool = await ensurePromtool({ log: () => undefined });
}, 300_000);

test('promtool check rules accepts alerts.yml', async () => {
  const { stdout } = await run(promtool, ['check', 'rules', path.join(dir, 'alerts.yml')]);
  expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
});

test('promtool test rules: the alerts fire, and stay quiet, as alerts.test.yml expects', async () => {
  const { stdout } = await run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: dir });
  expect(stdout).toContain('SUCCESS');
});

test("promtool check config accepts the compose stack's prometheus.yml (paths moved off /etc/prometheus)", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-prom-'));
  try {
    fs.cpSync(dir, tmp, { recursive: true });
    const config = fs.readFileSync(path.join(dir, 'prometheus.yml'), 'utf8').replaceAll('/etc/prometheus/', `${tmp}/`);
    fs.writeFileSync(path.join(tmp, 'prometheus.yml'), config);
    const { stdout } = await run(promtool, ['check', 'config', path.join(tmp, 'prometheus.yml')]);
    expect(stdout).toContain('is valid prometheus config file syntax');
    expect(stdout).toContain('SUCCESS: 1 rule files found');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a wrong expectation fails promtool test rules', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-alerts-'));
  try {
    fs.copyFileSync(path.join(dir, 'alerts.yml'), path.join(tmp, 'alerts.yml'));
    const tests = fs.readFileSync(path.join(dir, 'alerts.test.yml'), 'utf8').replace('cluster: old }', 'cluster: fresh }');
    fs.writeFileSync(path.join(tmp, 'alerts.test.yml'), tests);
    await expect(run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: tmp })).rejects.toMatchObject({ code: 1 });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
