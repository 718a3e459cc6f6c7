// Which known_hosts files OpenSSH checks a cluster's hosts against: the
// operator's ETCDFLEET_SSH_KNOWN_HOSTS, plus the spec's own ssh.hostKeys for
// hosts in ETCDFLEET_SSH_ALLOWED_NETWORKS only (written to a worker-side file).
// A spec can so never vouch for a host the operator did not put in reach.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { SshConfig } from '../../../infra/config';
import type { ClusterSpec } from '../../../common/spec';
import { ensureControlDir } from './transport';

function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** Whether an IPv4 address lies in one of the CIDRs (`10.0.0.0/8`, or a bare address for /32). */
export function inNetworks(address: string, cidrs: string[]): boolean {
  const a = ipv4ToInt(address);
  if (a === undefined) return false;
  return cidrs.some((c) => {
    const [net, bitsText] = c.split('/');
    const n = ipv4ToInt(net);
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (n === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
      throw new Error(`ETCDFLEET_SSH_ALLOWED_NETWORKS: "${c}" is not an IPv4 CIDR`);
    }
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (a & mask) >>> 0 === (n & mask) >>> 0;
  });
}

/** The host of a known_hosts pattern: `10.0.0.1` or `[10.0.0.1]:2222`. */
function patternHost(p: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(p);
  return m ? m[1] : p;
}

/** The spec's host key lines that count: every host pattern of the line an address in an allowed network. */
export function allowedHostKeyLines(lines: string[], networks: string[]): string[] {
  if (networks.length === 0) return [];
  return lines.filter((line) => {
    const hosts = line.trim().split(/\s+/)[0].split(',');
    return hosts.every((h) => !h.startsWith('!') && inNetworks(patternHost(h), networks));
  });
}

/** The known_hosts files for a cluster's hosts, writing the spec's allowed keys (if any) under cfg.dir. */
export function knownHostsFiles(cfg: SshConfig, spec: Pick<ClusterSpec, 'name' | 'ssh'>): string[] {
  const files: string[] = [];
  if (cfg.knownHosts) files.push(cfg.knownHosts);
  const extra = allowedHostKeyLines(spec.ssh?.hostKeys ?? [], cfg.allowedNetworks);
  if (extra.length) {
    ensureControlDir(cfg.dir);
    const content = `${extra.join('\n')}\n`;
    const file = path.join(cfg.dir, `known_hosts.${spec.name}`);
    const have = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (have !== content) {
      const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
      fs.writeFileSync(tmp, content, { mode: 0o600 });
      fs.renameSync(tmp, file);
    }
    files.push(file);
  }
  if (files.length === 0) {
    throw ApplicationFailure.nonRetryable(
      'the ssh provider needs pinned host keys: set ETCDFLEET_SSH_KNOWN_HOSTS (or allow the hosts with ETCDFLEET_SSH_ALLOWED_NETWORKS and give ssh.hostKeys)',
      'SshNotConfigured',
    );
  }
  return files;
}
