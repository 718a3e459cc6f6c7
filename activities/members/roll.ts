// One member of a rolling upgrade in one activity: (optionally) the safety
// check and leadership move before it, its new links and config, the restart,
// and the first attempt of its gate. A gate that does not pass
// within that attempt is reported, not thrown, so the workflow goes on with
// the separate, retried gate activity (and its rollback path) as before.
import fs from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { NOT_RESTARTED, type ClusterHealthView } from '../../common/operations';
import type { Config } from '../../infra/config';
import { prepareRestart } from '../etcd/activities';
import { pollMemberGate, pollUntil } from '../etcd/gates';
import { memberVersions, type MemberVersion } from '../etcd/versions';
import { providerFor, type HostProvider } from '../hosts';
import { keyStoreFor, loadHostPki, type MemberHostRefs } from '../pki';
import type { ClusterSpec } from '../../common/spec';
import { allowedRelease, assertPathsAllowed } from '../policy';

export interface PrepareMemberInput {
  spec: ClusterSpec;
  member: string;
  /** Certificates and key ids: the keys are read from the key store here. */
  pki: MemberHostRefs;
  initialCluster: string;
  clusterState: 'new' | 'existing';
  binDir: string;
  /** The release was staged on the host ("Stage release" of an upgrade or a provision): providers that stage only link it. */
  staged?: boolean;
}

/** The release in `binDir`, or fetched (and checked) here when fetchRelease ran on another worker's machine. */
export async function releaseHere(cfg: Config, binDir: string, version: string, source?: string): Promise<string> {
  return fs.existsSync(binDir) ? binDir : (await allowedRelease(cfg, version, source)).binDir;
}

/** What the prepareMember activity does (documented there). */
export async function prepareMemberFiles(
  cfg: Config,
  host: HostProvider,
  keys: ReturnType<typeof keyStoreFor>,
  input: PrepareMemberInput,
): Promise<{ changed: string[]; files: Awaited<ReturnType<HostProvider['prepare']>>['files'] }> {
  const { spec, member } = input;
  assertPathsAllowed(spec);
  const pki = spec.tls.enabled && input.pki ? await loadHostPki(keys, input.pki) : undefined;
  const binDir = await releaseHere(cfg, input.binDir, spec.version, spec.artifactSource);
  if (host.prepareWithRelease) {
    const r = await host.prepareWithRelease({ ...input, pki, release: { version: spec.version, binDir, staged: input.staged } });
    return { changed: r.changed, files: r.files };
  }
  await host.installBinaries({ cluster: spec.name, member, version: spec.version, binDir, spec });
  const r = await host.prepare({ ...input, pki });
  return { changed: r.changed, files: r.files };
}

export interface RollMemberInput extends PrepareMemberInput {
  /** Server version the member must report after the restart. */
  version: string;
  /** How long the gate keeps checking (first attempt only, at most 10 s). */
  pollMs?: number;
  /** Also read every member's /version once the gate passed (the roll's last member: the cluster version check). */
  readVersions?: boolean;
  /**
   * First the prepareRestart activity's work (safety check, leadership moved to `to` or any healthy voter when the
   * member leads), once (not again in a retry after it passed). A failure there leaves the member untouched and is thrown as a
   * non-retryable `NotRestarted` failure (retryable causes are retried here first), so the workflow stops without a rollback.
   */
  precheck?: { to?: string };
}

export interface RollMemberResult {
  /** The gate passed: `view` is its reading. */
  passed: boolean;
  /** The gate's last reading (absent when the gate could not check). */
  view?: ClusterHealthView;
  /** What kept the gate from passing (when it did not). */
  problems?: string[];
  /** Every member's /version after the gate passed (readVersions; absent when a member did not answer). */
  versions?: MemberVersion[];
  /** What the precheck did about leadership (with `precheck`, in the attempt that ran it). */
  leadership?: { moved: boolean; leader: string };
}

/** Backoff of the precheck's own retries: as the prepareRestart activity's retry policy (3 attempts, 1 s then 2 s apart). */
const PRECHECK_RETRY_MS = [1_000, 2_000];

/** prepareRestart, with its retryable failures retried here: once it gives up, nothing was touched (`NotRestarted`). */
async function precheck(host: HostProvider, spec: ClusterSpec, member: string, to?: string): Promise<{ moved: boolean; leader: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await prepareRestart(host, spec, member, to);
    } catch (e) {
      const final = e instanceof ApplicationFailure && e.nonRetryable;
      if (!final && attempt < PRECHECK_RETRY_MS.length) {
        await Context.current().sleep(PRECHECK_RETRY_MS[attempt]);
        continue;
      }
      throw ApplicationFailure.create({
        type: NOT_RESTARTED,
        nonRetryable: true,
        message: `${member} was not restarted: ${(e as Error).message}`,
        cause: e as Error,
      });
    }
  }
}

export function rollActivities(cfg: Config) {
  const keys = keyStoreFor(cfg);
  return {
    /**
     * prepareMember, restartMember and the first attempt of memberGate as one
     * activity (one Temporal round trip instead of three), with `precheck` also
     * prepareRestart before them (see there). Throws when the files
     * or the restart fail, or (non-retryable `MemberNotRunning`) when etcd is
     * gone after the restart; a gate still waiting when its attempt ends is
     * returned with `passed: false`.
     */
    async rollMember(input: RollMemberInput): Promise<RollMemberResult> {
      const { spec, member, version } = input;
      const host = providerFor(spec, cfg);
      // The precheck's pass is recorded as heartbeat details: a later attempt after it (files or restart failed)
      // goes on with the member; one after an attempt that never got past it checks again.
      const ctx = Context.current();
      const passed = (ctx.info.heartbeatDetails as { prechecked?: boolean } | undefined)?.prechecked === true;
      let leadership: RollMemberResult['leadership'];
      if (input.precheck && !passed) {
        leadership = await precheck(host, spec, member, input.precheck.to);
        ctx.heartbeat({ prechecked: true });
      }
      await prepareMemberFiles(cfg, host, keys, input);
      // No start confirmation: the gate below checks the process at once and keeps checking.
      await host.restart({ cluster: spec.name, member, spec, startConfirmMs: 0 });
      let gate: Awaited<ReturnType<typeof pollMemberGate>>;
      try {
        gate = await pollMemberGate(host, { spec, member, version }, pollUntil(input.pollMs));
      } catch (e) {
        // Gone (MemberNotRunning) fails now; a host that does not answer (a cut link) is the gate activity's to wait for.
        if (e instanceof ApplicationFailure && e.nonRetryable) throw e;
        return { passed: false, problems: [`gate could not check ${member}: ${(e as Error).message}`], ...(leadership && { leadership }) };
      }
      const { problems, view } = gate;
      if (problems.length) return { passed: false, view, problems, ...(leadership && { leadership }) };
      const versions = input.readVersions ? await memberVersions(host, spec).catch(() => undefined) : undefined;
      return { passed: true, view, ...(versions && { versions }), ...(leadership && { leadership }) };
    },
  };
}
