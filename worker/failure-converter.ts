// The failure converter of clients, workers and workflow bundles (named by
// path in the data converter, so it is bundled into the workflow sandbox too).
// With encodeCommonAttributes, a failure's message and stack trace travel as an
// encoded payload, which the codec encrypts, and history shows only
// "Encoded failure" to anyone without the codec.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
