/**
 * `real-server-record`: writes the stack's record on a real server atomically (temporary file, then rename), mode
 * 0600, in `/var/lib/lvsform/real-server/`; or with no record, removes it. Confirmed or not, as `write-record`.
 */
import type { RealServerRecord } from '../../model/real-server-record.ts';
import { stackFile, writeFileCommand } from '../host-script.ts';
import { section } from '../sections.ts';
import { realServerRecordFile } from '../real-server-chunk.ts';
import type { RequestKind } from './kind.ts';

export interface RealServerRecordRequest {
  readonly kind: 'real-server-record';
  readonly stack: string;
  readonly record: RealServerRecord | undefined;
}

export interface RealServerRecordReply {
  readonly kind: 'real-server-record';
  readonly confirmed: boolean;
  readonly said: string;
}

const WRITTEN = '@@record written';
const REMOVED = '@@record removed';

export const realServerRecord: RequestKind<RealServerRecordRequest, RealServerRecordReply> = {
  script: (req, tag) => {
    const file = realServerRecordFile(req.stack);
    const body =
      req.record === undefined
        ? `rm -f ${file} && echo "${REMOVED}"`
        : [
            '[ -d "$lvs_dir"/real-server ] || mkdir -p "$lvs_dir"/real-server',
            writeFileCommand(`"$lvs_dir"/real-server/${stackFile(req.stack, '.', '.json.tmp')}`, JSON.stringify(req.record), false),
            `[ $? = 0 ] && mv -f "$lvs_dir"/real-server/${stackFile(req.stack, '.', '.json.tmp')} ${file} && echo "${WRITTEN}"`,
          ].join('\n');
    return [section(tag, 'answer'), `{ ${body}\n} 2>&1`, section(tag, 'end')].join('\n');
  },
  parse: (req, sections) => {
    const answer = (sections.get('answer') ?? '').trim();
    const confirmed = answer.split('\n').includes(req.record ? WRITTEN : REMOVED);
    return { kind: 'real-server-record', confirmed, said: confirmed ? '' : answer.slice(0, 200) || 'no answer' };
  },
};
