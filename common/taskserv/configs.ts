// Taskserv import (see index.ts): locating the configs in the input, the
// fields every config must agree on, and the checks of address-bearing fields.
import { type Issue, joinPath } from '../parse';
import { isAddress } from '../spec';
import {
  BackupBlock,
  EtcdSettingsBlock,
  KubernetesIntegrationBlock,
  MAX_LIST,
  TASKSERV_FIELDS,
  TaskservEtcd,
  type Unsupported,
} from './schema';

// ---------------------------------------------------------------------------
// Input shapes

interface Located {
  /** undefined when the entry is not an object (reported in order with the others). */
  raw?: Record<string, unknown>;
  /** Rendered path of the config in the input: '', '[1]', 'etcd', '[0].ETCD'. */
  path: string;
}

const WRAPPER_KEYS = ['etcd', 'ETCD', 'Etcd'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function unwrapConfigs(input: unknown, path: string, unsupported: Unsupported[]): Located[] {
  if (Array.isArray(input)) {
    return input.flatMap((v, i) => unwrapConfigs(v, `${path}[${i}]`, unsupported));
  }
  if (!isPlainObject(input)) return [{ path }];
  const wrapper = WRAPPER_KEYS.find((k) => k in input);
  if (wrapper && !('etcd_name' in input) && (isPlainObject(input[wrapper]) || Array.isArray(input[wrapper]))) {
    for (const k of Object.keys(input)) {
      if (k !== wrapper) unsupported.push({ field: joinPath(path, k), reason: `ignored: only the "${wrapper}" config is imported` });
    }
    return unwrapConfigs(input[wrapper], joinPath(path, wrapper), unsupported);
  }
  return [{ raw: input, path }];
}

/** KCL emits unset optional attributes as null: treat them as absent. */
export function stripNulls(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    out[k] = isPlainObject(x) ? stripNulls(x) : x;
  }
  return out;
}

export interface Cfg {
  c: TaskservEtcd;
  raw: Record<string, unknown>;
  path: string;
}

export const f = (cfg: { path: string }, field: string) => joinPath(cfg.path, field);

/** Path of entry k of a list field: `initial_peers[1]` when the input was a list, else the field. */
export function listEntryPath(cfg: Omit<Cfg, 'c'>, field: string, k: number): string {
  return Array.isArray(cfg.raw[field]) ? `${f(cfg, field)}[${k}]` : f(cfg, field);
}

// ---------------------------------------------------------------------------
// Endpoints

export interface Endpoint {
  scheme?: string;
  host: string;
  port?: number;
}

export function parseEndpoint(s: string): Endpoint | undefined {
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\[[^\]]*\]|[^:/\s[\]]+)(?::(\d{1,5}))?\/?$/i.exec(s.trim());
  if (!m) return undefined;
  return { scheme: m[1]?.toLowerCase(), host: m[2], port: m[3] !== undefined ? Number(m[3]) : undefined };
}

const BIND_ALL = new Set(['0.0.0.0', '::', '[::]']);
export const isConcrete = (host: string) => !BIND_ALL.has(host);
export const isLocalhost = (host: string) => host === '127.0.0.1' || host === 'localhost';

/**
 * Fields that describe the cluster, not one node: every config that sets one
 * must agree. Per node, and free to differ: etcd_name, hostname, cn, the
 * addresses and ports, the paths, and `name` (the taskserv's own name for the
 * config; it names the cluster only when every config agrees on it).
 */
const CLUSTER_WIDE = [
  'cluster_name',
  'version',
  'token',
  'cluster_list',
  'initial_peers',
  'etcd_protocol',
  'ssl_sign',
  'ca_sign',
  'long_sign',
  'ssl_curve',
  'sign_sha',
  'ca_sign_days',
  'sign_days',
  'c',
  'cipher',
  'source_url',
  'log_level',
  'log_out',
  'use_localhost',
  'use_dns',
  'domain_name',
  'discovery_srv',
  'dns_discovery',
  'performance',
  'storage',
  'security',
  'backup',
  'kubernetes_integration',
] as const satisfies readonly (keyof TaskservEtcd)[];

