// The command line's pure parts: problems, tables, describe, step lines and sizes.
import { renderProblem } from '../../cli/errors';
import { clustersTable, describeCluster, parseOutputFormat, structured, table } from '../../cli/format';
import { bar, finalLine, humanBytes, sizeLine, stepChanges, stepSize, type OperationView } from '../../cli/steps';
import { parseSseBlock } from '../../cli/http';

describe('renderProblem', () => {
  it('prints one line per field path, the detail only when there are none', () => {
    const text = renderProblem(400, {
      title: 'Invalid Request',
      detail: 'members[0].address: not an IP; name: lowercase',
      errors: [
        { path: 'members[0].address', message: 'not an IP' },
        { path: 'name', message: 'lowercase' },
      ],
    });
    expect(text.split('\n')).toEqual(['refused (400 Invalid Request): 2 fields', '  members[0].address: not an IP', '  name: lowercase']);
    expect(renderProblem(422, { title: 'Unprocessable Operation', detail: 'v9 is not an available etcd release' })).toBe(
      'refused (422 Unprocessable Operation): v9 is not an available etcd release',
    );
    expect(renderProblem(400, { errors: [{ path: '', message: 'empty body' }] })).toContain('  (body): empty body');
  });
});

describe('tables and formats', () => {
  it('pads columns to the widest cell and shows empty cells as -', () => {
    expect(
      table(
        ['A', 'LONGER'],
        [
          ['xyz', undefined],
          ['1', true],
        ],
      ),
    ).toBe('A    LONGER\nxyz  -\n1    yes');
  });
  it('lists clusters', () => {
    const out = clustersTable({ clusters: [{ name: 'demo', phase: 'Running', version: 'v3.5.10', members: 3 }] });
    expect(out.split('\n')[1]).toMatch(/^demo\s+Running\s+v3\.5\.10\s+3\s+-\s+-$/);
  });
  it('json and yaml as the API answered; unknown formats are usage errors', () => {
    expect(JSON.parse(structured({ a: [1] }, 'json'))).toEqual({ a: [1] });
    expect(structured({ a: [1] }, 'yaml')).toBe('a:\n  - 1');
    expect(parseOutputFormat('YAML')).toBe('yaml');
    expect(() => parseOutputFormat('xml')).toThrow(/one of table, json, yaml/);
  });
  it('describes a cluster: members, health, certificates, backups, schedules, operations newest first', () => {
    const c = {
      name: 'demo',
      phase: 'Running',
      version: 'v3.5.10',
      spec: { provider: 'local' },
      health: {
        healthy: true,
        leader: 'demo-2',
        alarms: [],
        checkedAt: '2026-01-01T00:00:00Z',
        certificates: [{ member: 'demo-1', certificate: 'server', notAfter: '2027-01-01T00:00:00Z' }],
      },
      members: [
        { name: 'demo-1', clientURL: 'https://127.0.0.2:2379', healthy: true, isLeader: false, isLearner: false, version: '3.5.10' },
      ],
      operations: [
        { id: 'demo.1-provision', seq: 1, status: 'Succeeded' },
        { id: 'demo.2-backup', seq: 2, status: 'Failed', error: 'boom' },
      ],
      queuedOperations: [],
    };
    const backups = {
      location: '/b',
      items: [{ id: 'b1', createdAt: '2026-01-01T00:00:00Z', member: 'demo-1', snapshotBytes: 2048, encrypted: false }],
    };
    const text = describeCluster(c, backups, { schedules: [{ kind: 'backup', every: '6h', paused: false }] });
    expect(text).toMatch(/^Health:\s+healthy, leader demo-2, alarms none/m);
    expect(text).toMatch(/^ {2}demo-1\s+https:\/\/127\.0\.0\.2:2379\s+yes\s+no\s+no\s+3\.5\.10/m);
    expect(text).toMatch(/^ {2}demo-1\s+server\s+2027-01-01/m);
    expect(text).toMatch(/^Backups:\s+1 kept at \/b/m);
    expect(text).toMatch(/^ {2}b1\s.*2\.0 KiB/m);
    expect(text).toMatch(/^ {2}backup\s+6h\s+no/m);
    expect(text.indexOf('demo.2-backup')).toBeLessThan(text.indexOf('demo.1-provision'));
    expect(describeCluster({ ...c, health: undefined }, undefined, undefined)).toMatch(
      /expiry not reported[\s\S]*Backups:\s+not available/,
    );
  });
});

