// The auth operation kinds: each queues one authChange child; success records
// the new auth state under `extensions.auth` (never a password: the params'
// password is dropped from the operation record once the child has it).
import { ApplicationFailure, executeChild } from '@temporalio/workflow';
import { applyAuthChange, EMPTY_AUTH, redactParams, reservedNameIssue, ROOT, type AuthChange, type AuthState } from '../../common/auth';
import {
  refuseIssues,
  withParams,
  type ClusterState,
  type OperationContext,
  type OperationHandlers,
  type OperationOutcome,
} from '../state';
import { authChange, describeAuthChange } from './change';

const refuse = (message: string) => ApplicationFailure.create({ type: 'Refused', message, nonRetryable: true });

export const authOf = (s: Readonly<ClusterState>): AuthState => (s.extensions?.auth as AuthState | undefined) ?? EMPTY_AUTH;

function notReserved(kind: 'role' | 'user', name: string): void {
  const why = reservedNameIssue(kind, name);
  if (why) throw refuseIssues([{ path: 'name', message: why }]);
}

/** Roles a user may get now: recorded ones, root, and roles a running or queued put-role creates first. */
function knownRoles(s: Readonly<ClusterState>): Set<string> {
  const pending = s.current ? [s.current, ...s.queue] : s.queue;
  const queued = pending.filter((o) => o.kind === 'put-role').map((o) => String(o.params?.name));
  return new Set([ROOT, ...authOf(s).roles.map((r) => r.name), ...queued]);
}

async function runChange(ctx: OperationContext<unknown>, change: AuthChange): Promise<OperationOutcome> {
  const { state, spec, op, taskQueue } = ctx;
  try {
    const r = await executeChild(authChange, {
      workflowId: op.workflowId,
      taskQueue,
      args: [{ spec, change }],
      staticSummary: `${spec.name}: ${describeAuthChange(change)}`,
    });
    return { extensions: { auth: applyAuthChange(authOf(state), change) }, result: r.checked ? { checked: r.checked } : undefined };
  } finally {
    // The child has the password; the record the entity keeps and shows does not need it.
    op.params = redactParams(op.params);
  }
}

export const authOperations: OperationHandlers = {
  'put-role': withParams('put-role', {
    phase: 'Running',
    validate: (_s, p) => notReserved('role', p.name),
    run: (ctx) => runChange(ctx, { kind: 'put-role', role: ctx.params }),
  }),
  'delete-role': withParams('delete-role', {
    phase: 'Running',
    validate: (_s, p) => notReserved('role', p.name),
    run: (ctx) => runChange(ctx, { kind: 'delete-role', name: ctx.params.name }),
  }),
  'put-user': withParams('put-user', {
    phase: 'Running',
    validate(s, p) {
      notReserved('user', p.name);
      const known = knownRoles(s);
      const missing = p.roles.flatMap((r, j) =>
        known.has(r) ? [] : [{ path: `roles[${j}]`, message: `no role ${r} on cluster ${s.name} (PUT the role first)` }],
      );
      if (missing.length) throw refuseIssues(missing);
    },
    run: (ctx) => runChange(ctx, { kind: 'put-user', user: ctx.params }),
  }),
  'delete-user': withParams('delete-user', {
    phase: 'Running',
    validate: (_s, p) => notReserved('user', p.name),
    run: (ctx) => runChange(ctx, { kind: 'delete-user', name: ctx.params.name }),
  }),
  'set-auth': withParams('set-auth', {
    phase: 'Running',
    validate(s, p) {
      if (p.enabled && s.spec && !s.spec.tls.enabled)
        throw refuse(`cluster ${s.name} runs without TLS: the service authenticates to etcd by its client certificate, so auth needs TLS`);
    },
    run: (ctx) => runChange(ctx, { kind: 'set-auth', enabled: ctx.params.enabled }),
  }),
};
