// Starts one local member from a separate process, prints the result as JSON
// and then waits to be killed. The integration test kills this process's
// whole group to prove the member's etcd runs in a session of its own.
// Usage: tsx test/support/local-host-start.ts <hostsDir> <cluster> <member>
import { startMember } from '../../activities/hosts/local';

async function main(): Promise<void> {
  const [hostsDir, cluster, member] = process.argv.slice(2);
  const r = await startMember(hostsDir, { cluster, member });
  process.stdout.write(`${JSON.stringify(r)}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
