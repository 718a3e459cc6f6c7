import { z } from 'zod';
import { canonicalJson, sha256Hex, specFingerprint } from '../../common/fingerprint';
import { MAX_BODY_BYTES, ValidationError, formatPath, fromZodError, parseBody, parseClusterSpec } from '../../common/parse';
import { ClusterSpec, ClusterSpecInput } from '../../common/spec';
import { rejection } from '../support/rejection';

const three = (): ClusterSpecInput => ({
  name: 'c1',
  members: [
    { name: 'a', address: '127.0.0.2' },
    { name: 'b', address: '127.0.0.3' },
    { name: 'c', address: '127.0.0.4' },
  ],
});

const paths = (e: ValidationError) => e.issues.map((i) => i.path);

function rejectSpec(input: unknown): ValidationError {
  const e = rejection(() => parseClusterSpec(input));
  expect(e.status).toBe(400);
  return e;
}

describe('parseBody', () => {
  test('JSON by content type, with parameters', () => {
    expect(parseBody('{"name":"x"}', 'application/json; charset=utf-8')).toEqual({ name: 'x' });
    expect(parseBody('{"name":"x"}', 'application/merge-patch+json')).toEqual({ name: 'x' });
  });

  test.each(['application/yaml', 'application/x-yaml', 'text/yaml', 'TEXT/YAML; charset=utf-8'])('YAML as %s', (ct) => {
    expect(parseBody('name: x\nmembers:\n  - {name: a, address: 127.0.0.2}\n', ct)).toEqual({
      name: 'x',
      members: [{ name: 'a', address: '127.0.0.2' }],
    });
  });

  test('sniffs JSON and YAML without a content type (and with an unhelpful one)', () => {
    expect(parseBody('  {"a": [1, 2]}')).toEqual({ a: [1, 2] });
    expect(parseBody('a: [1, 2]')).toEqual({ a: [1, 2] });
    expect(parseBody('a: 1', 'application/x-www-form-urlencoded')).toEqual({ a: 1 });
  });

  test('multi-document YAML becomes an array; empty documents from stray --- are dropped', () => {
    expect(parseBody('---\na: 1\n---\nb: 2\n---\n', 'application/yaml')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(parseBody('---\na: 1\n---\n')).toEqual({ a: 1 });
  });

  test('malformed YAML names line and column', () => {
    const e = rejection(() => parseBody('name: x\nmembers: [a, b\nversion: 3.5.10\n', 'application/yaml'));
    expect(e.status).toBe(400);
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0].path).toBe('');
    expect(e.issues[0].message).toMatch(/^malformed YAML at line 3, column 1: /);
  });

  test('duplicate YAML keys are malformed', () => {
    const e = rejection(() => parseBody('name: a\nname: b\n'));
    expect(e.issues).toEqual([
      { path: '', message: expect.stringMatching(/^malformed YAML at line 2, column 1: Map keys must be unique/) },
    ]);
  });

  test('malformed JSON names line and column', () => {
    const e = rejection(() => parseBody('{\n  "name": "x",\n}', 'application/json'));
    expect(e.issues).toEqual([{ path: '', message: 'malformed JSON at line 3, column 1: Expected double-quoted property name' }]);
    const e2 = rejection(() => parseBody('{\n "a": }', 'application/json'));
    expect(e2.issues[0].message).toBe("malformed JSON at line 2, column 7: Unexpected token '}'");
  });

  test('oversize body is a 413', () => {
    const e = rejection(() => parseBody(`a: "${'x'.repeat(MAX_BODY_BYTES)}"`));
    expect(e.status).toBe(413);
    expect(e.issues).toEqual([{ path: '', message: `body is larger than ${MAX_BODY_BYTES} bytes` }]);
  });

  test('the limit counts UTF-8 bytes, not characters', () => {
    const chars = Math.floor(MAX_BODY_BYTES / 3) + 10; // under the limit in characters, over it in bytes
    expect(rejection(() => parseBody(`a: "${'€'.repeat(chars)}"`)).status).toBe(413);
    expect(parseBody(`a: "${'x'.repeat(MAX_BODY_BYTES - 10)}"`)).toBeDefined();
  });

  test('empty body', () => {
    expect(rejection(() => parseBody('  \n')).issues).toEqual([{ path: '', message: 'empty body: send a JSON or YAML document' }]);
    expect(rejection(() => parseBody('---\n')).issues[0].message).toMatch(/^empty body/);
  });

  test('unresolvable YAML alias', () => {
    expect(rejection(() => parseBody('a: *nope\n')).issues[0].message).toMatch(/^malformed YAML/);
  });
});

