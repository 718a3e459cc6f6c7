import { checkUpgradePath, checkUpgradeShape } from '../../common/upgrade-path';

const AVAILABLE = ['v3.5.10', 'v3.5.35', 'v3.6.16'];

describe('upgrade path rules', () => {
  it.each([
    ['v3.5.10', 'v3.5.35'],
    ['v3.5.35', 'v3.6.16'],
    ['v3.5.10', '3.5.35'],
  ])('allows %s → %s', (from, to) => {
    expect(checkUpgradePath(from, to, AVAILABLE)).toEqual({ allowed: true });
  });

  it('refuses skipping the latest patch before a minor step, with the path', () => {
    const v = checkUpgradePath('v3.5.10', 'v3.6.16', AVAILABLE);
    expect(v.allowed).toBe(false);
    expect(v.path).toEqual(['v3.5.35', 'v3.6.16']);
    expect(v.reason).toContain('upgrade to v3.5.35 first, then v3.6.16');
  });

  it('refuses 3.5 → 3.6 below the 3.5.26 floor, naming the fix, even from the newest 3.5 available', () => {
    const v = checkUpgradePath('v3.5.20', 'v3.6.16', ['v3.5.10', 'v3.5.20', 'v3.6.16']);
    expect(v.allowed).toBe(false);
    expect(v.reason).toMatch(/needs v3\.5\.26 or later first/);
    expect(v.reason).toMatch(/add a release ≥ v3\.5\.26 to the artifact source, upgrade to it, then to v3\.6\.16/);
  });

  it('allows one minor down from 3.6 to the latest 3.5 only (etcd downgrade API), naming the allowed target', () => {
    expect(checkUpgradePath('v3.6.16', 'v3.5.35', AVAILABLE)).toEqual({ allowed: true, downgrade: true });
    expect(checkUpgradePath('v3.6.16', '3.5.10', AVAILABLE).reason).toBe(
      'a downgrade from v3.6.16 goes to the latest patch of 3.5: v3.5.35, not v3.5.10',
    );
    expect(checkUpgradePath('v3.6.16', 'v3.6.10', [...AVAILABLE, 'v3.6.10']).reason).toMatch(
      /the only downgrade from v3\.6\.16 is to the latest patch of 3\.5/,
    );
    expect(checkUpgradePath('v3.7.1', 'v3.5.35', [...AVAILABLE, 'v3.7.1']).reason).toMatch(
      /only downgrade from v3\.7\.1 is to the latest patch of 3\.6/,
    );
    expect(checkUpgradePath('v3.6.16', 'v3.5.35', ['v3.6.16']).reason).toMatch(/no 3\.5 release is available/);
  });

  it('refuses skipping a minor with the path through every minor', () => {
    const v = checkUpgradePath('v3.5.35', 'v3.7.2', [...AVAILABLE, 'v3.7.0', 'v3.7.2']);
    expect(v.allowed).toBe(false);
    expect(v.path).toEqual(['v3.6.16', 'v3.7.2']);
    expect(v.reason).toMatch(/one minor at a time/);
  });

  it('refuses downgrades, the current version, other majors and unknown releases', () => {
    expect(checkUpgradePath('v3.5.35', 'v3.5.10', AVAILABLE).reason).toMatch(/downgrades are not supported from 3\.5/);
    expect(checkUpgradePath('v3.5.10', 'v3.5.10', AVAILABLE).reason).toMatch(/already runs/);
    expect(checkUpgradePath('v3.5.10', 'v4.0.0', AVAILABLE).reason).toMatch(/major/);
    expect(checkUpgradePath('v3.5.10', 'v3.5.20', AVAILABLE).reason).toMatch(/not an available etcd release/);
    expect(checkUpgradeShape('v3.5.10', 'latest').allowed).toBe(false);
    expect(checkUpgradeShape('v3.5.10', undefined).allowed).toBe(false);
  });
});
