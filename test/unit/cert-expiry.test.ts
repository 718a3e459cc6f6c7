// The health check's certificate expiry: notAfter parsed once per certificate text.
import { X509Certificate } from 'node:crypto';
import { ClusterSpec } from '../../common/spec';
import { issueClusterPki } from '../../activities/pki';
import { notAfterOf } from '../../activities/etcd/gates';

const ECDSA = { algorithm: 'ecdsa', curve: 'P-256' };

it('reads notAfter of a certificate, of the first certificate of a bundle, and parses each text once', async () => {
  const spec = ClusterSpec.parse({
    name: 'exp',
    members: [{ name: 'exp-1', address: '127.0.0.1' }],
    tls: { caKey: ECDSA, leafKey: ECDSA },
  });
  const pki = await issueClusterPki({ spec });
  const ca = pki.ca.cert;
  const server = pki.members['exp-1'].server.cert;
  const iso = (pem: string) => new Date(new X509Certificate(pem).validTo).toISOString();
  expect(notAfterOf(server)).toBe(iso(server));
  expect(notAfterOf(`${ca}${server}`)).toBe(iso(ca));

  const parse = jest.spyOn(X509Certificate.prototype, 'validTo', 'get');
  for (let i = 0; i < 5; i++) notAfterOf(server);
  expect(parse).not.toHaveBeenCalled();
  parse.mockRestore();
});
