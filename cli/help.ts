/**
 * What every `--help` page ends with: examples of the command and where the documentation is. Kept in one table, keyed
 * by the command's words, so a test can hold it to the program: every command has at least one example, and every
 * example is a command line the program accepts.
 */
import type { Command } from 'commander';
import { packageInfo } from './package-info.ts';
import { commandPath } from './usage.ts';

export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  lvsform: ['lvsform init lb-infra --template nat', 'lvsform plan --out web.plan', 'lvsform apply web.plan'],
  'lvsform init': ['lvsform init lb-infra', 'lvsform init "lb infra" --template direct-routing'],
  'lvsform synth': ['lvsform synth', 'lvsform -C infra/lb synth'],
  'lvsform plan': [
    'lvsform plan --out web.plan',
    'lvsform plan --markdown --no-color > plan.md',
    'lvsform plan --detailed-exitcode --director lb1 --director lb2',
  ],
  'lvsform apply': ['lvsform apply web.plan', 'lvsform apply --auto-approve --target stack/web'],
  'lvsform destroy': ['lvsform destroy --director lb1'],
  'lvsform show': ['lvsform show web.plan', 'lvsform show web.plan --json'],
  'lvsform force-unlock': ['lvsform force-unlock lb1'],
  'lvsform doctor': ['lvsform doctor', 'lvsform doctor --director lb1 --json'],
  'lvsform import': ['lvsform import --save rules.save --out main.ts', 'lvsform import --director lb1 --host 203.0.113.2 --adopt --out main.ts'],
  'lvsform status': ['lvsform status', 'lvsform status --watch --interval 5 --count 12'],
  'lvsform graph': ['lvsform graph | dot -Tsvg > graph.svg', 'lvsform graph --format mermaid --plan web.plan'],
  'lvsform state': ['lvsform state list', 'lvsform state rm --auto-approve web/lb1/api'],
  'lvsform state list': ['lvsform state list --director lb1', 'lvsform state list --json'],
  'lvsform state show': ['lvsform state show web/lb1/http', 'lvsform state show lb1:tcp/198.51.100.10:80'],
  'lvsform state rm': ['lvsform state rm web/lb1/api', 'lvsform state rm --auto-approve lb1:fwmark/1'],
  'lvsform completion': [
    'lvsform completion bash > ~/.local/share/bash-completion/completions/lvsform',
    'lvsform completion zsh > "${fpath[1]}/_lvsform"',
    'lvsform completion fish > ~/.config/fish/completions/lvsform.fish',
  ],
  'lvsform lab': ['lvsform lab up --directors 2', 'lvsform lab down'],
  'lvsform lab up': ['lvsform lab up --directors 2 --persistent', 'lvsform lab up --cluster --real-servers 2'],
  'lvsform lab reboot': ['lvsform lab reboot lab-director-1'],
  'lvsform lab stop': ['lvsform lab stop cluster-director-1'],
  'lvsform lab start': ['lvsform lab start cluster-director-1'],
  'lvsform lab down': ['lvsform lab down'],
  'lvsform lab status': ['lvsform lab status --json'],
  'lvsform lab exec': ['lvsform lab exec lab-director-1 -- ipvsadm -L -n', 'lvsform lab exec cluster-rs-1 -- ip -br addr'],
  'lvsform lab traffic': ['lvsform lab traffic 198.51.100.10:80 --count 60'],
};

/** The documentation: the README's command-line section, where the other documents are linked from. */
export function docsUrl(): string {
  return `${packageInfo().homepage.replace(/#.*$/, '')}#the-command-line`;
}

/** Adds "Examples:" and "Docs:" after the help of every command that has examples (all of them: see help.test.ts). */
export function addHelpTexts(program: Command): void {
  const visit = (cmd: Command): void => {
    const examples = EXAMPLES[commandPath(cmd)];
    // Computed when the help is shown, so building the program does not read package.json.
    cmd.addHelpText('after', () => `${examples ? `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n` : ''}\nDocs: ${docsUrl()}`);
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
}