describe('paths and zod errors', () => {
  test('formatPath', () => {
    expect(formatPath(['members', 1, 'address'])).toBe('members[1].address');
    expect(formatPath(['tls', 'caKey', 'rsaBits'])).toBe('tls.caKey.rsaBits');
    expect(formatPath([1, 'etcd_name'])).toBe('[1].etcd_name');
    expect(formatPath(['etcd_name'], '[2]')).toBe('[2].etcd_name');
    expect(formatPath(['a b'])).toBe('["a b"]');
  });

  test('fromZodError renders paths, prefixes and one issue per unknown key', () => {
    const r = z.strictObject({ a: z.array(z.strictObject({ b: z.number() })) }).safeParse({ a: [{ b: 1 }, { b: 'x', c: 1, d: 2 }] });
    expect(r.success).toBe(false);
    const e = fromZodError(r.error!, 'spec');
    expect(e).toBeInstanceOf(ValidationError);
    expect(e).toBeInstanceOf(Error);
    expect(e.status).toBe(400);
    expect(paths(e).sort()).toEqual(['spec.a[1].b', 'spec.a[1].c', 'spec.a[1].d']);
    expect(e.message).toContain('spec.a[1].b');
  });
});

describe('parseClusterSpec rejects', () => {
  test('unknown version format', () => {
    const e = rejectSpec({ ...three(), version: '3.5' });
    expect(e.issues).toEqual([{ path: 'version', message: 'must be an etcd release version like v3.5.10' }]);
    expect(paths(rejectSpec({ ...three(), version: 'latest' }))).toEqual(['version']);
  });

  test('unsupported minor', () => {
    expect(rejectSpec({ ...three(), version: 'v3.4.27' }).issues).toEqual([
      { path: 'version', message: 'supported etcd minors: 3.5, 3.6' },
    ]);
  });

  test('duplicate member names', () => {
    const e = rejectSpec({
      ...three(),
      members: [
        { name: 'a', address: '127.0.0.2' },
        { name: 'b', address: '127.0.0.3' },
        { name: 'a', address: '127.0.0.4' },
      ],
    });
    expect(e.issues).toEqual([{ path: 'members[2].name', message: 'duplicate member name "a" (also members[0])' }]);
  });

  test('duplicate address (same default ports) blames the address, once', () => {
    const e = rejectSpec({
      ...three(),
      members: [
        { name: 'a', address: '127.0.0.2' },
        { name: 'b', address: '127.0.0.2' },
      ],
    });
    expect(paths(e)).toEqual(['members[1].address']);
    expect(e.issues[0].message).toContain('127.0.0.2:2379');
  });

  test('duplicate address:port through a per-member port override', () => {
    const e = rejectSpec({
      ...three(),
      members: [
        { name: 'a', address: '127.0.0.2' },
        { name: 'b', address: '127.0.0.2', clientPort: 3379, peerPort: 3380, metricsPort: 2379 },
      ],
    });
    expect(e.issues).toEqual([
      { path: 'members[1].metricsPort', message: 'address:port used twice: metrics 127.0.0.2:2379 (also members[0] client port)' },
    ]);
  });

  test('one member whose own override collides with its other port', () => {
    const e = rejectSpec({ ...three(), members: [{ name: 'a', address: '127.0.0.2', peerPort: 2379 }] });
    expect(paths(e)).toEqual(['members[0].peerPort']);
  });

  test('cluster-wide ports that collide blame the port', () => {
    expect(paths(rejectSpec({ ...three(), ports: { client: 2380 } }))).toEqual(['ports.peer']);
  });

  test('duplicate bind address through listenAddress', () => {
    const e = rejectSpec({
      ...three(),
      members: [
        { name: 'a', address: '127.0.0.2' },
        { name: 'b', address: 'b.example', listenAddress: '127.0.0.2' },
      ],
    });
    expect(e.issues).toEqual([
      { path: 'members[1].address', message: expect.stringContaining('127.0.0.0/8') },
      {
        path: 'members[1].listenAddress',
        message: expect.stringMatching(/^address:port used twice: client 127\.0\.0\.2:2379 \(also members\[0\] client port\)/),
      },
    ]);
  });

  test.each([['256.1.1.1'], ['127.0.0'], ['bad_host'], ['http://127.0.0.2'], ['127.0.0.2:2379'], [''], ['-lead.example']])(
    'invalid address %j',
    (address) => {
      const e = rejectSpec({ ...three(), members: [{ name: 'a', address }] });
      expect(e.issues).toEqual([{ path: 'members[0].address', message: 'must be an IPv4 address or a DNS name' }]);
    },
  );

  test('0.0.0.0 cannot be advertised', () => {
    const e = rejectSpec({ ...three(), members: [{ name: 'a', address: '0.0.0.0' }] });
    expect(e.issues).toEqual([
      { path: 'members[0].address', message: 'must be an address others can reach; bind all interfaces with listenAddress: 0.0.0.0' },
    ]);
  });

  test('non-loopback addresses with the local provider', () => {
    const e = rejectSpec({
      ...three(),
      provider: 'local',
      members: [
        { name: 'a', address: '10.0.0.1' },
        { name: 'b', address: '127.0.0.3', listenAddress: '0.0.0.0' },
        { name: 'c', address: 'etcd-c.example' },
      ],
    });
    expect(paths(e)).toEqual(['members[0].address', 'members[1].listenAddress', 'members[2].address']);
    for (const i of e.issues) expect(i.message).toContain('127.0.0.0/8');
    // the provider defaults to local
    expect(paths(rejectSpec({ name: 'x', members: [{ name: 'a', address: '192.168.1.5' }] }))).toEqual(['members[0].address']);
  });

  test('more than 9 members', () => {
    const members = Array.from({ length: 10 }, (_, i) => ({ name: `m${i}`, address: `127.0.0.${i + 2}` }));
    expect(rejectSpec({ name: 'big', members }).issues).toEqual([{ path: 'members', message: 'at most 9 members' }]);
    expect(parseClusterSpec({ name: 'big', members: members.slice(0, 9) }).spec.members).toHaveLength(9);
  });

  test('no members', () => {
    expect(paths(rejectSpec({ name: 'x', members: [] }))).toEqual(['members']);
  });

  test.each([1024, 2047, 8192, '2048'])('RSA key size %j', (bits) => {
    const e = rejectSpec({ ...three(), tls: { caKey: { algorithm: 'rsa', rsaBits: bits } } });
    expect(e.issues).toEqual([{ path: 'tls.caKey.rsaBits', message: 'RSA key size must be 2048, 3072 or 4096 bits' }]);
  });

  test('bad curve and algorithm', () => {
    const e = rejectSpec({ ...three(), tls: { leafKey: { algorithm: 'ecdsa', curve: 'P-521' }, caKey: { algorithm: 'dsa' } } });
    expect(paths(e).sort()).toEqual(['tls.caKey.algorithm', 'tls.leafKey.curve']);
    expect(e.issues.find((i) => i.path === 'tls.leafKey.curve')!.message).toBe('Invalid option: expected one of "P-256"|"P-384"');
  });

  test('bad digest, validity days and subject', () => {
    const e = rejectSpec({ ...three(), tls: { digest: 'sha1', caDays: 0, certDays: 1.5, subject: { country: 'ESP', commonName: '' } } });
    expect(paths(e).sort()).toEqual(['tls.caDays', 'tls.certDays', 'tls.digest', 'tls.subject.commonName', 'tls.subject.country']);
    expect(paths(rejectSpec({ ...three(), tls: { subject: { country: '12' } } }))).toEqual(['tls.subject.country']);
  });

  test('unknown keys are rejected at every level (strict)', () => {
    const e = rejectSpec({
      ...three(),
      foo: 1,
      tls: { bar: 2, caKey: { size: 4096 } },
      members: [{ name: 'a', address: '127.0.0.2', baz: 3 }],
      ports: { admin: 1 },
    });
    expect(paths(e).sort()).toEqual(['foo', 'members[0].baz', 'ports.admin', 'tls.bar', 'tls.caKey.size']);
    for (const i of e.issues) expect(i.message).toBe('unknown field');
  });

  test('electionTimeout below 5 × heartbeatInterval', () => {
    expect(rejectSpec({ ...three(), tunables: { heartbeatInterval: 200, electionTimeout: 900 } }).issues).toEqual([
      { path: 'tunables.electionTimeout', message: 'must be at least 5 × heartbeatInterval (1000 ms)' },
    ]);
    // against etcd's default heartbeat (100 ms)
    expect(paths(rejectSpec({ ...three(), tunables: { electionTimeout: 400 } }))).toEqual(['tunables.electionTimeout']);
    // a raised heartbeat against etcd's default election timeout (1000 ms)
    expect(paths(rejectSpec({ ...three(), tunables: { heartbeatInterval: 300 } }))).toEqual(['tunables.heartbeatInterval']);
    expect(
      parseClusterSpec({ ...three(), tunables: { heartbeatInterval: 200, electionTimeout: 1000 } }).spec.tunables.electionTimeout,
    ).toBe(1000);
  });

  test('ssh provider: hosts by address, login defaults, host key lines, one member per host', () => {
    const hosts = [
      { name: 'a', address: '10.0.0.11' },
      { name: 'b', address: '10.0.0.12' },
      { name: 'c', address: 'etcd-3.example.com' },
    ];
    const s = parseClusterSpec({ name: 'c1', provider: 'ssh', members: hosts, ssh: {} }).spec;
    expect(s.ssh).toEqual({ user: 'root', port: 22 });
    const key = '10.0.0.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5m2kXq8xYl0pF7bW1v1n1Zz3Zz3Zz3Zz3Zz3Zz3Zz3';
    expect(
      parseClusterSpec({ name: 'c1', provider: 'ssh', members: hosts, ssh: { user: 'deploy', port: 2222, hostKeys: [key] } }).spec.ssh,
    ).toEqual({
      user: 'deploy',
      port: 2222,
      hostKeys: [key],
    });
    for (const bad of [
      '@cert-authority * ssh-ed25519 AAAA',
      '|1|abc|def ssh-ed25519 AAAA',
      '10.0.0.11 ssh-ed25519',
      `${key}\n10.0.0.9 ssh-rsa AAAA`,
    ]) {
      expect(paths(rejectSpec({ name: 'c1', provider: 'ssh', members: hosts, ssh: { hostKeys: [bad] } }))).toEqual(['ssh.hostKeys[0]']);
    }
    expect(paths(rejectSpec({ name: 'c1', provider: 'ssh', members: hosts, ssh: { user: 'root; rm -rf /' } }))).toEqual(['ssh.user']);
    expect(paths(rejectSpec({ ...three(), ssh: { user: 'root' } }))).toEqual(['ssh']);
    const twice = [hosts[0], { name: 'b', address: '10.0.0.11', clientPort: 3379, peerPort: 3380, metricsPort: 3381 }];
    expect(paths(rejectSpec({ name: 'c1', provider: 'ssh', members: twice }))).toEqual(['members[1].address']);
    expect(paths(rejectSpec({ ...three(), provider: 'docker' }))).toEqual(['provider']);
  });

  test('DNS SRV bootstrap is refused on the local provider (no DNS there)', () => {
    const e = rejectSpec({ ...three(), dns: { discoverySrv: 'example.com' } });
    expect(paths(e)).toEqual(['dns.discoverySrv']);
    expect(e.issues[0].message).toMatch(/provider "ssh"/);
  });

  test('missing fields say "required"', () => {
    expect(rejectSpec({ members: [{ address: '127.0.0.2' }] }).issues).toEqual([
      { path: 'name', message: 'required' },
      { path: 'members[0].name', message: 'required' },
    ]);
  });

  test('bad names, ports, paths, artifact source, logging, durations', () => {
    const e = rejectSpec({
      name: 'Bad_Name',
      members: [{ name: '-a', address: '127.0.0.2', clientPort: 70000, paths: { dataDir: 'var/lib' } }],
      ports: { peer: 0 },
      paths: { certsDir: '/etc/../secret' },
      artifactSource: 'ftp://mirror',
      logging: { level: 'verbose', outputs: ['syslog'] },
      backup: { interval: '6 hours' },
      tls: { extraSans: ['ok.example', 'not valid'] },
    });
    expect(paths(e).sort()).toEqual(
      [
        'artifactSource',
        'backup.interval',
        'logging.level',
        'logging.outputs[0]',
        'members[0].clientPort',
        'members[0].name',
        'members[0].paths.dataDir',
        'name',
        'paths.certsDir',
        'ports.peer',
        'tls.extraSans[1]',
      ].sort(),
    );
  });

  test('a spec must be an object', () => {
    expect(rejectSpec([{ name: 'x' }]).issues).toEqual([{ path: '', message: 'a cluster spec must be an object, not an array' }]);
    expect(rejectSpec(null).issues[0].message).toMatch(/not null/);
  });
});

