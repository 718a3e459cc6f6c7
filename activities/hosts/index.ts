// Host providers: one HostProvider interface (provider.ts), chosen from the
// spec's `provider`. `local` is the only implementation so far; `ssh` plugs
// in here.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { LocalHostProvider } from './local/host';
import type { HostProvider } from './provider';

export type * from './provider';
export { hostFiles } from './members';

/** The provider for a spec (a spec without one, e.g. a bare member ref, means the default `local`). */
export function providerFor(spec: Pick<ClusterSpec, 'provider'> | undefined, cfg: Pick<Config, 'hostsDir'>): HostProvider {
  const kind = spec?.provider ?? 'local';
  switch (kind) {
    case 'local':
      return new LocalHostProvider(cfg.hostsDir);
    case 'ssh':
      throw ApplicationFailure.nonRetryable('the ssh host provider is not available yet; use "local"', 'ProviderUnavailable');
    default:
      throw ApplicationFailure.nonRetryable(`unknown host provider "${String(kind)}"`, 'ProviderUnavailable');
  }
}
