// Observed health: a member that dies turns the cluster Degraded with the
// reason, and /metrics shows it; certificate expiry, raft lag and finished
// operations are reported.
import fs from 'node:fs';
import path from 'node:path';
import { loopback, startStack, type Stack } from '../support/stack';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'health' });
});
afterAll(async () => {
  await stack?.stop();
});

it('reports a dead member as Degraded with the reason, on the API and /metrics', async () => {
  const name = 'ailing';
  const addrs = loopback(47, 3);
  const r = await stack.api('POST', '/v1/clusters', {
    name,
    members: addrs.map((address, i) => ({ name: `a${i + 1}`, address })),
    tunables: { heartbeatInterval: 50, electionTimeout: 500 },
    maintenance: { healthCheckInterval: '1s' },
  });
  expect(r.status).toBe(202);
  const running = await stack.waitForPhase(name, ['Running', 'Failed']);
  expect(running.phase).toBe('Running');

  const victim = running.members.find((m: any) => !m.isLeader);
  const pidfile = path.join(stack.config.hostsDir, name, victim.name, 'run/etcd.pid');
  process.kill(Number(fs.readFileSync(pidfile, 'utf8')), 'SIGKILL');

  const degraded = await stack.waitForPhase(name, ['Degraded'], 60_000);
  expect(degraded.reason).toContain(`${victim.name} unhealthy`);
  expect(degraded.members.find((m: any) => m.name === victim.name).healthy).toBe(false);

  const text = (await stack.api('GET', '/metrics')).body as string;
  expect(text).toMatch(new RegExp(`etcdfleet_member_healthy\\{cluster="${name}",member="${victim.name}"\\} 0`));
  expect(text).toMatch(new RegExp(`etcdfleet_cluster_phase\\{cluster="${name}",phase="Degraded"\\} 1`));
  expect(text).toMatch(
    new RegExp(`etcdfleet_certificate_expiry_timestamp_seconds\\{cluster="${name}",member="a1",certificate="server"\\} \\d+`),
  );
  expect(text).toMatch(new RegExp(`etcdfleet_member_raft_lag\\{cluster="${name}",member="[^"]+"\\} \\d+`));
  // The finished provision, counted from the entity's operation records.
  expect(text).toContain(`etcdfleet_operations_total{cluster="${name}",kind="provision",outcome="Succeeded"} 1`);
  expect(text).toMatch(/etcdfleet_operation_duration_seconds_count\{kind="provision"\} [1-9]/);
  expect(text).toContain(`etcdfleet_operation_failures_total{cluster="${name}",kind="backup"} 0`);
});
