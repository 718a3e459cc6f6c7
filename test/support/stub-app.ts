// The API app on port 0 over a stub Temporal client, for unit tests of what the
// API answers before (or without) talking to Temporal: body limits, auth, the
// codec endpoint, /metrics, /readyz. Nothing here reaches a server.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppOptions } from '../../api/app';
import { AesGcmCodec } from '../../worker/codec';
import { specPolicy } from '../../infra/config';

export const STUB_TOKEN = 'stub-token-0123456789abcdef';
export const STUB_CAPABILITY = 'cap-0123456789abcdef0123456789abcdef';
export const STUB_KEY = Buffer.alloc(32, 7);

export interface StubApp {
  base: string;
  /** How many times the app listed cluster workflows. */
  listCalls(): number;
  close(): Promise<void>;
}

export async function startStubApp(overrides: Partial<AppOptions> = {}): Promise<StubApp> {
  let lists = 0;
  const client = {
    workflow: {
      list: () => {
        lists++;
        return (async function* () {})();
      },
    },
    schedule: {},
    connection: {
      workflowService: {
        getSystemInfo: async () => {
          throw new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.20.30.40:7233');
        },
      },
    },
  };
  const app = createApp({
    client: client as unknown as AppOptions['client'],
    taskQueue: 'stub',
    token: STUB_TOKEN,
    codec: new AesGcmCodec(STUB_KEY),
    codecCapability: STUB_CAPABILITY,
    codecOrigins: ['http://localhost:8233'],
    policy: specPolicy({}, { stateDir: '/nonexistent-state', mirror: '/nonexistent-mirror', defaultArtifactSource: 'github' }),
    ...overrides,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    listCalls: () => lists,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
