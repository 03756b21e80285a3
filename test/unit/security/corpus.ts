/** The injection corpus shared by the security tests (unit: under a local sh; lab: on a director). */
/** Values an attacker (or an accident) could put in any string field. `CANARY` stands for the canary's path. */
export const INJECTION_CORPUS: readonly string[] = [
  "it's",
  'a"b',
  'a;touch CANARY',
  '$(touch CANARY)',
  '`touch CANARY`',
  'a\ntouch CANARY',
  'a\r\ntouch CANARY',
  'a\0b',
  'lb1\u037etouch CANARY', // Greek question mark, looks like ';'
  'lb１', // fullwidth digit
  '-oProxyCommand=touch CANARY',
  '--',
  '|touch CANARY',
  '&&touch CANARY',
  '${IFS}touch${IFS}CANARY',
  'a\\',
  '%h %r',
  'LVSFORM_EOF\ntouch CANARY',
  '../../../tmp/x',
  ' ',
];
