// Empty secrets stop the service; /metrics, /readyz, 500s and the start banner
// expose nothing they should not.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SecretError, apiToken, caPassphrase, codecCapability } from '../../infra/config';
import { loadCodecKey } from '../../worker/codec';
import { apiSecrets, checkWorkerSecrets } from '../../worker/secrets';
import { backupKey } from '../../activities/backup/key';
import { banner } from '../../infra/banner';
import { toProblem } from '../../api/problems';
import { loadConfig } from '../../infra/config';
import { STUB_CAPABILITY, STUB_TOKEN, startStubApp } from '../support/stub-app';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-secrets-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('secrets', () => {
  test('an existing empty api-token file stops the start instead of disabling authentication', () => {
    const stateDir = tmp();
    fs.writeFileSync(path.join(stateDir, 'api-token'), '\n');
    expect(() => apiToken({ stateDir }, {})).toThrow(SecretError);
    expect(() => apiToken({ stateDir }, {})).toThrow(`${path.join(stateDir, 'api-token')} is empty`);
    expect(() => apiSecrets(loadConfig({ ETCDFLEET_STATE_DIR: stateDir }), {})).toThrow(/api-token is empty/);
  });

  test.each([
    [
      'ETCDFLEET_API_TOKEN',
      'short',
      (d: string, env: NodeJS.ProcessEnv) => apiToken({ stateDir: d }, env),
      /ETCDFLEET_API_TOKEN is 5 characters, shorter than 16/,
    ],
    [
      'ETCDFLEET_CA_PASSPHRASE',
      'pass',
      (d: string, env: NodeJS.ProcessEnv) => caPassphrase({ stateDir: d }, env),
      /ETCDFLEET_CA_PASSPHRASE is 4 characters/,
    ],
    [
      'ETCDFLEET_CODEC_KEY',
      'c2hvcnQ=',
      (d: string, env: NodeJS.ProcessEnv) => loadCodecKey(d, env),
      /ETCDFLEET_CODEC_KEY decodes to 5 bytes, not 32/,
    ],
    [
      'ETCDFLEET_CODEC_KEY',
      'not base64 at all!!',
      (d: string, env: NodeJS.ProcessEnv) => loadCodecKey(d, env),
      /ETCDFLEET_CODEC_KEY is not base64/,
    ],
    [
      'ETCDFLEET_BACKUP_KEY',
      'c2hvcnQ=',
      (d: string, env: NodeJS.ProcessEnv) => backupKey({ stateDir: d }, env),
      /ETCDFLEET_BACKUP_KEY decodes to 5 bytes/,
    ],
    [
      'ETCDFLEET_CODEC_CAPABILITY',
      'a/b/c/d/e/f/g/h/i/j',
      (d: string, env: NodeJS.ProcessEnv) => codecCapability({ stateDir: d }, env),
      /URL path segment/,
    ],
  ])('%s=%s is refused with its name', (name, value, load, message) => {
    expect(() => load(tmp(), { [name]: value })).toThrow(message);
  });

  test.each(['codec.key', 'backup.key', 'ca-passphrase', 'codec-capability'])('an empty %s file is refused at start', (file) => {
    const stateDir = tmp();
    fs.writeFileSync(path.join(stateDir, file), '');
    const config = loadConfig({ ETCDFLEET_STATE_DIR: stateDir });
    const start = () => {
      apiSecrets(config, {});
      checkWorkerSecrets(config, {});
    };
    expect(start).toThrow(`${path.join(stateDir, file)} is empty`);
  });

  test('generated defaults are long enough, 0600, and stable; an empty variable counts as unset', () => {
    const stateDir = tmp();
    const config = loadConfig({ ETCDFLEET_STATE_DIR: stateDir });
    const first = apiSecrets(config, { ETCDFLEET_API_TOKEN: '' });
    checkWorkerSecrets(config, {});
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    expect(first.codecCapability).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const f of ['api-token', 'codec.key', 'codec-capability', 'backup.key', 'ca-passphrase']) {
      expect(fs.statSync(path.join(stateDir, f)).mode & 0o777).toBe(0o600);
    }
    expect(apiSecrets(config, {})).toEqual(first);
  });
});

