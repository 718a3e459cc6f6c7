// Checks that the baseline did the same work as etcdfleet: the same etcd
// config keys with the same values (apart from names, paths and URLs), and
// certificates of the same shape (key type and size, signature, extensions,
// SAN kinds). Run once, on the warm-up pair; differences are reported, not
// fatal (the numbers are still measurements, just of different work).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { x509 } from '../../activities/pki/x509';

/** Keys whose values legitimately differ between the two clusters. */
const PER_CLUSTER = /^(name|data-dir|.*-urls|initial-cluster|initial-cluster-token|.*\.(cert|key|trusted-ca)-file)$/;

function flatten(o: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      for (const [kk, vv] of flatten(v, prefix ? `${prefix}.${k}` : k)) out.set(kk, vv);
    }
  } else out.set(prefix, JSON.stringify(o));
  return out;
}

export function compareConfigs(oursFile: string, baselineFile: string): string[] {
  const a = flatten(YAML.parse(fs.readFileSync(oursFile, 'utf8')));
  const b = flatten(YAML.parse(fs.readFileSync(baselineFile, 'utf8')));
  const diffs: string[] = [];
  for (const k of a.keys()) if (!b.has(k)) diffs.push(`config key ${k} only in etcdfleet's config`);
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`config key ${k} only in the baseline's config`);
  for (const [k, v] of a) {
    if (!b.has(k) || PER_CLUSTER.test(k) || b.get(k) === v) continue;
    // etcdfleet's last step rewrites `new` to `existing` once the cluster is up (the baseline stops at healthy).
    if (k === 'initial-cluster-state' && v === '"existing"' && b.get(k) === '"new"') continue;
    diffs.push(`config ${k}: etcdfleet ${v}, baseline ${b.get(k)}`);
  }
  return diffs;
}

const EXT_NAMES: Record<string, string> = {
  '2.5.29.19': 'basicConstraints',
  '2.5.29.15': 'keyUsage',
  '2.5.29.37': 'extKeyUsage',
  '2.5.29.14': 'subjectKeyId',
  '2.5.29.35': 'authorityKeyId',
  '2.5.29.17': 'subjectAltName',
};

function signatureName(a: { name: string; hash?: { name: string } }): string {
  return `${a.name} ${a.hash?.name ?? ''}`.trim();
}

/** The parts of a certificate that say what work made it; not names, serials or dates. */
function certShape(pemText: string): Record<string, string> {
  const c = new x509.X509Certificate(pemText);
  const alg = c.publicKey.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
  const shape: Record<string, string> = {
    key: `${alg.name} ${alg.modulusLength ?? alg.namedCurve ?? ''}`.trim(),
    signature: signatureName(c.signatureAlgorithm as unknown as { name: string; hash?: { name: string } }),
    validityDays: String(Math.round((c.notAfter.getTime() - c.notBefore.getTime()) / 86_400_000 / 5) * 5),
  };
  for (const e of c.extensions) {
    const name = EXT_NAMES[e.type] ?? e.type;
    let value = e.critical ? 'critical' : '';
    if (e instanceof x509.BasicConstraintsExtension) value += ` ca=${e.ca} pathLength=${e.pathLength ?? '-'}`;
    else if (e instanceof x509.KeyUsagesExtension) value += ` ${e.usages}`;
    else if (e instanceof x509.ExtendedKeyUsageExtension) value += ` ${[...e.usages].map(String).sort().join(',')}`;
    else if (e instanceof x509.SubjectAlternativeNameExtension) {
      value += ` ${e.names.items
        .map((n) => n.type)
        .sort()
        .join(',')}`;
    }
    shape[name] = value.trim();
  }
  return shape;
}

const CERTS = ['ca.pem', 'etcd.pem', 'peer.pem', 'admin.pem'];
const KEYS = ['etcd-key.pem', 'peer-key.pem', 'admin-key.pem'];

export function compareCerts(oursDir: string, baselineDir: string): string[] {
  const diffs: string[] = [];
  for (const f of CERTS) {
    const a = certShape(fs.readFileSync(path.join(oursDir, f), 'utf8'));
    const b = certShape(fs.readFileSync(path.join(baselineDir, f), 'utf8'));
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[k] !== b[k]) diffs.push(`${f} ${k}: etcdfleet ${a[k] ?? '(none)'}, baseline ${b[k] ?? '(none)'}`);
    }
  }
  for (const f of KEYS) {
    const head = (dir: string) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n')[0];
    if (head(oursDir) !== head(baselineDir)) diffs.push(`${f}: etcdfleet ${head(oursDir)}, baseline ${head(baselineDir)}`);
  }
  return diffs;
}
