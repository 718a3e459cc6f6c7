// Every operation the service has, on ssh test hosts (infra/testhosts): a
// 3-member TLS cluster on three hosts, shared by the tests in order: an
// upgrade to a broken release rolled back at its gate, replace a member
// whose data is gone, a rolling config change, certificate renewal,
// CA rotation, compaction and defrag, a backup and the restore drill; then a
// restore into a new cluster on the fourth host (a 2 MB quota) and NOSPACE
// recovery on that copy.
// A client workload runs through the disruptive ones (0 acknowledged writes
// lost). Label `sshops`, subnet 10.213.5.0/24. Skipped, with the reason,
// where the machine cannot run the test hosts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestHosts, type TestHost, type TestHosts } from '../../infra/testhosts/hosts';
import { testhostsSupport } from '../../infra/testhosts/support';
import { bootstrappedEtcdVersions } from '../../infra/etcd-releases';
import { fastSpec, startStack, type Stack } from '../support/stack';
import { brokenReleaseMirror, withCacheDir, type BrokenMirror } from '../support/broken-release';
import { Workload, type WorkloadReport } from '../support/workload';
import { ETCDCTL, gone, ok, sshEnv, until, waitOp } from '../support/ssh-hosts';

const support = testhostsSupport();
if (!support.ok) console.warn(`test/integration/ssh-operations.test.ts skipped: ${support.reason}`);
const maybe = support.ok ? describe : describe.skip;
jest.setTimeout(10 * 60_000);

const KEYS = 100;
const { default: FROM, latest35: TO } = bootstrappedEtcdVersions();
let stack: Stack;