describe('operation progress', () => {
  const op = (status: string, steps: [string, string, string?][]): OperationView =>
    ({
      id: 'demo.4-upgrade',
      cluster: 'demo',
      kind: 'upgrade',
      status,
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: status === 'Running' ? undefined : '2026-01-01T00:00:42Z',
      steps: steps.map(([name, s, detail]) => ({ name, status: s, detail })),
    }) as OperationView;

  it('one plain line per step change, then the final state', () => {
    const a = op('Running', [
      ['Locate', 'running'],
      ['Upgrade demo-1', 'pending'],
      ['Upgrade demo-2 (leader, last)', 'pending'],
    ]);
    const b = op('Running', [
      ['Locate', 'done', 'etcd v3.5.35'],
      ['Upgrade demo-1', 'running'],
      ['Upgrade demo-2 (leader, last)', 'pending'],
    ]);
    const c = op('Failed', [
      ['Locate', 'done', 'etcd v3.5.35'],
      ['Upgrade demo-1', 'failed', 'etcd did not start'],
      ['Upgrade demo-2 (leader, last)', 'pending'],
    ]);
    expect(stepChanges(undefined, a)).toEqual(['demo.4-upgrade: running', 'demo.4-upgrade: [running] Locate']);
    expect(stepChanges(a, b)).toEqual(['demo.4-upgrade: [done] Locate — etcd v3.5.35', 'demo.4-upgrade: [running] Upgrade demo-1']);
    expect(stepChanges(b, b)).toEqual([]);
    expect(stepChanges(b, { ...c, error: 'Upgrade demo-1: etcd did not start' })).toEqual([
      'demo.4-upgrade: [failed] Upgrade demo-1 — etcd did not start (0/2 members done)',
      'demo.4-upgrade failed in 42.0s: Upgrade demo-1: etcd did not start',
    ]);
    expect(finalLine(c)).toBe('demo.4-upgrade failed in 42.0s: Upgrade demo-1: etcd did not start');
  });

  it('sizes: members done in a run of per-member steps, bytes from a detail', () => {
    const steps = op('Running', [
      ['Upgrade demo-1', 'done'],
      ['Upgrade demo-2', 'running'],
      ['Verify', 'pending'],
    ]).steps!;
    expect(stepSize(steps, steps[1])).toEqual({ value: 1, total: 2, unit: 'members' });
    expect(stepSize(steps, steps[2])).toBeUndefined();
    const backup = { name: 'Stream snapshot', status: 'done', detail: 'b1: 3145728 bytes from demo-1' } as const;
    expect(stepSize([backup], backup)).toEqual({ value: 3145728, total: 3145728, unit: 'bytes' });
    expect(sizeLine({ value: 3145728, total: 3145728, unit: 'bytes' })).toBe('(3.0 MiB)');
    expect(sizeLine({ value: 1, total: 2, unit: 'members' })).toBe(`${'█'.repeat(10)}${'░'.repeat(10)} 1/2 members`);
    expect(bar(5, 0, 4)).toBe('░░░░');
    expect(humanBytes(512)).toBe('512 B');
  });

  it('parses server-sent event blocks', () => {
    expect(parseSseBlock('id: 3\nevent: done\ndata: {"a":1}')).toEqual({ event: 'done', data: '{"a":1}' });
    expect(parseSseBlock(': keep-alive')).toBeUndefined();
    expect(parseSseBlock('data: a\ndata: b')).toEqual({ event: 'message', data: 'a\nb' });
  });
});
