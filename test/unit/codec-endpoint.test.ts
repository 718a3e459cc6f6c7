// The codec endpoint: who may call it (capability URL or bearer token; a forged
// Origin is nothing), and client mistakes answered as 4xx problems.
import { AesGcmCodec, PlaintextPayloadError } from '../../worker/codec';
import { STUB_CAPABILITY, STUB_KEY, STUB_TOKEN, startStubApp, type StubApp } from '../support/stub-app';

const UI = 'http://localhost:8233';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const jsonPayload = (v: unknown) => ({ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify(v)) });

let app: StubApp;
beforeAll(async () => {
  app = await startStubApp();
});
afterAll(() => app.close());

function call(path: string, body: unknown, headers: Record<string, string> = {}, method = 'POST') {
  return fetch(app.base + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'POST' ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
  });
}

async function encrypted(v: unknown) {
  const r = await call('/codec/encode', { payloads: [jsonPayload(v)] }, { authorization: `Bearer ${STUB_TOKEN}` });
  expect(r.status).toBe(200);
  return ((await r.json()) as any).payloads[0];
}

describe('who may decode', () => {
  test('a forged Origin header without the token gets 401', async () => {
    const p = await encrypted({ secret: 1 });
    for (const path of ['/codec/decode', '/codec/encode']) {
      const r = await call(path, { payloads: [p] }, { origin: UI });
      expect(r.status).toBe(401);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  test('the bearer token decodes (tools)', async () => {
    const p = await encrypted({ secret: 1 });
    const r = await call('/codec/decode', { payloads: [p] }, { authorization: `Bearer ${STUB_TOKEN}` });
    expect(r.status).toBe(200);
    const out = ((await r.json()) as any).payloads[0];
    expect(JSON.parse(Buffer.from(out.data, 'base64').toString())).toEqual({ secret: 1 });
  });

  test('the capability URL decodes (the UI), with CORS for the UI origin only', async () => {
    const p = await encrypted({ secret: 2 });
    const pre = await call(
      `/codec/${STUB_CAPABILITY}/decode`,
      undefined,
      { origin: UI, 'access-control-request-method': 'POST' },
      'OPTIONS',
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(UI);
    const r = await call(`/codec/${STUB_CAPABILITY}/decode`, { payloads: [p] }, { origin: UI, 'x-namespace': 'default' });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe(UI);
    const other = await call(`/codec/${STUB_CAPABILITY}/decode`, { payloads: [p] }, { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a wrong capability is an unknown route, with or without a UI origin', async () => {
    const p = await encrypted({ secret: 3 });
    for (const cap of [STUB_CAPABILITY.slice(0, -1) + 'x', 'decode', 'x']) {
      const r = await call(`/codec/${cap}/decode`, { payloads: [p] }, { origin: UI });
      expect(r.status).toBe(404);
    }
  });

  test('without a capability configured only the token door exists', async () => {
    const tokenOnly = await startStubApp({ codecCapability: undefined });
    try {
      const r = await fetch(`${tokenOnly.base}/codec/${STUB_CAPABILITY}/decode`, {
        method: 'POST',
        body: '{"payloads":[]}',
        headers: { origin: UI },
      });
      expect(r.status).toBe(404);
    } finally {
      await tokenOnly.close();
    }
  });
});

describe('client mistakes are 4xx problems', () => {
  const auth = { authorization: `Bearer ${STUB_TOKEN}` };
  test.each([
    ['malformed JSON', '{"payloads": [', 400],
    ['not an object', '[1, 2]', 400],
    ['payloads not an array', { payloads: 'x' }, 400],
    ['unknown field', { payloads: [], extra: 1 }, 400],
    ['data not base64', { payloads: [{ data: 'not base64!' }] }, 400],
    ['metadata value not a string', { payloads: [{ metadata: { encoding: 5 } }] }, 400],
    ['deep nesting', '{"payloads":' + '['.repeat(5000), 400],
    [
      'encrypted with another key',
      { payloads: [{ metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('0000') }, data: b64('x'.repeat(40)) }] },
      422,
    ],
    ['damaged ciphertext', null, 422],
  ])('%s', async (_name, body, status) => {
    let payloadBody = body;
    if (body === null) {
      const p = await encrypted({ a: 1 });
      const data = Buffer.from(p.data, 'base64');
      data[data.length - 1] ^= 1;
      payloadBody = { payloads: [{ ...p, data: data.toString('base64') }] };
    }
    for (const path of ['/codec/decode', `/codec/${STUB_CAPABILITY}/decode`]) {
      const r = await call(path, payloadBody, auth);
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await r.json()) as any;
      expect(problem.detail).not.toMatch(/Error:|at .*\.ts|\bkey [0-9a-f]{16}\b/);
    }
  });

  test('unencrypted payloads are shown as they are (display only)', async () => {
    const p = jsonPayload({ plain: true });
    const r = await call('/codec/decode', { payloads: [p] }, auth);
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).payloads[0]).toEqual(p);
  });
});

describe('the worker codec refuses unencrypted payloads', () => {
  const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"x":1}') };

  test('by default', async () => {
    await expect(new AesGcmCodec(STUB_KEY).decode([plain])).rejects.toBeInstanceOf(PlaintextPayloadError);
    await expect(new AesGcmCodec(STUB_KEY).decode([plain])).rejects.toThrow(/ETCDFLEET_ACCEPT_PLAINTEXT_PAYLOADS=true/);
  });

  test('unless configured to accept them; encrypted ones round-trip either way', async () => {
    const lenient = new AesGcmCodec(STUB_KEY, { acceptPlaintext: true });
    expect(await lenient.decode([plain])).toEqual([plain]);
    const strict = new AesGcmCodec(STUB_KEY);
    const [enc] = await strict.encode([plain]);
    const [dec] = await strict.decode([enc]);
    expect(Buffer.from(dec.data!).toString()).toBe('{"x":1}');
  });
});
