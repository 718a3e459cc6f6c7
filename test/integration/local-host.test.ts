// The local host provider and etcd client against real etcd, without
// Temporal: fetch a release from the local mirror, build a 3-member TLS
// cluster by hand with the activity functions, and check idempotency,
// process supervision and removal. Addresses: 127.0.21.0/24 (this file's).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { fetchRelease, releaseEntryDir, releaseUrls } from '../../activities/artifacts';
import { clusterHealth, putAndGet } from '../../activities/etcd/client';
import { waitUntilHealthy } from '../support/wait-healthy';
import { addLearner, moveLeader, promoteLearner, removeMember } from '../../activities/etcd/membership';
import {
  LocalHostProvider,
  installBinaries,
  localMemberFiles,
  localMemberRoot,
  localMemberRuntime,
  memberProcessStatus,
  prepareMemberHost,
  removeMemberHost,
  setMemberClusterState,
  specInitialCluster,
  startMember,
  stopMember,
} from '../../activities/hosts/local';
import { findEtcdProcesses, procGroupAndSession } from '../../activities/hosts/proc';
import { issueClusterPki, type PemPki as ClusterPki } from '../../activities/pki';
import type { ClusterSpec } from '../../common/spec';
import { REPO_ROOT } from '../../infra/config';
import { fakeMirror, makeSpec, mirrorVersions, serveDir } from '../support/local-host-fixtures';

const run = promisify(execFile);
jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-local-host-'));
const hostsDir = path.join(tmp, 'hosts');
/** The etcd client reads the admin certificate through the host provider. */
const hosts = new LocalHostProvider(hostsDir);
const cacheDir = path.join(tmp, 'cache');
/** Every cluster this file created, so afterAll can stop all of them. */
const started: { cluster: string; member: string }[] = [];