describe('parseClusterSpec accepts and normalizes', () => {
  test('defaults are filled', () => {
    const { spec, warnings } = parseClusterSpec(three());
    expect(warnings).toEqual([]);
    expect(spec.version).toBe('v3.5.10');
    expect(spec.provider).toBe('local');
    expect(spec.ports).toEqual({ client: 2379, peer: 2380, metrics: 2381 });
    expect(spec.tls.enabled).toBe(true);
    expect(spec.tls.caKey).toEqual({ algorithm: 'rsa', rsaBits: 2048, curve: 'P-256' });
    expect(spec.tls.leafKey).toEqual({ algorithm: 'rsa', rsaBits: 2048, curve: 'P-256' });
    expect(spec.tls.digest).toBe('sha256');
    expect(spec.tls.caDays).toBe(3650);
    expect(spec.tls.certDays).toBe(365);
    expect(spec.tls.subject).toEqual({ commonName: 'etcd' });
    expect(spec.paths).toEqual({ dataDir: '/var/lib/etcd', confDir: '/etc/etcd', certsDir: '/etc/ssl/etcd' });
    expect(spec.logging).toEqual({ level: 'info', outputs: ['default'] });
    expect(spec.tunables).toEqual({});
  });

  test('"3.5.10" normalizes to "v3.5.10"', () => {
    expect(parseClusterSpec({ ...three(), version: '3.5.10' }).spec.version).toBe('v3.5.10');
    expect(parseClusterSpec({ ...three(), version: '3.6.4' }).spec.version).toBe('v3.6.4');
  });

  test('an even member count is accepted with a warning', () => {
    const { spec, warnings } = parseClusterSpec({
      name: 'even',
      members: [
        { name: 'a', address: '127.0.0.2' },
        { name: 'b', address: '127.0.0.3' },
      ],
    });
    expect(spec.members).toHaveLength(2);
    expect(warnings).toEqual([expect.stringMatching(/^2 members is an even count/)]);
  });

  test('members may share an address on distinct ports', () => {
    const { spec } = parseClusterSpec({
      name: 'shared',
      members: [
        { name: 'a', address: '127.0.0.2' },
        { name: 'b', address: '127.0.0.2', clientPort: 12379, peerPort: 12380, metricsPort: 12381 },
      ],
    });
    expect(spec.members[1].clientPort).toBe(12379);
  });
});

