// The operator's allowlists (common/policy.ts, infra/config.ts specPolicy), the
// worker's re-check (activities/policy.ts) and the path rules (common/paths.ts).
import { checkSpecPolicy, parseAllowedClusterSpec, type SpecPolicy } from '../../common/policy';
import { parseClusterSpec } from '../../common/parse';
import { specPathIssues } from '../../common/paths';
import { loadConfig, specPolicy } from '../../infra/config';
import { allowedRelease, assertBackupAllowed, assertPathsAllowed } from '../../activities/policy';
import { toProblem } from '../../api/problems';
import { rejection as thrown } from '../support/rejection';

const policy: SpecPolicy = {
  artifactSources: ['github', 'file:///srv/mirror'],
  s3Endpoints: ['http://127.0.0.1:8333'],
  s3CredentialEnvs: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'BACKUP_KEY_ID', 'BACKUP_SECRET'],
  backupRoot: '/state/backups',
};
const members = [{ name: 'a', address: '127.0.0.2' }];
const spec = (extra: Record<string, unknown>) => ({ name: 'c1', members, ...extra });

describe('checkSpecPolicy', () => {
  test.each([
    ['a foreign mirror', { artifactSource: 'https://evil.example/etcd' }, ['artifactSource']],
    ['a local directory not configured', { artifactSource: 'file:///etc' }, ['artifactSource']],
    ['a backup dir outside the root', { backup: { dir: '/etc' } }, ['backup.dir']],
    ['a sibling that shares the root as a prefix', { backup: { dir: '/state/backups-evil' } }, ['backup.dir']],
    ['a backup dir normalizing to the root parent', { backup: { dir: '/state/./' } }, ['backup.dir']],
    [
      'an S3 endpoint of the spec author',
      { backup: { s3: { bucket: 'bkt', endpoint: 'https://collector.example' } } },
      ['backup.s3.endpoint'],
    ],
    [
      'the codec key as credential',
      { backup: { s3: { bucket: 'bkt', accessKeyIdEnv: 'ETCDFLEET_CODEC_KEY', secretAccessKeyEnv: 'ETCDFLEET_API_TOKEN' } } },
      ['backup.s3.accessKeyIdEnv', 'backup.s3.secretAccessKeyEnv'],
    ],
    [
      'everything at once',
      { artifactSource: 'http://x', backup: { dir: '/', s3: { bucket: 'bkt', endpoint: 'http://x', secretAccessKeyEnv: 'HOME' } } },
      ['artifactSource', 'backup.dir', 'backup.s3.endpoint', 'backup.s3.secretAccessKeyEnv'],
    ],
  ])('refuses %s', (_what, extra, paths) => {
    expect(checkSpecPolicy(spec(extra), policy).map((i) => i.path)).toEqual(paths);
  });

  test.each([
    ['no source (the service default)', {}],
    ['github', { artifactSource: 'github' }],
    ['the configured mirror, with a trailing slash', { artifactSource: 'file:///srv/mirror/' }],
    ['the backup root and a dir below it', { backup: { dir: '/state/backups/team-a' } }],
    [
      'the configured endpoint and variables',
      {
        backup: {
          s3: { bucket: 'bkt', endpoint: 'http://127.0.0.1:8333/', accessKeyIdEnv: 'BACKUP_KEY_ID', secretAccessKeyEnv: 'BACKUP_SECRET' },
        },
      },
    ],
    ['S3 on AWS with the default variables', { backup: { s3: { bucket: 'bkt' } } }],
  ])('allows %s', (_what, extra) => {
    expect(checkSpecPolicy(spec(extra), policy)).toEqual([]);
  });

  test('the default AWS variables are refused when the operator allows other names only', () => {
    const p = { ...policy, s3CredentialEnvs: ['BACKUP_KEY_ID', 'BACKUP_SECRET'] };
    expect(checkSpecPolicy(spec({ backup: { s3: { bucket: 'bkt' } } }), p).map((i) => i.path)).toEqual([
      'backup.s3.accessKeyIdEnv',
      'backup.s3.secretAccessKeyEnv',
    ]);
  });
});

