// /metrics: request routes as bounded labels with their /v1 prefix, whether the
// request succeeded or failed; the fleet's operations and backups as metrics.
import client from 'prom-client';
import { STUB_CAPABILITY, STUB_TOKEN, startStubApp } from '../support/stub-app';
import { fleetMetrics } from '../../api/fleet-metrics';
import type { ClusterView } from '../../workflows/definitions';
import type { OperationRecord } from '../../common/operations';

const auth = { authorization: `Bearer ${STUB_TOKEN}` };

async function requestCounts(calls: [string, RequestInit?][]): Promise<string[]> {
  const app = await startStubApp();
  try {
    for (const [path, init] of calls) await (await fetch(`${app.base}${path}`, init)).text();
    const text = await (await fetch(`${app.base}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith('etcdfleet_http_request_duration_seconds_count'));
  } finally {
    await app.close();
  }
}

describe('request route labels', () => {
  test('a request that fails in a /v1 route is labelled with the full route', async () => {
    const lines = await requestCounts([
      ['/v1/clusters', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' }],
      ['/v1/clusters/foo/members', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' }],
    ]);
    expect(lines).toContainEqual(expect.stringContaining('method="POST",route="/v1/clusters",status="400"'));
    expect(lines).toContainEqual(expect.stringContaining('method="POST",route="/v1/clusters/:name/members",status="400"'));
    expect(lines.join('\n')).not.toMatch(/route="\/clusters/);
  });

  test('a request refused before a route matched never puts its path into a label', async () => {
    const lines = await requestCounts([
      ['/v1/clusters/secret-cluster-name'],
      ['/v1/operations/some-op.1-backup', { headers: auth, method: 'DELETE' }],
    ]);
    expect(lines).toContainEqual(expect.stringContaining('method="GET",route="/v1/*",status="401"'));
    expect(lines).toContainEqual(expect.stringContaining('method="DELETE",route="<unmatched>",status="404"'));
    expect(lines.join('\n')).not.toMatch(/secret-cluster-name|some-op/);
  });

  test('a failed codec request keeps /codec and hides the capability', async () => {
    const lines = await requestCounts([
      [`/codec/${STUB_CAPABILITY}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":"x"}' }],
    ]);
    expect(lines.join('\n')).not.toContain(STUB_CAPABILITY);
    expect(lines).toContainEqual(expect.stringMatching(/route="\/codec\/\{capability\}\/decode",status="4\d\d"/));
  });
});

const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
function op(seq: number, kind: OperationRecord['kind'], status: OperationRecord['status'], seconds: number): OperationRecord {
  return {
    id: `alpha.${seq}-${kind}`,
    cluster: 'alpha',
    seq,
    kind,
    status,
    workflowId: `w${seq}`,
    submittedAt: iso(seconds * 1000 + 5000),
    startedAt: iso(seconds * 1000 + 1000),
    finishedAt: status === 'Running' ? undefined : iso(1000),
  };
}
function view(operations: OperationRecord[], current?: OperationRecord): ClusterView {
  return {
    name: 'alpha',
    phase: 'Running',
    queue: [],
    operations,
    current,
    spec: { backup: { enabled: true, interval: '6h' } } as unknown as ClusterView['spec'],
    health: {
      healthy: false,
      alarms: ['NOSPACE on etcd-2'],
      members: [],
      checkedAt: iso(0),
    },
    extensions: {
      backups: {
        items: [],
        latest: {
          id: 'b1',
          createdAt: iso(3_600_000),
          member: 'etcd-1',
          snapshotBytes: 2048,
          storedBytes: 4096,
          sha256: 'x',
          encrypted: false,
          object: 'o',
        },
      },
    },
  };
}

describe('fleet metrics', () => {
  test('operations are counted once by kind and outcome, with durations; backups have an age and a size', async () => {
    const registry = new client.Registry();
    const observe = fleetMetrics(registry);
    const done = [op(1, 'provision', 'Succeeded', 30), op(2, 'backup', 'Failed', 4)];
    observe([view(done)]);
    observe([view([...done, op(3, 'backup', 'Succeeded', 8)], op(4, 'upgrade', 'Running', 600))]);
    const text = await registry.metrics();
    expect(text).toContain('etcdfleet_operations_total{cluster="alpha",kind="provision",outcome="Succeeded"} 1');
    expect(text).toContain('etcdfleet_operations_total{cluster="alpha",kind="backup",outcome="Failed"} 1');
    expect(text).toContain('etcdfleet_operations_total{cluster="alpha",kind="backup",outcome="Succeeded"} 1');
    expect(text).toContain('etcdfleet_operation_failures_total{cluster="alpha",kind="backup"} 1');
    expect(text).toContain('etcdfleet_operation_duration_seconds_count{kind="backup"} 2');
    expect(text).toContain('etcdfleet_operation_duration_seconds_bucket{le="30",kind="provision"} 1');
    expect(text).toMatch(/etcdfleet_operation_running_seconds\{cluster="alpha",kind="upgrade"\} 60\d/);
    expect(text).toContain('etcdfleet_backup_last_size_bytes{cluster="alpha"} 4096');
    expect(text).toContain('etcdfleet_backup_interval_seconds{cluster="alpha"} 21600');
    expect(text).toMatch(/etcdfleet_backup_last_verified_age_seconds\{cluster="alpha"\} 360\d/);
    expect(text).toContain('etcdfleet_cluster_alarm{cluster="alpha",alarm="NOSPACE",member="etcd-2"} 1');
  });

  test('a deleted cluster leaves no gauges behind', async () => {
    const registry = new client.Registry();
    const observe = fleetMetrics(registry);
    observe([view([op(1, 'provision', 'Succeeded', 30)], op(2, 'upgrade', 'Running', 60))]);
    observe([]);
    const text = await registry.metrics();
    expect(text).not.toMatch(/etcdfleet_(backup_\w+|operation_running_seconds|cluster_phase)\{/);
  });
});
