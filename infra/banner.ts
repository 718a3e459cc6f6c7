// What `npm start` prints once everything is up.
import path from 'node:path';
import type { Config } from './config';

export interface BannerInput {
  api: string;
  config: Pick<Config, 'temporalAddress' | 'stateDir'>;
  external: boolean;
  ui: string;
  token: string;
  /** stdout is a terminal. */
  tty: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * The token itself only goes to a terminal: when stdout is a file or a pipe
 * (CI logs, the journal, `npm start > log`) the banner says where the token is
 * stored instead, and the example command reads it from there.
 */
export function banner(o: BannerInput): string {
  const fromEnv = Boolean((o.env ?? process.env).ETCDFLEET_API_TOKEN);
  const file = path.join(o.config.stateDir, 'api-token');
  const shown = o.tty ? o.token : fromEnv ? 'in $ETCDFLEET_API_TOKEN' : `in ${file}`;
  const inCurl = o.tty ? o.token : fromEnv ? '$ETCDFLEET_API_TOKEN' : `$(cat ${file})`;
  return (
    [
      '',
      'etcdfleet is running',
      `  API        ${o.api}   (token: ${shown})`,
      `  Temporal   ${o.config.temporalAddress}${o.external ? ' (external)' : ''}`,
      `  UI         ${o.ui}`,
      `  state dir  ${o.config.stateDir}`,
      `  try        curl -H "Authorization: Bearer ${inCurl}" ${o.api}/v1/clusters`,
      '  Ctrl-C stops the service; etcd members keep running.',
      '',
    ].join('\n') + '\n'
  );
}
