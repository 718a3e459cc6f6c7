// What each member's /version endpoint says: its server version, the cluster
// version (the protocol the cluster runs) and, from 3.6 on, its storage version.
import http from 'node:http';
import https from 'node:https';
import type { ClusterSpec } from '../../common/spec';
import { clusterTopology } from '../../common/topology';
import type { HostProvider } from '../hosts';
import { clientCredentials } from './client';

export interface MemberVersion {
  member: string;
  etcdserver: string;
  etcdcluster: string;
  /** 3.6 and later only. */
  storage?: string;
}

/** Every member's /version, read in parallel (rejects when a member does not answer). */
export async function memberVersions(hosts: HostProvider, spec: ClusterSpec): Promise<MemberVersion[]> {
  const creds = await clientCredentials(hosts, spec);
  return Promise.all(
    clusterTopology(spec).map(async (t) => {
      const body = await getJson(`${t.clientURL}/version`, creds);
      const v: MemberVersion = { member: t.name, etcdserver: String(body.etcdserver), etcdcluster: String(body.etcdcluster) };
      if (typeof body.storage === 'string') v.storage = body.storage;
      return v;
    }),
  );
}

function getJson(
  url: string,
  creds: { rootCertificate?: Buffer | null; certChain?: Buffer | null; privateKey?: Buffer | null } | undefined,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(
      url,
      {
        ca: creds?.rootCertificate ?? undefined,
        cert: creds?.certChain ?? undefined,
        key: creds?.privateKey ?? undefined,
        timeout: 3000,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(data));
          } catch {
            reject(new Error(`${url}: ${res.statusCode} ${data.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
  });
}
