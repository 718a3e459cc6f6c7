// The one entry to @peculiar/x509: its DI container needs the Reflect metadata polyfill first,
// then the library bound to node's webcrypto.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
