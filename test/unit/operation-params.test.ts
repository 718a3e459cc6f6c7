// One schema per operation kind (common/operation-params.ts), used by routes and handlers alike.
import { ApplicationFailure } from '@temporalio/common';
import { parseOperationParams } from '../../common/operation-params';
import { maintenanceOperations } from '../../workflows/maintenance';
import type { ClusterState } from '../../workflows/state';

const state = { name: 'c', phase: 'Running', seq: 0, queue: [], operations: [] } as ClusterState;

describe('parseOperationParams', () => {
  it('names each bad field', () => {
    expect(parseOperationParams('add-member', { name: 'bad name!', address: 'x y', color: 'red' })).toMatchObject({
      ok: false,
      issues: [{ path: 'name' }, { path: 'address' }, { path: 'color', message: 'unknown field' }],
    });
    expect(parseOperationParams('config-change', { tunables: { electionTimeout: 100 } })).toEqual({
      ok: false,
      issues: [{ path: 'tunables.electionTimeout', message: 'must be at least 5 × heartbeatInterval (500 ms)' }],
    });
    expect(parseOperationParams('config-change', {})).toMatchObject({ ok: false, issues: [{ path: '' }] });
    expect(parseOperationParams('upgrade', { version: 7 })).toMatchObject({ ok: false, issues: [{ path: 'version' }] });
  });

  it('gives typed params', () => {
    expect(parseOperationParams('upgrade', { version: ' v3.5.35 ' })).toEqual({ ok: true, params: { version: 'v3.5.35' } });
    expect(parseOperationParams('delete', {})).toEqual({ ok: true, params: { purge: false } });
    expect(parseOperationParams('rotate-ca', { phaseGraceSeconds: 0 })).toEqual({ ok: true, params: { phaseGraceSeconds: 0 } });
  });
});

it("a handler's validator refuses params its schema refuses, with or without rules of its own", () => {
  const refusal = (f: () => void) => {
    try {
      f();
    } catch (e) {
      return e instanceof ApplicationFailure ? { type: e.type, message: e.message } : e;
    }
  };
  expect(refusal(() => maintenanceOperations['restore-drill']!.validate!(state, { backup: 3 }))).toMatchObject({ type: 'Refused' });
  expect(refusal(() => maintenanceOperations.restore!.validate!(state, {}))).toEqual({
    type: 'Refused',
    message: 'backup: the id of a backup (or "latest") is required',
  });
  expect(refusal(() => maintenanceOperations.compact!.validate!(state, { revision: 5 }))).toBeUndefined();
});
