// Host providers. Only `local` exists so far; `ssh` will export the same functions.
export * from './local';
