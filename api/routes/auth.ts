// etcd users, roles and the auth switch under /v1 (issue 11). Changes are
// queued operations (202, idempotent); reads come from the recorded state.
//   GET    /clusters/{name}/roles                      viewer
//   PUT    /clusters/{name}/roles/{role}               admin  {permissions: [{prefix | key, access}]}
//   DELETE /clusters/{name}/roles/{role}               admin  (a missing role: success)
//   GET    /clusters/{name}/users                      viewer (never a password)
//   PUT    /clusters/{name}/users/{user}               admin  {password?, roles}
//   DELETE /clusters/{name}/users/{user}               admin
//   POST   /clusters/{name}/users/{user}/certificate   admin  a client certificate with CN = user; the key is in this response only
//   PUT    /clusters/{name}/auth                       admin  {enabled}
import express, { type Request, type Response } from 'express';
import { AuthName, planAuth, reservedNameIssue, type AuthSpec } from '../../common/auth';
import { ValidationError } from '../../common/parse';
import type { OperationKind } from '../../common/operations';
import type { OperationAccepted } from '../../workflows/definitions';
import { bodyObject, operationParams } from '../body';
import { requireRole } from '../access';
import { HttpProblem } from '../problems';
import type { FleetService } from '../service';
import { authState } from './auth-view';

const urlName = (req: Request, param: 'role' | 'user'): string => {
  const v = String(req.params[param]);
  const r = AuthName.safeParse(v);
  if (!r.success) throw new ValidationError(r.error.issues.map((i) => ({ path: param, message: i.message })));
  return v;
};

export function authRoutes(fleet: FleetService): express.Router {
  const r = express.Router();
  const viewer = requireRole('viewer');
  const admin = requireRole('admin');
  const name = (req: Request) => String(req.params.name);
  const queue = async (res: Response, cluster: string, kind: OperationKind, params: Record<string, unknown>, shown: object) => {
    const accepted = await fleet.submit(cluster, kind, params);
    res
      .status(202)
      .location(`/v1/operations/${accepted.operationId}`)
      .json({ name: cluster, kind, ...shown, ...accepted });
  };

  r.get('/clusters/:name/roles', viewer, async (req, res) => {
    const a = authState(await fleet.view(name(req)));
    res.json({ name: name(req), authEnabled: a.enabled, roles: a.roles });
  });
  r.get('/clusters/:name/users', viewer, async (req, res) => {
    const a = authState(await fleet.view(name(req)));
    res.json({ name: name(req), authEnabled: a.enabled, users: a.users });
  });

  r.put('/clusters/:name/roles/:role', admin, async (req, res) => {
    const role = urlName(req, 'role');
    const params = operationParams('put-role', bodyObject(req), { name: role });
    await queue(res, name(req), 'put-role', params, { role, permissions: params.permissions });
  });
  r.delete('/clusters/:name/roles/:role', admin, async (req, res) => {
    const role = urlName(req, 'role');
    await queue(res, name(req), 'delete-role', operationParams('delete-role', {}, { name: role }), { role });
  });

  r.put('/clusters/:name/users/:user', admin, async (req, res) => {
    const user = urlName(req, 'user');
    const params = operationParams('put-user', bodyObject(req), { name: user });
    await queue(res, name(req), 'put-user', params, { user, roles: params.roles, password: params.password !== undefined });
  });
  r.delete('/clusters/:name/users/:user', admin, async (req, res) => {
    const user = urlName(req, 'user');
    await queue(res, name(req), 'delete-user', operationParams('delete-user', {}, { name: user }), { user });
  });

  /** The key pair is made here; only the CSR goes through Temporal (as GET …/credentials does). */
  r.post('/clusters/:name/users/:user/certificate', admin, async (req, res) => {
    const user = urlName(req, 'user');
    const reserved = reservedNameIssue('user', user);
    if (reserved) throw new ValidationError([{ path: 'user', message: reserved }], 422);
    const view = await fleet.view(name(req));
    if (!authState(view).users.some((u) => u.name === user))
      throw new HttpProblem(404, 'Not Found', `cluster ${view.name} has no user ${user} (PUT it first)`);
    const creds = await fleet.signClient(await fleet.clusterHandle(view.name), user);
    res.status(201).json({ name: view.name, user, ...creds });
  });

  r.put('/clusters/:name/auth', admin, async (req, res) => {
    const params = operationParams('set-auth', bodyObject(req));
    await queue(res, name(req), 'set-auth', params, { enabled: params.enabled });
  });
  return r;
}

/**
 * Queues the operations that take a cluster's recorded auth state to `desired`
 * (a created cluster's spec.auth, after its provisioning). Returns what was queued.
 */
export async function queueAuthPlan(fleet: FleetService, cluster: string, desired: AuthSpec): Promise<OperationAccepted[]> {
  const queued: OperationAccepted[] = [];
  for (const step of planAuth(undefined, desired)) queued.push(await fleet.submit(cluster, step.kind, step.params));
  return queued;
}
