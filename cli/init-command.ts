/** `lvsform init [DIR] [--template …]`: wiring only; the files are written by initProject (init-project.ts). */
import { relative } from 'node:path';
import { type Command, Option } from 'commander';
import { initProject, nextSteps, TEMPLATES, type Template } from './init-project.ts';

export function registerInitCommand(program: Command): void {
  program
    .command('init [dir]')
    .description('create a new lvsform project (package.json, tsconfig.json, cdktf.json, main.ts, .gitignore, README.md); overwrites nothing')
    .addOption(new Option('--template <name>', 'what main.ts declares').choices(TEMPLATES).default('nat'))
    .action(async (dir: string | undefined, opts: { template: Template }) => {
      const result = await initProject(dir ?? '.', opts.template);
      const where = relative(process.cwd(), result.dir) || '.';
      process.stdout.write(`Created ${result.files.join(', ')} in ${where} (template ${opts.template}, stack ${result.stack}).\n\nNext:\n`);
      for (const line of nextSteps(where)) process.stdout.write(`  ${line}\n`);
    });
}
