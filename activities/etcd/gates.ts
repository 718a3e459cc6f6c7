// Health activities: the safety gates before a disruptive step (quorum rules
// in common/quorum.ts), the health gates after one (throw, and so are retried,
// until the cluster is where the step wants it), and the entity's observation.
import { X509Certificate } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CertificateExpiry, ClusterHealthView } from '../../common/operations';
import { healthSignature } from '../../common/health';
import { disruptionRisks, removalRisks, type DisruptionCheck } from '../../common/quorum';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { hostFiles, providerFor, type HostProvider } from '../hosts';
import { clusterHealth, describeHealth, putAndGet, type ClusterHealth } from './client';
import { summarizeHealth, toView } from './view';
import { memberVersions } from './versions';

export interface MemberGateInput {
  spec: ClusterSpec;
  member: string;
  /** Server version the member must report (vX.Y.Z). */
  version?: string;
  /** Keep checking (every 100 ms) this long inside one attempt before failing it. */
  pollMs?: number;
}

const MAX_HEALTH_POLL_MS = 10_000;

/**
 * Until when a gate keeps checking inside this attempt: `pollMs` (at most 10 s) on the first
 * attempt only. Later attempts check once, so the retry policy still bounds how long a gate
 * waits before it fails (and a roll starts its rollback).
 */
export function pollUntil(pollMs: number | undefined): number {
  let attempt = 1;
  try {
    attempt = Context.current().info.attempt;
  } catch {
    /* outside an activity: as a first attempt */
  }
  return Date.now() + (attempt > 1 ? 0 : Math.min(Math.max(pollMs ?? 0, 0), MAX_HEALTH_POLL_MS));
}
const HEALTH_POLL_INTERVAL_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refused(message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type: 'Refused', message, nonRetryable: true, details: details ? [details] : undefined });
}

/** Throws a non-retryable `Refused` failure when the step would risk quorum or the cluster is unhealthy. */
export async function checkSafeToDisrupt(host: HostProvider, spec: ClusterSpec, check: DisruptionCheck): Promise<ClusterHealthView> {
  return toView(await safeToDisrupt(host, spec, check));
}

/** checkSafeToDisrupt, returning the health reading it judged. */
export async function safeToDisrupt(host: HostProvider, spec: ClusterSpec, check: DisruptionCheck): Promise<ClusterHealth> {
  const h = await clusterHealth(host, spec);
  const risks = disruptionRisks(h, check);
  if (risks.length) throw refused(`refused: ${risks.join('; ')}`, h);
  return h;
}

export interface HealthGateInput {
  spec: ClusterSpec;
  expectMembers: number;
  pollMs?: number;
}

/** What the checkHealthy activity does (documented there). */
export async function waitHealthy(host: HostProvider, { spec, expectMembers, pollMs }: HealthGateInput): Promise<ClusterHealthView> {
  const until = pollUntil(pollMs);
  for (;;) {
    const view = toView(await clusterHealth(host, spec));
    const voters = view.members.filter((m) => !m.isLearner);
    if (view.healthy && voters.length === expectMembers) return view;
    if (Date.now() >= until) {
      throw ApplicationFailure.retryable(`not healthy yet: ${summarizeHealth(view, expectMembers)}`, 'NotHealthy');
    }
    await sleep(HEALTH_POLL_INTERVAL_MS);
  }
}

/** A marker key written and read back (throws, retryably, on a mismatch). */
export async function verifyWriteRead(host: HostProvider, spec: ClusterSpec, key: string): Promise<{ key: string }> {
  const value = new Date().toISOString();
  const read = await putAndGet(host, spec, key, value);
  if (read !== value) throw ApplicationFailure.retryable(`wrote ${value} to ${key} but read back ${read}`, 'ReadMismatch');
  return { key };
}

