// `npm run testhosts -- up 3` boots three test hosts (and dnsmasq with
// h1.<label>.test … A records) and leaves them running; `npm run testhosts --
// down` removes them again. Options: --label <l> (default dev), --subnet <k>
// (10.213.<k>.0/24, default 1), `down --all` removes every label's leftovers.
import { startTestHosts } from './hosts';
import { findLeftovers, isClean, reapLeftovers } from './reap';
import { shq } from './machine';

const USAGE = 'usage: npm run testhosts -- up [N] [--label L] [--subnet K] | down [--label L | --all] | status [--label L | --all]';

function parseArgs(argv: string[]): { cmd: string; count: number; label: string; subnet: number; all: boolean } {
  const out = { cmd: argv[0] ?? '', count: 3, label: 'dev', subnet: 1, all: false };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--label') out.label = argv[++i] ?? '';
    else if (a === '--subnet') out.subnet = Number(argv[++i]);
    else if (a === '--all') out.all = true;
    else if (/^\d+$/.test(a)) out.count = Number(a);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return out;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('test hosts need root (network namespaces, cgroups, systemd-nspawn)');
  const args = parseArgs(process.argv.slice(2));
  if (args.cmd === 'up') {
    const fleet = await startTestHosts({ count: args.count, label: args.label, subnet: args.subnet });
    const domain = `${args.label}.test`;
    await fleet.startDns({ a: fleet.hosts.map((h) => ({ name: `${h.name}.${domain}`, address: h.address })) });
    console.log(`${fleet.hosts.length} test hosts up (label ${args.label}); this machine is ${fleet.rootAddress} on their bridge`);
    console.log(`dnsmasq on ${fleet.dnsAddress}: h1.${domain} …`);
    for (const h of fleet.hosts) {
      const ssh = ['ssh', '-i', fleet.keyPath, '-o', `UserKnownHostsFile=${fleet.knownHostsFile}`, `root@${h.address}`];
      console.log(`  ${h.name}  ${h.address}  ${ssh.map(shq).join(' ')}`);
    }
    console.log(`remove them with: npm run testhosts -- down${args.label === 'dev' ? '' : ` --label ${args.label}`}`);
  } else if (args.cmd === 'down') {
    const found = await reapLeftovers(args.all ? undefined : args.label);
    console.log(isClean(found) ? 'nothing to remove' : `removed ${JSON.stringify(found)}`);
  } else if (args.cmd === 'status') {
    console.log(JSON.stringify(await findLeftovers(args.all ? undefined : args.label), null, 2));
  } else {
    throw new Error(USAGE);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