afterAll(async () => {
  for (const ref of started) await stopMember(hostsDir, { ...ref, timeoutMs: 3_000 }).catch(() => undefined);
  // Anything under our hosts dir still running (e.g. a test failed mid-start).
  for (const p of await findEtcdProcesses(hostsDir)) process.kill(p.pid, 'SIGKILL');
  if (!process.env.KEEP_LOCAL_HOST_TMP) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Retries like a Temporal retry policy would, for steps etcd refuses until it is ready. */
async function retry<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function hostPki(pki: ClusterPki, member: string) {
  return { ca: pki.ca.cert, server: pki.members[member].server, peer: pki.members[member].peer, admin: pki.admin };
}

describe('fetchRelease', () => {
  const mirror = path.join(tmp, 'fake-mirror');

  test('verifies, extracts once and serves from the cache afterwards', async () => {
    const { sha256 } = await fakeMirror(mirror, 'v3.5.901');
    const cache = path.join(tmp, 'fr-cache-1');
    // Concurrent fetches of one version (parallel member activities) agree.
    const results = await Promise.all(
      [1, 2, 3].map(() => fetchRelease({ version: '3.5.901', source: `file://${mirror}`, cacheDir: cache })),
    );
    const entry = releaseEntryDir(cache, 'v3.5.901', `file://${mirror}`, sha256);
    for (const r of results) expect(r).toEqual({ binDir: entry, sha256 });
    const binDir = results[0].binDir;
    expect(fs.readFileSync(path.join(binDir, 'etcdctl'), 'utf8')).toContain('fake etcdctl v3.5.901');
    expect(fs.statSync(path.join(binDir, 'etcd')).mode & 0o111).toBeTruthy();
    expect(fs.readdirSync(path.join(cache, 'releases'))).toEqual(['v3.5.901']);
    // Only the binaries and the verified tarball are kept.
    expect(fs.readdirSync(binDir).sort()).toEqual(['etcd', 'etcdctl', 'etcdutl', 'release.tar.gz']);
    // Cached: the source can disappear (the entry is verified again from its own tarball).
    await fsp.rm(path.join(mirror, 'v3.5.901'), { recursive: true });
    await expect(fetchRelease({ version: 'v3.5.901', source: `file://${mirror}`, cacheDir: cache })).resolves.toEqual({ binDir, sha256 });
  });

  test('checksum mismatch is non-retryable and names no hash', async () => {
    const { sha256 } = await fakeMirror(mirror, 'v3.5.902', { corruptSums: true });
    const err = await fetchRelease({ version: 'v3.5.902', source: `file://${mirror}/`, cacheDir: path.join(tmp, 'fr-cache-2') }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('ChecksumMismatch');
    expect(err.message).toBe(`the tarball of etcd v3.5.902 from file://${mirror} does not match its SHA256SUMS`);
    expect(JSON.stringify(err.details)).not.toContain(sha256);
    expect(fs.existsSync(path.join(tmp, 'fr-cache-2', 'releases', 'v3.5.902'))).toBe(false);
    expect(fs.readdirSync(path.join(tmp, 'fr-cache-2', 'releases'))).toEqual([]);
  });

  test('missing SHA256SUMS line and missing release are non-retryable', async () => {
    await fakeMirror(mirror, 'v3.5.903', { omitLine: true });
    const e1 = await fetchRelease({ version: 'v3.5.903', source: `file://${mirror}`, cacheDir: path.join(tmp, 'fr-cache-3') }).catch(
      (e) => e,
    );
    expect([e1.type, e1.nonRetryable]).toEqual(['ChecksumMissing', true]);
    expect(e1.message).toBe(`the SHA256SUMS of etcd v3.5.903 from file://${mirror} has no line for etcd-v3.5.903-linux-amd64.tar.gz`);
    const e2 = await fetchRelease({ version: 'v3.5.999', source: `file://${mirror}`, cacheDir: path.join(tmp, 'fr-cache-3') }).catch(
      (e) => e,
    );
    expect([e2.type, e2.nonRetryable]).toEqual(['ArtifactNotFound', true]);
  });

  test('http mirror source', async () => {
    const { sha256 } = await fakeMirror(mirror, 'v3.6.901');
    const srv = await serveDir(mirror, '127.0.21.250');
    try {
      const r = await fetchRelease({ version: 'v3.6.901', source: `${srv.url}/`, cacheDir: path.join(tmp, 'fr-cache-4') });
      expect(r.sha256).toBe(sha256);
      expect(srv.requests).toEqual(['/v3.6.901/SHA256SUMS', '/v3.6.901/etcd-v3.6.901-linux-amd64.tar.gz']);
      const e = await fetchRelease({ version: 'v3.6.999', source: srv.url, cacheDir: path.join(tmp, 'fr-cache-4') }).catch((x) => x);
      expect([e.type, e.nonRetryable]).toEqual(['ArtifactNotFound', true]);
    } finally {
      await srv.close();
    }
  });

  test('upstream URL pattern', () => {
    expect(releaseUrls('github', '3.5.10')).toEqual({
      tarball: 'https://github.com/etcd-io/etcd/releases/download/v3.5.10/etcd-v3.5.10-linux-amd64.tar.gz',
      sums: 'https://github.com/etcd-io/etcd/releases/download/v3.5.10/SHA256SUMS',
    });
    expect(() => releaseUrls('ftp://x', 'v3.5.10')).toThrow(/unsupported artifact source/);
  });
});

const versions = mirrorVersions();
const clusters: [string, string | undefined, string[]][] = [
  ['lh35', versions.v35, ['127.0.21.1', '127.0.21.2', '127.0.21.3']],
  ['lh36', versions.v36, ['127.0.21.11', '127.0.21.12', '127.0.21.13']],
];

describe.each(clusters)('3-member TLS cluster %s (etcd %s)', (name, version, addresses) => {
  const maybe = version ? test : test.skip;
  let spec: ClusterSpec;
  let pki: ClusterPki;
  let binDir: string;
  const refs = () => spec.members.map((m) => ({ cluster: spec.name, member: m.name }));

  beforeAll(async () => {
    if (!version) {
      console.warn(`local-host: no ${name === 'lh35' ? 'v3.5.10' : '3.6.x'} release in ${versions.mirror}; skipping`);
      return;
    }
    spec = makeSpec(name, version, addresses);
    pki = await issueClusterPki({ spec });
    const t0 = Date.now();
    ({ binDir } = await fetchRelease({ version, source: `file://${versions.mirror}`, cacheDir }));
    console.log(`local-host ${name}: fetched ${version} in ${Date.now() - t0} ms`);
  });

  maybe('prepare hosts, install binaries, start, healthy with one leader', async () => {
    const initial = specInitialCluster(spec);
    for (const m of spec.members) {
      const r = await prepareMemberHost(hostsDir, {
        spec,
        member: m.name,
        pki: hostPki(pki, m.name),
        initialCluster: initial,
        clusterState: 'new',
      });
      expect(r.changed).toEqual(expect.arrayContaining(['etc/etcd/config.yaml', 'etc/ssl/etcd/etcd-key.pem', 'var/lib/etcd']));
      expect(r.clusterState).toBe('new');
      expect(await installBinaries(hostsDir, { cluster: spec.name, member: m.name, version: spec.version, binDir })).toEqual({
        changed: true,
        version: spec.version,
      });
    }
    const f = localMemberFiles(hostsDir, spec, 'm1');
    const root = localMemberRoot(hostsDir, spec.name, 'm1');
    expect(f.configFile).toBe(path.join(root, 'etc/etcd/config.yaml'));
    expect(fs.statSync(f.serverKey).mode & 0o777).toBe(0o600);
    expect(fs.statSync(f.clientKey).mode & 0o777).toBe(0o600);
    expect(fs.statSync(f.caCert).mode & 0o777).toBe(0o644);
    expect(fs.statSync(f.dataDir).mode & 0o777).toBe(0o700);
    expect(fs.readlinkSync(path.join(root, 'usr/local/bin/etcd'))).toBe(`../../../opt/etcd/${version}/etcd`);
    expect(fs.readFileSync(f.envFile, 'utf8')).toContain(
      `ETCDCTL_ENDPOINTS='https://${addresses[0]}:2379,https://${addresses[1]}:2379,https://${addresses[2]}:2379'`,
    );

    const t0 = Date.now();
    const starts = await Promise.all(refs().map((r) => startMember(hostsDir, r)));
    started.push(...refs());
    for (const s of starts) expect(s.alreadyRunning).toBe(false);
    const health = await waitUntilHealthy(hosts, spec, { expectMembers: 3, timeoutMs: 30_000 });
    console.log(`local-host ${name}: 3 members healthy ${Date.now() - t0} ms after start`);
    expect(health.healthy).toBe(true);
    expect(health.alarms).toEqual([]);
    expect(health.members.filter((m) => m.isLeader)).toHaveLength(1);
    expect(health.leader).toBe(health.members.find((m) => m.isLeader)!.name);
    expect(health.members.map((m) => m.name).sort()).toEqual(['m1', 'm2', 'm3']);
    for (const m of health.members) {
      expect(m).toMatchObject({ healthy: true, isLearner: false, version: version!.slice(1) });
      expect(m.id).toMatch(/^[0-9a-f]+$/);
      expect(m.raftIndex).toBeGreaterThan(0);
      expect(m.dbSize).toBeGreaterThan(0);
    }
    expect(health.absentMembers).toEqual([]);
  });

  maybe('the rendered config is what etcd runs with', async () => {
    const log = fs.readFileSync(localMemberRuntime(hostsDir, spec.name, 'm1').logFile, 'utf8');
    // etcd logs its effective server configuration once at start.
    expect(log).toMatch(/"heartbeat-interval":"50ms"/);
    expect(log).toMatch(/"election-timeout":"500ms"/);
    if (spec.version.startsWith('v3.5.')) {
      expect(log).toMatch(/"initial-corrupt-check":true/);
      expect(log).toMatch(/"compact-check-time-enabled":true/);
    } else {
      expect(log).toMatch(/"feature-gates":"CompactHashCheck=true,InitialCorruptCheck=true"/);
    }
    expect(log).toMatch(/"quota-backend-bytes":268435456/);
    expect(log).toMatch(/"max-request-bytes":1572864/);
    expect(log).toMatch(/"auto-compaction-retention":"1h0m0s"/);
    expect(log).toMatch(/"initial-cluster-state":"new"/);
  });

  maybe('write, read back, and the host scripts work', async () => {
    expect(await putAndGet(hosts, spec, `/test/${name}`, 'hello')).toBe('hello');
    const f = localMemberFiles(hostsDir, spec, 'm2');
    const { stdout, stderr } = await run(f.etcdctlScript, ['endpoint', 'health'], { timeout: 20_000 });
    const out = stdout + stderr;
    for (const a of addresses) expect(out).toContain(`https://${a}:2379 is healthy`);
    const get = await run(f.etcdctlScript, ['get', `/test/${name}`, '--print-value-only'], { timeout: 20_000 });
    expect(get.stdout.trim()).toBe('hello');
    const certs = await run(f.certShowScript, [], { timeout: 20_000 });
    expect(certs.stdout).toContain(`${f.serverCert}`);
    expect(certs.stdout).toMatch(/subject=.*CN ?= ?m2/);
    expect(certs.stdout).toContain(`IP Address:${addresses[1]}`);
    expect(certs.stdout).toMatch(/notAfter=/);
  });

  maybe('every step is idempotent', async () => {
    const initial = specInitialCluster(spec);
    for (const m of spec.members) {
      const r = await prepareMemberHost(hostsDir, {
        spec,
        member: m.name,
        pki: hostPki(pki, m.name),
        initialCluster: initial,
        clusterState: 'new',
      });
      expect(r.changed).toEqual([]);
      expect((await installBinaries(hostsDir, { cluster: spec.name, member: m.name, version: spec.version, binDir })).changed).toBe(false);
    }
    const before = await Promise.all(refs().map((r) => memberProcessStatus(hostsDir, r)));
    const again = await Promise.all(refs().map((r) => startMember(hostsDir, r)));
    again.forEach((s, i) => expect(s).toEqual({ pid: before[i].pid, alreadyRunning: true }));
    for (const st of before) expect(st).toMatchObject({ running: true, version, binaryOutdated: false });

    // A lost pidfile is recovered from /proc, not answered with a second etcd.
    const rt = localMemberRuntime(hostsDir, spec.name, 'm3');
    fs.rmSync(rt.pidFile);
    expect(await startMember(hostsDir, { cluster: spec.name, member: 'm3' })).toEqual({ pid: before[2].pid, alreadyRunning: true });
    expect(fs.readFileSync(rt.pidFile, 'utf8').trim()).toBe(String(before[2].pid));
  });

  maybe('after bootstrap every member says existing, and it sticks', async () => {
    for (const m of spec.members) {
      expect(await setMemberClusterState(hostsDir, { spec, member: m.name, state: 'existing' })).toEqual({ changed: true });
      expect(await setMemberClusterState(hostsDir, { spec, member: m.name, state: 'existing' })).toEqual({ changed: false });
    }
    const r = await prepareMemberHost(hostsDir, {
      spec,
      member: 'm1',
      pki: hostPki(pki, 'm1'),
      initialCluster: specInitialCluster(spec),
      clusterState: 'new',
    });
    expect(r).toMatchObject({ changed: [], clusterState: 'existing' });
    expect(fs.readFileSync(localMemberFiles(hostsDir, spec, 'm1').configFile, 'utf8')).toMatch(/^initial-cluster-state: existing$/m);
  });

  maybe('stop and start are idempotent; a stale pidfile does not block a start', async () => {
    const ref = { cluster: spec.name, member: 'm1' };
    const t0 = Date.now();
    const s1 = await stopMember(hostsDir, ref);
    console.log(`local-host ${name}: m1 stopped in ${Date.now() - t0} ms`);
    expect(s1).toMatchObject({ stopped: true, killed: false });
    expect(await stopMember(hostsDir, ref)).toEqual({ stopped: false, pids: [], killed: false });
    expect(await memberProcessStatus(hostsDir, ref)).toEqual({ running: false });
    const h = await clusterHealth(hosts, spec, { timeoutMs: 1_000 });
    expect(h.healthy).toBe(false);
    expect(h.members.find((m) => m.name === 'm1')).toMatchObject({ healthy: false });
    expect(h.members.filter((m) => m.name !== 'm1').every((m) => m.healthy)).toBe(true);

    // A pidfile naming a live process that is not our etcd (this jest worker).
    const rt = localMemberRuntime(hostsDir, spec.name, 'm1');
    fs.writeFileSync(rt.pidFile, `${process.pid}\n`);
    const s = await startMember(hostsDir, ref);
    expect(s.alreadyRunning).toBe(false);
    expect(s.pid).not.toBe(process.pid);
    expect(fs.readFileSync(rt.pidFile, 'utf8').trim()).toBe(String(s.pid));
    await waitUntilHealthy(hosts, spec, { expectMembers: 3, timeoutMs: 30_000 });
  });

  maybe('the member process outlives the process group that started it', async () => {
    const ref = { cluster: spec.name, member: 'm2' };
    await stopMember(hostsDir, ref);
    const helper = spawn(
      path.join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [path.join(REPO_ROOT, 'test/support/local-host-start.ts'), hostsDir, spec.name, 'm2'],
      {
        detached: true, // its own process group, so the whole group can be killed
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    helper.stdout!.on('data', (d) => (out += d));
    helper.stderr!.on('data', (d) => (err += d));
    const deadline = Date.now() + 30_000;
    while (!out.includes('\n') && helper.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(err).toBe('');
    const { pid, alreadyRunning } = JSON.parse(out) as { pid: number; alreadyRunning: boolean };
    expect(alreadyRunning).toBe(false);
    const gs = await procGroupAndSession(pid);
    expect(gs).toEqual({ pgid: pid, sid: pid });

    const exited = new Promise((r) => helper.once('exit', r));
    process.kill(-helper.pid!, 'SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 300));
    expect(await memberProcessStatus(hostsDir, ref)).toMatchObject({ running: true, pid });
    await waitUntilHealthy(hosts, spec, { expectMembers: 3, timeoutMs: 30_000 });
  });

  maybe('a fourth member joins as a learner, is promoted, leads, and is removed again', async () => {
    const t0 = Date.now();
    const grown = makeSpec(name, version!, [...addresses, addresses[0].replace(/\.\d+$/, (x) => `.${Number(x.slice(1)) + 3}`)]);
    const ref4 = { cluster: name, member: 'm4' };
    // etcd refuses membership changes until every voter has been connected
    // for 5 s (strict-reconfig-check); m2 was restarted just before.
    const added = await retry(() => addLearner(hosts, grown, { member: 'm4' }), 15_000);
    expect(added).toMatchObject({ alreadyMember: false, isLearner: true });
    expect(await addLearner(hosts, grown, { member: 'm4' })).toMatchObject({ id: added.id, alreadyMember: true });
    expect(added.initialCluster.split(',').sort()).toEqual(grown.members.map((m) => `${m.name}=https://${m.address}:2380`).sort());
    // A learner that never started cannot be promoted.
    await expect(promoteLearner(hosts, grown, { member: 'm4' })).rejects.toThrow(/has not caught up/);

    const pki4 = await issueClusterPki({ spec: grown, existing: pki });
    await prepareMemberHost(hostsDir, {
      spec: grown,
      member: 'm4',
      pki: hostPki(pki4, 'm4'),
      initialCluster: added.initialCluster,
      clusterState: 'existing',
    });
    await installBinaries(hostsDir, { ...ref4, version: grown.version, binDir });
    started.push(ref4);
    await startMember(hostsDir, ref4);
    const promoted = await retry(() => promoteLearner(hosts, grown, { member: 'm4' }), 20_000);
    expect(promoted).toEqual({ promoted: true, id: added.id });
    expect(await promoteLearner(hosts, grown, { member: 'm4' })).toEqual({ promoted: false, id: added.id });
    const h4 = await waitUntilHealthy(hosts, grown, { expectMembers: 4, timeoutMs: 30_000, requireNoLearners: true });
    expect(h4.members.find((m) => m.name === 'm4')).toMatchObject({ healthy: true, isLearner: false });

    expect(await moveLeader(hosts, grown, { to: 'm4' })).toMatchObject({ moved: true });
    expect((await clusterHealth(hosts, grown)).leader).toBe('m4');
    expect(await moveLeader(hosts, grown, { to: 'm4' })).toEqual({ moved: false, from: 'm4' });
    expect(await moveLeader(hosts, grown, { to: 'm1' })).toEqual({ moved: true, from: 'm4' });

    expect(await removeMember(hosts, grown, { member: 'm4' })).toEqual({ removed: true, id: added.id });
    expect(await removeMember(hosts, spec, { member: 'm4', peerURL: `https://${grown.members[3].address}:2380` })).toEqual({
      removed: false,
    });
    await removeMemberHost(hostsDir, { ...ref4, purge: true });
    const h3 = await waitUntilHealthy(hosts, spec, { expectMembers: 3, timeoutMs: 30_000 });
    expect(h3.members.map((m) => m.name).sort()).toEqual(['m1', 'm2', 'm3']);
    console.log(`local-host ${name}: add learner → promote → move leader → remove in ${Date.now() - t0} ms`);
  });

  maybe('the whole cluster comes back after every member was stopped', async () => {
    const t0 = Date.now();
    await Promise.all(refs().map((r) => stopMember(hostsDir, r)));
    const t1 = Date.now();
    await Promise.all(refs().map((r) => startMember(hostsDir, r)));
    const h = await waitUntilHealthy(hosts, spec, { expectMembers: 3, timeoutMs: 30_000 });
    console.log(`local-host ${name}: full stop ${t1 - t0} ms, restart to healthy ${Date.now() - t1} ms`);
    expect(await putAndGet(hosts, spec, `/test/${name}/after-restart`, 'still here')).toBe('still here');
    expect(h.members.every((m) => m.healthy)).toBe(true);
  });

  maybe('a member that cannot start fails fast with its log lines', async () => {
    // Same client address and port as m1, which is running.
    const clash = makeSpec(`${name}-clash`, version!, [addresses[0]]);
    await prepareMemberHost(hostsDir, {
      spec: clash,
      member: 'm1',
      pki: hostPki(await issueClusterPki({ spec: clash }), 'm1'),
      initialCluster: specInitialCluster(clash),
      clusterState: 'new',
    });
    await installBinaries(hostsDir, { cluster: clash.name, member: 'm1', version: clash.version, binDir });
    const ref = { cluster: clash.name, member: 'm1' };
    started.push(ref);
    const err = (await startMember(hostsDir, ref).then(
      () => undefined,
      (e: Error) => e,
    ))!;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/exited right after start \(exit code 1\); last log lines:/);
    expect(err.message).toMatch(/address already in use/);
    expect(err.message.split('\n').length).toBeLessThanOrEqual(21);
    expect(await memberProcessStatus(hostsDir, ref)).toEqual({ running: false });
    expect(fs.existsSync(localMemberRuntime(hostsDir, clash.name, 'm1').pidFile)).toBe(false);
    await removeMemberHost(hostsDir, { ...ref, purge: true });
    expect(fs.existsSync(path.join(hostsDir, clash.name))).toBe(false);
  });

  maybe('removeMemberHost keeps data unless purged', async () => {
    const ref = { cluster: spec.name, member: 'm3' };
    const f = localMemberFiles(hostsDir, spec, 'm3');
    const r = await removeMemberHost(hostsDir, { ...ref, purge: false });
    expect(await memberProcessStatus(hostsDir, ref)).toEqual({ running: false });
    expect(r.removed).toEqual(expect.arrayContaining([f.configFile, f.serverKey, f.etcdctlScript]));
    for (const p of [
      f.configFile,
      f.envFile,
      f.certsDir,
      path.join(localMemberRoot(hostsDir, spec.name, 'm3'), 'opt/etcd'),
      path.join(localMemberRoot(hostsDir, spec.name, 'm3'), 'usr/local/bin/etcd'),
    ]) {
      expect(fs.existsSync(p)).toBe(false);
    }
    expect(fs.existsSync(path.join(f.dataDir, 'member', 'wal'))).toBe(true);
    expect(await removeMemberHost(hostsDir, { ...ref, purge: false })).toEqual({ removed: [] });

    for (const m of spec.members) await removeMemberHost(hostsDir, { cluster: spec.name, member: m.name, purge: true });
    expect(fs.existsSync(path.join(hostsDir, spec.name))).toBe(false);
    expect(await findEtcdProcesses(path.join(hostsDir, spec.name))).toEqual([]);
  });
});

describe('plain http (tls.enabled: false)', () => {
  const version = versions.v36 ?? versions.v35;
  const maybe = version ? test : test.skip;

  maybe('a single member serves, and etcdctl.sh works without certificates', async () => {
    const spec = makeSpec('lhplain', version!, ['127.0.21.30'], { tls: { enabled: false } });
    const ref = { cluster: spec.name, member: 'm1' };
    const { binDir } = await fetchRelease({ version: version!, source: `file://${versions.mirror}`, cacheDir });
    const r = await prepareMemberHost(hostsDir, { spec, member: 'm1', initialCluster: specInitialCluster(spec), clusterState: 'new' });
    const f = localMemberFiles(hostsDir, spec, 'm1');
    expect(r.changed).not.toContain('etc/ssl/etcd/etcd.pem');
    expect(fs.readFileSync(f.envFile, 'utf8')).not.toContain('ETCDCTL_CERT');
    await installBinaries(hostsDir, { ...ref, version: version!, binDir });
    started.push(ref);
    await startMember(hostsDir, ref);
    const h = await waitUntilHealthy(hosts, spec, { expectMembers: 1, timeoutMs: 20_000 });
    expect(h.members[0]).toMatchObject({ name: 'm1', clientURL: 'http://127.0.21.30:2379', healthy: true, isLeader: true });
    expect(await putAndGet(hosts, spec, '/plain', 'text')).toBe('text');
    const { stdout, stderr } = await run(f.etcdctlScript, ['endpoint', 'health'], { timeout: 20_000 });
    expect(stdout + stderr).toContain('http://127.0.21.30:2379 is healthy');
    await removeMemberHost(hostsDir, { ...ref, purge: true });
    expect(await memberProcessStatus(hostsDir, ref)).toEqual({ running: false });
  });
});
