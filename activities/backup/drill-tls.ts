// TLS for the restore drill's throwaway etcd: a one-day CA made for this drill
// only, a server certificate for 127.0.0.1 and a client certificate with the
// service's admin CN. A backup of a cluster with etcd auth on carries its users:
// the drill then reads as etcdfleet-admin (root), as the service does.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ADMIN_COMMON_NAME, createCaCertificate, issueLeafCertificate, issuerFrom, type LeafProfile } from '../pki/certificates';
import { pem } from '../pki/issue';
import { generateKey } from '../pki/keys';

const KEY = { algorithm: 'ecdsa', rsaBits: 2048, curve: 'P-256' } as const;
const SUBJECT = { commonName: 'etcdfleet-drill' };

export interface DrillTls {
  /** etcd flags: server certificate, trusted CA, client-cert-auth. */
  args: string[];
  credentials: { rootCertificate: Buffer; certChain: Buffer; privateKey: Buffer };
}

export async function drillTls(dir: string): Promise<DrillTls> {
  const caKey = await generateKey(KEY, 'sha256');
  const ca = pem(await createCaCertificate({ subject: SUBJECT, keys: caKey, digest: 'sha256', days: 1 }));
  const issuer = await issuerFrom(ca, caKey.privateKey);
  const leaf = async (profile: LeafProfile, commonName: string, sans?: { dns: string[]; ips: string[] }) => {
    const key = await generateKey(KEY, 'sha256');
    const cert = await issueLeafCertificate(issuer, {
      profile,
      subject: SUBJECT,
      commonName,
      publicKey: key.publicKey,
      sans,
      days: 1,
      digest: 'sha256',
    });
    return { cert: pem(cert), key: key.pem };
  };
  const server = await leaf('server', 'drill', { dns: ['localhost'], ips: ['127.0.0.1'] });
  const client = await leaf('client', ADMIN_COMMON_NAME);
  const file = (name: string) => path.join(dir, name);
  await fsp.writeFile(file('drill-ca.pem'), ca, { mode: 0o600 });
  await fsp.writeFile(file('drill-server.pem'), server.cert, { mode: 0o600 });
  await fsp.writeFile(file('drill-server-key.pem'), server.key, { mode: 0o600 });
  return {
    args: [
      '--cert-file',
      file('drill-server.pem'),
      '--key-file',
      file('drill-server-key.pem'),
      '--trusted-ca-file',
      file('drill-ca.pem'),
      '--client-cert-auth',
    ],
    credentials: { rootCertificate: Buffer.from(ca), certChain: Buffer.from(client.cert), privateKey: Buffer.from(client.key) },
  };
}
