// Host providers: one HostProvider interface (provider.ts), chosen from the
// spec's `provider`: `local` (members under <hostsDir> on this machine) or
// `ssh` (members on real hosts over OpenSSH, etcd as a systemd unit).
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { LocalHostProvider } from './local/host';
import { SshHostProvider } from './ssh/host';
import type { HostProvider } from './provider';

export type * from './provider';
export { hostFiles } from './members';

/** The provider for a spec (a spec without one, e.g. a bare member ref, means the default `local`). */
export function providerFor(
  spec: Pick<ClusterSpec, 'provider'> | undefined,
  cfg: Pick<Config, 'hostsDir'> & Partial<Pick<Config, 'ssh'>>,
): HostProvider {
  const kind = spec?.provider ?? 'local';
  switch (kind) {
    case 'local':
      return new LocalHostProvider(cfg.hostsDir);
    case 'ssh':
      if (!cfg.ssh) throw ApplicationFailure.nonRetryable('the ssh provider is not configured on this worker', 'SshNotConfigured');
      return new SshHostProvider(cfg.ssh);
    default:
      throw ApplicationFailure.nonRetryable(`unknown host provider "${String(kind)}"`, 'ProviderUnavailable');
  }
}
