// Certificates from activities/pki checked by an independent implementation:
// the openssl CLI reads every PEM from disk, and node's TLS stack does a real
// mutual-TLS handshake with them.
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import { ClusterSpec, type ClusterSpecInput } from '../../common/spec';
import { memberSans } from '../../common/topology';
import {
  ADMIN_COMMON_NAME,
  certificateInfo,
  issueClusterPki,
  memberPkiMatches,
  PKI_ERROR_TYPE,
  type PemPki as ClusterPki,
} from '../../activities/pki';

jest.setTimeout(120_000);

const execFileP = promisify(execFile);
const DAY = 86_400_000;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'etcdfleet-pki-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function openssl(args: string[]): Promise<string> {
  const { stdout } = await execFileP('openssl', args, { maxBuffer: 1 << 20 });
  return stdout;
}

/** Runs openssl and reports failure instead of throwing. */
async function opensslStatus(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await execFileP('openssl', args);
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

let dirSeq = 0;
interface Files {
  dir: string;
  ca: string;
  caKey: string;
  admin: string;
  adminKey: string;
  members: Record<string, { server: string; serverKey: string; peer: string; peerKey: string }>;
}

/** Lays the PEMs out as on a host: ca.pem, admin.pem, <member>/etcd.pem, peer.pem, … */
async function writePki(pki: ClusterPki, label: string): Promise<Files> {
  const dir = join(root, `${++dirSeq}-${label.replace(/[^A-Za-z0-9]+/g, '-')}`);
  await mkdir(dir, { recursive: true });
  const put = async (name: string, content: string) => {
    const p = join(dir, name);
    await writeFile(p, content, { mode: 0o600 });
    return p;
  };
  const files: Files = {
    dir,
    ca: await put('ca.pem', pki.ca.cert),
    caKey: await put('ca-key.pem', pki.ca.key),
    admin: await put('admin.pem', pki.admin.cert),
    adminKey: await put('admin-key.pem', pki.admin.key),
    members: {},
  };
  for (const [name, m] of Object.entries(pki.members)) {
    await mkdir(join(dir, name));
    files.members[name] = {
      server: await put(`${name}/etcd.pem`, m.server.cert),
      serverKey: await put(`${name}/etcd-key.pem`, m.server.key),
      peer: await put(`${name}/peer.pem`, m.peer.cert),
      peerKey: await put(`${name}/peer-key.pem`, m.peer.key),
    };
  }
  return files;
}

interface CertText {
  text: string;
  bits: number;
  curve?: string;
  signatureAlgorithm: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  sans: string[];
  eku: string[];
  keyUsage: string[];
  keyUsageCritical: boolean;
  basicConstraints: string;
  basicConstraintsCritical: boolean;
  ski: boolean;
  aki?: string;
  serialBytes: number;
}

/** `openssl x509 -text`, picked apart. */
async function x509Text(file: string): Promise<CertText> {
  const text = await openssl(['x509', '-in', file, '-noout', '-text']);
  const after = (header: string) => {
    const i = text.indexOf(header);
    if (i < 0) return undefined;
    const rest = text.slice(i + header.length);
    const lineEnd = rest.indexOf('\n');
    const headerTail = rest.slice(0, lineEnd).trim();
    const next = rest
      .slice(lineEnd + 1)
      .split('\n')[0]
      .trim();
    return { critical: headerTail === 'critical', value: next };
  };
  const field = (re: RegExp) => re.exec(text)?.[1];
  const list = (s: string | undefined) => (s ? s.split(/,\s*/).filter(Boolean) : []);
  const ku = after('X509v3 Key Usage:');
  const bc = after('X509v3 Basic Constraints:');
  const serialInline = field(/Serial Number: ([0-9a-fx() ]+)\n/);
  const serialBlock = /Serial Number:\s*\n\s*([0-9a-f:]+)\n/.exec(text)?.[1];
  return {
    text,
    bits: Number(field(/Public-Key: \((\d+) bit\)/)),
    curve: field(/NIST CURVE: (P-\d+)/),
    signatureAlgorithm: field(/Signature Algorithm: (\S+)/) ?? '',
    subject: field(/Subject: (.*)\n/) ?? '',
    issuer: field(/Issuer: (.*)\n/) ?? '',
    notBefore: new Date(field(/Not Before: (.*)\n/) ?? ''),
    notAfter: new Date(field(/Not After : (.*)\n/) ?? ''),
    sans: list(after('X509v3 Subject Alternative Name:')?.value).map((s) => s.replace(/^IP Address:/, 'IP:')),
    eku: list(after('X509v3 Extended Key Usage:')?.value),
    keyUsage: list(ku?.value),
    keyUsageCritical: ku?.critical ?? false,
    basicConstraints: bc?.value ?? '',
    basicConstraintsCritical: bc?.critical ?? false,
    ski: text.includes('X509v3 Subject Key Identifier:'),
    aki: after('X509v3 Authority Key Identifier:')?.value.replace(/^keyid:/, ''),
    serialBytes: serialBlock ? serialBlock.split(':').length : serialInline ? 0 : -1,
  };
}

async function skiOf(file: string): Promise<string> {
  const text = await openssl(['x509', '-in', file, '-noout', '-ext', 'subjectKeyIdentifier']);
  return text.split('\n')[1].trim();
}

async function publicKeysMatch(certFile: string, keyFile: string, passphrase?: string): Promise<boolean> {
  const fromCert = await openssl(['x509', '-in', certFile, '-noout', '-pubkey']);
  const fromKey = await openssl(['pkey', '-in', keyFile, '-pubout', ...(passphrase ? ['-passin', `pass:${passphrase}`] : [])]);
  return fromCert.trim() === fromKey.trim() && fromCert.includes('BEGIN PUBLIC KEY');
}

function sansOf(spec: ClusterSpec, memberName: string): string[] {
  const m = spec.members.find((x) => x.name === memberName)!;
  const s = memberSans(spec, m);
  return [...s.dns.map((d) => `DNS:${d}`), ...s.ips.map((ip) => `IP:${ip}`)];
}

function expectDays(c: CertText, days: number) {
  const span = c.notAfter.getTime() - c.notBefore.getTime();
  // notBefore is backdated a few minutes for clock skew; the span is `days` plus that.
  expect(Math.abs(span - days * DAY)).toBeLessThanOrEqual(10 * 60_000);
}

function members(n: number, first = 2) {
  // Distinct client ports: with useLocalhost every local member also binds 127.0.0.1:<client port>.
  return Array.from({ length: n }, (_, i) => ({ name: `etcd-${i + 1}`, address: `127.0.0.${first + i}`, clientPort: 2379 + 100 * i }));
}

// --- algorithm combinations -----------------------------------------------------

interface Combo {
  label: string;
  tls: NonNullable<ClusterSpecInput['tls']>;
  dns?: ClusterSpecInput['dns'];
  expectCa: { bits: number; curve?: string };
  expectLeaf: { bits: number; curve?: string; rsa: boolean };
  signature: string;
}

const combos: Combo[] = [
  {
    label: 'RSA 2048 + sha256',
    tls: {
      caKey: { algorithm: 'rsa', rsaBits: 2048 },
      leafKey: { algorithm: 'rsa', rsaBits: 2048 },
      digest: 'sha256',
      subject: { country: 'US', organization: 'Acme Corp', commonName: 'etcd' },
      useLocalhost: true,
    },
    expectCa: { bits: 2048 },
    expectLeaf: { bits: 2048, rsa: true },
    signature: 'sha256WithRSAEncryption',
  },
  {
    label: 'RSA 3072 + sha384',
    tls: {
      caKey: { algorithm: 'rsa', rsaBits: 3072 },
      leafKey: { algorithm: 'rsa', rsaBits: 3072 },
      digest: 'sha384',
      caDays: 730,
      certDays: 90,
      subject: { organization: 'Fleet Ops', commonName: 'prod-etcd' },
      extraSans: ['etcd.prod.test', '10.1.2.3'],
    },
    dns: { domain: 'etcd.internal' },
    expectCa: { bits: 3072 },
    expectLeaf: { bits: 3072, rsa: true },
    signature: 'sha384WithRSAEncryption',
  },
  {
    label: 'ECDSA P-256 + sha256',
    tls: {
      caKey: { algorithm: 'ecdsa', curve: 'P-256' },
      leafKey: { algorithm: 'ecdsa', curve: 'P-256' },
      digest: 'sha256',
      subject: { country: 'DE', organization: 'Beispiel GmbH' },
      useLocalhost: true,
    },
    dns: { domain: 'cluster.example.test' },
    expectCa: { bits: 256, curve: 'P-256' },
    expectLeaf: { bits: 256, curve: 'P-256', rsa: false },
    signature: 'ecdsa-with-SHA256',
  },
  {
    label: 'ECDSA P-384 + sha384',
    tls: {
      caKey: { algorithm: 'ecdsa', curve: 'P-384' },
      leafKey: { algorithm: 'ecdsa', curve: 'P-384' },
      digest: 'sha384',
      caDays: 1825,
      certDays: 30,
    },
    expectCa: { bits: 384, curve: 'P-384' },
    expectLeaf: { bits: 384, curve: 'P-384', rsa: false },
    signature: 'ecdsa-with-SHA384',
  },
  {
    label: 'ECDSA P-384 + sha512',
    tls: {
      caKey: { algorithm: 'ecdsa', curve: 'P-384' },
      leafKey: { algorithm: 'ecdsa', curve: 'P-384' },
      digest: 'sha512',
      subject: { country: 'FR', organization: 'Exemple SA', commonName: 'etcd' },
      useLocalhost: true,
    },
    expectCa: { bits: 384, curve: 'P-384' },
    expectLeaf: { bits: 384, curve: 'P-384', rsa: false },
    signature: 'ecdsa-with-SHA512',
  },
  {
    label: 'CA RSA 4096 + leaf ECDSA P-256 + sha256',
    tls: {
      caKey: { algorithm: 'rsa', rsaBits: 4096 },
      leafKey: { algorithm: 'ecdsa', curve: 'P-256' },
      digest: 'sha256',
      subject: { country: 'US', organization: 'Mixed Keys Inc', commonName: 'mixed' },
      useLocalhost: true,
    },
    dns: { domain: 'mixed.test' },
    expectCa: { bits: 4096 },
    expectLeaf: { bits: 256, curve: 'P-256', rsa: false },
    signature: 'sha256WithRSAEncryption',
  },
];

describe.each(combos)('$label', (combo) => {
  const spec = ClusterSpec.parse({ name: 'combo', members: members(3), tls: combo.tls, dns: combo.dns });
  const subject = spec.tls.subject;
  const subjectLine = (cn: string) =>
    [subject.country && `C = ${subject.country}`, subject.organization && `O = ${subject.organization}`, `CN = ${cn}`]
      .filter(Boolean)
      .join(', ');
  let pki: ClusterPki;
  let files: Files;
  let issuedAt: number;

  beforeAll(async () => {
    issuedAt = Date.now();
    pki = await issueClusterPki({ spec });
    files = await writePki(pki, combo.label);
  });

  test('every certificate chains to the CA for its purpose (openssl verify -x509_strict)', async () => {
    const verify = (purpose: string, file: string) => openssl(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', files.ca, file]);
    for (const m of Object.values(files.members)) {
      await expect(verify('sslserver', m.server)).resolves.toContain(': OK');
      await expect(verify('sslclient', m.server)).resolves.toContain(': OK');
      await expect(verify('sslserver', m.peer)).resolves.toContain(': OK');
      await expect(verify('sslclient', m.peer)).resolves.toContain(': OK');
    }
    await expect(verify('sslclient', files.admin)).resolves.toContain(': OK');
    // The admin certificate is a client certificate only.
    expect((await opensslStatus(['verify', '-purpose', 'sslserver', '-CAfile', files.ca, files.admin])).ok).toBe(false);
  });

  test('CA: self-signed, CA:TRUE pathlen 0, keyCertSign+cRLSign, key and digest from the spec', async () => {
    const c = await x509Text(files.ca);
    expect(c.subject).toBe(subjectLine(`${subject.commonName}-ca`));
    expect(c.issuer).toBe(c.subject);
    expect(c.basicConstraints).toBe('CA:TRUE, pathlen:0');
    expect(c.basicConstraintsCritical).toBe(true);
    expect(c.keyUsage).toEqual(['Certificate Sign', 'CRL Sign']);
    expect(c.keyUsageCritical).toBe(true);
    expect(c.ski).toBe(true);
    expect(c.bits).toBe(combo.expectCa.bits);
    expect(c.curve).toBe(combo.expectCa.curve);
    expect(c.signatureAlgorithm).toBe(combo.signature);
    expect(c.serialBytes).toBe(16);
    expectDays(c, spec.tls.caDays);
    expect(c.notBefore.getTime()).toBeLessThan(issuedAt - 60_000);
    expect(await publicKeysMatch(files.ca, files.caKey)).toBe(true);
    expect(pki.ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  test('server and peer certificates: subject, SANs, EKUs, key usage, key, digest, validity', async () => {
    const caSki = await skiOf(files.ca);
    for (const m of spec.members) {
      const sans = sansOf(spec, m.name);
      expect(sans).toContain(`IP:${m.address}`);
      if (spec.tls.useLocalhost) expect(sans).toEqual(expect.arrayContaining(['IP:127.0.0.1', 'DNS:localhost']));
      if (spec.dns?.domain) expect(sans).toContain(`DNS:${m.name}.${spec.dns.domain}`);
      for (const s of spec.tls.extraSans) expect(sans).toContain(/^\d/.test(s) ? `IP:${s}` : `DNS:${s}`);
      for (const kind of ['server', 'peer'] as const) {
        const f = files.members[m.name];
        const c = await x509Text(kind === 'server' ? f.server : f.peer);
        expect(c.subject).toBe(subjectLine(m.name));
        expect(c.issuer).toBe(subjectLine(`${subject.commonName}-ca`));
        expect(new Set(c.sans)).toEqual(new Set(sans));
        expect(c.sans).toHaveLength(sans.length);
        expect(c.eku).toEqual(['TLS Web Server Authentication', 'TLS Web Client Authentication']);
        expect(c.keyUsage).toEqual(combo.expectLeaf.rsa ? ['Digital Signature', 'Key Encipherment'] : ['Digital Signature']);
        expect(c.keyUsageCritical).toBe(true);
        expect(c.basicConstraints).toBe('CA:FALSE');
        expect(c.ski).toBe(true);
        expect(c.aki).toBe(caSki);
        expect(c.bits).toBe(combo.expectLeaf.bits);
        expect(c.curve).toBe(combo.expectLeaf.curve);
        expect(c.signatureAlgorithm).toBe(combo.signature);
        expect(c.serialBytes).toBe(16);
        expectDays(c, spec.tls.certDays);
        expect(c.notBefore.getTime()).toBeLessThan(issuedAt - 60_000);
        expect(await publicKeysMatch(kind === 'server' ? f.server : f.peer, kind === 'server' ? f.serverKey : f.peerKey)).toBe(true);
        expect(pki.members[m.name][kind].key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      }
    }
  });

  test('admin client certificate: CN etcdfleet-admin, O from the spec, clientAuth only', async () => {
    const c = await x509Text(files.admin);
    expect(c.subject).toBe(subjectLine(ADMIN_COMMON_NAME));
    expect(c.eku).toEqual(['TLS Web Client Authentication']);
    expect(c.sans).toEqual([]);
    expect(c.basicConstraints).toBe('CA:FALSE');
    expect(c.bits).toBe(combo.expectLeaf.bits);
    expect(c.signatureAlgorithm).toBe(combo.signature);
    expectDays(c, spec.tls.certDays);
    expect(await publicKeysMatch(files.admin, files.adminKey)).toBe(true);
  });

  test('serial numbers are distinct', () => {
    const certs = [pki.ca.cert, pki.admin.cert, ...Object.values(pki.members).flatMap((m) => [m.server.cert, m.peer.cert])];
    const serials = certs.map((c) => new X509Certificate(c).serialNumber);
    expect(new Set(serials).size).toBe(certs.length);
  });

  test('certificateInfo agrees with openssl', async () => {
    const info = certificateInfo(pki.members['etcd-1'].server.cert);
    const c = await x509Text(files.members['etcd-1'].server);
    expect(new Set(info.sans)).toEqual(new Set(c.sans));
    expect(info.signatureAlgorithm).toBe(combo.signature);
    expect(info.keyAlgorithm).toBe(combo.expectLeaf.rsa ? `RSA ${combo.expectLeaf.bits}` : `ECDSA ${combo.expectLeaf.curve}`);
    expect(new Date(info.notAfter).getTime()).toBe(c.notAfter.getTime());
    expect(new Date(info.notBefore).getTime()).toBe(c.notBefore.getTime());
    expect(info.subject).toContain('CN=etcd-1');
    expect(info.issuer).toContain(`CN=${subject.commonName}-ca`);
    expect(info.serial).toMatch(/^[0-9a-f]{32}$/);
    expect(memberPkiMatches(spec, 'etcd-1', pki)).toBe(true);
  });
});

// --- encrypted CA key --------------------------------------------------------------

describe('encrypted CA key (tls.caKeyCipher)', () => {
  const base = {
    name: 'enc',
    members: members(2, 20),
    tls: { caKey: { algorithm: 'ecdsa', curve: 'P-256' }, leafKey: { algorithm: 'ecdsa', curve: 'P-256' }, caKeyCipher: 'aes-256-cbc' },
  } satisfies ClusterSpecInput;
  const spec = ClusterSpec.parse(base);
  const passphrase = 'correct horse battery staple';
  let pki: ClusterPki;
  let files: Files;

  beforeAll(async () => {
    pki = await issueClusterPki({ spec, caPassphrase: passphrase });
    files = await writePki(pki, 'encrypted');
  });

  test('the CA key is encrypted PKCS#8 that openssl opens with the passphrase only', async () => {
    expect(pki.ca.key).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const parsed = await openssl(['asn1parse', '-in', files.caKey]);
    expect(parsed).toContain('PBES2');
    expect(parsed).toContain('aes-256-cbc');
    expect((await opensslStatus(['pkey', '-in', files.caKey, '-noout', '-passin', `pass:${passphrase}`])).ok).toBe(true);
    expect((await opensslStatus(['pkey', '-in', files.caKey, '-noout', '-passin', 'pass:wrong'])).ok).toBe(false);
    expect((await opensslStatus(['pkey', '-in', files.caKey, '-noout', '-passin', 'pass:'])).ok).toBe(false);
    expect(await publicKeysMatch(files.ca, files.caKey, passphrase)).toBe(true);
    // Member keys stay plain: etcd cannot read encrypted keys.
    expect(pki.members['etcd-1'].server.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  test('issuing again with the passphrase reuses the CA and signs new members with it', async () => {
    const grown = ClusterSpec.parse({ ...base, members: members(3, 20) });
    const again = await issueClusterPki({ spec: grown, existing: pki, caPassphrase: passphrase });
    expect(again.ca).toEqual(pki.ca);
    expect(again.members['etcd-1']).toEqual(pki.members['etcd-1']);
    const f = await writePki(again, 'encrypted-grown');
    await expect(openssl(['verify', '-CAfile', files.ca, f.members['etcd-3'].server])).resolves.toContain(': OK');
  });

  test('a wrong or missing passphrase is a clear, non-retryable error', async () => {
    await expect(issueClusterPki({ spec, existing: pki, caPassphrase: 'wrong' })).rejects.toMatchObject({
      message: expect.stringMatching(/wrong CA passphrase/),
      type: PKI_ERROR_TYPE,
      nonRetryable: true,
    });
    // Nothing to sign still needs the key checked.
    const noCipher = ClusterSpec.parse({ ...base, tls: { ...base.tls, caKeyCipher: undefined } });
    await expect(issueClusterPki({ spec: noCipher, existing: pki })).rejects.toThrow(/encrypted: a CA passphrase is required/);
    await expect(issueClusterPki({ spec })).rejects.toThrow(/a CA passphrase is required/);
  });

  test('changing the cipher setting re-encodes the same CA key', async () => {
    const plainSpec = ClusterSpec.parse({ ...base, tls: { ...base.tls, caKeyCipher: undefined } });
    const plain = await issueClusterPki({ spec: plainSpec, existing: pki, caPassphrase: passphrase });
    expect(plain.ca.cert).toBe(pki.ca.cert);
    expect(plain.ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(plain.members).toEqual(pki.members);

    const aes128 = ClusterSpec.parse({ ...base, tls: { ...base.tls, caKeyCipher: 'aes-128-cbc' } });
    const reencrypted = await issueClusterPki({ spec: aes128, existing: plain, caPassphrase: passphrase });
    expect(reencrypted.ca.cert).toBe(pki.ca.cert);
    const f = await writePki(reencrypted, 'aes128');
    expect(await openssl(['asn1parse', '-in', f.caKey])).toContain('aes-128-cbc');
    const same = (a: string, b: string, pa?: string, pb?: string) =>
      createPrivateKey({ key: a, passphrase: pa })
        .export({ type: 'pkcs8', format: 'der' })
        .equals(createPrivateKey({ key: b, passphrase: pb }).export({ type: 'pkcs8', format: 'der' }));
    expect(same(plain.ca.key, reencrypted.ca.key, undefined, passphrase)).toBe(true);
    expect(same(plain.ca.key, pki.ca.key, undefined, passphrase)).toBe(true);
    // Same cipher again: the stored bytes are kept as they are.
    expect((await issueClusterPki({ spec: aes128, existing: reencrypted, caPassphrase: passphrase })).ca.key).toBe(reencrypted.ca.key);
  });
});

// --- idempotency ---------------------------------------------------------------------

describe('idempotency with existing', () => {
  const base = {
    name: 'idem',
    members: members(3, 30),
    tls: { caKey: { algorithm: 'ecdsa', curve: 'P-256' }, leafKey: { algorithm: 'ecdsa', curve: 'P-256' }, useLocalhost: true },
  } satisfies ClusterSpecInput;
  const spec = ClusterSpec.parse(base);
  let pki: ClusterPki;

  beforeAll(async () => {
    pki = await issueClusterPki({ spec });
  });

  test('nothing changed: byte-equal result', async () => {
    const again = await issueClusterPki({ spec, existing: pki });
    expect(again).toEqual(pki);
    expect(JSON.stringify(again)).toBe(JSON.stringify(pki));
  });

  test('an added member is the only thing issued', async () => {
    const grown = ClusterSpec.parse({ ...base, members: [...base.members, { name: 'etcd-4', address: '127.0.0.40', clientPort: 2779 }] });
    expect(memberPkiMatches(grown, 'etcd-4', pki)).toBe(false);
    const again = await issueClusterPki({ spec: grown, existing: pki });
    expect(again.ca).toEqual(pki.ca);
    expect(again.admin).toEqual(pki.admin);
    for (const m of base.members) expect(again.members[m.name]).toEqual(pki.members[m.name]);
    expect(Object.keys(again.members)).toEqual(['etcd-1', 'etcd-2', 'etcd-3', 'etcd-4']);
    expect(certificateInfo(again.members['etcd-4'].server.cert).sans).toContain('IP:127.0.0.40');
    expect(memberPkiMatches(grown, 'etcd-4', again)).toBe(true);
  });

  test("a changed address re-issues that member's certificates only", async () => {
    const moved = ClusterSpec.parse({
      ...base,
      members: base.members.map((m) => (m.name === 'etcd-2' ? { ...m, address: '127.0.0.99' } : m)),
    });
    expect(memberPkiMatches(moved, 'etcd-2', pki)).toBe(false);
    expect(memberPkiMatches(moved, 'etcd-1', pki)).toBe(true);
    const again = await issueClusterPki({ spec: moved, existing: pki });
    expect(again.ca).toEqual(pki.ca);
    expect(again.admin).toEqual(pki.admin);
    expect(again.members['etcd-1']).toEqual(pki.members['etcd-1']);
    expect(again.members['etcd-3']).toEqual(pki.members['etcd-3']);
    expect(again.members['etcd-2'].server.cert).not.toBe(pki.members['etcd-2'].server.cert);
    expect(again.members['etcd-2'].server.key).not.toBe(pki.members['etcd-2'].server.key);
    expect(again.members['etcd-2'].peer.cert).not.toBe(pki.members['etcd-2'].peer.cert);
    const sans = certificateInfo(again.members['etcd-2'].peer.cert).sans;
    expect(sans).toContain('IP:127.0.0.99');
    expect(sans).not.toContain('IP:127.0.0.31');
  });

  test('removed members are dropped; extraSans changes re-issue every member', async () => {
    const shrunk = ClusterSpec.parse({ ...base, members: base.members.slice(0, 2) });
    const a = await issueClusterPki({ spec: shrunk, existing: pki });
    expect(Object.keys(a.members)).toEqual(['etcd-1', 'etcd-2']);
    expect(a.members['etcd-1']).toEqual(pki.members['etcd-1']);

    const extra = ClusterSpec.parse({ ...base, tls: { ...base.tls, extraSans: ['vip.example.test'] } });
    const b = await issueClusterPki({ spec: extra, existing: pki });
    expect(b.ca).toEqual(pki.ca);
    expect(b.admin).toEqual(pki.admin);
    for (const m of base.members) {
      expect(b.members[m.name].server.cert).not.toBe(pki.members[m.name].server.cert);
      expect(certificateInfo(b.members[m.name].server.cert).sans).toContain('DNS:vip.example.test');
    }
  });

  test('a changed leaf key re-issues members and admin but never the CA', async () => {
    const rsa = ClusterSpec.parse({
      ...base,
      tls: { ...base.tls, caKey: { algorithm: 'rsa', rsaBits: 2048 }, leafKey: { algorithm: 'rsa', rsaBits: 2048 } },
    });
    const again = await issueClusterPki({ spec: rsa, existing: pki });
    expect(again.ca).toEqual(pki.ca); // caKey changed too, but an existing CA is never replaced
    expect(again.admin.cert).not.toBe(pki.admin.cert);
    expect(certificateInfo(again.admin.cert).keyAlgorithm).toBe('RSA 2048');
    expect(certificateInfo(again.members['etcd-1'].server.cert).keyAlgorithm).toBe('RSA 2048');
    // Still signed by the (ECDSA) CA.
    expect(certificateInfo(again.members['etcd-1'].server.cert).signatureAlgorithm).toBe('ecdsa-with-SHA256');
    const f = await writePki(again, 'rekeyed');
    await expect(openssl(['verify', '-x509_strict', '-CAfile', f.ca, f.members['etcd-1'].server, f.admin])).resolves.toMatch(
      /: OK[\s\S]*: OK/,
    );
  });

  test('certificates from another CA, or with a key that does not match, are replaced', async () => {
    const other = await issueClusterPki({ spec });
    const mixed: ClusterPki = {
      ...pki,
      members: {
        ...pki.members,
        'etcd-1': other.members['etcd-1'],
        'etcd-2': { ...pki.members['etcd-2'], peer: { ...pki.members['etcd-2'].peer, key: other.members['etcd-2'].peer.key } },
      },
    };
    expect(memberPkiMatches(spec, 'etcd-1', mixed)).toBe(false);
    expect(memberPkiMatches(spec, 'etcd-2', mixed)).toBe(false);
    expect(memberPkiMatches(spec, 'etcd-3', mixed)).toBe(true);
    expect(memberPkiMatches(spec, 'nope', mixed)).toBe(false);
    const fixed = await issueClusterPki({ spec, existing: mixed });
    expect(fixed.members['etcd-3']).toEqual(pki.members['etcd-3']);
    for (const name of ['etcd-1', 'etcd-2']) {
      expect(memberPkiMatches(spec, name, fixed)).toBe(true);
      expect(new X509Certificate(fixed.members[name].server.cert).checkIssued(new X509Certificate(pki.ca.cert))).toBe(true);
    }
  });

  test('a stored CA key that does not belong to the CA certificate is an error', async () => {
    const other = await issueClusterPki({ spec });
    await expect(issueClusterPki({ spec, existing: { ...pki, ca: { cert: pki.ca.cert, key: other.ca.key } } })).rejects.toThrow(
      /does not belong to the stored CA certificate/,
    );
  });

  test('a leaf never outlives its CA', async () => {
    const short = ClusterSpec.parse({ ...base, tls: { ...base.tls, caDays: 2, certDays: 365 } });
    const p = await issueClusterPki({ spec: short });
    const caEnd = new Date(certificateInfo(p.ca.cert).notAfter).getTime();
    for (const m of Object.values(p.members))
      expect(new Date(certificateInfo(m.server.cert).notAfter).getTime()).toBeLessThanOrEqual(caEnd);
    expect(new Date(certificateInfo(p.admin.cert).notAfter).getTime()).toBeLessThanOrEqual(caEnd);
  });

  test('a subject with DN special characters is encoded literally', async () => {
    const odd = ClusterSpec.parse({
      ...base,
      tls: { ...base.tls, subject: { country: 'US', organization: '#1 "Acme", Inc.+Co', commonName: 'etcd' } },
    });
    const p = await issueClusterPki({ spec: odd });
    const f = await writePki(p, 'odd-subject');
    const subject = await openssl(['x509', '-in', f.members['etcd-1'].server, '-noout', '-subject', '-nameopt', 'RFC2253']);
    expect(subject.trim()).toBe('subject=CN=etcd-1,O=\\#1 \\"Acme\\"\\, Inc.\\+Co,C=US');
  });
});

// --- a real mutual-TLS handshake ----------------------------------------------------------

describe('mutual TLS handshake with node tls', () => {
  const spec = ClusterSpec.parse({
    name: 'hs',
    members: members(2, 50),
    tls: { caKey: { algorithm: 'ecdsa', curve: 'P-256' }, leafKey: { algorithm: 'ecdsa', curve: 'P-256' }, useLocalhost: true },
  });
  const otherSpec = ClusterSpec.parse({ ...spec, name: 'other' });
  let pki: ClusterPki;
  let other: ClusterPki;
  const servers: tls.Server[] = [];
  const sockets = new Set<tls.TLSSocket>();

  beforeAll(async () => {
    [pki, other] = await Promise.all([issueClusterPki({ spec }), issueClusterPki({ spec: otherSpec })]);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  /** An etcd-like listener: presents `cert`, requires a client certificate from `ca`, greets with the client's CN. */
  async function listen(cert: { cert: string; key: string }, ca: string): Promise<number> {
    const server = tls.createServer({ cert: cert.cert, key: cert.key, ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.end(`hello ${socket.getPeerCertificate().subject.CN}\n`);
    });
    server.on('tlsClientError', () => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  function connect(
    port: number,
    client: { cert: string; key: string },
    ca: string,
  ): Promise<{ ok: boolean; data: string; error?: string }> {
    return new Promise((resolve) => {
      let data = '';
      const socket = tls.connect({ host: '127.0.0.1', port, ca, cert: client.cert, key: client.key });
      sockets.add(socket);
      socket.setEncoding('utf8');
      socket.on('data', (d) => (data += d));
      socket.on('error', (err) => resolve({ ok: false, data, error: err.message }));
      socket.on('close', () => resolve({ ok: data.startsWith('hello '), data }));
    });
  }

  test('the admin certificate is accepted by a member server certificate requiring client certs', async () => {
    const port = await listen(pki.members['etcd-1'].server, pki.ca.cert);
    const r = await connect(port, pki.admin, pki.ca.cert);
    expect(r).toEqual({ ok: true, data: `hello ${ADMIN_COMMON_NAME}\n` });
  });

  test('peers authenticate each other with their peer certificates', async () => {
    const port = await listen(pki.members['etcd-1'].peer, pki.ca.cert);
    const r = await connect(port, pki.members['etcd-2'].peer, pki.ca.cert);
    expect(r).toEqual({ ok: true, data: 'hello etcd-2\n' });
  });

  test('a client certificate from another CA is rejected', async () => {
    const port = await listen(pki.members['etcd-1'].server, pki.ca.cert);
    // The client trusts the server; only the server's check of the client can fail.
    const r = await connect(port, other.admin, pki.ca.cert);
    expect(r.ok).toBe(false);
    expect(r.data).toBe('');
  });

  test('a server certificate from another CA is rejected by the client', async () => {
    const port = await listen(other.members['etcd-1'].server, pki.ca.cert);
    const r = await connect(port, pki.admin, pki.ca.cert);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/certificate/i);
  });
});
