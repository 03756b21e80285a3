import { Command, CommanderError } from 'commander';
import { causeChain, errorInfo, isLvsError } from '../providers/ipvs/model/errors.ts';
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
import { registerCompletionCommand } from './completion-command.ts';
import { addHelpTexts } from './help.ts';
import { allCommands, checkCommandWords, usageError } from './usage.ts';
import { packageInfo } from './package-info.ts';
import { resolvePaths } from './paths.ts';
import { guardStdio } from './stdio.ts';
import { printError } from './print-error.ts';

/** Builds the `lvsform` command. Each verb only parses its arguments and calls a library function. */
export function buildProgram(): Command {
  const program = new Command('lvsform')
    .description('Infrastructure as code for Linux Virtual Server (IPVS) load balancers')
    .version(packageInfo().version, '-V, --version', 'print the version of lvsform')
    // No default value: the working directory may be gone (resolvePaths says so, and --version and --help still work);
    // the help shows `.`, the working directory.
    .option('-C, --dir <path>', 'the project directory (where cdktf.json is) (default: .); relative paths of other options are read from it')
    .option('--no-color', 'no colours (also NO_COLOR=1; FORCE_COLOR=1 forces them)')
    .option('--debug', "print an error's causes, and where each director's time went")
    .option(
      '--read-only',
      'reach directors only through the read-only plan script, as ssh.planUser (also LVSFORM_READ_ONLY=1): plan works, changes are refused',
    )
    // Usage errors read like every other error (`Error [LVS_USAGE]: …` and a hint, usage.ts), printed by main(), so
    // commander's own text and its suggestions stay silent; every help page lists the global flags too.
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .hook('preAction', (self, action) => resolvePaths(self, action));
  registerInitCommand(program);
  registerStackCommands(program);
  registerDoctorCommand(program);
  registerLabCommands(program);
  registerImportCommand(program);
  registerStatusCommand(program);
  registerStateCommands(program);
  registerGraphCommand(program);
  registerCompletionCommand(program);
  addHelpTexts(program);
  // Commander copies its exit handler into a subcommand only when the subcommand is created: set it on each, so
  // that an error knows the command it belongs to (for its hint).
  for (const cmd of allCommands(program)) {
    cmd.exitOverride((err) => {
      if (err.exitCode === 0 || err.code === 'commander.help' || err.code === 'commander.helpDisplayed') throw err;
      throw usageError(cmd, err);
    });
  }
  return program;
}

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json');
}

/** Runs the command line and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  guardStdio();
  const program = buildProgram();
  setNoColor(argv.includes('--no-color'));
  setDebug(argv.includes('--debug'));
  try {
    checkCommandWords(program, argv.slice(2));
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and the version (exit 0), or the help of a command that needs a subcommand (`lvsform lab`, exit 1).
      return e.exitCode === 0 ? 0 : 1;
    }
    if (isLvsError(e)) {
      if (wantsJson(argv)) {
        process.stdout.write(`${JSON.stringify({ error: errorInfo(e) })}\n`);
      } else {
        printError(e);
        if (debugEnabled()) for (const line of causeChain(e)) process.stderr.write(`  caused by: ${line}\n`);
      }
      return 1;
    }
    process.stderr.write(`Internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