maybe('operations on ssh hosts', () => {
  let fleet: TestHosts;
  const name = 'sshops';
  const three = () => fleet.hosts.slice(0, 3);
  // Every cluster here takes its releases from a mirror whose TO release is broken (and a release cache of the stack's own).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-sshops-'));
  let broken: BrokenMirror;
  const spec = (n: string, hosts: TestHost[], extra: Record<string, unknown> = {}) =>
    fastSpec(
      n,
      hosts.map((h) => h.address),
      { provider: 'ssh', tls: { useLocalhost: true }, artifactSource: broken.source, version: FROM, ...extra },
    );
  const cluster = async () => (await stack.api('GET', `/v1/clusters/${name}`)).body;
  const submit = async (what: string, body: unknown = {}, n = name) => {
    const r = await stack.api('POST', `/v1/clusters/${n}/${what}`, body);
    expect(r.status).toBe(202);
    const op = await waitOp(stack, r.body.operationId);
    expect(op.error ?? null).toBeNull();
    expect(op.status).toBe('Succeeded');
    return op;
  };
  const workload = async (endpoints?: string[]) => {
    const c = await cluster();
    const w = new Workload(
      endpoints ?? c.members.map((m: any) => m.clientURL),
      (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body,
    );
    w.start();
    return w;
  };
  const checkReport = (what: string, report: WorkloadReport) => {
    console.log(`${what}: workload ${JSON.stringify({ ...report, errors: report.errors.slice(0, 3) })}`);
    expect(report.lost).toEqual([]);
    expect(report.writes).toBeGreaterThan(0);
  };
  const running = async () => expect((await stack.waitForPhase(name, ['Running'], 90_000)).phase).toBe('Running');
  const dataThere = async (h: TestHost) => expect(await ok(h, `${ETCDCTL} get /app/k${KEYS} --print-value-only`)).toBe(`v${KEYS}`);

  beforeAll(async () => {
    broken = await brokenReleaseMirror(tmp, FROM, TO);
    fleet = await startTestHosts({ count: 4, label: 'sshops', subnet: 5, log: (l) => console.log(l) });
    stack = await withCacheDir(broken.cache, () =>
      startStack({ label: 'sshops', env: { ...sshEnv(fleet), ETCDFLEET_ARTIFACT_SOURCES: broken.source } }),
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await fleet?.stopAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('provisions a 3-member TLS cluster and writes keys', async () => {
    expect((await stack.api('POST', '/v1/clusters', spec(name, three()))).status).toBe(202);
    expect((await stack.waitForPhase(name, ['Running', 'Failed'], 240_000)).phase).toBe('Running');
    // One transaction of KEYS puts (no compares, no failure branch): one etcdctl instead of KEYS.
    await ok(
      fleet.hosts[0],
      `{ echo; for i in $(seq 1 ${KEYS}); do echo "put /app/k$i v$i"; done; echo; echo; } | ${ETCDCTL} txn >/dev/null`,
    );
    await dataThere(fleet.hosts[0]);
  });

  it('an upgrade to a release whose etcd does not run is rolled back at the gate: the member runs the old release from its unit', async () => {
    const w = await workload();
    const r = await stack.api('POST', `/v1/clusters/${name}/upgrade`, { version: TO });
    expect(r.status).toBe(202);
    const op = await waitOp(stack, r.body.operationId);
    checkReport('rolled-back upgrade', await w.stop());
    expect(op.status).toBe('Failed');
    expect(op.error).toContain(`rolled back to ${FROM} and is healthy`);
    expect(op.error).toMatch(/broken on purpose/);
    // Only the first member was touched.
    expect(op.steps.filter((s: any) => s.name.startsWith('Upgrade ') && s.status === 'pending')).toHaveLength(2);
    console.log(`ssh rollback in ${Date.parse(op.finishedAt) - Date.parse(op.startedAt)} ms: ${op.error}`);
    const c = await stack.waitForPhase(name, ['Running'], 90_000);
    expect(c.version).toBe(FROM);
    for (const h of three()) {
      expect(await ok(h, 'systemctl is-active etcd')).toBe('active');
      expect(await ok(h, 'readlink /usr/local/bin/etcd')).toBe(`/opt/etcd/${FROM}/etcd`);
      expect(await ok(h, 'readlink /proc/$(systemctl show -p MainPID --value etcd)/exe')).toBe(`/opt/etcd/${FROM}/etcd`);
      expect(await ok(h, `${ETCDCTL} endpoint health`)).toContain('is healthy');
    }
    await dataThere(fleet.hosts[0]);
  });

  it('replaces a member whose etcd is stopped and data dir gone: a new member id, data there', async () => {
    const h3 = fleet.hosts[2];
    const before = await ok(fleet.hosts[0], `${ETCDCTL} member list`);
    const oldId = before
      .split('\n')
      .find((l) => l.includes(`${name}-3`))!
      .split(',')[0];
    await ok(h3, 'systemctl stop etcd && rm -rf /var/lib/etcd/member');
    const w = await workload(fleet.hosts.slice(0, 2).map((h) => `https://${h.address}:2379`));
    const op = await submit(`members/${name}-3/replace`);
    checkReport('replace', await w.stop());
    expect(op.steps.map((s: any) => s.name)).toEqual(expect.arrayContaining(['Leave: Remove from cluster', 'Join: Add as learner']));
    await running();
    const list = await ok(fleet.hosts[0], `${ETCDCTL} member list`);
    expect(list.split('\n')).toHaveLength(3);
    expect(list).not.toContain(oldId);
    expect(list).not.toMatch(/unstarted|true$/m);
    expect(await ok(h3, `${ETCDCTL} get /app/k1 --print-value-only --consistency=s`)).toBe('v1');
    expect(await ok(h3, 'systemctl is-active etcd')).toBe('active');
  });

  it('applies a config change member by member', async () => {
    const w = await workload();
    await submit('config', { tunables: { snapshotCount: 5000 }, logging: { level: 'warn' } });
    checkReport('config change', await w.stop());
    await running();
    for (const h of three()) {
      const conf = await ok(h, 'cat /etc/etcd/config.yaml');
      expect(conf).toMatch(/snapshot-count: 5000/);
      expect(conf).toMatch(/log-level: warn/);
      expect(await ok(h, 'systemctl is-active etcd')).toBe('active');
    }
  });

  const serial = (h: TestHost) => ok(h, 'openssl x509 -noout -serial -in /etc/ssl/etcd/etcd.pem');
  const verify = (h: TestHost, ca = '/etc/ssl/etcd/ca.pem') =>
    ok(h, `for f in etcd peer admin; do openssl verify -CAfile ${ca} /etc/ssl/etcd/$f.pem; done`);

  it('renews every certificate from the same CA with a rolling restart', async () => {
    const serials = await Promise.all(three().map(serial));
    const ca = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body.ca;
    const w = await workload();
    await submit('certificates/rotate');
    checkReport('certificate renewal', await w.stop());
    await running();
    expect((await stack.api('GET', `/v1/clusters/${name}/credentials`)).body.ca).toBe(ca);
    for (const [i, h] of three().entries()) {
      expect(await serial(h)).not.toBe(serials[i]);
      expect((await verify(h)).split('\n').every((l) => l.endsWith(': OK'))).toBe(true);
      expect(await ok(h, `${ETCDCTL} endpoint health`)).toContain('is healthy');
    }
  });

  it('rotates the CA: every host trusts only the new CA afterwards, data there', async () => {
    const old = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
    await submit('certificates/rotate', { ca: true, phaseGraceSeconds: 0 });
    await running();
    const creds = (await stack.api('GET', `/v1/clusters/${name}/credentials`)).body;
    expect(creds.ca).not.toBe(old.ca);
    for (const h of three()) {
      expect(await ok(h, 'cat /etc/ssl/etcd/ca.pem')).toBe(creds.ca.trim());
      expect((await verify(h)).split('\n').every((l) => l.endsWith(': OK'))).toBe(true);
      const oldCa = old.ca.trim().replace(/'/g, '');
      expect(
        (await h.exec(`printf '%s\\n' '${oldCa}' > /tmp/old-ca.pem && openssl verify -CAfile /tmp/old-ca.pem /etc/ssl/etcd/etcd.pem`)).code,
      ).not.toBe(0);
      await dataThere(h);
    }
  });

  it('compacts and defragments every member, the leader last', async () => {
    const h = fleet.hosts[0];
    await ok(h, `${ETCDCTL} del --prefix /app/k2 >/dev/null`);
    const rev = JSON.parse(await ok(h, `${ETCDCTL} put /app/marker x -w json`)).header.revision;
    await submit('compact', { revision: rev });
    const op = await submit('defrag');
    expect(op.result.members).toHaveLength(3);
    expect(op.result.members.slice(0, 2).every((m: any) => !m.wasLeader)).toBe(true);
    expect(op.result.members[2]).toMatchObject({ wasLeader: true });
    await running();
    await dataThere(h);
  });

  let backupId: string;
  it('takes a backup and runs the restore drill on it', async () => {
    backupId = (await submit('backups')).result.backup.id;
    const drill = await submit('restore-drill');
    expect(drill.result).toMatchObject({ backup: backupId, ok: true });
    expect(drill.result.keys).toBeGreaterThanOrEqual(KEYS / 2);
  });

  // The restored copy has a tiny quota, so NOSPACE recovery runs on it too (one cluster on the fourth host, not two).
  const copy = `${name}-copy`;
  it('restores the backup into a new cluster on the fourth host', async () => {
    const h4 = fleet.hosts[3];
    const s = spec(copy, [h4], { tunables: { heartbeatInterval: 50, electionTimeout: 500, quotaBackendBytes: 2 * 1024 * 1024 } });
    const r = await stack.api('POST', `/v1/clusters/${copy}/restore`, { from: name, backup: backupId, spec: s });
    expect(r.status).toBe(202);
    const op = await waitOp(stack, r.body.operationId);
    expect(op.error ?? null).toBeNull();
    expect((await stack.waitForPhase(copy, ['Running', 'Failed'], 120_000)).phase).toBe('Running');
    await dataThere(h4);
    expect(await ok(h4, `${ETCDCTL} get /app/marker --print-value-only`)).toBe('x');
    expect(await ok(h4, 'stat -c "%a %U" /var/lib/etcd')).toBe('700 etcd');
  });

  it('clears NOSPACE under the 2 MB quota of the copy, writes work again; a purge delete leaves nothing', async () => {
    const h4 = fleet.hosts[3];
    const fill = await h4.exec(
      `v=$(head -c 100000 /dev/zero | tr '\\0' x); for i in $(seq 1 60); do ${ETCDCTL} put /big "$v" >/dev/null 2>/tmp/err || break; done; cat /tmp/err`,
    );
    expect(fill.stdout).toMatch(/space exceeded/);
    const op = await submit('clear-nospace', {}, copy);
    expect(op.result.disarmed.join(',')).toMatch(/NOSPACE/);
    await until('a write to work again', async () => ((await ok(h4, `${ETCDCTL} put /after ok`)) === 'OK' ? true : undefined), 30_000);
    await dataThere(h4);
    expect((await stack.api('DELETE', `/v1/clusters/${copy}?purge=true`)).status).toBe(202);
    await gone(stack, copy);
    expect(await ok(h4, 'ls -A /var/lib/etcd /etc/etcd /opt/etcd 2>/dev/null; true')).toBe('');
  });
});
