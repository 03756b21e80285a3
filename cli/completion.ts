/**
 * Shell completion scripts written from the program itself (its commands, flags, which flags take a value, and the
 * choices of a flag or an argument), so a command or flag added to the CLI is completed without touching this file.
 * Each shell gets the same small tables (subcommands, flags, flags that take a value, choices per command) and a
 * walk over the words typed so far that skips flags and their values to find the command being completed.
 */
import type { Command, Option } from 'commander';
import type { Shell } from './completion-command.ts';
import { commandPath, optionsOf, visibleCommands } from './usage.ts';

interface FlagSpec {
  readonly flags: readonly string[];
  readonly takesValue: boolean;
  readonly choices?: readonly string[];
  readonly description: string;
}

interface CommandSpec {
  /** The words after `lvsform` ('' for the root). */
  readonly key: string;
  readonly description: string;
  readonly subcommands: readonly CommandSpec[];
  readonly flags: readonly FlagSpec[];
  /** The choices of its first argument (`completion <shell>`), if it has any. */
  readonly argChoices?: readonly string[];
}

const HELP_FLAG: FlagSpec = { flags: ['-h', '--help'], takesValue: false, description: 'display help for command' };

function flagSpec(option: Option): FlagSpec {
  const flags = [option.short, option.long].filter((f): f is string => typeof f === 'string');
  return {
    flags,
    takesValue: option.required || option.optional,
    ...(option.argChoices ? { choices: option.argChoices } : {}),
    description: option.description,
  };
}

function spec(cmd: Command): CommandSpec {
  const key = commandPath(cmd).split(' ').slice(1).join(' ');
  const choices = cmd.registeredArguments[0]?.argChoices;
  return {
    key,
    description: cmd.description(),
    subcommands: visibleCommands(cmd).map(spec),
    flags: [
      ...optionsOf(cmd)
        .filter((o) => !o.hidden)
        .map(flagSpec),
      HELP_FLAG,
    ],
    ...(choices ? { argChoices: choices } : {}),
  };
}

function all(root: CommandSpec): CommandSpec[] {
  return [root, ...root.subcommands.flatMap(all)];
}

const words = (list: readonly string[]) => list.join(' ');
/** A single-quoted shell word (bash, zsh and fish alike, for the characters flags and descriptions hold). */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const fishq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The tables both POSIX-like shells read: `_lvsform_table KIND KEY` sets REPLY to the subcommands, the flags or the
 * flags that take a value of the command KEY; `_lvsform_choices KEY FLAG` to a flag's (or, with FLAG '', the first
 * argument's) choices, failing when there are none.
 */
function posixTables(cmds: readonly CommandSpec[]): string {
  const table = (kind: string, pick: (c: CommandSpec) => readonly string[]) =>
    cmds
      .filter((c) => pick(c).length > 0)
      .map((c) => `    ${sq(`${kind}:${c.key}`)}) REPLY=${sq(words(pick(c)))} ;;`)
      .join('\n');
  const choices = cmds.flatMap((c) => [
    ...c.flags.filter((f) => f.choices).flatMap((f) => f.flags.map((flag) => `    ${sq(`${c.key}|${flag}`)}) REPLY=${sq(words(f.choices ?? []))} ;;`)),
    ...(c.argChoices ? [`    ${sq(`${c.key}|`)}) REPLY=${sq(words(c.argChoices))} ;;`] : []),
  ]);
  return `_lvsform_table() {
  case "$1:$2" in
${table('sub', (c) => c.subcommands.map((s) => s.key.split(' ').at(-1) ?? ''))}
${table('flags', (c) => c.flags.flatMap((f) => f.flags))}
${table('valued', (c) => c.flags.filter((f) => f.takesValue).flatMap((f) => f.flags))}
    *) REPLY='' ;;
  esac
}

_lvsform_choices() {
  case "$1|$2" in
${choices.join('\n')}
    *) REPLY=''; return 1 ;;
  esac
}

# Sets _lvsform_cmd to the command being completed and _lvsform_value to 1 when the word under the cursor is the value
# of the flag before it. Arguments: the words before the cursor, without the program name.
_lvsform_walk() {
  local word REPLY skip=0
  _lvsform_cmd=''
  for word in "$@"; do
    if ((skip)); then skip=0; continue; fi
    case $word in
      --) break ;;
      -*)
        _lvsform_table valued "$_lvsform_cmd"
        case " $REPLY " in *" $word "*) skip=1 ;; esac
        continue ;;
    esac
    _lvsform_table sub "$_lvsform_cmd"
    case " $REPLY " in *" $word "*) _lvsform_cmd=\${_lvsform_cmd:+$_lvsform_cmd }$word ;; esac
  done
  _lvsform_value=$skip
}`;
}

