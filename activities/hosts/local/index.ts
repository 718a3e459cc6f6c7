// The `local` host provider: each member "host" is a directory tree under
// <hostsDir>/<cluster>/<member>/ laid out like the upstream taskserv puts
// etcd on a real machine (layout.ts), and a supervised etcd process bound to
// the member's loopback address (process.ts). Activities reach it only
// through HostProvider (host.ts); the functions are exported for tests.
import type { ClusterSpec } from '../../../common/spec';
import { clusterTopology, initialCluster as initialClusterOf } from '../../../common/topology';

export { BINARIES, installBinaries, installedVersion } from './binaries';
export { LocalHostProvider } from './host';
export { localClusterDir, localMemberFiles, localMemberRoot, localMemberRuntime, underRoot } from './layout';
export { prepareMemberHost, setMemberClusterState } from './prepare';
export { memberLogTail, memberProcessStatus, startMember, stopMember } from './process';
export { deletedDataPath, removeMemberHost } from './remove';
export type * from '../provider';

/** initial-cluster for a spec (all members), as used at bootstrap. */
export function specInitialCluster(spec: ClusterSpec): string {
  return initialClusterOf(clusterTopology(spec));
}
