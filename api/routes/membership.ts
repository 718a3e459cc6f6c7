// Membership endpoints and the desired-spec PATCH under /v1.
//   POST   /clusters/{name}/members                    add one member (body: the member)
//   DELETE /clusters/{name}/members/{member}           remove one member
//   POST   /clusters/{name}/members/{member}/replace   remove + add again (fresh data, new certificates)
//   PATCH  /clusters/{name}[?dryRun=true]              plan (and queue) the operations for a changed spec
import express, { type Request, type Response } from 'express';
import type { OperationAccepted } from '../../workflows/definitions';
import { parseBody, parseClusterSpec } from '../../common/parse';
import { checkPlanSteps, planSpecChange } from '../../common/plan';
import { allChecks, bodyObject, bodyText, nameMatchesUrl, operationParams } from '../body';
import { HttpProblem } from '../problems';
import type { FleetService } from '../service';
import { requireRole } from '../access';
import { redactParams } from '../../common/auth';
import { authState } from './auth-view';

const truthy = (v: unknown) => v === 'true' || v === '1' || v === '';

export function membershipRoutes(fleet: FleetService): express.Router {
  const r = express.Router();

  r.post('/clusters/:name/members', requireRole('operator'), async (req: Request, res: Response) => {
    const name = String(req.params.name);
    const params = operationParams('add-member', bodyObject(req));
    const accepted = await fleet.submit(name, 'add-member', params);
    res
      .status(202)
      .location(`/v1/operations/${accepted.operationId}`)
      .json({ name, member: params.name, ...accepted });
  });

  r.delete('/clusters/:name/members/:member', requireRole('operator'), async (req: Request, res: Response) => {
    const name = String(req.params.name);
    const member = String(req.params.member);
    const accepted = await fleet.submit(name, 'remove-member', operationParams('remove-member', {}, { member }));
    res
      .status(202)
      .location(`/v1/operations/${accepted.operationId}`)
      .json({ name, member, ...accepted });
  });

  r.post('/clusters/:name/members/:member/replace', requireRole('operator'), async (req: Request, res: Response) => {
    const name = String(req.params.name);
    const member = String(req.params.member);
    const params = operationParams('replace-member', bodyObject(req), { member });
    const accepted = await fleet.submit(name, 'replace-member', params);
    res
      .status(202)
      .location(`/v1/operations/${accepted.operationId}`)
      .json({ name, member, ...accepted });
  });

  r.patch('/clusters/:name', requireRole('operator'), async (req: Request, res: Response) => {
    const name = String(req.params.name);
    const raw = parseBody(bodyText(req), req.get('content-type'));
    const [{ spec: desired, warnings: specWarnings }] = allChecks(
      () => parseClusterSpec(raw),
      () => nameMatchesUrl(raw, name, 'name', '; a cluster cannot be renamed'),
    );
    const view = await fleet.view(name);
    if (!view.spec) throw new HttpProblem(404, 'Not Found', `cluster ${name} has no spec yet`);
    const unhealthy = (view.health?.members ?? []).filter((m) => !m.healthy).map((m) => m.name);
    const planned = planSpecChange(view.spec, desired, { unhealthy, auth: authState(view) });
    const { plan, warnings } = planned;
    const shown = plan.map((s) => ({ ...s, params: redactParams(s.params) }));
    const refusals = planned.refusals.length ? planned.refusals : checkPlanSteps(view.spec, plan);
    if (refusals.length) {
      throw new HttpProblem(
        422,
        'Unprocessable Operation',
        `these changes cannot be made to a running cluster: ${refusals.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        refusals,
      );
    }
    const allWarnings = [...warnings, ...specWarnings.filter((w) => !/even count/.test(w))];
    if (truthy(req.query.dryRun)) {
      res.status(200).json({ name, dryRun: true, plan: shown, warnings: allWarnings });
      return;
    }
    // Queued in order; if one is refused, the ones queued by this request are cancelled again.
    const queued: OperationAccepted[] = [];
    for (const step of plan) {
      try {
        queued.push(await fleet.submit(name, step.kind, step.params));
      } catch (err) {
        // Only those still waiting: one that already started runs to its end (its own gates keep it safe).
        const waiting = new Set((await fleet.view(name).catch(() => undefined))?.queue.map((o) => o.id) ?? []);
        for (const q of queued.reverse())
          if (waiting.has(q.operationId)) await fleet.control(q.operationId, 'cancel').catch(() => undefined);
        throw err;
      }
    }
    res.status(202).json({
      name,
      plan: shown,
      operations: queued.map((q) => q.operationId),
      workflowIds: queued.map((q) => q.workflowId),
      warnings: allWarnings,
    });
  });

  return r;
}