describe('exposure', () => {
  test('/readyz does not echo the internal address or gRPC message', async () => {
    const app = await startStubApp();
    try {
      const r = await fetch(`${app.base}/readyz`);
      expect(r.status).toBe(503);
      const text = await r.text();
      expect(text).not.toMatch(/10\.20\.30\.40|ECONNREFUSED|UNAVAILABLE/);
    } finally {
      await app.close();
    }
  });

  test('/metrics reads the clusters once per cache interval, not once per scrape', async () => {
    const app = await startStubApp({ metricsCacheMs: 60_000 });
    try {
      for (let i = 0; i < 5; i++) expect((await fetch(`${app.base}/metrics`)).status).toBe(200);
      expect(app.listCalls()).toBe(1);
    } finally {
      await app.close();
    }
  });

  test('/metrics never shows the codec capability', async () => {
    const app = await startStubApp();
    try {
      const r = await fetch(`${app.base}/codec/${STUB_CAPABILITY}/decode`, {
        method: 'POST',
        body: '{"payloads":[]}',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBe(200);
      const text = await (await fetch(`${app.base}/metrics`)).text();
      expect(text).not.toContain(STUB_CAPABILITY);
      expect(text).toContain('route="/codec/{capability}/decode"');
    } finally {
      await app.close();
    }
  });

  test('/metrics can require the token', async () => {
    const app = await startStubApp({ metricsRequireToken: true });
    try {
      expect((await fetch(`${app.base}/metrics`)).status).toBe(401);
      const r = await fetch(`${app.base}/metrics`, { headers: { authorization: `Bearer ${STUB_TOKEN}` } });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('etcdfleet_http_request_duration_seconds');
    } finally {
      await app.close();
    }
  });

  test('a 500 says nothing internal', () => {
    const p = toProblem(new Error("ENOENT: no such file or directory, open '/var/lib/etcdfleet/secret'"));
    expect(p.status).toBe(500);
    expect(p.detail).not.toContain('/var/lib');
  });

  test('a query nobody polls for is a 503, whether Temporal times out or says no poller was seen (CI saw both)', () => {
    const wrapped = (code: number, message: string) =>
      Object.assign(new Error('Failed to query Workflow'), { cause: Object.assign(new Error(message), { code }) });
    expect(toProblem(wrapped(4, '4 DEADLINE_EXCEEDED: Deadline exceeded')).status).toBe(503);
    const p = toProblem(wrapped(9, '9 FAILED_PRECONDITION: no poller seen for task queue recently, worker may be down'));
    expect(p.status).toBe(503);
    expect(p.detail).toMatch(/worker/);
    expect(toProblem(wrapped(9, '9 FAILED_PRECONDITION: something else')).status).toBe(500);
  });

  test('body-parser client errors stay 4xx', () => {
    expect(
      toProblem(Object.assign(new Error('unsupported charset "X"'), { status: 415, expose: true, type: 'charset.unsupported' })).status,
    ).toBe(415);
  });
});

describe('npm start banner', () => {
  const o = {
    api: 'http://127.0.0.1:8080',
    config: { temporalAddress: '127.0.0.1:7233', stateDir: '/s' },
    external: false,
    ui: 'http://127.0.0.1:8233',
    token: 'tok-secret-value-1234',
  };
  test('shows the token on a terminal', () => {
    expect(banner({ ...o, tty: true, env: {} })).toContain('(token: tok-secret-value-1234)');
  });
  test('says where it is stored when stdout is not a terminal', () => {
    const text = banner({ ...o, tty: false, env: {} });
    expect(text).not.toContain('tok-secret-value-1234');
    expect(text).toContain('(token: in /s/api-token)');
    expect(text).toContain('Bearer $(cat /s/api-token)');
    expect(banner({ ...o, tty: false, env: { ETCDFLEET_API_TOKEN: 'tok-secret-value-1234' } })).not.toContain('tok-secret-value-1234');
  });
});
