// Where the API is and which token to send: flags, then ETCDFLEET_URL /
// ETCDFLEET_TOKEN, then the defaults `npm start` uses (127.0.0.1:8080 and
// the token it writes into <state dir>/api-token).
import fs from 'node:fs';
import path from 'node:path';
import { stateDir } from '../infra/config';
import { CliError, EXIT } from './errors';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface Connection {
  url: string;
  token: string;
}

export function resolveConnection(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const url = (flags.url || env.ETCDFLEET_URL || DEFAULT_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(url)) throw new CliError(`--url / ETCDFLEET_URL: not an http(s) URL: ${url}`, EXIT.usage);
  const given = flags.token || env.ETCDFLEET_TOKEN;
  if (given) return { url, token: given.trim() };
  const file = path.join(stateDir(env), 'api-token');
  try {
    return { url, token: fs.readFileSync(file, 'utf8').trim() };
  } catch {
    throw new CliError(`no token: set ETCDFLEET_TOKEN or --token (no token file at ${file}; npm start writes one there)`, EXIT.usage);
  }
}
