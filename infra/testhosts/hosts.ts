// Real Debian test hosts: `startTestHosts({count, label})` boots N
// systemd-nspawn containers (systemd as PID 1, real sshd) from the cached
// image, each in its own network namespace on a private bridge, and returns
// handles to run commands over ssh and to inject faults (power cycle, link
// cut). See docs/architecture.md, "Test hosts".
import fs from 'node:fs';
import path from 'node:path';
import { run, type RunResult } from '../apt';
import { startDns as startDnsIn, type DnsRecords, type TestDns } from './dns';
import { ensureImage } from './image';
import { bootMachine, machineRunning, prepareHostDir, stopMachine, type MachineSpec } from './machine';
import { createEndpoint, createSwitch, dnsAddress, hostAddress, rootAddress, setPort, type Subnet } from './network';
import { reapLeftovers } from './reap';
import { checkLabel, cgroupRss, names, runDir, sleep } from './sys';

export interface TestHostsOptions {
  count: number;
  /** Names everything this run creates (`efth-<label>-…`); 1-8 of [a-z0-9]. Default `it`. */
  label?: string;
  /** Subnet 10.213.<subnet>.0/24. Default 0. Two runs at once need different labels and subnets. */
  subnet?: number;
  /** How long to wait for every host's sshd (default 90 s). */
  bootTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface TestHost {
  /** Host name inside the container: h1, h2, ... */
  name: string;
  /** Machine, network namespace and cgroup name (efth-<label>-h1). */
  machine: string;
  address: string;
  sshPort: number;
  /** `<address> ssh-ed25519 AAAA…`: the host key the harness generated for this host. */
  knownHostsLine: string;
  /** The ssh command line (without the remote command) with the harness key and pinned host key. */
  sshArgs(): string[];
  /** Runs a shell command as root over ssh. */
  exec(cmd: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Waits until sshd answers with the pinned key. */
  waitForSsh(timeoutMs?: number): Promise<void>;
  running(): boolean;
  /** Power cut (cgroup.kill; graceful: clean shutdown instead), then boot again and wait for sshd. */
  powerCycle(opts?: { graceful?: boolean }): Promise<void>;
  /** Boots a stopped host and waits for sshd. */
  start(): Promise<void>;
  /** Stops the container (graceful by default); disk state (the overlay) is kept. */
  stop(opts?: { graceful?: boolean }): Promise<void>;
  /** Pulls the host's cable at the switch; with ms, plugs it back in after ms. */
  cutLink(ms?: number): Promise<void>;
  restoreLink(): Promise<void>;
  /** Resident memory of the whole container (nspawn included), in bytes. */
  rss(): number;
}

export interface TestHosts {
  label: string;
  hosts: TestHost[];
  /** The root namespace's address on the bridge (where the worker's traffic comes from). */
  rootAddress: string;
  /** Where dnsmasq listens once startDns runs; every host's resolv.conf names it. */
  dnsAddress: string;
  keyPath: string;
  knownHostsFile: string;
  /** Starts dnsmasq (own namespace on the bridge) serving these A and SRV records. */
  startDns(records: DnsRecords): Promise<TestDns>;
  /** Stops every host and dnsmasq and removes namespaces, links, cgroups and the run directory. */
  stopAll(): Promise<void>;
}

export const SSH_PORT = 22;

export function sshOptions(keyPath: string, knownHostsFile: string): string[] {
  return [
    '-i',
    keyPath,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=3',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(SSH_PORT),
  ];
}

export async function startTestHosts(opts: TestHostsOptions): Promise<TestHosts> {
  const label = opts.label ?? 'it';
  checkLabel(label);
  const subnet: Subnet = { index: opts.subnet ?? 0 };
  if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 50) throw new Error('count: 1 to 50 hosts');
  if (!Number.isInteger(subnet.index) || subnet.index < 0 || subnet.index > 255) throw new Error('subnet: 0 to 255');
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));

  const image = await ensureImage({ log });
  await reapLeftovers(label);
  const dir = runDir(label);
  fs.mkdirSync(dir, { recursive: true });
  const knownHostsFile = path.join(dir, 'known_hosts');
  const ssh = sshOptions(image.keyPath, knownHostsFile);
  let dns: TestDns | undefined;
  const hosts: TestHost[] = [];
  const stopAll = async () => {
    for (const h of hosts) await h.stop({ graceful: false });
    await dns?.stop();
    await reapLeftovers(label);
  };

  try {
    await createSwitch(label, subnet);
    const knownLines: string[] = [];
    for (let n = 1; n <= opts.count; n++) {
      const name = `h${n}`;
      const machine = names.machine(label, name);
      const address = hostAddress(subnet, n);
      const spec: MachineSpec = { hostname: name, machine, lower: image.rootfs, dir: path.join(dir, name) };
      const hostKey = await prepareHostDir(spec, { publicKey: image.publicKey, resolver: dnsAddress(subnet), address });
      knownLines.push(`${address} ${hostKey}`);
      await createEndpoint(label, machine, name, address);
      hosts.push(makeHost({ label, name, machine, address, spec, knownHostsLine: `${address} ${hostKey}`, ssh }));
    }
    fs.writeFileSync(knownHostsFile, knownLines.join('\n') + '\n');
    const started = Date.now();
    for (const h of hosts) await h.start();
    await Promise.all(hosts.map((h) => h.waitForSsh(opts.bootTimeoutMs ?? 90_000)));
    log(`testhosts: ${hosts.length} hosts ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }

  return {
    label,
    hosts,
    rootAddress: rootAddress(subnet),
    dnsAddress: dnsAddress(subnet),
    keyPath: image.keyPath,
    knownHostsFile,
    async startDns(records) {
      if (dns) throw new Error('dnsmasq already runs for these hosts; use setRecords');
      dns = await startDnsIn(label, subnet, dir, records);
      return dns;
    },
    stopAll,
  };
}

interface HostParts {
  label: string;
  name: string;
  machine: string;
  address: string;
  spec: MachineSpec;
  knownHostsLine: string;
  ssh: string[];
}

function makeHost(p: HostParts): TestHost {
  let restoreTimer: NodeJS.Timeout | undefined;
  const sshArgs = () => [...p.ssh, `root@${p.address}`];
  const host: TestHost = {
    name: p.name,
    machine: p.machine,
    address: p.address,
    sshPort: SSH_PORT,
    knownHostsLine: p.knownHostsLine,
    sshArgs,
    exec: (cmd, o = {}) => run('ssh', [...sshArgs(), '--', cmd], { timeoutMs: o.timeoutMs ?? 60_000 }),
    async waitForSsh(timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await run('ssh', [...sshArgs(), 'true'], { timeoutMs: 10_000 });
        if (res.code === 0) return;
        if (!machineRunning(p.spec)) {
          const console = fs.readFileSync(path.join(p.spec.dir, 'console.log'), 'utf8');
          throw new Error(`test host ${p.name} stopped while booting:\n${console.split('\n').slice(-30).join('\n')}`);
        }
        if (Date.now() > deadline) throw new Error(`test host ${p.name} (${p.address}): no ssh after ${timeoutMs} ms: ${res.output}`);
        await sleep(250);
      }
    },
    running: () => machineRunning(p.spec),
    async start() {
      if (!machineRunning(p.spec)) bootMachine(p.spec);
    },
    async stop(o = {}) {
      await stopMachine(p.spec, { graceful: o.graceful ?? true });
    },
    async powerCycle(o = {}) {
      await stopMachine(p.spec, { graceful: o.graceful ?? false });
      bootMachine(p.spec);
      await host.waitForSsh();
    },
    async cutLink(ms) {
      clearTimeout(restoreTimer);
      await setPort(p.label, p.name, false);
      if (ms !== undefined) {
        restoreTimer = setTimeout(() => void host.restoreLink().catch(() => undefined), ms);
        restoreTimer.unref();
      }
    },
    async restoreLink() {
      clearTimeout(restoreTimer);
      restoreTimer = undefined;
      await setPort(p.label, p.name, true);
    },
    rss: () => cgroupRss(p.machine),
  };
  return host;
}
