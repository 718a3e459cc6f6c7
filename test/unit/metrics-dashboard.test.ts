// The Grafana dashboard and the alerting rules only name metrics that exist:
// the service's by name (from its registry), etcd's from the list below (etcd
// 3.5/3.6 server metrics). The dashboard parses and has the panels the README describes.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { REPO_ROOT } from '../../infra/config';
import { createMetrics } from '../../api/metrics';
import type { FleetService } from '../../api/service';

const ETCD_METRICS = new Set([
  'up',
  'etcd_server_has_leader',
  'etcd_server_leader_changes_seen_total',
  'etcd_mvcc_db_total_size_in_bytes',
  'etcd_mvcc_db_total_size_in_use_in_bytes',
  'etcd_server_quota_backend_bytes',
]);

async function serviceMetricNames(): Promise<Set<string>> {
  const { registry } = createMetrics({ listClusters: async () => [] } as unknown as FleetService);
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers outside braces that are not functions, keywords or grouping labels. */
function metricNames(expr: string): string[] {
  const noLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const out: string[] = [];
  for (const m of noLabels.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (/^\s*\(/.test(noLabels.slice(m.index + m[0].length))) continue; // a function
    if (/^(and|or|unless|bool|offset)$/.test(m[0]) || /^\d/.test(m[0])) continue;
    if (/\[[^\]]*$/.test(noLabels.slice(0, m.index))) continue; // a range like [5m]
    out.push(m[0]);
  }
  return out;
}

const dashboard = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'deploy/grafana/dashboards/etcdfleet.json'), 'utf8'));
const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));

test('every dashboard expression names metrics the service or etcd exposes', async () => {
  const known = await serviceMetricNames();
  const unknown = exprs.flatMap((e) =>
    metricNames(e)
      .filter((n) => !known.has(n) && !ETCD_METRICS.has(n))
      .map((n) => `${n} in ${e}`),
  );
  expect(unknown).toEqual([]);
  expect(exprs.length).toBeGreaterThan(10);
});

test('every alerting rule names metrics the service or etcd exposes', async () => {
  const known = await serviceMetricNames();
  const rules = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'));
  const all: string[] = rules.groups.flatMap((g: { rules: { expr: string }[] }) => g.rules.map((r) => r.expr));
  const unknown = all.flatMap((e) =>
    metricNames(e)
      .filter((n) => !known.has(n) && !ETCD_METRICS.has(n))
      .map((n) => `${n} in ${e}`),
  );
  expect(unknown).toEqual([]);
});

test('the checker catches a misspelt metric', () => {
  expect(metricNames('sum by (kind) (rate(etcdfleet_operation_duraton_seconds_bucket{kind="x"}[5m])) > 2')).toEqual([
    'etcdfleet_operation_duraton_seconds_bucket',
  ]);
});

test('the dashboard has the fleet panels and a Prometheus datasource variable', () => {
  const titles = dashboard.panels.map((p: { title: string }) => p.title);
  for (const t of [
    'Clusters by phase',
    'Members healthy',
    'Leader changes',
    'DB size and in use',
    'Fragmentation',
    'Backup age',
    'Backup size',
    'Certificate expiry',
  ])
    expect(titles).toContain(t);
  expect(titles.some((t: string) => t.startsWith('Operation durations'))).toBe(true);
  expect(dashboard.uid).toBe('etcdfleet-fleet');
  for (const p of dashboard.panels) expect(p.datasource.uid).toBe('${datasource}');
});
