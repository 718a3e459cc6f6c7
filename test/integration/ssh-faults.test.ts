// Faults on ssh test hosts (infra/testhosts): the worker SIGKILLed while it
// provisions (a worker started again finishes it, no duplicate member), and a
// host's link cut for ~15 s in the middle of a rolling upgrade under a client
// workload (the upgrade waits or stops at a gate without taking a second
// member down; once the link is back it resumes or a resubmission finishes;
// 0 acknowledged writes lost). Label `sshf`, subnet 10.213.6.0/24. Skipped,
// with the reason, where the machine cannot run the test hosts.
import { startTestHosts, type TestHost, type TestHosts } from '../../infra/testhosts/hosts';
import { testhostsSupport } from '../../infra/testhosts/support';
import { bootstrappedEtcdVersions } from '../../infra/etcd-releases';
import { fastSpec, startStack, type Stack } from '../support/stack';
import { Workload } from '../support/workload';
import { ETCDCTL, ok, sshEnv, until, waitOp } from '../support/ssh-hosts';

const support = testhostsSupport();
if (!support.ok) console.warn(`test/integration/ssh-faults.test.ts skipped: ${support.reason}`);
const maybe = support.ok ? describe : describe.skip;
jest.setTimeout(10 * 60_000);

let stack: Stack;

maybe('faults on ssh hosts', () => {
  let fleet: TestHosts;
  const name = 'sshf';
  const hostOf = (member: string): TestHost => fleet.hosts[Number(member.split('-').at(-1)) - 1];
  const pid = (h: TestHost) => ok(h, 'systemctl show -p MainPID --value etcd');

  beforeAll(async () => {
    fleet = await startTestHosts({ count: 3, label: 'sshf', subnet: 6, log: (l) => console.log(l) });
    stack = await startStack({
      label: 'sshf',
      inProcessWorker: false,
      env: sshEnv(fleet),
    });
  });

  afterAll(async () => {
    for (const h of fleet?.hosts ?? []) await h.restoreLink().catch(() => undefined);
    await stack?.stop();
    await fleet?.stopAll();
  });

  it('finishes provisioning after the worker is SIGKILLed mid-way, with no duplicate member', async () => {
    const first = stack.spawnWorker();
    const spec = fastSpec(
      name,
      fleet.hosts.map((h) => h.address),
      { provider: 'ssh', tls: { useLocalhost: true } },
    );
    const r = await stack.api('POST', '/v1/clusters', spec);
    expect(r.status).toBe(202);
    const killable = ['Stage release', 'Prepare hosts', 'Start members', 'Wait for quorum and health'];
    const killedAt = await until(
      'a step to kill the worker in',
      async () => {
        const op = (await stack.api('GET', `/v1/operations/${r.body.operationId}`)).body;
        const running = op.steps?.find((s: any) => s.status === 'running');
        return running && killable.includes(running.name) ? (running.name as string) : undefined;
      },
      120_000,
    );
    first.kill('SIGKILL');
    await new Promise<void>((res) => (first.exitCode !== null || first.signalCode !== null ? res() : first.once('exit', () => res())));
    console.log(`worker killed during "${killedAt}"`);

    stack.spawnWorker();
    const c = await stack.waitForPhase(name, ['Running', 'Failed'], 300_000);
    expect(c.phase).toBe('Running');
    expect(c.members.map((m: any) => m.name)).toEqual([`${name}-1`, `${name}-2`, `${name}-3`]);
    const list = (await ok(fleet.hosts[0], `${ETCDCTL} member list`)).split('\n');
    expect(list).toHaveLength(3);
    for (const h of fleet.hosts) {
      expect(await ok(h, 'systemctl is-active etcd')).toBe('active');
      // One etcd per host: the retried steps did not start a second one.
      expect(await ok(h, 'pgrep -cx etcd')).toBe('1');
    }
  });

  it('a link cut for ~15 s in the middle of a rolling upgrade: no second member down, the upgrade finishes, no acknowledged write lost', async () => {
    const { latest35: to } = bootstrappedEtcdVersions();
    const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
    const w = new Workload(
      fleet.hosts.map((h) => `https://${h.address}:2379`),
      creds,
    );
    w.start();
    const r = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: to });
    expect(r.status).toBe(202);
    const id = r.body.operationId;
    // Hold the roll after its first member (the pause shows at once, it takes effect at the next step), then cut the link of the member
    // that goes last (the leader) and let the roll go on.
    const firstStep = await until(
      'the first member to be upgraded',
      async () => {
        const op = (await stack.api('GET', `/v1/operations/${id}`)).body;
        return op.steps?.find((s: any) => s.name.startsWith('Upgrade ') && s.status === 'running');
      },
      120_000,
    );
    expect((await stack.api('POST', `/v1/operations/${id}/pause`)).status).toBe(202);
    const paused = await waitOp(
      stack,
      id,
      120_000,
      (o) => o.status === 'Paused' && o.steps.some((s: any) => s.name === firstStep.name && s.status === 'done'),
    );
    expect(paused.status).toBe('Paused');
    const upgradeSteps = paused.steps.filter((s: any) => s.name.startsWith('Upgrade '));
    expect(upgradeSteps[0].name).toBe(firstStep.name);
    expect(upgradeSteps[0].status).toBe('done');
    const [second, last] = upgradeSteps.slice(1).map((s: any) => s.name.split(' ')[1] as string);
    const secondPid = await pid(hostOf(second));
    const cut = hostOf(last);
    console.log(`upgraded ${firstStep.name}; cutting the link of ${last} (${cut.address}); ${second} waits`);
    await cut.cutLink(15_000);
    const cutAt = Date.now();
    expect((await stack.api('POST', `/v1/operations/${id}/resume`)).status).toBe(202);

    // While the link is down, the member next in line is not restarted.
    let first: any;
    while (Date.now() - cutAt < 13_000) {
      expect(await pid(hostOf(second))).toBe(secondPid);
      first = (await stack.api('GET', `/v1/operations/${id}`)).body;
      await new Promise((res) => setTimeout(res, 1000));
    }
    console.log(`during the cut the upgrade is ${first.status}: ${first.error ?? ''}`);
    await until(
      'the link back and the cut member healthy',
      async () => ((await ok(cut, `${ETCDCTL} endpoint health`)).includes('is healthy') ? true : undefined),
      60_000,
    );

    let op = await waitOp(stack, id);
    console.log(`upgrade ${op.status}${op.error ? `: ${op.error}` : ''}`);
    if (op.status !== 'Succeeded') {
      // It stopped at a gate: the member it checked was not restarted (its pid is the same as before the cut, or it was rolled back).
      expect(op.error).toMatch(/safe to restart|quorum|gate|unhealthy|unreachable/i);
      await stack.waitForPhase(name, ['Running'], 120_000);
      const again = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: to });
      expect(again.status).toBe(202);
      op = await waitOp(stack, again.body.operationId);
    }
    const report = await w.stop();
    console.log(`link cut during upgrade: workload ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`);
    expect(op.error ?? null).toBeNull();
    expect(op.status).toBe('Succeeded');
    expect(report.lost).toEqual([]);
    expect((await stack.waitForPhase(name, ['Running'], 120_000)).version).toBe(to);
    for (const h of fleet.hosts)
      expect(await ok(h, 'readlink /proc/$(systemctl show -p MainPID --value etcd)/exe')).toBe(`/opt/etcd/${to}/etcd`);
  });
});
