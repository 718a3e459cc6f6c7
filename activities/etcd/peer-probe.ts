// Whether a member serves its peer port yet. etcd opens the peer listener
// before its bootstrap and serves it only after: in between, a connection is
// accepted and never answered. A new member of a new cluster asks each peer
// (sorted by URL, 1 s each) for the member list before it bootstraps, so a
// member started while another is in that window waits for it; one started
// after the first member answers gets its reply at once.
import http from 'node:http';
import https from 'node:https';
import type { ClusterSpec } from '../../common/spec';
import { clusterTopology } from '../../common/topology';
import type { HostProvider } from '../hosts';
import { clientCredentials } from './client';

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the member's peer URL (GET /version, with the admin client certificate) until it answers; false after `withinMs`. */
export async function awaitPeerServing(hosts: HostProvider, spec: ClusterSpec, member: string, withinMs: number): Promise<boolean> {
  const t = clusterTopology(spec).find((x) => x.name === member);
  if (!t) return false;
  const creds = await clientCredentials(hosts, spec);
  const until = Date.now() + withinMs;
  for (;;) {
    const left = until - Date.now();
    if (await answers(t.peerURL, creds, Math.max(50, Math.min(500, left)))) return true;
    if (Date.now() + POLL_MS >= until) return false;
    await sleep(POLL_MS);
  }
}

type Creds = Awaited<ReturnType<typeof clientCredentials>>;

function answers(url: string, creds: Creds, timeoutMs: number): Promise<boolean> {
  const u = new URL(url);
  const tls = u.protocol === 'https:' && creds ? { ca: creds.rootCertificate, cert: creds.certChain, key: creds.privateKey } : {};
  const request = u.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve) => {
    const req = request(
      { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: '/version', method: 'GET', timeout: timeoutMs, agent: false, ...tls },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
