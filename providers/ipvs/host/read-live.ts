/**
 * Reading a director: the live table (`ipvsadm -S -n` with thresholds merged from `ipvsadm -L -n --thresholds`),
 * its fingerprint, and the stack's ownership record, in one chunk over the session.
 */
import { randomBytes } from 'node:crypto';
import { LvsError } from '../model/errors.ts';
import { OTHER_RECORD_SECTION, splitSections, readChunk, whenLocked } from './host-script.ts';
import { normalizeTable, type Service, type Table } from '../model/model.ts';
import { mergeThresholds } from '../read/parse-list.ts';
import { parseSave } from '../read/parse-save.ts';
import { foreignOwners, parseRecord } from '../model/record.ts';
import { describeTarget } from '../model/host-target.ts';
import type { HostSession } from './transport.ts';
import type { LiveSettings, SettingsQuery } from '../model/director-settings.ts';
import { parseSettingsRead, settingsReadChunk } from './settings-chunk.ts';
import { tableFingerprint, type LiveState } from '../model/live-state.ts';

/** The other stacks' records in a read's sections (`other <stack>`), as the services they own. */
export function othersFrom(sections: ReadonlyMap<string, string>, where: string): Map<string, string> {
  const records: [string, string][] = [];
  for (const [name, text] of sections) if (name.startsWith(OTHER_RECORD_SECTION)) records.push([name.slice(OTHER_RECORD_SECTION.length), text]);
  return foreignOwners(records, where);
}

/** A fresh random tag for the section markers of one chunk. */
export function newTag(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Reads the director's table (and the stack's record). `thresholds: false` skips the second kernel dump
 * (`ipvsadm -L -n --thresholds`): every threshold then reads as 0, so the caller must know that none can be set.
 */
export async function readLive(
  session: HostSession,
  stack: string,
  opts: { record?: boolean; thresholds?: boolean; onRead?: () => void; whenLocked?: boolean; settings?: SettingsQuery } = {},
): Promise<LiveState> {
  const where = describeTarget(session.target);
  const tag = newTag();
  const read = readChunk({ tag, stack, thresholds: opts.thresholds ?? true, record: opts.record ?? true, whenLocked: opts.whenLocked ?? false });
  // The settings the app manages ride in the same round trip, after the table (whose read loads ip_vs, and with it
  // /proc/sys/net/ipv4/vs).
  const settings = opts.settings ? settingsReadChunk(tag, opts.settings) : '';
  const { stdout } = await session.run(settings === '' ? read : `${read}\n${opts.whenLocked ? whenLocked(settings) : settings}`);
  opts.onRead?.();
  const live = parseLive(tag, stdout, stack, where, opts.thresholds ?? true);
  const found = opts.settings ? parseSettingsRead(splitSections(tag, stdout), opts.settings, where) : undefined;
  return found ? { ...live, settings: found } : live;
}

/** Parses what `readChunk` printed (or the read-only script's table part, whose sections are the same). */
export function parseLive(tag: string, stdout: string, stack: string, where: string, thresholds = true): LiveState {
  const sections = splitSections(tag, stdout);
  if (!sections.has('end')) {
    throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: the read ended early; the host printed: ${stdout.slice(-400)}`);
  }
  const version = (sections.get('ipvsadm-version') ?? '').trim();
  if (version.includes('@@missing ipvsadm')) {
    throw new LvsError('LVS_NO_IPVSADM', `director ${where}: ipvsadm is not installed`, {
      hint: 'Install it (Debian: apt-get install ipvsadm; RHEL: dnf install ipvsadm), then run `lvsform doctor`.',
    });
  }
  const saveStatus = (sections.get('save-status') ?? '').trim();
  const save = sections.get('save') ?? '';
  if (saveStatus !== '0') {
    const first = save.trim().split('\n').slice(-2).join(' ');
    throw new LvsError('LVS_IPVS_UNAVAILABLE', `director ${where}: \`ipvsadm -S -n\` failed (exit ${saveStatus}): ${first}`, {
      hint: 'Run `lvsform doctor` on this director: the kernel may lack IPVS or the ip_vs module may not load.',
    });
  }
  const saved = parseSave(save, `ipvsadm -S -n on ${where}`);
  const table = !thresholds ? saved : mergeThresholds(saved, sections.get('thresholds') ?? '', `ipvsadm -L -n --thresholds on ${where}`);
  const recordText = sections.get('record');
  const record = recordText === undefined || recordText.trim() === '@@none' ? undefined : parseRecord(recordText.trim(), stack, where);
  const others = recordText === undefined ? undefined : othersFrom(sections, where);
  return { table, fingerprint: tableFingerprint(table), record, ...(others ? { others } : {}), ipvsadmVersion: version.split('\n')[0] ?? '' };
}
