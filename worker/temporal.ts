// Temporal connections for the worker and the API, with the payload codec and
// the search attributes the workflows upsert.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../infra/config';
import { ALL_SEARCH_ATTRIBUTES } from '../common/searchAttributes';
import { AesGcmCodec, loadCodecKey } from './codec';

export function codecFor(config: Config): AesGcmCodec {
  return new AesGcmCodec(loadCodecKey(config.stateDir), { acceptPlaintext: config.acceptPlaintextPayloads });
}

/**
 * Module with the failure converter, for the client, the worker and workflow
 * bundles: failure messages and stack traces are encoded (so encrypted) in
 * history instead of sitting there in plaintext.
 */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The data converter of every client and worker: the payload codec and the failure converter. */
export function dataConverterFor(config: Config): DataConverter {
  return { payloadCodecs: [codecFor(config)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporalAddress });
  return new Client({
    connection,
    namespace: config.namespace,
    dataConverter: dataConverterFor(config),
  });
}

export async function connectWorkerConnection(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporalAddress });
}

/** Registers EtcdCluster/EtcdOperation/EtcdPhase/EtcdVersion when missing (a non-dev Temporal). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.customAttributes, ...existing.systemAttributes };
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !(k.name in known));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
}
