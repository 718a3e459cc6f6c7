// dnsmasq for the test hosts, in a network namespace of its own on the
// bridge (the subnet's .2 address, which every host's resolv.conf names).
// Authoritative for the records given and nothing else: no upstream servers,
// no /etc/hosts, TTL 1 s so a changed record is seen at once.
import dns from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import { shq } from './machine';
import { createEndpoint, dnsAddress, removeNetwork, type Subnet } from './network';
import { createCgroup, killCgroup, names, removeCgroup, sleep, spawnDetached } from './sys';

export interface ARecord {
  name: string;
  address: string;
}

export interface SrvRecord {
  /** e.g. `_etcd-server-ssl._tcp.example.test` */
  name: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface DnsRecords {
  a?: ARecord[];
  srv?: SrvRecord[];
}

export interface TestDns {
  address: string;
  /** Replaces all records (restarts dnsmasq; a second or less). */
  setRecords(records: DnsRecords): Promise<void>;
  stop(): Promise<void>;
}

/** Answered by every instance; startDns waits for it. */
const READY_NAME = 'efth-dns-ready.test';
const DNS_UNIT = 'dns';

const dnsName = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;

export function dnsmasqConfig(listen: string, records: DnsRecords, logFile: string): string {
  const lines = [
    'keep-in-foreground',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'bind-interfaces',
    `listen-address=${listen}`,
    'pid-file=',
    'local-ttl=1',
    'log-queries',
    `log-facility=${logFile}`,
    `host-record=${READY_NAME},${listen}`,
  ];
  for (const r of records.a ?? []) {
    if (!dnsName.test(r.name) || !/^[0-9.]+$/.test(r.address)) throw new Error(`bad A record ${JSON.stringify(r)}`);
    lines.push(`host-record=${r.name},${r.address}`);
  }
  for (const r of records.srv ?? []) {
    if (!dnsName.test(r.name) || !dnsName.test(r.target) || !Number.isInteger(r.port)) {
      throw new Error(`bad SRV record ${JSON.stringify(r)}`);
    }
    lines.push(`srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`);
  }
  return lines.join('\n') + '\n';
}

/** Starts dnsmasq in its own namespace on the label's bridge (the switch must exist). */
export async function startDns(label: string, subnet: Subnet, runDirectory: string, records: DnsRecords): Promise<TestDns> {
  const address = dnsAddress(subnet);
  const ns = names.hostNs(label, DNS_UNIT);
  const cgroup = names.cgroup(label, DNS_UNIT);
  const dir = path.join(runDirectory, DNS_UNIT);
  fs.mkdirSync(dir, { recursive: true });
  await createEndpoint(label, ns, DNS_UNIT, address);

  const launch = async (recs: DnsRecords) => {
    const conf = path.join(dir, 'dnsmasq.conf');
    fs.writeFileSync(conf, dnsmasqConfig(address, recs, path.join(dir, 'dnsmasq.log')));
    const cgroups = createCgroup(cgroup);
    // The shell joins the cgroups itself before dnsmasq starts (nothing escapes); spawnDetached moves it there too.
    const script = [
      ...cgroups.map((d) => `echo $$ > ${shq(path.join(d, 'cgroup.procs'))}`),
      `exec ip netns exec ${shq(ns)} dnsmasq --conf-file=${shq(conf)}`,
    ].join('\n');
    spawnDetached('/bin/sh', ['-c', script], path.join(dir, 'stderr.log'), cgroups);
    await waitForDns(address, dir);
  };
  const halt = async () => {
    await killCgroup(cgroup);
    removeCgroup(cgroup);
  };

  await launch(records);
  return {
    address,
    async setRecords(recs) {
      dnsmasqConfig(address, recs, ''); // validate before stopping the running one
      await halt();
      await launch(recs);
    },
    async stop() {
      await halt();
      await removeNetwork([ns]);
    },
  };
}

async function waitForDns(address: string, dir: string, timeoutMs = 10_000): Promise<void> {
  const resolver = new dns.Resolver({ timeout: 300, tries: 1 });
  resolver.setServers([address]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await resolver.resolve4(READY_NAME);
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        const log = fs.readFileSync(path.join(dir, 'stderr.log'), 'utf8');
        throw new Error(`dnsmasq on ${address} does not answer (${(err as Error).message}):\n${log}`);
      }
      await sleep(100);
    }
  }
}
