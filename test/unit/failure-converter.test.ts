// Failure messages and stack traces go to Temporal history encrypted: the data
// converter of clients and workers names a failure converter with
// encodeCommonAttributes, and the codec encrypts the encoded attributes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow';
import { loadConfig } from '../../infra/config';
import { dataConverterFor } from '../../worker/temporal';

test('a failure reaches history as "Encoded failure" with encrypted attributes, and decodes back', async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-failure-'));
  try {
    const converter = loadDataConverter(dataConverterFor(loadConfig({ ETCDFLEET_STATE_DIR: stateDir })));
    const secret = 'member m1 at 10.1.2.3 refused: /var/lib/etcd/member';
    const failure = await encodeErrorToFailure(converter, ApplicationFailure.nonRetryable(secret, 'Refused'));
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    const attrs = failure.encodedAttributes!;
    expect(Buffer.from(attrs.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(JSON.stringify(failure)).not.toContain('10.1.2.3');
    expect(Buffer.from(attrs.data!).toString('latin1')).not.toContain('10.1.2.3');
    const back = await decodeOptionalFailureToOptionalError(converter, failure);
    expect(back?.message).toBe(secret);
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
