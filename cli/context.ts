// What every command gets: the API client from the global flags, where to
// write, whether stdout is a terminal, and following queued operations.
import type { Command } from 'commander';
import { resolveConnection } from './connection';
import { Api } from './http';
import { EXIT } from './errors';
import { follow } from './progress';

export interface Ctx {
  api: Api;
  tty: boolean;
  write(line: string): void;
}

export interface CtxFactory {
  (cmd: Command): Ctx;
}

/** Reads the global --url/--token from the root command (any depth). */
export const defaultCtx: CtxFactory = (cmd) => {
  let root = cmd;
  while (root.parent) root = root.parent;
  const flags = root.opts<{ url?: string; token?: string }>();
  return {
    api: new Api(resolveConnection(flags)),
    tty: Boolean(process.stdout.isTTY) && process.env.TERM !== 'dumb',
    write: (line) => void process.stdout.write(`${line}\n`),
  };
};

/**
 * Prints what was queued; with `wait`, follows each operation in turn and
 * returns 1 as soon as one did not succeed (the ones after it are not waited for).
 */
export async function finishQueued(ctx: Ctx, ids: string[], wait: boolean): Promise<number> {
  if (!wait) {
    for (const id of ids) ctx.write(`queued ${id} (follow it with: etcdfleet watch ${id})`);
    return EXIT.ok;
  }
  for (const id of ids) {
    const op = await follow(ctx.api, id, { tty: ctx.tty, write: ctx.write });
    if (op.status !== 'Succeeded') return EXIT.failed;
  }
  return EXIT.ok;
}
