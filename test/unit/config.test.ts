import { codecOrigins, loadConfig } from '../../infra/config';

describe('loadConfig', () => {
  it('runs the embedded dev server on TEMPORAL_PORT unless TEMPORAL_ADDRESS names a Temporal', () => {
    expect(loadConfig({}).temporalAddress).toBe('127.0.0.1:7233');
    expect(loadConfig({ TEMPORAL_PORT: '17233' }).temporalAddress).toBe('127.0.0.1:17233');
    expect(loadConfig({ TEMPORAL_PORT: '17233', TEMPORAL_ADDRESS: 'temporal:7233' }).temporalAddress).toBe('temporal:7233');
  });
});

describe('codecOrigins', () => {
  it("allows the dev UI's origins while the API is on loopback, on the UI's port", () => {
    expect(codecOrigins({})).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
    expect(codecOrigins({ TEMPORAL_UI_PORT: '9233' })).toEqual(['http://localhost:9233', 'http://127.0.0.1:9233']);
  });
  it('allows none on a non-loopback address unless configured', () => {
    expect(codecOrigins({ HOST: '0.0.0.0' })).toEqual([]);
    expect(codecOrigins({ HOST: '0.0.0.0', ETCDFLEET_CODEC_ORIGINS: 'https://ui.example, ' })).toEqual(['https://ui.example']);
  });
});
