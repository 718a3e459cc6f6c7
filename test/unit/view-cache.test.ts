import { ViewCache } from '../../api/view-cache';

describe('ViewCache (the list endpoint and /metrics)', () => {
  let now = 0;
  const cache = () => new ViewCache<string>(1_000, () => now);
  beforeEach(() => (now = 0));

  it('shares one reading between concurrent readers and keeps it for maxAge', async () => {
    const c = cache();
    let loads = 0;
    const load = async () => `view ${++loads}`;
    expect(await Promise.all([c.get('a', load), c.get('a', load)])).toEqual(['view 1', 'view 1']);
    now = 999;
    expect(await c.get('a', load)).toBe('view 1');
    now = 1_000;
    expect(await c.get('a', load)).toBe('view 2');
    expect(loads).toBe(2);
  });

  it('does not keep a failed reading', async () => {
    const c = cache();
    await expect(c.get('a', () => Promise.reject(new Error('no worker')))).rejects.toThrow('no worker');
    expect(await c.get('a', async () => 'answered')).toBe('answered');
  });

  it('forgets a dropped cluster and every cluster no longer listed', async () => {
    const c = cache();
    await c.get('a', async () => 'a1');
    await c.get('b', async () => 'b1');
    c.drop('a');
    expect(await c.get('a', async () => 'a2')).toBe('a2');
    c.retain(new Set(['a']));
    expect(await c.get('b', async () => 'b2')).toBe('b2');
    expect(await c.get('a', async () => 'a3')).toBe('a2');
  });
});