function bashScript(root: CommandSpec): string {
  return `# bash completion for lvsform, written by \`lvsform completion bash\` from the program's own commands and flags.
# Install: lvsform completion bash > ~/.local/share/bash-completion/completions/lvsform (or source it from ~/.bashrc).
${posixTables(all(root))}

_lvsform() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} REPLY _lvsform_cmd _lvsform_value
  _lvsform_walk "\${COMP_WORDS[@]:1:COMP_CWORD-1}"
  COMPREPLY=()
  if ((_lvsform_value)); then
    if _lvsform_choices "$_lvsform_cmd" "$prev"; then
      COMPREPLY=($(compgen -W "$REPLY" -- "$cur"))
    else
      compopt -o default 2>/dev/null
    fi
    return 0
  fi
  if [[ $cur == -* ]]; then
    _lvsform_table flags "$_lvsform_cmd"
    COMPREPLY=($(compgen -W "$REPLY" -- "$cur"))
    return 0
  fi
  _lvsform_table sub "$_lvsform_cmd"
  if [[ -n $REPLY ]] || _lvsform_choices "$_lvsform_cmd" ''; then
    COMPREPLY=($(compgen -W "$REPLY" -- "$cur"))
    return 0
  fi
  compopt -o default 2>/dev/null
  return 0
}
complete -F _lvsform lvsform
`;
}

function zshScript(root: CommandSpec): string {
  return `#compdef lvsform
# zsh completion for lvsform, written by \`lvsform completion zsh\` from the program's own commands and flags.
# Install: lvsform completion zsh > "\${fpath[1]}/_lvsform" (then start a new shell), or source it after compinit.
${posixTables(all(root))}

_lvsform() {
  local cur=\${words[CURRENT]} REPLY _lvsform_cmd _lvsform_value
  _lvsform_walk "\${(@)words[2,CURRENT-1]}"
  if ((_lvsform_value)); then
    if _lvsform_choices "$_lvsform_cmd" "\${words[CURRENT-1]}"; then compadd -- \${=REPLY}; else _files; fi
    return
  fi
  if [[ $cur == -* ]]; then
    _lvsform_table flags "$_lvsform_cmd"
    compadd -- \${=REPLY}
    return
  fi
  _lvsform_table sub "$_lvsform_cmd"
  if [[ -n $REPLY ]] || _lvsform_choices "$_lvsform_cmd" ''; then
    compadd -- \${=REPLY}
  else
    _files
  fi
}

if [[ \${funcstack[1]} == _lvsform ]]; then
  _lvsform "$@"
else
  compdef _lvsform lvsform
fi
`;
}

function fishScript(root: CommandSpec): string {
  const cmds = all(root);
  const fishSwitch = (name: string, pick: (c: CommandSpec) => readonly string[]) =>
    `function ${name}
    switch $argv[1]
${cmds.map((c) => `        case ${fishq(c.key)}\n            printf '%s\\n' ${pick(c).map(fishq).join(' ')}`).join('\n')}
    end
end`;
  const lines: string[] = [];
  for (const c of cmds) {
    const when = `-n ${fishq(`__lvsform_is ${fishq(c.key)}`)}`;
    for (const s of c.subcommands) lines.push(`complete -c lvsform -f ${when} -a ${fishq(s.key.split(' ').at(-1) ?? '')} -d ${fishq(s.description)}`);
    if (c.argChoices) lines.push(`complete -c lvsform -f ${when} -a ${fishq(words(c.argChoices))}`);
    for (const f of c.flags) {
      const names = f.flags.map((flag) => (flag.startsWith('--') ? `-l ${fishq(flag.slice(2))}` : `-s ${fishq(flag.slice(1))}`)).join(' ');
      const value = f.choices ? ` -x -a ${fishq(words(f.choices))}` : f.takesValue ? ' -r' : '';
      lines.push(`complete -c lvsform ${when} ${names}${value} -d ${fishq(f.description)}`);
    }
  }
  return `# fish completion for lvsform, written by \`lvsform completion fish\` from the program's own commands and flags.
# Install: lvsform completion fish > ~/.config/fish/completions/lvsform.fish
${fishSwitch('__lvsform_subcommands', (c) => c.subcommands.map((s) => s.key.split(' ').at(-1) ?? ''))}

${fishSwitch('__lvsform_valued', (c) => c.flags.filter((f) => f.takesValue).flatMap((f) => f.flags))}

# The command being completed: the words typed so far, less flags and the values of flags that take one.
function __lvsform_path
    set -l words (commandline -opc)
    set -e words[1]
    set -l path
    set -l skip 0
    for word in $words
        if test $skip = 1
            set skip 0
            continue
        end
        if test "$word" = --
            break
        end
        if string match -q -- '-*' $word
            contains -- $word (__lvsform_valued "$path"); and set skip 1
            continue
        end
        contains -- $word (__lvsform_subcommands "$path"); and set path (string trim -- "$path $word")
    end
    echo $path
end

function __lvsform_is
    test (__lvsform_path | string collect) = "$argv[1]"
end

complete -c lvsform -e
${lines.join('\n')}
`;
}

/** The completion script of `program` for `shell`. */
export function completionScript(shell: Shell, program: Command): string {
  const root = spec(program);
  return shell === 'bash' ? bashScript(root) : shell === 'zsh' ? zshScript(root) : fishScript(root);
}
