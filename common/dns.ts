// The spec's DNS settings: the certificates' domain and DNS SRV bootstrap
// (etcd `discovery-srv`), with the checks that apply to them.
import { z } from 'zod';
import { Address, isHostname } from './hostnames';

/** The member fields DNS discovery looks at. */
interface NamedMember {
  name: string;
  hostname?: string;
}

export const DnsSpec = z.strictObject({
  /** Domain added to SANs (`<member>.<domain>`) and used for SRV discovery. */
  domain: Address.optional(),
  /**
   * Bootstrap through DNS SRV records of this domain (etcd `discovery-srv`)
   * instead of a static initial cluster; provider ssh only. Members advertise
   * their DNS names (srvPeerHost) as peer URLs.
   */
  discoverySrv: z.string().refine(isHostname, 'must be a DNS name').optional(),
  /** etcd `discovery-srv-name`: looks up `_etcd-server-ssl-<srvName>._tcp.<discoverySrv>`. */
  srvName: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'a DNS label')
    .optional(),
});

/** A member's peer host under DNS SRV discovery: its host name when fully qualified, else `<hostname or name>.<discoverySrv>`. */
export function srvPeerHost(m: NamedMember, domain: string): string {
  return m.hostname?.includes('.') ? m.hostname : `${m.hostname ?? m.name}.${domain}`;
}

export function discoveryIssues(spec: {
  provider: string;
  dns?: { discoverySrv?: string; srvName?: string };
  /** undefined: a member whose name or hostname failed its own schema (nothing to check). */
  members: (NamedMember | undefined)[];
}): { path: (string | number)[]; message: string }[] {
  const domain = spec.dns?.discoverySrv;
  if (!domain) {
    return spec.dns?.srvName ? [{ path: ['dns', 'srvName'], message: 'applies with dns.discoverySrv only' }] : [];
  }
  if (spec.provider !== 'ssh') {
    return [
      {
        path: ['dns', 'discoverySrv'],
        message: 'DNS SRV bootstrap needs provider "ssh" (the local provider serves no DNS); list the members instead',
      },
    ];
  }
  const out: { path: (string | number)[]; message: string }[] = [];
  spec.members.forEach((m, i) => {
    if (!m) return;
    const host = srvPeerHost(m, domain);
    if (!isHostname(host))
      out.push({
        path: ['members', i, m.hostname ? 'hostname' : 'name'],
        message: `"${host}" is not a DNS name: under dns.discoverySrv members advertise <hostname or name>.${domain}`,
      });
  });
  return out;
}
