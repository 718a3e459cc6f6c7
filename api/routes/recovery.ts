// Quorum-loss recovery endpoints under /v1 (admin): approve a recover-quorum
// operation that waits for approval, or queue one by hand. The audit
// middleware records both (token, status, operation id).
import express from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import { principalOf, requireRole } from '../access';
import { bodyObject, operationParams } from '../body';
import { HttpProblem } from '../problems';
import type { FleetService } from '../service';
import { approveUpdate } from '../../workflows/recovery/approval';

const UPDATE_DEADLINE_MS = 30_000;

export function recoveryRoutes(fleet: FleetService): express.Router {
  const r = express.Router();
  const admin = requireRole('admin');

  // 409 unless the operation is a recover-quorum at its approval step (the child's validator decides).
  r.post('/operations/:id/approve', admin, async (req, res) => {
    const id = String(req.params.id);
    const op = await fleet.operation(id);
    const waitsFor = op.kind === 'recover-quorum' && (op.status === 'Running' || op.status === 'Paused');
    if (!waitsFor) throw new HttpProblem(409, 'Conflict', `operation ${id} waits for nothing (${op.kind}, ${op.status.toLowerCase()})`);
    const handle = fleet.client.workflow.getHandle(op.workflowId);
    try {
      await fleet.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
        handle.executeUpdate(approveUpdate, { args: [{ by: principalOf(res)?.name }] }),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new HttpProblem(409, 'Conflict', `operation ${id} waits for nothing (it has finished)`);
      throw err;
    }
    res.status(202).json({ ...(await fleet.operation(id)), approved: true });
  });

  r.post('/clusters/:name/recover-quorum', admin, async (req, res) => {
    const name = String(req.params.name);
    const params = operationParams('recover-quorum', {
      reason: `requested by ${principalOf(res)?.name ?? 'an admin'}`,
      ...bodyObject(req),
    });
    const accepted = await fleet.submit(name, 'recover-quorum', params);
    res.status(202).json({ name, kind: 'recover-quorum', ...accepted });
  });

  return r;
}
