import { Command, CommanderError } from 'commander';
import { isLvsError } from '../providers/ipvs/errors.ts';

/** Builds the `lvsform` command. Each verb only parses its arguments and calls a library function. */
export function buildProgram(): Command {
  const program = new Command('lvsform')
    .description('Infrastructure as code for Linux Virtual Server (IPVS) load balancers')
    .showHelpAfterError()
    .exitOverride();
  return program;
}

/** Runs the command line and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (isLvsError(e)) {
      process.stderr.write(`Error: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
      return 1;
    }
    throw e;
  }
}
