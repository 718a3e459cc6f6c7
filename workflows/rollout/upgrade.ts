// Rolling upgrade: the runbook. Path check against the known releases,
// safety check, both releases fetched (the old one is the rollback), a
// snapshot kept, the new release copied to the members one by one in roll
// order (links untouched), and member by member, each once its copy is there
// (followers first, leader last after MoveLeader: links, config, restart,
// gate), and finally the cluster version.
// A minor-version rollback (3.6 → latest 3.5) is the same roll after etcd's
// downgrade flow: validate + enable, every member's storage migrated.
import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import type { ClusterHealthView } from '../../common/operations';
import { clusterTopology, initialCluster } from '../../common/topology';
import { minorOf } from '../../common/release-version';
import { checkUpgradePath, checkUpgradeShape } from '../../common/upgrade-path';
import type { ClusterPki } from '../../activities/pki';
import { describe, Progress, settled } from '../progress';
import { memberPki } from '../provision';
import { call, download, restartGate, rollback, rolloutStep, step } from '../activities';
import { rollMembers, rollOrder, memberStep } from './rolling';
import { setSearchAttributes } from '../search-attributes';

/** The patch id of the "Stage release" step (new release on every member before the roll). */
export const STAGE_RELEASE_PATCH = 'upgrade-stage-release';
/** Histories recorded before the safety check and snapshot ran beside the release fetch and staging. */
export const CONCURRENT_PREAMBLE_PATCH = 'upgrade-concurrent-preamble';
/** Histories recorded before the path check ran beside the safety check and the release fetch (the snapshot and staging wait for it). */
export const PATH_IN_PREAMBLE_PATCH = 'upgrade-path-in-preamble';
/** Histories recorded before the release was copied member by member in roll order, each roll waiting only for its own copy. */
export const PIPELINED_STAGE_PATCH = 'upgrade-stage-pipelined';

