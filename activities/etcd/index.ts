// Everything that talks to etcd or renders its configuration.
export * from './config';
export * from './client';
export * from './membership';
