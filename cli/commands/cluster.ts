// Cluster commands: apply, get, describe, ops, watch, delete.
import { Command, Option } from 'commander';
import { apply, readApplyInput } from '../apply';
import { finishQueued, type CtxFactory } from '../context';
import { EXIT } from '../errors';
import {
  allOperations,
  clustersTable,
  clusterTable,
  describeCluster,
  operationsTable,
  OUTPUT_FORMATS,
  parseOutputFormat,
  structured,
} from '../format';
import { follow } from '../progress';

const outputOption = () => new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]).default('table');
const providerOption = () => new Option('--provider <provider>', 'provider of taskserv configs').choices(['local', 'ssh']).default('local');
const enc = encodeURIComponent;
type Run = (fn: () => Promise<number | void>) => Promise<void>;

export function clusterCommands(program: Command, ctxOf: CtxFactory, run: Run): void {
  program
    .command('apply')
    .description('create a cluster from a native spec or taskserv ETCD configs, or change an existing one (PATCH with a plan)')
    .requiredOption('-f, --filename <file>', 'YAML or JSON file ("-" reads stdin)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('-w, --wait', 'follow every queued operation to its end')
    .addOption(providerOption())
    .action((o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const input = readApplyInput(o.filename, o.provider);
        const r = await apply(ctx.api, input, { dryRun: Boolean(o.dryRun), provider: o.provider });
        r.lines.forEach((l) => ctx.write(l));
        if (!r.operations.length) return EXIT.ok;
        if (!o.wait) return EXIT.ok;
        return finishQueued(ctx, r.operations, true);
      }),
    );

  const get = program.command('get').description('list clusters or show one');
  get
    .command('clusters')
    .description('every cluster: phase, version, members, current operation')
    .addOption(outputOption())
    .action((o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const format = parseOutputFormat(o.output);
        const list = await ctx.api.get('/v1/clusters');
        ctx.write(format === 'table' ? clustersTable(list) : structured(list, format));
      }),
    );
  get
    .command('cluster')
    .description('one cluster (-o json|yaml: the whole view as the API answers it)')
    .argument('<name>')
    .addOption(outputOption())
    .action((name: string, o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const format = parseOutputFormat(o.output);
        const c = await ctx.api.get(`/v1/clusters/${enc(name)}`);
        ctx.write(format === 'table' ? clusterTable(c) : structured(c, format));
      }),
    );

  program
    .command('describe')
    .description('members, health, leader, versions, certificate expiry, backups, schedules, recent operations')
    .argument('<what>', '"cluster"')
    .argument('<name>')
    .action((what: string, name: string, _o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        if (what !== 'cluster') {
          ctx.write(`describe: only "cluster" can be described (not ${what})`);
          return EXIT.usage;
        }
        const c = await ctx.api.get(`/v1/clusters/${enc(name)}`);
        const [backups, schedules] = await Promise.all([
          ctx.api.get(`/v1/clusters/${enc(name)}/backups`).catch(() => undefined),
          ctx.api.get(`/v1/clusters/${enc(name)}/schedules`).catch(() => undefined),
        ]);
        ctx.write(describeCluster(c, backups, schedules));
      }),
    );

  program
    .command('ops')
    .description("a cluster's operations, newest first")
    .argument('<name>')
    .addOption(outputOption())
    .action((name: string, o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const format = parseOutputFormat(o.output);
        const ops = allOperations(await ctx.api.get(`/v1/clusters/${enc(name)}`));
        ctx.write(format === 'table' ? operationsTable(ops) : structured(ops, format));
      }),
    );

  program
    .command('watch')
    .description("follow an operation's steps live until it ends; exit status 0 when it succeeded")
    .argument('<operation>', 'operation id, e.g. demo.1-provision')
    .action((id: string, _o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const op = await follow(ctx.api, id, { tty: ctx.tty, write: ctx.write });
        return op.status === 'Succeeded' ? EXIT.ok : EXIT.failed;
      }),
    );

  const del = program.command('delete').description('delete a cluster');
  del
    .command('cluster')
    .description('stop the members and remove their service files; data is set aside unless --purge')
    .argument('<name>')
    .option('--purge', 'also remove the data directories and the cluster keys')
    .option('-w, --wait', 'follow the delete operation to its end')
    .action((name: string, o, cmd) =>
      run(async () => {
        const ctx = ctxOf(cmd);
        const r = await ctx.api.call('DELETE', `/v1/clusters/${enc(name)}${o.purge ? '?purge=true' : ''}`);
        return finishQueued(ctx, [r.operationId], Boolean(o.wait));
      }),
    );
}
