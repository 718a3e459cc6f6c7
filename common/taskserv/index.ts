// Import of the provisioning project's taskserv `ETCD` configs into a native
// cluster spec (POST /v1/imports/taskserv). Pure: no Node built-ins.
// Split along its seams: schema.ts (the config's schema and value parsers),
// configs.ts (finding the configs, agreement, address checks), members.ts
// (membership and per-node member drafts), blocks.ts (TLS, artifacts,
// logging, DNS, tunables, backup, maintenance); this file runs the import.
//
// Schema source: the taskserv's KCL schema (taskservs/etcd) could not be
// consulted when this was written, so `TaskservEtcd` below is reconstructed
// from the field list in DESIGN.md ("Taskserv ETCD config compatibility").
// Assumptions, each chosen to accept what the taskserv plausibly emits:
//   - One config per node (etcd_name, cli_ip/cli_port, peer_ip/peer_port,
//     listen_*/adv_listen_*) plus cluster-wide fields repeated on every node.
//     Configs may arrive bare, as a list (or multi-document YAML), or wrapped
//     as `{etcd: ...}` / `{ETCD: ...}` (KCL output keyed by the variable name).
//   - `null` means "not set" (KCL emits unset optional attributes as null).
//   - Scalars may be strings: ports "2379", booleans "true"/"yes", versions.
//   - cluster_list: member names, as a list or a comma/space separated string;
//     an entry may also be `name=peerURL` like initial_peers.
//   - initial_peers: etcd's initial-cluster entries `name=peerURL` (list or
//     comma-separated string). It supplies the address of members that have no
//     config of their own (the "one config with a cluster_list" form).
//   - listen_*/adv_listen_*: URL lists (`https://10.0.0.1:2379`, `10.0.0.1:2379`
//     or a bare host), comma-separated or as a list. adv_* win over cli_ip/peer_ip.
//   - ssl_sign/ca_sign: RSA or ECC (ECDSA, EC accepted). Without ca_sign the CA
//     key uses ssl_sign's algorithm. long_sign applies to RSA keys, ssl_curve to ECC keys.
//   - sign_sha: 256/384/512 or sha256/SHA-384 style.
//   - cipher: openssl style (`-aes256`, `aes-256-cbc`) → tls.caKeyCipher.
//   - conf_path may name the directory or the config file inside it.
//   - performance/storage/security: blocks of etcd settings in snake_case; each
//     block accepts every known key (which block a key lives in is not relied on).
//     Sizes may be "8GB" (binary units: 1 GB = 2^30, as etcd's docs use them).
//     Bare numbers for durations are seconds.
//   - backup: {enabled, interval, retention, s3_bucket, encryption} plus the
//     assumed s3_endpoint/s3_region/s3_prefix. A block without `enabled` is
//     enabled. A numeric retention is a count of backups to keep.
//   - kubernetes_integration: {enabled, compaction_interval, defrag_threshold,
//     health_check_interval}. defrag_threshold: "30%" or a number ≤ 100 is a
//     percentage of the database that is free space, a size or a larger number is bytes.
//   - cluster_name (or name) names the cluster; otherwise the name is derived
//     from the members' names (see clusterNameFor).
// Anything else is reported in `unsupported`, never silently dropped.
import { type Issue, isValidationError, parseClusterSpec, ValidationError, zodIssues } from '../parse';
import { type ClusterSpecInput, MAX_MEMBERS } from '../spec';
import { type ImportOptions, MAX_LIST, TaskservEtcd, type TaskservImport, type Unsupported } from './schema';
import {
  type Cfg,
  checkAddresses,
  checkAgreement,
  f,
  isLocalhost,
  parseEndpoint,
  type Provenance,
  reportUnknownFields,
  stripNulls,
  unwrapConfigs,
} from './configs';
import { draftMembers, localhostOnOneMachine, mapMembers, resolveMembership } from './members';
import { clusterNameFor, sanitizeClusterName } from './names';
import { mapArtifacts, mapBackup, mapDns, mapLogging, mapMaintenance, mapTls, mapTunables } from './blocks';

