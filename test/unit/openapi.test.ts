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
