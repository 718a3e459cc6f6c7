// The operator's allowlists end to end: a spec that names an artifact source,
// S3 endpoint, credential variable or backup dir the service does not allow is
// a 403 with field paths and nothing is queued; a spec that bypasses the API's
// check (another API with a laxer policy, same worker) is refused by the worker.
import fs from 'node:fs';
import path from 'node:path';
import { FleetService } from '../../api/service';
import { parseClusterSpec } from '../../common/parse';
import { REPO_ROOT } from '../../infra/config';
import { loopback, startStack, type Stack } from '../support/stack';

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ label: 'policy' });
});
afterAll(async () => {
  await stack?.stop();
});

const spec = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  version: 'v3.5.10',
  members: [{ name: `${name}-1`, address: loopback(74, 1)[0] }],
  ...extra,
});

async function expectNothing(name: string) {
  const r = await stack.api('GET', `/v1/clusters/${name}`);
  expect(r.status).toBe(404);
}

describe('the API refuses what the service does not allow, before anything is queued', () => {
  test.each([
    ['a foreign artifact source', 'pol-src', { artifactSource: 'https://releases.evil.example/etcd' }, ['artifactSource']],
    ['a local directory as artifact source', 'pol-file', { artifactSource: 'file:///etc' }, ['artifactSource']],
    [
      'the codec key as S3 credential',
      'pol-cred',
      { backup: { s3: { bucket: 'bkt', accessKeyIdEnv: 'ETCDFLEET_CODEC_KEY', secretAccessKeyEnv: 'ETCDFLEET_API_TOKEN' } } },
      ['backup.s3.accessKeyIdEnv', 'backup.s3.secretAccessKeyEnv'],
    ],
    [
      'an S3 endpoint of the spec author',
      'pol-s3',
      { backup: { s3: { bucket: 'bkt', endpoint: 'http://127.0.0.1:9' } } },
      ['backup.s3.endpoint'],
    ],
    ['a backup dir outside the backup root', 'pol-dir', { backup: { dir: '/etc' } }, ['backup.dir']],
  ])('%s: 403 with field paths', async (_what, name, extra, paths) => {
    const r = await stack.api('POST', '/v1/clusters', spec(name, extra));
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.errors.map((e: any) => e.path)).toEqual(paths);
    await expectNothing(name);
  });

  test('schema errors and policy refusals in one 400 answer', async () => {
    const r = await stack.api('POST', '/v1/clusters', spec('pol-both', { paths: { dataDir: '/' }, backup: { dir: '/etc' } }));
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: any) => e.path).sort()).toEqual(['backup.dir', 'paths.dataDir']);
    await expectNothing('pol-both');
  });

  test('a taskserv import whose source_url is not allowed', async () => {
    const yaml = fs
      .readFileSync(path.join(REPO_ROOT, 'test/fixtures/taskserv/single-node.yaml'), 'utf8')
      .replace(/^cluster_name: .*$/m, 'cluster_name: pol-ts')
      .replace(/^source_url: .*$/m, 'source_url: https://releases.evil.example/etcd');
    const r = await stack.api('POST', '/v1/imports/taskserv', yaml);
    expect(r.status).toBe(403);
    expect(r.body.errors.map((e: any) => e.path)).toEqual(['artifactSource']);
    await expectNothing('pol-ts');
  });

  test('a restore into a new cluster whose spec is not allowed', async () => {
    const r = await stack.api('POST', '/v1/clusters/pol-rs/restore', {
      backup: 'latest',
      spec: spec('pol-rs', { backup: { dir: '/root' } }),
    });
    expect(r.status).toBe(403);
    await expectNothing('pol-rs');
  });
});

test('the worker refuses a source that reached it past the API', async () => {
  // Another API in front of the same worker, with a laxer policy (or a direct Temporal client).
  const lax = new FleetService(stack.client, stack.config.taskQueue, {
    ...stack.config.policy,
    artifactSources: ['https://releases.evil.example/etcd'],
  });
  const { spec: s } = parseClusterSpec(spec('pol-bypass', { artifactSource: 'https://releases.evil.example/etcd' }));
  await lax.createCluster(s);
  const view = await stack.waitForPhase('pol-bypass', ['Failed', 'Running'], 60_000);
  expect(view.phase).toBe('Failed');
  expect(view.reason).toContain("refused by this service's policy");
  expect(view.reason).toContain('artifactSource');
  await stack.api('DELETE', '/v1/clusters/pol-bypass?purge=true');
});