export function etcdGateActivities(cfg: Config) {
  const hosts = (spec?: Pick<ClusterSpec, 'provider'>): HostProvider => providerFor(spec, cfg);
  return {
    /** Throws a non-retryable `Refused` failure when the step would risk quorum or the cluster is unhealthy. */
    async checkSafeToDisrupt({ spec, check }: { spec: ClusterSpec; check: DisruptionCheck }): Promise<ClusterHealthView> {
      return checkSafeToDisrupt(hosts(spec), spec, check);
    },

    /** Safety gate before a removal: throws a non-retryable `Refused` failure with the reasons. */
    async checkSafeToRemove({ spec, member }: { spec: ClusterSpec; member: string }): Promise<ClusterHealthView> {
      const h = await clusterHealth(hosts(spec), spec);
      const risks = removalRisks(h, member);
      if (risks.length) throw refused(`refused to remove ${member}: ${risks.join('; ')}`);
      return toView(h);
    },

    /**
     * Health gate: throws (and so is retried) until every expected member is a healthy voter with one leader and no alarms.
     * `pollMs` (first attempt, at most 10 s): checks again every 100 ms for that long before failing, so a cluster about to be healthy skips the retry back-off.
     */
    async checkHealthy({ spec, expectMembers, pollMs }: HealthGateInput): Promise<ClusterHealthView> {
      return waitHealthy(hosts(spec), { spec, expectMembers, pollMs });
    },

    async verifyWriteRead({ spec, key }: { spec: ClusterSpec; key: string }): Promise<{ key: string }> {
      return verifyWriteRead(hosts(spec), spec, key);
    },

    /** Health as the entity observes it: members, leader, alarms, raft lag, db sizes and certificate expiry. */
    async clusterHealth({ spec }: { spec: ClusterSpec }): Promise<ClusterHealthView> {
      return observedHealth(hosts(spec), spec);
    },

    /**
     * The entity's standing health watch: reads the cluster every `everyMs` and answers with the first reading
     * whose signature (common/health.ts) differs from `since`, or with the last one once `maxWaitMs` is up.
     * A heartbeat before each reading is all it tells Temporal meanwhile: a cluster at rest costs a reading per
     * interval and no workflow task. The entity cancels it without waiting when an operation arrives; the
     * cancellation reaches it with the answer to its next heartbeat (worker/worker.ts sends each at once).
     */
    async watchHealth(input: WatchHealthInput): Promise<ClusterHealthView> {
      return watchReadings(input, () => observedHealth(hosts(input.spec), input.spec));
    },

    /**
     * The gate after a member restarts: its process runs, it is a healthy
     * voter reporting `version`, its applied raft index has reached the
     * leader's index as seen before, and the whole cluster is healthy.
     * Throws (retryable) until then; the workflow's retry policy is the poll
     * loop, after `pollMs` (first attempt, at most 10 s) of checks every 100 ms.
     */
    async memberGate({ spec, member, version, pollMs }: MemberGateInput): Promise<ClusterHealthView> {
      const { problems, view } = await pollMemberGate(hosts(spec), { spec, member, version }, pollUntil(pollMs));
      if (problems.length) throw ApplicationFailure.retryable(problems.join('; '), 'GateNotPassed');
      return view;
    },

    /** Throws (retryable) until every member's /version reports cluster version `minor` (e.g. 3.6). */
    async checkClusterVersion({
      spec,
      minor,
    }: {
      spec: ClusterSpec;
      minor: string;
    }): Promise<{ member: string; etcdserver: string; etcdcluster: string }[]> {
      const rows = (await memberVersions(hosts(spec), spec)).map(({ member, etcdserver, etcdcluster }) => ({
        member,
        etcdserver,
        etcdcluster,
      }));
      const off = rows.filter((r) => !r.etcdcluster.startsWith(`${minor}.`));
      if (off.length)
        throw ApplicationFailure.retryable(
          `cluster version not ${minor} yet: ${off.map((r) => `${r.member}=${r.etcdcluster}`).join(', ')}`,
          'ClusterVersion',
        );
      return rows;
    },
  };
}

/** How long a health watch waits for its heartbeat's answer (a cancellation) before it reads. */
const HEARTBEAT_ANSWER_MS = 500;

export interface WatchHealthInput {
  spec: ClusterSpec;
  /** Between two readings (the spec's health check interval). */
  everyMs: number;
  /** Answer with the newest reading after this long even when nothing changed. */
  maxWaitMs: number;
  /** The signature of the reading the entity holds; without it the first reading answers. */
  since?: string;
}

/** The loop of `watchHealth` around `read` (one health reading); the stub activities run it too. */
export async function watchReadings(
  { everyMs, maxWaitMs, since }: Omit<WatchHealthInput, 'spec'>,
  read: () => Promise<ClusterHealthView>,
): Promise<ClusterHealthView> {
  const ctx = Context.current();
  const until = Date.now() + maxWaitMs;
  for (;;) {
    await ctx.sleep(Math.max(0, Math.min(everyMs, until - Date.now())));
    // A watch cancelled meanwhile (an operation was queued, the cluster deleted) ends here, without a reading.
    ctx.heartbeat();
    await ctx.sleep(HEARTBEAT_ANSWER_MS);
    const view = await read();
    if (since === undefined || healthSignature(view) !== since || Date.now() + everyMs > until) return view;
  }
}