describe('parseAllowedClusterSpec', () => {
  test('a valid spec the policy refuses is a 403 listing every refusal', () => {
    const e = thrown(() => parseAllowedClusterSpec(spec({ artifactSource: 'https://evil.example', backup: { dir: '/etc' } }), policy));
    expect(e.status).toBe(403);
    expect(e.issues.map((i) => i.path)).toEqual(['artifactSource', 'backup.dir']);
    expect(toProblem(e)).toMatchObject({ status: 403, title: 'Forbidden by Service Policy' });
  });
  test('schema errors and policy refusals come in one 400 answer', () => {
    const e = thrown(() => parseAllowedClusterSpec(spec({ version: 'x', backup: { dir: '/etc' } }), policy));
    expect(e.status).toBe(400);
    expect(e.issues.map((i) => i.path).sort()).toEqual(['backup.dir', 'version']);
  });
  test('an allowed spec parses as before', () => {
    expect(parseAllowedClusterSpec(spec({ artifactSource: 'github' }), policy).spec.name).toBe('c1');
  });
});

describe('specPolicy (service configuration)', () => {
  test('defaults: upstream, the local mirror and the default source; no custom endpoint; the AWS variables; <state>/backups', () => {
    const p = loadConfig({
      ETCDFLEET_STATE_DIR: '/st',
      ETCDFLEET_CACHE_DIR: '/cache',
      ETCDFLEET_ARTIFACT_SOURCE: 'https://mirror.example/etcd/',
    }).policy;
    expect(p).toEqual({
      artifactSources: ['github', 'file:///cache/mirror', 'https://mirror.example/etcd'],
      s3Endpoints: [],
      s3CredentialEnvs: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
      backupRoot: '/st/backups',
    });
  });
  test('configured lists', () => {
    const p = specPolicy(
      {
        ETCDFLEET_ARTIFACT_SOURCES: 'github, https://m.example/',
        ETCDFLEET_S3_ENDPOINTS: 'http://127.0.0.1:8333',
        ETCDFLEET_S3_CREDENTIAL_ENVS: 'K,S',
        ETCDFLEET_BACKUP_ROOT: '/b',
      },
      { stateDir: '/st', mirror: '/m', defaultArtifactSource: 'github' },
    );
    expect(p).toEqual({
      artifactSources: ['github', 'https://m.example'],
      s3Endpoints: ['http://127.0.0.1:8333'],
      s3CredentialEnvs: ['K', 'S'],
      backupRoot: '/b',
    });
  });
  test("the service's own secrets can never be allowed as credentials; the root must be absolute", () => {
    const at = { stateDir: '/st', mirror: '/m', defaultArtifactSource: 'github' };
    expect(() => specPolicy({ ETCDFLEET_S3_CREDENTIAL_ENVS: 'AWS_ACCESS_KEY_ID,ETCDFLEET_CA_PASSPHRASE' }, at)).toThrow(
      /ETCDFLEET_CA_PASSPHRASE/,
    );
    expect(() => specPolicy({ ETCDFLEET_BACKUP_ROOT: 'backups' }, at)).toThrow(/absolute/);
  });
});

