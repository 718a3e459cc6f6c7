// The `etcdfleet` command line: a client of the API (bin/etcdfleet runs this).
// Exit status: 0 done, 1 the operation failed or was cancelled, 2 bad usage,
// 3 the API refused the request or could not be reached (cli/errors.ts).
import { Command, CommanderError } from 'commander';
import { clusterCommands } from './commands/cluster';
import { operationCommands } from './commands/operations';
import { accessCommands } from './commands/access';
import { defaultCtx, type CtxFactory } from './context';
import { CliError, EXIT } from './errors';
import { DEFAULT_URL } from './connection';

export interface ProgramIo {
  ctxOf?: CtxFactory;
  /** Where errors go (stderr). */
  error?: (text: string) => void;
  /** Where help goes (stdout). */
  out?: (text: string) => void;
  /** Set with each command's exit status. */
  exit?: (code: number) => void;
}

export function buildProgram(io: ProgramIo = {}): Command {
  const error = io.error ?? ((t: string) => void process.stderr.write(`${t}\n`));
  const exit = io.exit ?? ((code: number) => void (process.exitCode = code));
  const run = async (fn: () => Promise<number | void>) => {
    try {
      exit((await fn()) ?? EXIT.ok);
    } catch (err) {
      if (err instanceof CliError) {
        error(`etcdfleet: ${err.message}`);
        exit(err.exitCode);
      } else {
        error(`etcdfleet: ${(err as Error)?.stack ?? String(err)}`);
        exit(EXIT.refused);
      }
    }
  };
  const program = new Command('etcdfleet')
    .description('Operate etcd clusters through the etcdfleet API')
    .option('--url <url>', `API base URL (env ETCDFLEET_URL, default ${DEFAULT_URL})`)
    .option('--token <token>', 'bearer token (env ETCDFLEET_TOKEN, default: <state dir>/api-token)')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  const output = { writeErr: (s: string) => error(s.trimEnd()), ...(io.out ? { writeOut: io.out } : {}) };
  program.configureOutput(output);
  const ctxOf = io.ctxOf ?? defaultCtx;
  clusterCommands(program, ctxOf, run);
  operationCommands(program, ctxOf, run);
  accessCommands(program, ctxOf, run);
  // Every subcommand shares the root's exit override and error output.
  const inherit = (cmd: Command) => {
    for (const c of cmd.commands) {
      c.exitOverride().showHelpAfterError();
      c.configureOutput(output);
      inherit(c);
    }
  };
  inherit(program);
  return program;
}

/** Parses argv (node, script, args...) and runs the command; resolves with the exit status. */
export async function main(argv: string[], io: ProgramIo = {}): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram({ ...io, exit: (c) => (code = c) });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const quiet = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
      return quiet || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
  return code;
}

if (require.main === module) {
  main(process.argv).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`etcdfleet: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = EXIT.refused;
    },
  );
}
