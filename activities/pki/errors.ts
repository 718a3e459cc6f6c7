// Configuration problems (wrong passphrase, unusable stored CA) never go away
// on retry, so they fail the activity for good instead of retrying forever.
import { ApplicationFailure } from '@temporalio/common';

export const PKI_ERROR_TYPE = 'PkiError';

export function pkiError(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: PKI_ERROR_TYPE, nonRetryable: true });
}