describe('the worker refuses again', () => {
  const cfg = {
    policy,
    cacheDir: '/nonexistent-cache',
    defaultArtifactSource: 'github',
    upstreamReleases: 'https://github.com/etcd-io/etcd/releases/download',
  };
  test('a release from a source the policy does not list, before touching the source', async () => {
    const e = await allowedRelease(cfg, 'v3.5.10', 'file:///etc').catch((x) => x);
    expect([e.type, e.nonRetryable]).toEqual(['Forbidden', true]);
    expect(e.message).toContain('artifactSource');
  });
  test('backup targets outside the policy', () => {
    expect(() => assertBackupAllowed(cfg, { dir: '/etc' } as never)).toThrow(/backup\.dir/);
    expect(() =>
      assertBackupAllowed(cfg, {
        s3: {
          bucket: 'b',
          endpoint: 'https://x.example',
          accessKeyIdEnv: 'AWS_ACCESS_KEY_ID',
          secretAccessKeyEnv: 'AWS_SECRET_ACCESS_KEY',
        },
      } as never),
    ).toThrow(/backup\.s3\.endpoint/);
    expect(() => assertBackupAllowed(cfg, undefined)).not.toThrow();
  });
  test('a stored spec whose paths break the rules', () => {
    const bad = { ...parseClusterSpec(spec({})).spec, paths: { dataDir: '/', confDir: '/etc/etcd', certsDir: '/etc/ssl/etcd' } };
    expect(() => assertPathsAllowed(bad)).toThrow(/paths\.dataDir: must be a subdirectory/);
    expect(() => assertPathsAllowed(parseClusterSpec(spec({})).spec)).not.toThrow();
  });
});

describe('member directories and log files', () => {
  const rejectPaths = (extra: Record<string, unknown>) => {
    const e = thrown(() => parseClusterSpec(spec(extra)));
    expect(e.status).toBe(400);
    return e.issues.map((i) => i.path).sort();
  };
  test.each([
    ['the root as data dir', { paths: { dataDir: '/' } }, ['paths.dataDir']],
    ['the root, spelled /.', { paths: { dataDir: '/.' } }, ['paths.dataDir']],
    ['a system root as config dir', { paths: { confDir: '/etc' } }, ['paths.confDir']],
    ['/var as certificate dir', { paths: { certsDir: '/var/' } }, ['paths.certsDir']],
    ['a data dir inside a binary tree', { paths: { dataDir: '/usr/local/bin/etcd-data' } }, ['paths.dataDir']],
    ["the local layout's release dir", { paths: { confDir: '/opt/etcd/conf' } }, ['paths.confDir']],
    ["a member's own root data dir", { members: [{ ...members[0], paths: { dataDir: '/' } }] }, ['members[0].paths.dataDir']],
    ['a log file over a shared binary', { logging: { outputs: ['/usr/local/bin/etcd'] } }, ['logging.outputs[0]']],
    ['a log file over the etcdctl wrapper', { logging: { outputs: ['stderr', '/etc/etcd/etcdctl.sh'] } }, ['logging.outputs[1]']],
    ['a log file in a device tree', { logging: { outputs: ['/dev/sda'] } }, ['logging.outputs[0]']],
    ['a log "file" that is a directory', { logging: { outputs: ['/var/log/'] } }, ['logging.outputs[0]']],
    ['a log file in the data dir', { logging: { outputs: ['/var/lib/etcd/member/wal/0.wal'] } }, ['logging.outputs[0]']],
    [
      'a log file over a key',
      { paths: { certsDir: '/srv/etcd/tls' }, logging: { outputs: ['/srv/etcd/tls/etcd-key.pem'] } },
      ['logging.outputs[0]'],
    ],
    ['the data dir holding the config', { paths: { dataDir: '/srv/etcd', confDir: '/srv/etcd/conf' } }, ['paths.dataDir']],
    [
      'a member whose certs dir is its data dir',
      { members: [{ ...members[0], paths: { certsDir: '/var/lib/etcd' } }] },
      ['members[0].paths.certsDir'],
    ],
  ])('refuses %s', (_what, extra, paths) => {
    expect(rejectPaths(extra)).toEqual(paths);
  });

  test('accepts the taskserv defaults and ordinary choices', () => {
    expect(specPathIssues(parseClusterSpec(spec({})).spec)).toEqual([]);
    const ok = parseClusterSpec(
      spec({
        paths: { dataDir: '/srv/etcd/data', confDir: '/srv/etcd/conf', certsDir: '/srv/etcd/tls' },
        logging: { outputs: ['stderr', '/var/log/etcd/etcd.log'] },
      }),
    ).spec;
    expect(specPathIssues(ok)).toEqual([]);
  });
});
