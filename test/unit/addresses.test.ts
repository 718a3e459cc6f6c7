// Issue 8 item 8: which address:port pairs a cluster claims, and what clashes.
import { ClusterSpec } from '../../common/spec';
import { clusterPairs, operationPairs, pairsClash } from '../../common/addresses';
import { conflictsOf } from '../../workflows/addresses';

const spec = (extra: Record<string, unknown> = {}) =>
  ClusterSpec.parse({
    name: 'c',
    members: [
      { name: 'm1', address: '127.0.5.1' },
      { name: 'm2', address: '127.0.5.2', clientPort: 3379 },
    ],
    ...extra,
  });

describe('clusterPairs', () => {
  it('local members claim what they bind: client, peer and metrics', () => {
    expect(clusterPairs(spec())).toEqual([
      '127.0.5.1:2379',
      '127.0.5.1:2380',
      '127.0.5.1:2381',
      '127.0.5.2:2380',
      '127.0.5.2:2381',
      '127.0.5.2:3379',
    ]);
  });

  it('the bind address, not the advertised one, and useLocalhost adds 127.0.0.1:<client>', () => {
    const s = ClusterSpec.parse({
      name: 'c',
      members: [{ name: 'm1', address: '127.0.5.1', listenAddress: '127.0.6.1' }],
      tls: { useLocalhost: true },
    });
    expect(clusterPairs(s)).toEqual(['127.0.0.1:2379', '127.0.6.1:2379', '127.0.6.1:2380', '127.0.6.1:2381']);
  });
});

describe('operationPairs', () => {
  const s = spec();
  it('add-member: the new member with the cluster ports', () => {
    expect(operationPairs(s, 'add-member', { name: 'm3', address: '127.0.5.3', promoteTimeoutSeconds: 5 })).toEqual([
      '127.0.5.3:2379',
      '127.0.5.3:2380',
      '127.0.5.3:2381',
    ]);
  });
  it('replace-member with a new address; without one nothing new', () => {
    expect(operationPairs(s, 'replace-member', { member: 'm2', address: '127.0.5.9' })).toEqual([
      '127.0.5.9:2380',
      '127.0.5.9:2381',
      '127.0.5.9:3379',
    ]);
    expect(operationPairs(s, 'replace-member', { member: 'm2' })).toEqual([]);
  });
  it('scale: every desired member; malformed params claim nothing', () => {
    expect(operationPairs(s, 'scale', { members: [{ name: 'm1', address: '127.0.5.1' }] })).toEqual([
      '127.0.5.1:2379',
      '127.0.5.1:2380',
      '127.0.5.1:2381',
    ]);
    expect(operationPairs(s, 'scale', { members: 'nope' })).toEqual([]);
    expect(operationPairs(s, 'backup', {})).toEqual([]);
  });
});

describe('conflicts', () => {
  it('same pair, or a wildcard bind on the same port', () => {
    expect(pairsClash('127.0.5.1:2379', '127.0.5.1:2379')).toBe(true);
    expect(pairsClash('0.0.0.0:2379', '127.0.5.1:2379')).toBe(true);
    expect(pairsClash('127.0.5.1:2379', '127.0.5.1:2380')).toBe(false);
    expect(pairsClash('127.0.5.1:2379', '127.0.5.2:2379')).toBe(false);
  });

  it('a pair held by another cluster conflicts; the holder itself may claim again', () => {
    const holders = { '127.0.5.1:2379': { cluster: 'a', claimedAt: 0 } };
    expect(conflictsOf(holders, { cluster: 'a', pairs: ['127.0.5.1:2379'] })).toEqual([]);
    expect(conflictsOf(holders, { cluster: 'b', pairs: ['127.0.5.2:2379', '127.0.5.1:2379'] })).toEqual([
      { pair: '127.0.5.1:2379', heldAs: '127.0.5.1:2379', holder: 'a' },
    ]);
  });
});