describe('specFingerprint', () => {
  const fp = (input: unknown) => specFingerprint(parseClusterSpec(input).spec);

  test('sha256 implementation matches known vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    // UTF-8 and multi-block input (values from a reference implementation)
    expect(sha256Hex('\u00e9')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
    expect(sha256Hex(`${'a'.repeat(1000)}\u{1F600}`)).toBe('68ca551d6f3bc9fba77f16ca4113592bd3d192cc0d307c2088c546091e435fb7');
  });

  test('canonical JSON sorts keys and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  test('equal for equal specs: key order, spelled-out defaults, "v" prefix', () => {
    const a = fp(three());
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    const reordered = { members: [...three().members].map((m) => ({ address: m.address, name: m.name })), name: 'c1' };
    expect(fp(reordered)).toBe(a);
    expect(
      fp({
        ...three(),
        version: '3.5.10',
        provider: 'local',
        ports: { metrics: 2381, peer: 2380, client: 2379 },
        tls: { enabled: true, digest: 'sha256', caDays: 3650, certDays: 365, caKey: { algorithm: 'rsa', rsaBits: 2048 } },
        paths: { dataDir: '/var/lib/etcd' },
      }),
    ).toBe(a);
  });

  test('different for different specs', () => {
    const a = fp(three());
    const spec = three();
    expect(fp({ ...spec, name: 'c2' })).not.toBe(a);
    expect(fp({ ...spec, version: 'v3.5.11' })).not.toBe(a);
    expect(fp({ ...spec, members: [...spec.members!].reverse() })).not.toBe(a);
    expect(fp({ ...spec, tls: { leafKey: { algorithm: 'ecdsa' } } })).not.toBe(a);
    expect(fp({ ...spec, tunables: { snapshotCount: 1000 } })).not.toBe(a);
  });
});

describe('useLocalhost with the local provider', () => {
  const base = {
    name: 'lh',
    tls: { useLocalhost: true },
    members: [
      { name: 'a', address: '127.0.50.1' },
      { name: 'b', address: '127.0.50.2' },
    ],
  };
  it('refuses two members that would both listen on 127.0.0.1:2379', () => {
    const r = ClusterSpec.safeParse(base);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain('members.1.clientPort');
  });
  it('accepts distinct client ports', () => {
    const r = ClusterSpec.safeParse({ ...base, members: [{ ...base.members[0] }, { ...base.members[1], clientPort: 2479 }] });
    expect(r.success).toBe(true);
  });
});
