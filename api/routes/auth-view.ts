// What the API shows of etcd users and roles: the recorded auth state of a
// cluster (extensions.auth), and operation records with any password replaced
// by "(set)" (a put-user's params carry it until the operation has run).
import { redactParams, EMPTY_AUTH, type AuthState } from '../../common/auth';
import type { OperationRecord } from '../../common/operations';
import type { ClusterView } from '../../workflows/definitions';

export function redactOp<T extends OperationRecord | undefined>(op: T): T {
  return op && op.params && 'password' in op.params ? { ...op, params: redactParams(op.params) } : op;
}

export function redactView(view: ClusterView): ClusterView {
  return {
    ...view,
    current: redactOp(view.current),
    queue: view.queue?.map((o) => redactOp(o)),
    operations: view.operations?.map((o) => redactOp(o)),
  };
}

export function authState(view: ClusterView): AuthState {
  return (view.extensions?.auth as AuthState | undefined) ?? EMPTY_AUTH;
}
