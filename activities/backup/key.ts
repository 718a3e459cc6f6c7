// The backup encryption key: ETCDFLEET_BACKUP_KEY (base64, 32 bytes) or generated into the state dir.
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { base64KeyOf, persistedSecret, type Config } from '../../infra/config';
import { keyId, type EncryptionKey } from './backup';

export function backupKey(cfg: Pick<Config, 'stateDir'>, env = process.env): EncryptionKey {
  const b64 = persistedSecret(cfg.stateDir, 'backup.key', env.ETCDFLEET_BACKUP_KEY, () => crypto.randomBytes(32).toString('base64'), {
    env: 'ETCDFLEET_BACKUP_KEY',
    check: base64KeyOf(32),
  });
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw ApplicationFailure.nonRetryable('ETCDFLEET_BACKUP_KEY must be 32 bytes, base64', 'BadBackupKey');
  return { key, id: keyId(key) };
}