async function observedHealth(hosts: HostProvider, spec: ClusterSpec): Promise<ClusterHealthView> {
  const view = toView(await clusterHealth(hosts, spec));
  view.certificates = await certificateExpiry(hosts, spec);
  return view;
}

/**
 * notAfter of every certificate on every member host (missing files are skipped): the members read at
 * once, each in one call where the provider can (one ssh round trip), and each certificate parsed once
 * while its text stays the same (a health check every 30 s need not parse 4 certificates per member).
 */
async function certificateExpiry(hosts: HostProvider, spec: ClusterSpec): Promise<CertificateExpiry[]> {
  const perMember = await Promise.all(
    spec.members.map(async (m) => {
      const f = hostFiles(spec, m.name);
      const files = { ca: f.caCert, server: f.serverCert, peer: f.peerCert, admin: f.clientCert };
      const at = { spec, member: m.name };
      const paths = Object.values(files);
      const pems = hosts.readFiles
        ? await hosts.readFiles(at, paths).catch(() => [])
        : await Promise.all(paths.map((p) => hosts.readFile(at, p).catch(() => undefined)));
      return Object.keys(files).flatMap((certificate, i): CertificateExpiry[] => {
        const pem = pems[i]?.toString('utf8');
        return pem ? [{ member: m.name, certificate, notAfter: notAfterOf(pem) }] : [];
      });
    }),
  );
  return perMember.flat();
}

const NOT_AFTER_CACHE_LIMIT = 4096;
const notAfterByPem = new Map<string, string>();

/** The notAfter of a PEM certificate (of a bundle, during a CA rotation, the first: the one in use). */
export function notAfterOf(pem: string): string {
  let notAfter = notAfterByPem.get(pem);
  if (notAfter === undefined) {
    notAfter = new Date(new X509Certificate(pem).validTo).toISOString();
    if (notAfterByPem.size >= NOT_AFTER_CACHE_LIMIT) notAfterByPem.clear();
    notAfterByPem.set(pem, notAfter);
  }
  return notAfter;
}

/** How often a member's gate reads the cluster while it waits (one health reading per check). */
const MEMBER_GATE_INTERVAL_MS = 50;

/**
 * The member gate's checks until it passes or `until` (at least one check): the process
 * status and a health reading at once; the member's applied index must reach the
 * leader's index of the reading before. A member whose process is gone fails at once
 * (non-retryable `MemberNotRunning`: nothing restarts it by itself, so the rollback starts now).
 * Returns what still keeps it from passing (none: it passed) with the last reading.
 */
export async function pollMemberGate(
  host: HostProvider,
  { spec, member, version }: Omit<MemberGateInput, 'pollMs'>,
  until: number,
): Promise<{ problems: string[]; view: ClusterHealthView }> {
  let before = await clusterHealth(host, spec);
  for (;;) {
    const [proc, now] = await Promise.all([host.status({ cluster: spec.name, member, spec }), clusterHealth(host, spec)]);
    if (!proc.running) {
      const tail = await host.logTail({ cluster: spec.name, member, spec }, 5).catch(() => '');
      throw ApplicationFailure.nonRetryable(`${member}: etcd is not running; last log lines: ${tail}`, 'MemberNotRunning');
    }
    const problems = memberGateProblems(before, now, member, version);
    if (!problems.length || Date.now() >= until) return { problems, view: toView(now) };
    before = now;
    await sleep(MEMBER_GATE_INTERVAL_MS);
  }
}

/** What keeps `member` from passing its gate, given a reading and the one before it (none: it passes). */
function memberGateProblems(before: ClusterHealth, now: ClusterHealth, member: string, version: string | undefined): string[] {
  const leaderIndex = before.members.find((m) => m.isLeader)?.raftIndex;
  const m = now.members.find((x) => x.name === member);
  const problems: string[] = [];
  if (!m) problems.push(`${member} is not listed by the cluster`);
  else {
    if (!m.healthy) problems.push(`${member} unhealthy${m.error ? ` (${m.error})` : ''}`);
    if (m.isLearner) problems.push(`${member} is a learner`);
    const want = version?.replace(/^v/, '');
    if (want && m.version !== want) problems.push(`${member} reports version ${m.version ?? 'unknown'}, want ${want}`);
    const applied = m.raftAppliedIndex ?? m.raftIndex;
    if (leaderIndex === undefined || applied === undefined) problems.push('raft index unknown');
    else if (applied < leaderIndex) problems.push(`${member} raft applied index ${applied} behind the leader's ${leaderIndex}`);
  }
  if (!now.healthy) problems.push(`cluster unhealthy: ${describeHealth(now)}`);
  return problems;
}
