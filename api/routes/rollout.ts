// Rollout endpoints under /v1: upgrade, config change, certificate and CA
// rotation. Each queues one operation on the cluster entity (202); the
// entity's validators answer 409/422 without queueing anything.
import express from 'express';
import { ValidationError } from '../../common/parse';
import { bodyObject, operationParams } from '../body';
import type { FleetService } from '../service';
import { requireRole, type Role } from '../access';
import { caRotationQuery } from '../../workflows/rollout/certificates';

/** Rotating the CA is admin's; renewing the member certificates is operator's. */
const caRotationRole = (req: express.Request): Role => (bodyObject(req).ca === true ? 'admin' : 'operator');

export function rolloutRoutes(fleet: FleetService): express.Router {
  const r = express.Router();

  // During a CA rotation: the trust bundle and new admin certificate clients must switch to before the old CA is dropped.
  // The admin key pair is made here and only its CSR goes to the rotation, which signs it with the new CA.
  r.get('/operations/:id/ca-rotation', requireRole('admin'), async (req, res) => {
    const id = String(req.params.id);
    const view = await fleet.queryOperation(id, 'rotate-ca', caRotationQuery);
    if (!view.newCa) return void res.json(view);
    const op = await fleet.operation(id); // now: the rotation may have ended since the query
    // After the rotation the entity holds the new CA: it signs from then on.
    const signer =
      op.status === 'Running' || op.status === 'Paused'
        ? fleet.client.workflow.getHandle(op.workflowId)
        : await fleet.clusterHandle(op.cluster);
    const { cert, key } = await fleet.signClient(signer);
    res.json({ ...view, admin: { cert, key } });
  });

  r.post('/clusters/:name/upgrade', requireRole('operator'), async (req, res) => {
    const name = String(req.params.name);
    const { version } = operationParams('upgrade', { version: bodyObject(req).version });
    const accepted = await fleet.submit(name, 'upgrade', { version });
    res.status(202).json({ name, kind: 'upgrade', version, ...accepted });
  });

  r.post('/clusters/:name/config', requireRole('operator'), async (req, res) => {
    const name = String(req.params.name);
    const body = bodyObject(req);
    const given = (v: unknown) => v !== undefined;
    // The members get whole blocks: the request's fields over the spec's (only the blocks it names).
    const current = given(body.tunables) || given(body.logging) ? (await fleet.view(name)).spec : undefined;
    const merged = (block: unknown, now: object | undefined) => (given(block) ? { ...now, ...(block as object) } : undefined);
    const params = operationParams('config-change', {
      tunables: merged(body.tunables, current?.tunables),
      logging: merged(body.logging, current?.logging),
    });
    const accepted = await fleet.submit(name, 'config-change', params);
    res.status(202).json({ name, kind: 'config-change', ...params, ...accepted });
  });

  r.post('/clusters/:name/certificates/rotate', requireRole(caRotationRole), async (req, res) => {
    const name = String(req.params.name);
    const body = bodyObject(req);
    if (body.ca !== undefined && typeof body.ca !== 'boolean') throw new ValidationError([{ path: 'ca', message: 'must be a boolean' }]);
    if (body.ca === true) {
      const params = operationParams('rotate-ca', { phaseGraceSeconds: body.phaseGraceSeconds });
      const accepted = await fleet.submit(name, 'rotate-ca', params);
      res.status(202).json({ name, kind: 'rotate-ca', ...accepted });
      return;
    }
    const accepted = await fleet.submit(name, 'rotate-certificates', {});
    res.status(202).json({ name, kind: 'rotate-certificates', ...accepted });
  });

  return r;
}