function comparable(field: string, v: unknown): string {
  if (field === 'cluster_list') return JSON.stringify([...(v as string[]).map((e) => e.split('=')[0])].sort());
  if (field === 'initial_peers') return JSON.stringify([...(v as string[])].sort());
  return stableJson(v);
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isPlainObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export type Provenance = Map<string, string>;

export function reportUnknownFields(cfgs: Cfg[], unsupported: Unsupported[]): void {
  const known = new Set<string>(TASKSERV_FIELDS as string[]);
  const blockKnown: Record<string, Set<string>> = {
    performance: new Set(Object.keys(EtcdSettingsBlock.shape)),
    storage: new Set(Object.keys(EtcdSettingsBlock.shape)),
    security: new Set(Object.keys(EtcdSettingsBlock.shape)),
    backup: new Set(Object.keys(BackupBlock.shape)),
    kubernetes_integration: new Set(Object.keys(KubernetesIntegrationBlock.shape)),
  };
  for (const cfg of cfgs) {
    for (const k of Object.keys(cfg.raw)) {
      if (!known.has(k))
        unsupported.push({ field: f(cfg, k), reason: 'unknown field: not part of the taskserv ETCD schema etcdfleet maps; ignored' });
    }
    for (const [block, keys] of Object.entries(blockKnown)) {
      const b = cfg.raw[block];
      if (!isPlainObject(b)) continue;
      for (const k of Object.keys(b)) {
        if (!keys.has(k)) unsupported.push({ field: joinPath(f(cfg, block), k), reason: `unknown ${block} setting: ignored` });
      }
    }
  }
}

export function checkAgreement(cfgs: Cfg[], issues: Issue[]): void {
  for (const field of CLUSTER_WIDE) {
    const setters = cfgs.filter((x) => x.c[field] !== undefined);
    if (setters.length < 2) continue;
    const ref = setters[0];
    const want = comparable(field, ref.c[field]);
    for (const other of setters.slice(1)) {
      if (comparable(field, other.c[field]) !== want) {
        issues.push({
          path: f(other, field),
          message: `differs from ${f(ref, field)}: ${field} describes the whole cluster, so every node's config must agree (${short(other.raw[field])} vs ${short(ref.raw[field])})`,
        });
      }
    }
  }
}

export function short(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : stableJson(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export const URL_FIELDS = ['listen_peers', 'listen_clients', 'adv_listen_peers', 'adv_listen_clients'] as const;
const PEER_FORMAT = 'a name=peerURL entry (like etcd-1=https://10.0.0.1:2380)';

/** What is wrong with one URL or host:port entry, if anything. */
function endpointProblem(text: string, protocol: string): string | undefined {
  const e = parseEndpoint(text);
  if (!e) return `"${text}" is not a URL or host:port`;
  if (e.scheme && e.scheme !== protocol) return `${e.scheme}:// in "${text}" does not match etcd_protocol ${protocol}`;
  if (!isAddress(e.host) && !BIND_ALL.has(e.host)) return `"${e.host}" in "${text}" is not an IPv4 address or a DNS name`;
  if (e.port !== undefined && (e.port < 1 || e.port > 65535)) return `port ${e.port} in "${text}" is not between 1 and 65535`;
  return undefined;
}

function peerProblem(entry: string, protocol: string): string | undefined {
  const eq = entry.indexOf('=');
  if (eq <= 0 || !entry.slice(0, eq).trim()) return `"${entry}" is not ${PEER_FORMAT}`;
  return endpointProblem(entry.slice(eq + 1), protocol);
}

/**
 * Every address-bearing list entry of one config, checked on its own: a
 * malformed host, a port out of range or a scheme other than etcd_protocol is
 * an issue even where another field would win. (cli_ip, peer_ip and the ports
 * are checked by the schema.)
 */
export function checkAddresses(cfg: Omit<Cfg, 'c'>, protocol: string, issues: Issue[]): void {
  const check = (field: string, separator: RegExp, problemOf: (entry: string) => string | undefined) => {
    rawList(cfg.raw[field], separator).forEach((entry, k) => {
      const problem = problemOf(entry);
      if (problem) issues.push({ path: listEntryPath(cfg, field, k), message: problem });
    });
  };
  for (const field of URL_FIELDS) check(field, /,/, (e) => endpointProblem(e, protocol));
  check('initial_peers', /,/, (e) => peerProblem(e, protocol));
  check('cluster_list', /[\s,]+/, (e) => (e.includes('=') ? peerProblem(e, protocol) : undefined));
}

/**
 * The string entries of a list field as given (a list, or a separated
 * string), read from the raw config so that a config whose other fields
 * fail the schema still gets its addresses checked in the same answer.
 * Entries of the wrong type are the schema's to report.
 */
function rawList(v: unknown, separator: RegExp): string[] {
  if (typeof v === 'string')
    return v
      .split(separator)
      .map((x) => x.trim())
      .filter(Boolean);
  if (Array.isArray(v) && v.length <= MAX_LIST) return v.map((x) => (typeof x === 'string' ? x.trim() : ''));
  return [];
}

/** The first config (in input order) that sets a cluster-wide field. */
export type First = <K extends keyof TaskservEtcd>(k: K) => { v: NonNullable<TaskservEtcd[K]>; cfg: Cfg } | undefined;
