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

describe('FleetService.listClusters', () => {
  it('lists the running clusters from the visibility store at most once a second, however many ask', async () => {
    const { FleetService } = await import('../../api/service');
    let listings = 0;
    let queries = 0;
    const client = {
      withDeadline: (_deadline: number, fn: () => Promise<unknown>) => fn(),
      workflow: {
        async *list() {
          listings++;
          yield { workflowId: 'etcd-cluster/b' };
          yield { workflowId: 'etcd-cluster/a' };
        },
        getHandle: (id: string) => ({ query: async () => (queries++, { name: id.slice('etcd-cluster/'.length), phase: 'Running' }) }),
      },
    };
    const fleet = new FleetService(client as never, 'q', {} as never);
    const lists = await Promise.all([fleet.listClusters(), fleet.listClusters(), fleet.listClusters()]);
    expect(lists.map((l) => l.map((c) => c.name))).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(listings).toBe(1);
    expect(queries).toBe(2);
  });
});