/** A promise settled from outside; handled from the start (a member whose roll never comes leaves no unhandled rejection). */
function deferred(): { promise: Promise<void>; resolve(): void; reject(err: unknown): void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export interface RollingUpgradeInput {
  spec: ClusterSpec;
  pki?: ClusterPki;
  version: string;
  /** Snapshot file name (pre-upgrade-<operation>). */
  snapshotName: string;
}
export interface RollingUpgradeResult {
  spec: ClusterSpec;
  health?: ClusterHealthView;
  order: string[];
  snapshot: string;
  clusterVersion: string;
}

export async function rollingUpgrade({ spec, pki, version, snapshotName }: RollingUpgradeInput): Promise<RollingUpgradeResult> {
  setSearchAttributes({ cluster: spec.name, operation: 'upgrade', phase: 'Upgrading' });
  const from = spec.version;
  const target = spec.members.length ? { ...spec, version } : spec;
  const downgrade = checkUpgradeShape(from, version).downgrade === true;
  const minor = minorOf(version);
  // Histories from before staging replay without it.
  const staging = patched(STAGE_RELEASE_PATCH);
  const progress = new Progress(`${downgrade ? 'Downgrade' : 'Upgrade'} ${spec.name}: etcd ${from} → ${version}`, [
    'Check upgrade path',
    'Check cluster is safe to disrupt',
    'Fetch etcd releases',
    'Snapshot before upgrade',
    ...(staging ? ['Stage release'] : []),
    ...(downgrade ? [`Enable downgrade to ${minor}`, `Storage version ${minor} on every member`] : []),
  ]);

  const pathCheck = () =>
    progress.step(
      'Check upgrade path',
      async () => {
        const available = await rolloutStep.availableEtcdVersions.executeWithOptions({ summary: 'known etcd releases' }, []);
        const verdict = checkUpgradePath(from, version, available);
        if (!verdict.allowed) throw ApplicationFailure.create({ type: 'Refused', nonRetryable: true, message: verdict.reason! });
        return available;
      },
      (a) => `${from} → ${version} allowed (releases: ${a.join(', ')})`,
    );
  // New histories check the path beside the safety check and the fetch; older ones first.
  const early = staging && patched(PATH_IN_PREAMBLE_PATCH);
  if (!early) await pathCheck();

  const safety = () =>
    progress.step(
      'Check cluster is safe to disrupt',
      () => rollOrder(spec),
      (o) => `order ${o.order.join(' → ')}`,
    );
  const fetch = () =>
    progress.step(
      'Fetch etcd releases',
      () =>
        Promise.all(
          [from, version].map((v) =>
            call(download.fetchRelease, `etcd ${v} (SHA-256 checked)`, { version: v, source: spec.artifactSource }),
          ),
        ),
      (r) => `${version} sha256 ${r[1].sha256.slice(0, 16)}…; ${from} kept for rollback`,
    );
  const snapshotStep = () =>
    step(
      progress,
      'Snapshot before upgrade',
      download.snapshotCluster,
      `etcdctl snapshot save ${snapshotName}.db`,
      { spec, name: snapshotName },
      (s) => `${s.file} (${s.bytes} bytes)`,
    );
  const verb = downgrade ? 'Downgrade' : 'Upgrade';
  const stageOne = (member: string, binDir: string) =>
    call(download.stageRelease, `${member}: copy and verify etcd ${version}, links untouched`, {
      cluster: spec.name,
      member,
      version,
      binDir,
      spec,
    });
  const staged = (r: Awaited<ReturnType<typeof stageOne>>[]) =>
    r.every((x) => !x.staged) ? 'nothing to stage for this provider' : `${r.filter((x) => x.changed).length} of ${r.length} copied`;
  const stage = (binDir: string) =>
    progress.step('Stage release', () => Promise.all(spec.members.map((m) => stageOne(m.name, binDir))), staged);
  // One member at a time in roll order: a member's roll waits only for its own copy, so the next member's
  // copy runs while this one restarts and only the first copy is on the upgrade's critical path (all copies
  // at once contend for the worker's CPU and the network, and the first roll waited for the last of them).
  const stageInOrder = (binDir: string, members: readonly string[]) => {
    const copied = new Map(members.map((m) => [m, deferred()]));
    const all = progress.step(
      'Stage release',
      async () => {
        const r: Awaited<ReturnType<typeof stageOne>>[] = [];
        try {
          for (const m of members) {
            r.push(await stageOne(m, binDir));
            copied.get(m)!.resolve();
          }
        } catch (err) {
          // The roll stops before the member whose copy failed; the ones before it were (or are being) rolled.
          const i = r.length;
          const [before, after] = [members.slice(0, i), members.slice(i)];
          const stopped = ApplicationFailure.create({
            type: 'StageFailed',
            nonRetryable: true,
            message:
              `etcd ${version} could not be copied to ${members[i]}: ${describe(err)}; the ${verb.toLowerCase()} stopped before it` +
              ` (${before.length ? `${before.join(', ')} on ${version}, ` : ''}${after.join(', ')} still on ${from}); submit it again once fixed`,
          });
          for (const d of copied.values()) d.reject(stopped);
          throw err;
        }
        return r;
      },
      (r) => `${staged(r)}, in roll order`,
    );
    // Awaited once the roll is over (after a failed copy, the roll of the member before it may still run).
    all.catch(() => undefined);
    return { all, ready: (m: string) => copied.get(m)!.promise };
  };

  let order: string[];
  let leader: string;
  let oldRelease: Awaited<ReturnType<typeof fetch>>[number];
  let newRelease: typeof oldRelease;
  let snapshot: Awaited<ReturnType<typeof snapshotStep>>;
  let inOrder: ReturnType<typeof stageInOrder> | undefined;
  if (staging && (early || patched(CONCURRENT_PREAMBLE_PATCH))) {
    // Two chains at once: the safety check then the snapshot, and both releases then the staging;
    // with `early` the path check runs beside them, and neither the snapshot nor the staging starts before it allowed the upgrade.
    const allowed = early ? pathCheck() : Promise.resolve([]);
    const checked = safety();
    const snapshotted = Promise.all([checked, allowed]).then(([o]) => {
      progress.add(...o.order.map((m) => memberStep(verb, m, o.leader)), 'Verify cluster version');
      return snapshotStep();
    });
    const fetched = fetch();
    const copies =
      early && patched(PIPELINED_STAGE_PATCH)
        ? Promise.all([fetched, allowed, checked]).then(([r, , o]) => (inOrder = stageInOrder(r[1].binDir, o.order)))
        : Promise.all([fetched, allowed]).then(([r]) => stage(r[1].binDir));
    let releases: Awaited<typeof fetched>;
    [, { order, leader }, releases, snapshot] = await settled([allowed, checked, fetched, snapshotted, copies] as const);
    [oldRelease, newRelease] = releases;
  } else {
    ({ order, leader } = await safety());
    progress.add(...order.map((m) => memberStep(verb, m, leader)), 'Verify cluster version');
    [oldRelease, newRelease] = await fetch();
    snapshot = await snapshotStep();
    if (staging) await stage(newRelease.binDir);
  }

  if (downgrade) {
    // etcd lowers the cluster version on its leader's version monitor (every 4 s): the step polls for
    // about a minute (restartGate), not rolloutStep's three attempts in ~3 s, which a tick can miss.
    await step(
      progress,
      `Enable downgrade to ${minor}`,
      restartGate.enableDowngrade,
      `etcdctl downgrade validate ${minor} && etcdctl downgrade enable ${minor}`,
      { spec, target: version },
      (r) => `cluster version ${r.clusterVersion}${r.enabled ? '' : ' (already enabled)'}`,
    );
    await step(
      progress,
      `Storage version ${minor} on every member`,
      restartGate.checkStorageVersion,
      `every member's storage migrated to ${minor}`,
      { spec, target: version },
      (r) => r.map((x) => `${x.member}: storage ${x.storage ?? minor}`).join('; '),
    );
  }

  const initial = initialCluster(clusterTopology(spec));
  const prepareInput = (s: ClusterSpec, binDir: string, member: string, staged?: true) => ({
    spec: s,
    member,
    pki: pki ? memberPki(pki, member) : (undefined as never),
    initialCluster: initial,
    clusterState: 'existing' as const,
    binDir,
    ...(staged && { staged }),
  });
  const prepare = (s: ClusterSpec, binDir: string, ops: typeof rolloutStep, staged?: true) => async (member: string) => {
    await call(
      ops.prepareMember,
      `${member}: etcd ${s.version} ${staged ? 'links' : 'binaries'} and config`,
      prepareInput(s, binDir, member, staged),
    );
  };
  let lastReading: { member: string; etcdserver: string; etcdcluster: string }[] | undefined;
  const rolled = rollMembers(
    spec,
    progress,
    {
      ready: inOrder?.ready,
      what: `${downgrade ? 'downgrade' : 'upgrade'} to ${version}`,
      apply: prepare(target, newRelease.binDir, rolloutStep, staging || undefined),
      revert: prepare(spec, oldRelease.binDir, rollback),
      version,
      previousVersion: from,
      roll: (member) => ({
        ...prepareInput(target, newRelease.binDir, member, staging || undefined),
        // The last member's gate also reads every member's /version: the cluster version check below.
        readVersions: member === order.at(-1),
      }),
      rolled: (member, r) => {
        if (member === order.at(-1)) lastReading = r.versions;
      },
    },
    { order, leader, prefix: verb },
  );
  // A copy still running when a roll stopped is waited for: no step is left behind running.
  const [health] = await settled([rolled, inOrder?.all ?? Promise.resolve()] as const);

  const verified = (r: NonNullable<typeof lastReading>) =>
    r.map((x) => `${x.member}: server ${x.etcdserver}, cluster ${x.etcdcluster}`).join('; ');
  const reading = lastReading?.every((x) => x.etcdcluster.startsWith(`${minor}.`)) ? lastReading : undefined;
  const versions = reading
    ? await progress.step(
        'Verify cluster version',
        async () => reading,
        (r) => `${verified(r)} (read by the last gate)`,
      )
    : await step(
        progress,
        'Verify cluster version',
        restartGate.checkClusterVersion,
        `every member reports cluster version ${minor}`,
        { spec: target, minor },
        verified,
      );
  progress.succeed();
  return { spec: target, health, order, snapshot: snapshot.file, clusterVersion: versions[0]?.etcdcluster ?? minor };
}
