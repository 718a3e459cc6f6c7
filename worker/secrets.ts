// Every secret a process needs, read (or generated) once at start, so an empty
// or too-short token, key or passphrase stops the service with a clear message
// before it serves anything, instead of failing an activity hours later or,
// worse, running with authentication that accepts an empty token.
import { apiToken, caPassphrase, codecCapability, keyStoreKey, type Config } from '../infra/config';
import { backupKey } from '../activities/backup/key';
import { loadCodecKey } from './codec';

export interface ApiSecrets {
  token: string;
  codecCapability: string;
}

/** Secrets of the API: bearer token, codec capability, codec key. */
export function apiSecrets(config: Config, env = process.env): ApiSecrets {
  loadCodecKey(config.stateDir, env);
  return { token: apiToken(config, env), codecCapability: codecCapability(config, env) };
}

/** Secrets of the worker: codec key, backup key, CA passphrase, key-store key. */
export function checkWorkerSecrets(config: Config, env = process.env): void {
  loadCodecKey(config.stateDir, env);
  backupKey(config, env);
  caPassphrase(config, env);
  keyStoreKey(config, env);
}
