// How the cluster entity words an observed health: pure, shared by the
// workflows (the cluster's reason) and anything that renders the same view.
import { CERT_EXPIRY_WARNING_DAYS, type ClusterHealthView } from './operations';

/** Why a cluster is unhealthy: the unhealthy members, a missing leader, alarms. */
export function unhealthyReason(h: ClusterHealthView): string {
  const parts = h.members.filter((m) => !m.healthy).map((m) => `${m.name} unhealthy${m.error ? ` (${m.error})` : ''}`);
  if (!h.leader) parts.push('no leader');
  if (h.alarms.length) parts.push(`alarms: ${h.alarms.join(', ')}`);
  return parts.join('; ') || h.error || 'unhealthy';
}

/** Certificates that expire soon: named in the reason, without degrading a healthy cluster. */
export function expiryWarnings(h: ClusterHealthView, now: number): string | undefined {
  const soon = (h.certificates ?? []).filter((c) => Date.parse(c.notAfter) - now < CERT_EXPIRY_WARNING_DAYS * 86400e3);
  if (soon.length === 0) return undefined;
  return `certificates expiring: ${soon.map((c) => `${c.member} ${c.certificate} ${c.notAfter.slice(0, 10)}`).join(', ')}`;
}

/** The cluster's reason after a health check: what is wrong, what expires soon, the last failed operation. */
export function healthReason(h: ClusterHealthView, now: number, lastError?: string): string | undefined {
  const why = h.healthy ? undefined : unhealthyReason(h);
  const reason = [why, expiryWarnings(h, now), lastError && `last operation: ${lastError}`].filter(Boolean).join('; ');
  return reason || undefined;
}

/**
 * What of a health reading the entity acts on and alerts read: who answers and how (healthy, leader, learner,
 * version, errors), alarms, missing members, certificate expiry. Raft indexes, database sizes, timings and
 * the time of the check are left out: they move on every reading of a cluster at rest.
 */
export function healthSignature(h: ClusterHealthView): string {
  return JSON.stringify([
    h.healthy,
    h.leader ?? null,
    h.alarms,
    h.error ?? null,
    h.members.map((m) => [m.name, m.id ?? null, m.healthy, m.isLeader, m.isLearner, m.version ?? null, m.error ?? null]),
    (h.certificates ?? []).map((c) => [c.member, c.certificate, c.notAfter]),
  ]);
}
