// The test hosts' network: a bridge inside a dedicated "switch" network
// namespace (efth-<label>-sw), one namespace per host and one for dnsmasq,
// each joined to the bridge by a veth pair created directly in the two
// namespaces. The root namespace gets exactly one veth (efth-<label>-r) with
// the subnet's .1 address, so the worker (and the ssh provider later) can
// reach the hosts; that link adds only the subnet's connected route. No
// namespace has a default route: traffic reaches these hosts and nothing else.
import fs from 'node:fs';
import { run } from '../apt';
import { must, names } from './sys';

export interface Subnet {
  /** 10.213.<index>.0/24 */
  index: number;
}

export const SUBNET_BASE = '10.213';

export function address(subnet: Subnet, hostOctet: number): string {
  return `${SUBNET_BASE}.${subnet.index}.${hostOctet}`;
}

/** The root namespace's address on the bridge. */
export const rootAddress = (s: Subnet) => address(s, 1);
/** dnsmasq's address. */
export const dnsAddress = (s: Subnet) => address(s, 2);
/** Host n (1-based): .11, .12, ... */
export const hostAddress = (s: Subnet, n: number) => address(s, 10 + n);

const ip = (...args: string[]) => must('ip', args);
const ipIn = (ns: string, ...args: string[]) => must('ip', ['-n', ns, ...args]);

export async function netnsList(): Promise<string[]> {
  const res = await run('ip', ['netns', 'list']);
  return res.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
}

/** Refuses to start when another interface in the root namespace already has the subnet. */
async function checkSubnetFree(label: string, subnet: Subnet): Promise<void> {
  const res = await must('ip', ['-o', '-4', 'addr', 'show']);
  const prefix = `${SUBNET_BASE}.${subnet.index}.`;
  for (const line of res.stdout.split('\n')) {
    const [, dev, , , cidr] = line.split(/\s+/);
    if (cidr?.startsWith(prefix) && dev !== names.rootVeth(label)) {
      throw new Error(`${prefix}0/24 is already in use on ${dev}; pick another subnet index for the test hosts`);
    }
  }
}

/** Creates the switch namespace, its bridge and the root namespace's link into it. */
export async function createSwitch(label: string, subnet: Subnet): Promise<void> {
  await checkSubnetFree(label, subnet);
  const sw = names.switchNs(label);
  const rootVeth = names.rootVeth(label);
  await ip('netns', 'add', sw);
  await ipIn(sw, 'link', 'set', 'lo', 'up');
  await ipIn(sw, 'link', 'add', 'br0', 'type', 'bridge');
  await ipIn(sw, 'link', 'set', 'br0', 'up');
  await ip('link', 'add', rootVeth, 'type', 'veth', 'peer', 'name', 'root', 'netns', sw);
  await ipIn(sw, 'link', 'set', 'root', 'master', 'br0', 'up');
  await ip('addr', 'add', `${rootAddress(subnet)}/24`, 'dev', rootVeth);
  await ip('link', 'set', rootVeth, 'up');
}

/**
 * A namespace for one host (or dnsmasq) with `eth0` at the given address,
 * plugged into the bridge as port `port`.
 */
export async function createEndpoint(label: string, ns: string, port: string, addr: string): Promise<void> {
  const sw = names.switchNs(label);
  await ip('netns', 'add', ns);
  await ipIn(ns, 'link', 'set', 'lo', 'up');
  await ipIn(sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  await ipIn(sw, 'link', 'set', port, 'master', 'br0', 'up');
  await ipIn(ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
  await ipIn(ns, 'link', 'set', 'eth0', 'up');
}

/** Pulls (down) or plugs back (up) an endpoint's cable at the switch. */
export async function setPort(label: string, port: string, up: boolean): Promise<void> {
  await ipIn(names.switchNs(label), 'link', 'set', port, up ? 'up' : 'down');
}

/** Deletes namespaces (after killing any process still inside) and the root link. */
export async function removeNetwork(nsNames: string[], rootVeth?: string): Promise<void> {
  for (const ns of nsNames) {
    const pids = await run('ip', ['netns', 'pids', ns]);
    for (const pid of pids.stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await run('ip', ['netns', 'delete', ns]);
    // /run is on disk here: a namespace file can outlive a reboot without its mount.
    fs.rmSync(`/run/netns/${ns}`, { force: true });
  }
  if (rootVeth && (await run('ip', ['link', 'show', rootVeth])).code === 0) await run('ip', ['link', 'delete', rootVeth]);
}
