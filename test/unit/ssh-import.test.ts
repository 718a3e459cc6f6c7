// The taskserv import with `?provider=ssh`: the README's production example
// on its real (non-loopback) addresses becomes a valid ssh spec.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBody, parseClusterSpec } from '../../common/parse';
import { importTaskserv } from '../../common/taskserv';

const production = () =>
  parseBody(
    readFileSync(join(__dirname, '../fixtures/taskserv/readme/production.yaml'), 'utf8').replace(/127\.0\.86\.(\d)/g, '10.0.1.1$1'),
    'application/yaml',
  );

test('the production example on real addresses imports as an ssh spec', () => {
  const r = importTaskserv(production(), { provider: 'ssh' });
  expect(r.spec.provider).toBe('ssh');
  expect(r.spec.members?.map((m) => m.address)).toEqual(['10.0.1.11', '10.0.1.12', '10.0.1.13']);
  const { spec } = parseClusterSpec(r.spec);
  expect(spec.provider).toBe('ssh');
  expect(spec.paths).toEqual({ dataDir: '/var/lib/etcd', confDir: '/etc/etcd', certsDir: '/etc/ssl/etcd' });
});

test('the local provider still refuses those addresses', () => {
  expect(() => importTaskserv(production(), { provider: 'local' })).toThrow();
});
