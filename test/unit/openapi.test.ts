// The OpenAPI document against what the routes answer: a route whose path
// names an etcd user or role checks that name (common/auth.ts) and answers 400
// for a bad one, so it must document 400 (the API fuzzer reports an
// undocumented status otherwise: it found POST …/users/{user}/certificate).
import { openApiDocument } from '../../api/openapi';

test('every operation on a {user} or {role} path documents the 400 of a bad name', () => {
  const paths = (openApiDocument() as { paths: Record<string, Record<string, any>> }).paths;
  const checked: string[] = [];
  for (const [p, item] of Object.entries(paths)) {
    if (!/\{(user|role)\}/.test(p)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      checked.push(`${method.toUpperCase()} ${p}`);
      expect({ route: `${method.toUpperCase()} ${p}`, has400: '400' in op.responses }).toEqual({
        route: `${method.toUpperCase()} ${p}`,
        has400: true,
      });
    }
  }
  expect(checked).toContain('POST /v1/clusters/{name}/users/{user}/certificate');
});

type Doc = {
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, any> };
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const doc = () => openApiDocument() as Doc;
const operationsOf = (d: Doc) =>
  Object.entries(d.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ route: `${method.toUpperCase()} ${p}`, path: p, method, op })),
  );

test('the bearer scheme is declared and every /v1 operation requires it, documenting 401, 403 (but viewer GETs), 503; with a body 413 and 415', () => {
  const d = doc();
  expect(d.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  const v1 = operationsOf(d).filter((o) => o.path.startsWith('/v1/'));
  expect(v1.length).toBeGreaterThan(40);
  for (const { route, op, method, path } of v1) {
    const statuses = Object.keys(op.responses);
    const want = ['401', '503', ...(op.requestBody ? ['413', '415'] : [])];
    if (method !== 'get' || ['/v1/clusters/{name}/credentials', '/v1/operations/{id}/ca-rotation', '/v1/audit'].includes(path))
      want.push('403');
    expect({ route, security: op.security, missing: want.filter((s) => !statuses.includes(s)) }).toEqual({
      route,
      security: [{ bearer: [] }],
      missing: [],
    });
  }
  // The unauthenticated ones say so.
  for (const p of ['/healthz', '/readyz', '/openapi.json', '/docs']) expect(d.paths[p].get.security).toEqual([]);
});

test('JSON responses are named schemas ($ref), and every $ref resolves', () => {
  const d = doc();
  const bare: string[] = [];
  for (const { route, op } of operationsOf(d)) {
    for (const [status, r] of Object.entries<any>(op.responses)) {
      for (const [type, media] of Object.entries<any>(r.content ?? {})) {
        if (!/json$/.test(type) || route === 'GET /openapi.json') continue;
        if (typeof media.schema?.$ref !== 'string') bare.push(`${route} ${status} ${type}`);
      }
    }
  }
  expect(bare).toEqual([]);
  const refs = [...JSON.stringify(d).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
  expect(refs.length).toBeGreaterThan(50);
  expect([...new Set(refs)].filter((r) => !(r in d.components.schemas))).toEqual([]);
  for (const name of ['Cluster', 'Operation', 'Backups', 'Problem', 'Accepted'])
    expect(d.components.schemas[name]).toMatchObject({ type: 'object' });
});

test('operationIds are unique; links name real operations and give every parameter of their path', () => {
  const d = doc();
  const ops = operationsOf(d);
  const byId = new Map(ops.map((o) => [o.op.operationId, o]));
  expect(byId.size).toBe(ops.length);
  let links = 0;
  for (const { route, op } of ops) {
    for (const r of Object.values<any>(op.responses)) {
      for (const [key, link] of Object.entries<any>(r.links ?? {})) {
        links++;
        const target = byId.get(link.operationId);
        expect({ route, key, target: target?.route ?? 'missing' }).not.toMatchObject({ target: 'missing' });
        const params = [...target!.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        expect({ route, key, params: Object.keys(link.parameters).sort() }).toEqual({ route, key, params });
        for (const v of Object.values<string>(link.parameters))
          expect(v).toMatch(/^(\$response\.body#\/|\$request\.(body#\/|path\.)|[a-z]+$)/);
      }
    }
  }
  expect(links).toBeGreaterThan(100);
  // A created cluster reaches its sub-resources, and a queued operation its own routes.
  const created = d.paths['/v1/clusters'].post.responses['202'].links;
  expect(created.getClustersByName.parameters).toEqual({ name: '$response.body#/name' });
  expect(created.deleteClustersByNameMembersByMember.parameters).toEqual({
    name: '$response.body#/name',
    member: '$request.body#/members/0/name',
  });
  expect(created.getOperationsById.parameters).toEqual({ id: '$response.body#/operationId' });
  const upgrade = d.paths['/v1/clusters/{name}/upgrade'].post.responses['202'].links;
  expect(Object.keys(upgrade)).toContain('postOperationsByIdCancel');
});
