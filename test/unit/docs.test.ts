// /docs: Swagger UI over /openapi.json, served from this machine without a token.
import { startStubApp, type StubApp } from '../support/stub-app';

let app: StubApp;
beforeAll(async () => {
  app = await startStubApp();
});
afterAll(() => app.close());

test('GET /docs is an HTML page without a token, pointing at local assets', async () => {
  for (const p of ['/docs', '/docs/']) {
    const res = await fetch(`${app.base}${p}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('id="swagger-ui"');
    // Every script and stylesheet is local: no CDN.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) expect(ref).toMatch(/^\/docs\//);
  }
});

test("the page's JS and CSS load locally, and its initializer reads /openapi.json", async () => {
  const html = await (await fetch(`${app.base}/docs`)).text();
  for (const ref of [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1])) {
    const res = await fetch(`${app.base}${ref}`);
    expect({ ref, status: res.status }).toEqual({ ref, status: 200 });
    expect(res.headers.get('content-type')).toMatch(ref.endsWith('.css') ? /text\/css/ : /javascript/);
    expect((await res.text()).length).toBeGreaterThan(ref.endsWith('initializer.js') ? 50 : 10_000);
  }
  const init = await (await fetch(`${app.base}/docs/swagger-initializer.js`)).text();
  expect(init).toContain("url: '/openapi.json'");
  expect(init).not.toMatch(/https?:\/\//);
  const doc = await fetch(`${app.base}/openapi.json`);
  expect(doc.status).toBe(200);
});

test('a missing asset under /docs is a 404 problem', async () => {
  const res = await fetch(`${app.base}/docs/no-such-file.js`);
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/problem\+json/);
});