// The public names of the former common/taskserv.ts.
export { TASKSERV_FIELDS, TaskservEtcd, parseSize, type ImportOptions, type TaskservImport, type Unsupported } from './schema';
export { parseEndpoint } from './configs';
export { clusterNameFor } from './names';
export { artifactSourceFor } from './blocks';

/**
 * Maps taskserv ETCD configs to a native cluster spec. Throws ValidationError
 * (400) with paths into the taskserv input when the configs are malformed or
 * inconsistent, or when the mapped spec is invalid (e.g. non-loopback
 * addresses with the local provider).
 */
export function importTaskserv(input: unknown, opts: ImportOptions = {}): TaskservImport {
  const issues: Issue[] = [];
  const unsupported: Unsupported[] = [];
  const warnings: string[] = [];

  const located = unwrapConfigs(input, '', unsupported);
  if (located.length === 0) issues.push({ path: '', message: 'no taskserv ETCD config found' });
  if (located.length > MAX_LIST)
    throw new ValidationError([{ path: '', message: `${located.length} configs: a cluster has at most ${MAX_MEMBERS} members` }]);

  // The protocol URLs are checked against: the first one given (a disagreement is reported below).
  const given = located.map((l) => l.raw?.etcd_protocol).find((p): p is string => typeof p === 'string' && /^\s*https?\s*$/i.test(p));
  const protocol = given?.trim().toLowerCase() ?? 'https';
  const cfgs: Cfg[] = [];
  for (const l of located) {
    if (!l.raw) {
      issues.push({ path: l.path, message: 'expected a taskserv ETCD config (an object with etcd_name, ...)' });
      continue;
    }
    const raw = stripNulls(l.raw);
    const r = TaskservEtcd.safeParse(raw);
    if (!r.success) issues.push(...zodIssues(r.error, l.path));
    else cfgs.push({ c: r.data, raw, path: l.path });
    checkAddresses({ raw, path: l.path }, protocol, issues);
  }
  if (issues.length) throw new ValidationError(issues);

  reportUnknownFields(cfgs, unsupported);
  checkAgreement(cfgs, issues);
  const names = new Map<string, Cfg>();
  for (const cfg of cfgs) {
    const prev = names.get(cfg.c.etcd_name);
    if (prev)
      issues.push({ path: f(cfg, 'etcd_name'), message: `duplicate etcd_name "${cfg.c.etcd_name}" (also ${f(prev, 'etcd_name')})` });
    else names.set(cfg.c.etcd_name, cfg);
  }
  if (issues.length) throw new ValidationError(issues);

  /** The first config (in input order) that sets a cluster-wide field. */
  const first = <K extends keyof TaskservEtcd>(k: K): { v: NonNullable<TaskservEtcd[K]>; cfg: Cfg } | undefined => {
    const cfg = cfgs.find((x) => x.c[k] !== undefined);
    return cfg ? { v: cfg.c[k] as NonNullable<TaskservEtcd[K]>, cfg } : undefined;
  };

  // On ssh, a 127.0.0.1 client URL beside each member's own is useLocalhost's listener.
  const loopback = opts.provider === 'ssh' && !first('use_localhost')?.v ? loopbackClientListeners(cfgs) : undefined;
  const useLocalhost = (first('use_localhost')?.v ?? false) || loopback !== undefined;

  const membership = resolveMembership(cfgs, first, issues);
  const { memberNames } = membership;
  const drafts = draftMembers(membership, names, protocol, useLocalhost, issues, unsupported);

  const prov: Provenance = new Map();
  const spec: ClusterSpecInput = { name: '', members: [] };

  // Name.
  const taskservNames = new Set(cfgs.flatMap((x) => (x.c.name !== undefined ? [x.c.name] : [])));
  const named = first('cluster_name') ?? (taskservNames.size === 1 ? first('name') : undefined);
  if (!first('cluster_name') && taskservNames.size > 1)
    warnings.push(`the configs name different taskservs (${[...taskservNames].join(', ')}), so none of them names the cluster`);
  let name: string;
  if (opts.name !== undefined) {
    name = opts.name;
    prov.set('name', 'name');
  } else if (named) {
    name = sanitizeClusterName(named.v) || clusterNameFor(memberNames);
    prov.set('name', f(named.cfg, named.cfg.c.cluster_name !== undefined ? 'cluster_name' : 'name'));
    if (name !== named.v)
      warnings.push(`cluster name "${named.v}" became "${name}" (lowercase letters, digits and dashes, up to 40 characters)`);
  } else {
    name = clusterNameFor(memberNames);
    warnings.push(`no cluster_name given: the cluster is named "${name}" after its members`);
  }
  spec.name = name;
  if (opts.provider) spec.provider = opts.provider;

  const version = first('version');
  if (version) {
    spec.version = version.v;
    prov.set('version', f(version.cfg, 'version'));
  }

  mapMembers(cfgs, names, drafts, first, spec, prov, warnings);

  mapTls(first, spec, prov, warnings);
  // The CA is the cluster's: its subject is the cluster name (CN <name>-ca) and c.
  spec.tls = { ...spec.tls, subject: { ...spec.tls?.subject, commonName: name } };
  prov.set('tls.subject.commonName', prov.get('name')!);
  if (loopback) {
    spec.tls = { ...spec.tls, useLocalhost: true };
    prov.set('tls.useLocalhost', f(loopback, 'listen_clients'));
  }
  if (useLocalhost && (opts.provider ?? 'local') === 'local') localhostOnOneMachine(spec, first('use_localhost')!.cfg, unsupported);
  mapArtifacts(first, spec, prov, warnings);
  mapLogging(first, spec, prov);
  const token = first('token');
  if (token) {
    spec.token = token.v;
    prov.set('token', f(token.cfg, 'token'));
  }
  mapDns(first, spec, prov, unsupported, warnings);
  mapTunables(cfgs, spec, prov, issues, unsupported);
  mapBackup(first, spec, prov, unsupported);
  mapMaintenance(first, spec, prov, unsupported, warnings);
  if (issues.length) throw new ValidationError(issues);

  // The mapped spec must be valid; its own warnings come from parseClusterSpec where it is submitted.
  try {
    parseClusterSpec(spec);
  } catch (e) {
    if (isValidationError(e)) throw remap(e, prov);
    throw e;
  }
  return { spec, name, unsupported, warnings };
}

