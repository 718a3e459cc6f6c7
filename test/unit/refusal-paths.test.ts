// Refusals name the fields at fault: the workflows' Update validators put
// {path, message} issues in the failure's details (refuseIssues), and the API
// turns them into the problem's `errors` array.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { parseClusterSpec } from '../../common/parse';
import { toProblem } from '../../api/problems';
import { rolloutOperations } from '../../workflows/rollout';
import { membershipOperations } from '../../workflows/membership';
import { authOperations } from '../../workflows/auth/operations';
import type { ClusterState } from '../../workflows/state';

const spec = parseClusterSpec({
  name: 'c',
  version: 'v3.5.10',
  members: [
    { name: 'a', address: '127.0.70.1' },
    { name: 'b', address: '127.0.70.2' },
    { name: 'c', address: '127.0.70.3' },
  ],
}).spec;
const state = (): ClusterState => ({ name: 'c', phase: 'Running', seq: 1, queue: [], operations: [], spec, pki: { ca: {} } as any });

/** What the API answers for a validator's refusal. */
function answer(validate: () => void) {
  try {
    validate();
  } catch (e) {
    return toProblem(new WorkflowUpdateFailedError('Workflow Update failed', e as Error));
  }
  throw new Error('expected a refusal');
}

test('upgrade refusals blame version', () => {
  const p = answer(() => rolloutOperations.upgrade!.validate!(state(), { version: 'v3.5.10' }));
  expect(p.status).toBe(422);
  expect(p.errors).toEqual([{ path: 'version', message: expect.stringMatching(/already runs v3\.5\.10/) }]);
  expect(answer(() => rolloutOperations.upgrade!.validate!(state(), { version: 'v3.4.0' })).errors?.[0].path).toBe('version');
  // A refusal no field is at fault for (too few members) has no errors array.
  const two = { ...state(), spec: { ...spec, members: spec.members.slice(0, 2) } };
  expect(answer(() => rolloutOperations.upgrade!.validate!(two, { version: 'v3.5.35' })).errors).toBeUndefined();
});

test('member refusals blame the request fields: the add body is the member, a replace names it in the URL', () => {
  const add = membershipOperations['add-member']!;
  const dup = answer(() => add.validate!(state(), { name: 'b', address: '127.0.70.9' }));
  expect(dup.status).toBe(422);
  expect(dup.errors).toEqual([{ path: 'name', message: expect.stringMatching(/duplicate member name "b"/) }]);
  const clash = answer(() => add.validate!(state(), { name: 'd', address: '127.0.70.1' }));
  expect(clash.errors?.map((e) => e.path)).toEqual(['address']);
  const bad = answer(() => add.validate!(state(), { name: 'd', address: 'not an address', clientPort: 0 }));
  expect(bad.errors?.map((e) => e.path).sort()).toEqual(['address', 'clientPort']);

  const gone = answer(() => membershipOperations['remove-member']!.validate!(state(), { member: 'x' }));
  expect(gone).toMatchObject({ status: 404, errors: [{ path: 'member', message: 'cluster c has no member x' }] });
  const replace = answer(() => membershipOperations['replace-member']!.validate!(state(), { member: 'b', address: '127.0.70.3' }));
  expect(replace.errors?.map((e) => e.path)).toEqual(['address']);
  expect(answer(() => membershipOperations['replace-member']!.validate!(state(), { member: 'x' })).errors?.[0].path).toBe('member');
});

test('auth refusals blame the name or each unknown role', () => {
  const p = answer(() => authOperations['put-user']!.validate!(state(), { name: 'u', roles: ['root', 'ghost', 'nope'] }));
  expect(p.errors).toEqual([
    { path: 'roles[1]', message: 'no role ghost on cluster c (PUT the role first)' },
    { path: 'roles[2]', message: 'no role nope on cluster c (PUT the role first)' },
  ]);
  expect(answer(() => authOperations['put-role']!.validate!(state(), { name: 'root', permissions: [] })).errors?.[0].path).toBe('name');
});

test('details that are not field issues are not passed on as errors', () => {
  const odd = ApplicationFailure.create({ type: 'Refused', message: 'no', details: [{ risk: 'quorum' }] });
  expect(toProblem(new WorkflowUpdateFailedError('x', odd)).errors).toBeUndefined();
  const none = ApplicationFailure.create({ type: 'Conflict', message: 'busy' });
  expect(toProblem(new WorkflowUpdateFailedError('x', none))).toEqual({ status: 409, title: 'Conflict', detail: 'busy' });
});
