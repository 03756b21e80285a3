import { Command, CommanderError } from 'commander';
import { causeChain, isLvsError } from '../providers/ipvs/model/errors.ts';
import { debugEnabled, setDebug } from './debug.ts';
import { setNoColor } from './colors.ts';
import { registerDoctorCommand } from './doctor-command.ts';
import { registerGraphCommand } from './graph-command.ts';
import { registerImportCommand } from './import-command.ts';
import { registerInitCommand } from './init-command.ts';
import { registerLabCommands } from './lab-command.ts';
import { registerStackCommands } from './stack-commands.ts';
import { registerStateCommands } from './state-command.ts';
import { registerStatusCommand } from './status-command.ts';
import { packageInfo } from './package-info.ts';

/** Builds the `lvsform` command. Each verb only parses its arguments and calls a library function. */
export function buildProgram(): Command {
  const program = new Command('lvsform')
    .description('Infrastructure as code for Linux Virtual Server (IPVS) load balancers')
    .version(packageInfo().version, '-V, --version', 'print the version of lvsform')
    .option('-C, --dir <path>', 'the project directory (where cdktf.json is)', process.cwd())
    .option('--no-color', 'no colours (also NO_COLOR=1; FORCE_COLOR=1 forces them)')
    .option('--debug', "print an error's causes, and where each director's time went")
    .option(
      '--read-only',
      'reach directors only through the read-only plan script, as ssh.planUser (also LVSFORM_READ_ONLY=1): plan works, changes are refused',
    )
    .showHelpAfterError()
    // Usage errors read like every other error: `Error [LVS_USAGE]: …`, so scripts can match one shape.
    .configureOutput({ outputError: (text, write) => write(`Error [LVS_USAGE]: ${text.replace(/^error: /, '')}`) })
    .exitOverride();
  registerInitCommand(program);
  registerStackCommands(program);
  registerDoctorCommand(program);
  registerLabCommands(program);
  registerImportCommand(program);
  registerStatusCommand(program);
  registerStateCommands(program);
  registerGraphCommand(program);
  return program;
}

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json');
}

/** Runs the command line and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  setNoColor(argv.includes('--no-color'));
  setDebug(argv.includes('--debug'));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (wantsJson(argv)) process.stdout.write(`${JSON.stringify({ error: { code: 'LVS_USAGE', message: e.message } })}\n`);
      return e.exitCode === 0 ? 0 : 1;
    }
    if (isLvsError(e)) {
      if (wantsJson(argv)) {
        process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint } })}\n`);
      } else {
        process.stderr.write(`Error [${e.code}]: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
        if (debugEnabled()) for (const line of causeChain(e)) process.stderr.write(`  caused by: ${line}\n`);
      }
      return 1;
    }
    process.stderr.write(`Internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
