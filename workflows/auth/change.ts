// One change to etcd's users, roles or auth switch, as a runbook. Enabling auth:
// the root role and user and the service's own user (etcdfleet-admin, role
// root: its client certificate's CN) first, then auth on, then a check that the
// service still reaches everything it operates with that certificate.
// Summaries and step details name users and roles, never a password.
import type { ClusterSpec } from '../../common/spec';
import type { AuthChange } from '../../common/auth';
import { Progress } from '../progress';
import { hostStep, step } from '../activities';
import { setSearchAttributes } from '../search-attributes';

export interface AuthChangeInput {
  spec: ClusterSpec;
  change: AuthChange;
}

/** The operation's title, for the child's summary and its step list (no secrets). */
export function describeAuthChange(c: AuthChange): string {
  switch (c.kind) {
    case 'put-role':
      return `put role ${c.role.name} (${c.role.permissions.length} permissions)`;
    case 'delete-role':
      return `delete role ${c.name}`;
    case 'put-user':
      return `put user ${c.user.name} (roles: ${c.user.roles.join(', ') || 'none'}${c.user.password !== undefined ? ', password set' : ''})`;
    case 'delete-user':
      return `delete user ${c.name}`;
    case 'set-auth':
      return `${c.enabled ? 'enable' : 'disable'} auth`;
  }
}

const yesNo = (changed: boolean, yes: string, no: string) => (changed ? yes : no);

export async function authChange({ spec, change }: AuthChangeInput): Promise<{ checked?: string[] }> {
  setSearchAttributes({ cluster: spec.name, operation: change.kind, phase: 'Running' });
  const title = `${spec.name}: ${describeAuthChange(change)}`;
  switch (change.kind) {
    case 'put-role': {
      const p = new Progress(title, ['Put role']);
      await step(
        p,
        'Put role',
        hostStep.etcdPutRole,
        `role ${change.role.name}`,
        { spec, role: change.role },
        (r) => `${r.created ? 'created, ' : ''}${r.granted} granted, ${r.revoked} revoked`,
      );
      p.succeed();
      return {};
    }
    case 'delete-role': {
      const p = new Progress(title, ['Delete role']);
      await step(p, 'Delete role', hostStep.etcdDeleteRole, `role ${change.name}`, { spec, name: change.name }, (r) =>
        yesNo(r.deleted, 'deleted', 'did not exist'),
      );
      p.succeed();
      return {};
    }
    case 'put-user': {
      const p = new Progress(title, ['Put user']);
      await step(
        p,
        'Put user',
        hostStep.etcdPutUser,
        `user ${change.user.name}`,
        { spec, user: change.user },
        (r) =>
          [
            r.created && 'created',
            r.granted.length && `granted ${r.granted.join(', ')}`,
            r.revoked.length && `revoked ${r.revoked.join(', ')}`,
          ]
            .filter(Boolean)
            .join('; ') || 'unchanged',
      );
      p.succeed();
      return {};
    }
    case 'delete-user': {
      const p = new Progress(title, ['Delete user']);
      await step(p, 'Delete user', hostStep.etcdDeleteUser, `user ${change.name}`, { spec, name: change.name }, (r) =>
        yesNo(r.deleted, 'deleted', 'did not exist'),
      );
      p.succeed();
      return {};
    }
    case 'set-auth': {
      if (!change.enabled) {
        const p = new Progress(title, ['Disable auth']);
        await step(p, 'Disable auth', hostStep.etcdSetAuth, 'auth disable', { spec, enabled: false }, (r) =>
          yesNo(r.changed, 'disabled', 'was off'),
        );
        p.succeed();
        return {};
      }
      const p = new Progress(title, ['Create root and the service user', 'Enable auth', 'Check the service still operates the cluster']);
      await step(
        p,
        'Create root and the service user',
        hostStep.etcdEnsureRoot,
        'role root, users root and etcdfleet-admin',
        { spec },
        (r) => (r.created.length ? `created ${r.created.join(', ')}` : 'all present'),
      );
      await step(p, 'Enable auth', hostStep.etcdSetAuth, 'auth enable', { spec, enabled: true }, (r) =>
        yesNo(r.changed, 'enabled', 'was on'),
      );
      const r = await step(
        p,
        'Check the service still operates the cluster',
        hostStep.etcdCheckServiceAccess,
        'member list, read, user list, status and hash with the service certificate',
        { spec },
        (x) => x.checked.join(', '),
      );
      p.succeed();
      return { checked: r.checked };
    }
  }
}
