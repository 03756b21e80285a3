/** `lvsform completion bash|zsh|fish`: prints the completion script (completion.ts), loaded only when it runs. */
import { Argument, type Command } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish (commands, flags and their choices)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action(async (shell: Shell) => {
      const { completionScript } = await import('./completion.ts');
      process.stdout.write(completionScript(shell, program));
    });
}
