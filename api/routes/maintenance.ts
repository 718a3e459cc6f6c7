// maintenance endpoints under /v1: backups, restore (in place or into a new
// cluster), compaction, defragmentation, NOSPACE recovery, schedules.
import express from 'express';
import { ScheduleNotFoundError } from '@temporalio/client';
import { ValidationError } from '../../common/parse';
import { checkBackupPolicy, parseAllowedClusterSpec, POLICY_STATUS } from '../../common/policy';
import type { FleetService } from '../service';
import { allChecks, bodyObject, nameMatchesUrl, operationParams, under } from '../body';
import type { OperationKind } from '../../common/operations';
import { HttpProblem } from '../problems';
import { SCHEDULE_KINDS, schedulesFromSpec, type ScheduleKind } from '../schedules';
import { validateSetting } from '../../infra/schedules';
import { requireRole } from '../access';

export function maintenanceRoutes(fleet: FleetService): express.Router {
  const r = express.Router();
  const viewer = requireRole('viewer');
  const operator = requireRole('operator');
  const schedules = () => fleet.schedules;
  const name = (req: express.Request) => String(req.params.name);
  const kindOf = (req: express.Request): ScheduleKind => {
    const k = String(req.params.kind);
    if (!(SCHEDULE_KINDS as readonly string[]).includes(k))
      throw new HttpProblem(404, 'Not Found', `no schedule kind ${k} (one of ${SCHEDULE_KINDS.join(', ')})`);
    return k as ScheduleKind;
  };
  const submit = (kind: OperationKind) => async (req: express.Request, res: express.Response) => {
    const accepted = await fleet.submit(name(req), kind, operationParams(kind, bodyObject(req)));
    res.status(202).json({ name: name(req), ...accepted });
  };

  r.get('/clusters/:name/backups', viewer, async (req, res) => {
    const view = await fleet.view(name(req));
    const b = (view.extensions?.backups as Record<string, unknown> | undefined) ?? { items: [] };
    res.json({ name: view.name, ...b });
  });
  r.post('/clusters/:name/backups', operator, submit('backup'));
  r.post('/clusters/:name/restore-drill', operator, submit('restore-drill'));
  r.post('/clusters/:name/compact', operator, submit('compact'));
  r.post('/clusters/:name/defrag', operator, submit('defrag'));
  r.post('/clusters/:name/defrag-check', operator, submit('defrag-check'));
  r.post('/clusters/:name/clear-nospace', operator, submit('clear-nospace'));

  /**
   * Restore. In place: `{backup}` (a backup of this cluster, or `latest`).
   * Into a new cluster: `{backup, from: <source cluster>, spec: <new cluster spec>}`:
   * the new cluster is provisioned, then restored from the source's backup
   * (the entity queue runs the restore right after provisioning).
   * Point in time (continuous backups): `toRevision: R` or `toTime: <RFC 3339>` as well.
   */
  r.post('/clusters/:name/restore', requireRole('admin'), async (req, res) => {
    const body = bodyObject(req);
    const target = name(req);
    // Params, the new cluster's spec and its name are checked together: one answer names every bad field.
    const [params, parsed] = allChecks(
      () =>
        operationParams('restore', {
          backup: body.backup ?? 'latest',
          from: body.from ?? target,
          force: body.force,
          toRevision: body.toRevision,
          toTime: body.toTime,
        }),
      () => (body.spec === undefined ? undefined : under('spec', () => parseAllowedClusterSpec(body.spec, fleet.policy))),
      () => nameMatchesUrl(body.spec, target, 'spec.name'),
    );
    const { from = target } = params;
    if (from !== target) {
      const source = await fleet.view(from);
      // The source's settings travel with the restore: they must still be allowed (the policy may have changed since).
      const refusals = checkBackupPolicy(source.spec?.backup, fleet.policy);
      if (refusals.length)
        throw new ValidationError(
          refusals.map((r) => ({ path: 'from', message: `cluster ${from}'s ${r.path}: ${r.message}` })),
          POLICY_STATUS,
        );
      params.sourceBackup = source.spec?.backup;
      // Into a new cluster to a point in time: a chain that does not reach it is refused before the cluster is created.
      if (parsed && (params.toRevision !== undefined || params.toTime !== undefined))
        await fleet.planRestore(from, { backup: params.backup, toRevision: params.toRevision, toTime: params.toTime });
    }
    let created: unknown;
    if (parsed) created = await fleet.createCluster(parsed.spec);
    const accepted = await fleet.submit(target, 'restore', params);
    res.status(202).json({ name: target, ...accepted, ...(created ? { provision: created } : {}) });
  });

  r.get('/clusters/:name/schedules', viewer, async (req, res) => {
    const view = await fleet.view(name(req));
    res.json({ name: view.name, fromSpec: view.spec ? schedulesFromSpec(view.spec) : {}, schedules: await schedules().list(view.name) });
  });
  /** `{backup: {every: "6h", paused?: false}, compaction: null, ...}`: given kinds are created/updated, null deletes. `{fromSpec: true}` resyncs from the spec. */
  r.put('/clusters/:name/schedules', operator, async (req, res) => {
    const view = await fleet.view(name(req));
    const body = bodyObject(req);
    if (body.fromSpec === true && view.spec) await schedules().syncFromSpec(view.spec);
    const errors = Object.entries(body)
      .filter(([k]) => k !== 'fromSpec')
      .map(([k, v]) => ({ path: k, message: validateSetting(k, v) }))
      .filter((e): e is { path: string; message: string } => !!e.message);
    if (errors.length) throw new HttpProblem(400, 'Invalid Request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
    for (const [k, v] of Object.entries(body)) {
      if (k === 'fromSpec') continue;
      if (v === null) await schedules().remove(view.name, k as ScheduleKind);
      else await schedules().put(view.name, k as ScheduleKind, v as { every: string; paused?: boolean });
    }
    res.json({ name: view.name, schedules: await schedules().list(view.name) });
  });
  /** Runs `fn` on the cluster's schedule of the request's kind: a cluster without one is a 404 that says how to make it. */
  const onSchedule = async (req: express.Request, fn: (cluster: string, kind: ScheduleKind) => Promise<void>) => {
    const [cluster, kind] = [name(req), kindOf(req)];
    try {
      await fn(cluster, kind);
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
      throw new HttpProblem(
        404,
        'Not Found',
        `cluster ${cluster} has no ${kind} schedule (PUT /v1/clusters/${cluster}/schedules sets one)`,
      );
    }
    return { name: cluster, kind };
  };
  r.post('/clusters/:name/schedules/:kind/trigger', operator, async (req, res) => {
    await fleet.view(name(req));
    res.status(202).json({ ...(await onSchedule(req, (c, k) => schedules().trigger(c, k))), triggered: true });
  });
  r.post('/clusters/:name/schedules/:kind/pause', operator, async (req, res) => {
    res.json({ ...(await onSchedule(req, (c, k) => schedules().pause(c, k, true))), paused: true });
  });
  r.post('/clusters/:name/schedules/:kind/unpause', operator, async (req, res) => {
    res.json({ ...(await onSchedule(req, (c, k) => schedules().pause(c, k, false))), paused: false });
  });
  return r;
}
