/**
 * Every position a keepalived import message gives comes from the origin map (keepalived/lines.ts): after an include
 * or a multi-line `$NAME` definition the merged text's line numbers are nobody's, so each message kind that names a
 * line, its own or one it refers to, is read here through an include and checked against the real file and line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLvsError } from '../../../providers/ipvs/model/errors.ts';
import { fileIncludeReader } from '../../../providers/ipvs/read/keepalived/lines.ts';
import { MAX_KEEPALIVED_BYTES, parseKeepalived } from '../../../providers/ipvs/read/parse-keepalived.ts';

/** Writes `main.conf` (three comment lines, then `include inc.conf`) and `inc.conf` into a new directory; imports main.conf. */
function throughInclude(inc: string): { warnings: string[]; error?: unknown } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-origins-'));
  const main = '# main\n#\n#\ninclude inc.conf\n';
  fs.writeFileSync(path.join(root, 'main.conf'), main);
  fs.writeFileSync(path.join(root, 'inc.conf'), inc);
  try {
    const { warnings } = parseKeepalived(main, path.join(root, 'main.conf'), { include: fileIncludeReader(MAX_KEEPALIVED_BYTES) });
    return { warnings: warnings.map((w) => w.replaceAll(`${root}/`, '')) };
  } catch (e) {
    return { warnings: [], error: isLvsError(e) ? e.message.replaceAll(`${root}/`, '') : e };
  }
}

/** Every `file:line` a text names, and any bare "line N" (which is nobody's line after an include). */
function positions(text: string): { refs: string[]; bare: string[] } {
  return { refs: [...text.matchAll(/\b([\w.-]+\.conf):(\d+)\b/g)].map((m) => `${m[1]}:${m[2]}`), bare: text.match(/\bline \d+/g) ?? [] };
}

const INC = [
  /*  1 */ 'vrrp_instance VI_1 {',
  /*  2 */ '  interface eth0',
  /*  3 */ '  virtual_router_id 51',
  /*  4 */ '  virtual_ipaddress {',
  /*  5 */ '    198.51.100.10/24',
  /*  6 */ '  }',
  /*  7 */ '}',
  /*  8 */ 'virtual_server 198.51.100.10 80 {',
  /*  9 */ '  protocol TCP',
  /* 10 */ '  lb_kind DR',
  /* 11 */ '  real_server 192.0.2.1 8080 {',
  /* 12 */ '    TCP_CHECK {',
  /* 13 */ '    }',
  /* 14 */ '  }',
  /* 15 */ '}',
  /* 16 */ 'virtual_server 198.51.100.10 80 {',
  /* 17 */ '  protocol TCP',
  /* 18 */ '  real_server 192.0.2.2 80 {',
  /* 19 */ '  }',
  /* 20 */ '}',
  /* 21 */ 'virtual_server_group G {',
  /* 22 */ '  2001:db8::1 80',
  /* 23 */ '  198.51.100.20 80',
  /* 24 */ '}',
  /* 25 */ 'virtual_server_group G {',
  /* 26 */ '  198.51.100.21 80',
  /* 27 */ '}',
  /* 28 */ 'virtual_server group G {',
  /* 29 */ '  protocol TCP',
  /* 30 */ '  real_server 192.0.2.3 {',
  /* 31 */ '  }',
  /* 32 */ '}',
].join('\n');

describe('keepalived import messages name the real file and line', () => {
  const { warnings } = throughInclude(`${INC}\n`);

  it.each([
    ['health checks not imported, at the first checker', 'inc.conf:12: health checks are not imported'],
    [
      'a real server port that differs under DR, naming the service line',
      'inc.conf:11: real server 192.0.2.1 port 8080 differs from the virtual port 80 (inc.conf:8)',
    ],
    ['a service defined again, naming the first', 'inc.conf:16: tcp 198.51.100.10:80 is defined again (first at inc.conf:8)'],
    ['a group defined again, naming the first', 'inc.conf:25: virtual_server_group G is defined again (first at inc.conf:21)'],
    [
      'a real server of the other family, naming the group entry',
      'inc.conf:30: real server 192.0.2.3 is not of the family of tcp [2001:db8::1]:80 (inc.conf:22)',
    ],
    [
      'a NAT real server without a port in a group, naming the entry',
      'inc.conf:30: NAT real server 192.0.2.3 has no port; keepalived would program port 0 for the group entry at inc.conf:23',
    ],
    ['a service VIP with a prefix in the vrrp_instance, at its line', 'inc.conf:5: 198.51.100.10/24 of the vrrp_instance is a service VIP'],
  ])('%s', (_name, start) => {
    // GIVEN a configuration whose services are all in an included file WHEN it is imported
    // THEN the message names the included file and the line there
    expect(warnings.find((w) => w.startsWith(start))).toBeDefined();
  });

  it('names no position but the included file, and no bare line number', () => {
    // GIVEN the same import WHEN every position of every message is collected
    const all = warnings.map(positions);
    // THEN each is inc.conf:N within the file's 32 lines, and none is a bare "line N"
    expect(all.flatMap((p) => p.bare)).toEqual([]);
    for (const ref of all.flatMap((p) => p.refs)) expect(ref).toMatch(/^inc\.conf:([1-9]|[12][0-9]|3[0-2])$/);
  });

  it('a group range too large is refused at the range, in its file', () => {
    // GIVEN a group whose range alone exceeds the import's limit, in an included file
    const { error } = throughInclude('virtual_server_group G {\n  10.0.0.0/8 80\n}\nvirtual_server group G {\n real_server 10.1.0.1 80 {\n }\n}\n');
    // THEN the refusal names the range's line in the included file
    expect(error).toMatch(/^inc\.conf:2: G: 10\.0\.0\.0\/8 expands to 16777216 addresses/);
  });

  it('too many services is refused at the group entry that goes past the limit, in its file', () => {
    // GIVEN two ranges that together exceed the limit, in an included file
    const { error } = throughInclude(
      'virtual_server_group G {\n  10.0.0.0/16 80\n  10.1.0.0/16 80\n}\nvirtual_server group G {\n protocol TCP\n real_server 10.1.0.1 80 {\n }\n}\n',
    );
    // THEN the refusal names the entry whose services go past it
    expect(error).toMatch(/^inc\.conf:3: the configuration expands to more than 65536 services/);
  });

  it('a line after a multi-line definition keeps its own line number', () => {
    // GIVEN a multi-line definition used in one service, and the same service defined again below it
    const conf =
      '$RS=real_server 10.0.0.7 80 { \\\n   weight 4 \\\n}\nvirtual_server 192.0.2.1 80 {\n protocol TCP\n $RS\n}\nvirtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 10.0.0.9 80 {\n }\n}\n';
    // WHEN it is imported
    const { warnings: got } = parseKeepalived(conf, 'ml.conf');
    // THEN the second definition is at line 8 and names the first at line 4
    expect(got).toContain('ml.conf:8: tcp 192.0.2.1:80 is defined again (first at ml.conf:4) - the first is kept; IPVS holds one service per identity');
  });
});