/**
 * The first config whose listen_clients lists 127.0.0.1 (or localhost) after
 * the member's own URL, when every config with listen_clients does (the
 * taskserv writes that on real servers); undefined otherwise.
 */
function loopbackClientListeners(cfgs: Cfg[]): Cfg | undefined {
  const listing = cfgs.filter((cfg) => cfg.c.listen_clients !== undefined);
  const extra = (cfg: Cfg) => cfg.c.listen_clients!.slice(1).some((text) => isLocalhost(parseEndpoint(text)!.host));
  return listing.length > 0 && listing.every(extra) ? listing[0] : undefined;
}

/** Re-addresses native spec issues to the taskserv fields they came from. */
function remap(err: ValidationError, prov: Provenance): ValidationError {
  const out: Issue[] = [];
  const seen = new Set<string>();
  for (const issue of err.issues) {
    const dotted = issue.path.replace(/\[(\d+)\]/g, '.$1');
    let path: string | undefined = prov.get(dotted);
    let message = issue.message;
    if (path === undefined) {
      // The closest mapped ancestor (e.g. backup.s3 for backup.s3.bucket).
      const parts = dotted.split('.');
      for (let n = parts.length - 1; n > 0 && path === undefined; n--) path = prov.get(parts.slice(0, n).join('.'));
      message = `${issue.path}: ${issue.message}`;
      if (path === undefined) {
        path = '';
        message = `in the spec derived from the configs, ${issue.path || 'the spec'}: ${issue.message}`;
      }
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return new ValidationError(out, err.status);
}
