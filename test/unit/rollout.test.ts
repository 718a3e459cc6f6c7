// The rollout handlers' Update validators: pure refusals before anything is queued.
import { rolloutOperations } from '../../workflows/rollout';
import type { ClusterState } from '../../workflows/state';

function state(over: Partial<ClusterState> = {}): ClusterState {
  return {
    name: 'c',
    phase: 'Running',
    seq: 1,
    queue: [],
    operations: [],
    spec: { name: 'c', version: 'v3.5.10', members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], tls: { enabled: true } } as any,
    pki: { ca: { cert: 'x', key: 'y' } } as any,
    ...over,
  };
}
const refusal = (f: () => void) => {
  try {
    f();
  } catch (e: any) {
    return { type: e.type, message: e.message };
  }
  return undefined;
};

describe('rollout validators', () => {
  const upgrade = rolloutOperations.upgrade!;
  it('upgrade: refuses downgrades, the same version and garbage, accepts a newer release', () => {
    expect(refusal(() => upgrade.validate!(state(), { version: 'v3.5.35' }))).toBeUndefined();
    expect(refusal(() => upgrade.validate!(state(), { version: 'v3.4.0' }))).toMatchObject({
      type: 'Refused',
      message: expect.stringMatching(/downgrade/),
    });
    expect(refusal(() => upgrade.validate!(state(), { version: 'v3.5.10' }))).toMatchObject({ type: 'Refused' });
    expect(refusal(() => upgrade.validate!(state(), { version: 'latest' }))).toMatchObject({ type: 'Refused' });
  });
  it('upgrade: a queued upgrade decides the version the next one starts from', () => {
    const s = state({ queue: [{ kind: 'upgrade', params: { version: 'v3.5.35' } } as any] });
    expect(refusal(() => upgrade.validate!(s, { version: 'v3.5.35' }))).toMatchObject({
      message: expect.stringMatching(/already runs v3\.5\.35/),
    });
  });
  it('refuses while provisioning and below 3 members', () => {
    expect(refusal(() => upgrade.validate!(state({ phase: 'Provisioning' }), { version: 'v3.5.35' }))).toMatchObject({ type: 'Conflict' });
    const two = state();
    two.spec = { ...two.spec!, members: two.spec!.members.slice(0, 2) };
    expect(refusal(() => upgrade.validate!(two, { version: 'v3.5.35' }))).toMatchObject({
      type: 'Refused',
      message: expect.stringMatching(/at least 3/),
    });
  });
  it('config change needs something to change; rotations need TLS', () => {
    expect(refusal(() => rolloutOperations['config-change']!.validate!(state(), {}))).toMatchObject({ type: 'Refused' });
    expect(refusal(() => rolloutOperations['config-change']!.validate!(state(), { tunables: { snapshotCount: 5 } }))).toBeUndefined();
    const plain = state({ pki: undefined });
    expect(refusal(() => rolloutOperations['rotate-certificates']!.validate!(plain, {}))).toMatchObject({ type: 'Refused' });
    expect(refusal(() => rolloutOperations['rotate-ca']!.validate!(state(), { phaseGraceSeconds: -1 }))).toMatchObject({ type: 'Refused' });
  });
});
