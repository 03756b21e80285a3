/** `lvsform init [DIR] [--template …]`: wiring only; the files are written by initProject (init-project.ts). */
import { type Command, Option } from 'commander';
import { initProject, nextSteps, TEMPLATES, type Template } from './init-project.ts';
import { pathArgument, shownPath } from './paths.ts';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .addArgument(pathArgument('[dir]', 'the directory of the new project (default: -C, or the working directory)'))
    .description('create a new lvsform project (package.json, tsconfig.json, cdktf.json, main.ts, .gitignore, README.md); overwrites nothing')
    .addOption(new Option('--template <name>', 'what main.ts declares').choices(TEMPLATES).default('nat'))
    .action(async (dir: string | undefined, opts: { template: Template }) => {
      const result = await initProject(dir ?? program.opts<{ dir: string }>().dir, opts.template);
      const where = shownPath(result.dir);
      process.stdout.write(`Created ${result.files.join(', ')} in ${where} (template ${opts.template}, stack ${result.stack}).\n\nNext:\n`);
      for (const line of nextSteps(where)) process.stdout.write(`  ${line}\n`);
    });
}
