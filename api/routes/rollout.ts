// Rollout endpoints under /v1: upgrade, config change, certificate and CA
// rotation. Each queues one operation on the cluster entity (202); the
// entity's validators answer 409/422 without queueing anything.
import express from 'express';
import { LoggingSpec, Tunables } from '../../common/spec';
import { fromZodError, ValidationError } from '../../common/parse';
import { MAX_TIMEOUT_SECONDS, secondsSchema } from '../../common/duration';
import { bodyObject } from '../body';
import type { FleetService } from '../service';
import { caRotationQuery } from '../../workflows/rollout/certificates';

export function rolloutRoutes(fleet: FleetService): express.Router {
  const r = express.Router();

  // During a CA rotation: the trust bundle and new admin certificate clients must switch to before the old CA is dropped.
  // The admin key pair is made here and only its CSR goes to the rotation, which signs it with the new CA.
  r.get('/operations/:id/ca-rotation', async (req, res) => {
    const id = String(req.params.id);
    const view = await fleet.queryOperation(id, caRotationQuery);
    if (!view.newCa) return void res.json(view);
    const op = await fleet.operation(id);
    // After the rotation the entity holds the new CA: it signs from then on.
    const signer =
      op.status === 'Running' || op.status === 'Paused'
        ? fleet.client.workflow.getHandle(op.workflowId)
        : await fleet.clusterHandle(op.cluster);
    const { cert, key } = await fleet.signClient(signer);
    res.json({ ...view, admin: { cert, key } });
  });

  r.post('/clusters/:name/upgrade', async (req, res) => {
    const name = String(req.params.name);
    const body = bodyObject(req);
    if (typeof body.version !== 'string' || !body.version.trim()) {
      throw new ValidationError([{ path: 'version', message: 'required: the etcd release to upgrade to, e.g. v3.5.35' }]);
    }
    const accepted = await fleet.submit(name, 'upgrade', { version: body.version.trim() });
    res.status(202).json({ name, kind: 'upgrade', version: body.version.trim(), ...accepted });
  });

  r.post('/clusters/:name/config', async (req, res) => {
    const name = String(req.params.name);
    const body = bodyObject(req);
    if (body.tunables === undefined && body.logging === undefined) {
      throw new ValidationError([{ path: '', message: 'give tunables and/or logging' }]);
    }
    const current = (await fleet.view(name)).spec;
    const params: Record<string, unknown> = {};
    if (body.tunables !== undefined) {
      const t = Tunables.safeParse({ ...(current?.tunables ?? {}), ...(body.tunables as object) });
      if (!t.success) throw fromZodError(t.error, 'tunables');
      const hb = t.data.heartbeatInterval ?? 100;
      const et = t.data.electionTimeout ?? 1000;
      if (et < 5 * hb)
        throw new ValidationError([{ path: 'tunables.electionTimeout', message: `must be at least 5 × heartbeatInterval (${5 * hb} ms)` }]);
      params.tunables = t.data;
    }
    if (body.logging !== undefined) {
      const l = LoggingSpec.safeParse({ ...(current?.logging ?? {}), ...(body.logging as object) });
      if (!l.success) throw fromZodError(l.error, 'logging');
      params.logging = l.data;
    }
    const accepted = await fleet.submit(name, 'config-change', params);
    res.status(202).json({ name, kind: 'config-change', ...params, ...accepted });
  });

  r.post('/clusters/:name/certificates/rotate', async (req, res) => {
    const name = String(req.params.name);
    const body = bodyObject(req);
    if (body.ca !== undefined && typeof body.ca !== 'boolean') throw new ValidationError([{ path: 'ca', message: 'must be a boolean' }]);
    if (body.ca === true) {
      const params: Record<string, unknown> = {};
      if (body.phaseGraceSeconds !== undefined) {
        const g = secondsSchema(MAX_TIMEOUT_SECONDS, { allowZero: true }).safeParse(body.phaseGraceSeconds);
        if (!g.success) throw fromZodError(g.error, 'phaseGraceSeconds');
        params.phaseGraceSeconds = g.data;
      }
      const accepted = await fleet.submit(name, 'rotate-ca', params);
      res.status(202).json({ name, kind: 'rotate-ca', ...accepted });
      return;
    }
    const accepted = await fleet.submit(name, 'rotate-certificates', {});
    res.status(202).json({ name, kind: 'rotate-certificates', ...accepted });
  });

  return r;
}
