/**
 * `save-rules`: saves the whole table (`ipvsadm -S -n`, from this session, after the verified batch) to the
 * distribution's rules file atomically, mode 0600, where the distribution restores it at boot.
 */
import { DEBIAN_LAYOUT, RHEL_LAYOUT, type SetupItem } from '../../model/host-setup.ts';
import { section } from '../sections.ts';
import { shQuote } from '../shell-quote.ts';
import type { RequestKind } from './kind.ts';

export interface SaveRulesRequest {
  readonly kind: 'save-rules';
  /** The set-up's `rules` item: the file and the distribution. */
  readonly item: SetupItem;
}

export interface SaveRulesReply {
  readonly kind: 'save-rules';
  readonly outcome: 'written' | 'unchanged' | 'failed';
  /** What the host said when it failed. */
  readonly said: string;
}

/**
 * Saves the whole table (`ipvsadm -S -n`, from this session, after the verified batch) to the distribution's rules
 * file atomically, mode 0600. Prints `@@rules written`, `@@rules unchanged` or `@@rules fail <status>`.
 */
export function saveRulesChunk(item: SetupItem): string {
  const layout = item.via === 'rhel' ? RHEL_LAYOUT : DEBIAN_LAYOUT;
  const path = item.name;
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const tmp = shQuote(`${dir}/.${path.slice(dir.length + 1)}.lvsform-tmp`);
  const file = shQuote(path);
  return [
    `mkdir -p ${shQuote(dir)}`,
    `if { printf '%s\\n' ${shQuote(layout.header)}; ipvsadm -S -n; } > ${tmp} 2>/dev/null 9>&-; then`,
    `  if cmp -s ${tmp} ${file}; then rm -f ${tmp}; echo '@@rules unchanged'`,
    `  elif chmod 600 ${tmp} && mv -f ${tmp} ${file}; then echo '@@rules written'`,
    `  else echo '@@rules fail move'; fi`,
    `else lvs_rc=$?; rm -f ${tmp}; echo "@@rules fail $lvs_rc"; fi`,
  ].join('\n');
}

export const saveRules: RequestKind<SaveRulesRequest, SaveRulesReply> = {
  script: (req, tag) => [section(tag, 'answer'), saveRulesChunk(req.item), section(tag, 'end')].join('\n'),
  parse: (_req, sections) => {
    const out = (sections.get('answer') ?? '').trim().split('\n').pop() ?? '';
    if (out === '@@rules written') return { kind: 'save-rules', outcome: 'written', said: '' };
    if (out === '@@rules unchanged') return { kind: 'save-rules', outcome: 'unchanged', said: '' };
    return { kind: 'save-rules', outcome: 'failed', said: out || 'no answer' };
  },
};
