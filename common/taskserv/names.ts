// Taskserv import (see index.ts): the cluster's name when the configs give none, and
// how a given one is made a valid cluster name.
export function sanitizeClusterName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
}

/**
 * The cluster name when no cluster_name/name is given: the members' common
 * name prefix without trailing digits and separators (etcd-1, etcd-2 → etcd;
 * infra0..2 → infra), else the first member's name, else "etcd"; always made
 * a valid cluster name (lowercase, digits, dashes, ≤ 40 chars).
 */
export function clusterNameFor(memberNames: string[]): string {
  let prefix = memberNames[0] ?? '';
  for (const n of memberNames.slice(1)) {
    let i = 0;
    while (i < prefix.length && i < n.length && prefix[i] === n[i]) i++;
    prefix = prefix.slice(0, i);
  }
  const stem = sanitizeClusterName(prefix.replace(/[-_.\d]+$/, ''));
  if (stem) return stem;
  return sanitizeClusterName(memberNames[0] ?? '') || 'etcd';
}
