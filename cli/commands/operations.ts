// Commands that queue an operation: members, upgrade, backup, restore,
// compact, defrag; and `backups` (the catalogue). Each has --wait.
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseBody } from '../../common/parse';
import { finishQueued, type Ctx, type CtxFactory } from '../context';
import { CliError, EXIT } from '../errors';
import { backupsTable, OUTPUT_FORMATS, parseOutputFormat, structured } from '../format';

const enc = encodeURIComponent;
type Run = (fn: () => Promise<number | void>) => Promise<void>;

const port = (v: string) => {
  const n = Number(v);
  // InvalidArgumentError: commander's own usage error (exit 2, no stack trace), as for every option value.
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('a port number from 1 to 65535');
  return n;
};

/** --to-revision: a positive integer revision. */
export const revisionArg = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a positive revision number');
  return n;
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** --to-time: an RFC 3339 time with its offset, passed on as given. */
export const timeArg = (v: string) => {
  if (!RFC3339.test(v) || Number.isNaN(Date.parse(v)))
    throw new InvalidArgumentError('an RFC 3339 time with its offset, e.g. 2026-12-03T09:30:00Z');
  return v;
};

/** A YAML/JSON file as an object (members add -f, restore --spec). */
export function readObjectFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`, EXIT.usage);
  }
  const v = parseBody(text, /\.json$/i.test(file) ? 'application/json' : 'application/yaml');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliError(`${file}: expected one object`, EXIT.usage);
  return v as Record<string, unknown>;
}

/** The body of `members add`: the file's member, with the flags over it. */
export function memberBody(
  member: string | undefined,
  o: { filename?: string; address?: string; clientPort?: number; peerPort?: number; hostname?: string },
) {
  const body: Record<string, unknown> = o.filename ? readObjectFile(o.filename) : {};
  if (member) body.name = member;
  if (o.address) body.address = o.address;
  if (o.clientPort) body.clientPort = o.clientPort;
  if (o.peerPort) body.peerPort = o.peerPort;
  if (o.hostname) body.hostname = o.hostname;
  return body;
}

export function operationCommands(program: Command, ctxOf: CtxFactory, run: Run): void {
  const queue = (cmd: Command, method: string, url: string, body: unknown, wait: boolean) =>
    run(async () => {
      const ctx: Ctx = ctxOf(cmd);
      const r = await ctx.api.call(method, url, body);
      return finishQueued(ctx, [r.operationId], wait);
    });
  const waitOption = () => new Option('-w, --wait', 'follow the operation to its end (exit status 0 when it succeeded)');

  const members = program.command('members').description('add, remove or replace one member');
  members
    .command('add')
    .argument('<cluster>')
    .argument('[member]', 'the new member name (or in the file)')
    .option('-f, --filename <file>', 'the member as YAML/JSON (the spec members[] entry)')
    .option('--address <ip>', 'advertised address')
    .option('--client-port <port>', 'client port', port)
    .option('--peer-port <port>', 'peer port', port)
    .option('--hostname <name>', 'DNS SAN of the member')
    .addOption(waitOption())
    .description('add a member (joins as a learner, then promoted)')
    .action((cluster: string, member: string | undefined, o, cmd) =>
      queue(cmd, 'POST', `/v1/clusters/${enc(cluster)}/members`, memberBody(member, o), Boolean(o.wait)),
    );
  members
    .command('remove')
    .argument('<cluster>')
    .argument('<member>')
    .addOption(waitOption())
    .description('remove a member')
    .action((cluster: string, member: string, o, cmd) =>
      queue(cmd, 'DELETE', `/v1/clusters/${enc(cluster)}/members/${enc(member)}`, undefined, Boolean(o.wait)),
    );
  members
    .command('replace')
    .argument('<cluster>')
    .argument('<member>')
    .option('--address <ip>', 'move the member to this address')
    .addOption(waitOption())
    .description('replace a member: remove it and add it again with fresh data and certificates')
    .action((cluster: string, member: string, o, cmd) =>
      queue(
        cmd,
        'POST',
        `/v1/clusters/${enc(cluster)}/members/${enc(member)}/replace`,
        o.address ? { address: o.address } : {},
        Boolean(o.wait),
      ),
    );

  program
    .command('upgrade')
    .argument('<cluster>')
    .argument('<version>', 'etcd release, e.g. v3.5.35')
    .addOption(waitOption())
    .description('rolling upgrade, one member at a time, the leader last')
    .action((cluster: string, version: string, o, cmd) =>
      queue(cmd, 'POST', `/v1/clusters/${enc(cluster)}/upgrade`, { version }, Boolean(o.wait)),
    );

  program
    .command('backup')
    .argument('<cluster>')
    .option('--member <member>', 'take the snapshot from this member (default: a healthy follower)')
    .addOption(waitOption())
    .description('take a verified backup now')
    .action((cluster: string, o, cmd) =>
      queue(cmd, 'POST', `/v1/clusters/${enc(cluster)}/backups`, o.member ? { member: o.member } : {}, Boolean(o.wait)),
    );

  program
    .command('backups')
    .argument('<cluster>')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]).default('table'))
    .description("the cluster's verified backups")
    .action((cluster: string, o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const format = parseOutputFormat(o.output);
        const b = await ctx.api.get(`/v1/clusters/${enc(cluster)}/backups`);
        ctx.write(format === 'table' ? backupsTable(b.items ?? []) : structured(b, format));
      }),
    );

  program
    .command('restore')
    .argument('<cluster>')
    .option('--backup <id>', 'backup id, or "latest"', 'latest')
    .option('--from <cluster>', 'restore a backup of another cluster (with --spec: into a new cluster)')
    .option('--spec <file>', 'spec of the new cluster to provision and restore into')
    .option('--force', 'restore even when the backup does not look like this cluster')
    .addOption(
      new Option('--to-revision <revision>', 'point in time: replay recorded changes up to this revision (continuous backups)')
        .argParser(revisionArg)
        .conflicts('toTime'),
    )
    .addOption(
      new Option('--to-time <time>', 'point in time: replay recorded changes up to this RFC 3339 time (continuous backups)').argParser(
        timeArg,
      ),
    )
    .addOption(waitOption())
    .description('restore a backup in place, or into a new cluster (--from and --spec); to a point in time with --to-revision or --to-time')
    .action((cluster: string, o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const body: Record<string, unknown> = { backup: o.backup };
        if (o.from) body.from = o.from;
        if (o.force) body.force = true;
        if (o.spec) body.spec = readObjectFile(o.spec);
        if (o.toRevision !== undefined) body.toRevision = o.toRevision;
        if (o.toTime !== undefined) body.toTime = o.toTime;
        const r = await ctx.api.call('POST', `/v1/clusters/${enc(cluster)}/restore`, body);
        const ids = [...(r.provision?.operationId ? [r.provision.operationId] : []), r.operationId];
        return finishQueued(ctx, ids, Boolean(o.wait));
      }),
    );

  for (const [kind, what] of [
    ['compact', 'compact the keyspace to the revision seen at the previous run'],
    ['defrag', 'defragment the members one at a time'],
  ] as const) {
    program
      .command(kind)
      .argument('<cluster>')
      .addOption(waitOption())
      .description(what)
      .action((cluster: string, o, cmd) => queue(cmd, 'POST', `/v1/clusters/${enc(cluster)}/${kind}`, {}, Boolean(o.wait)));
  }
}
