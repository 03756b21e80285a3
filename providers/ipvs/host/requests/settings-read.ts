/**
 * `settings-read`: the director settings a query names (addresses, dummy interfaces, IPVS timeouts, net.ipv4.vs
 * sysctls, the kernel release), as settings-chunk.ts reads them. Changes nothing. After a `read-table` in the same
 * round trip, whose read loads ip_vs (and with it /proc/sys/net/ipv4/vs).
 */
import type { LiveSettings, SettingsQuery } from '../../model/director-settings.ts';
import { parseSettingsRead, settingsReadChunk } from '../settings-chunk.ts';
import { endedEarly, type RequestKind } from './kind.ts';

export interface SettingsReadRequest {
  readonly kind: 'settings-read';
  readonly query: SettingsQuery;
}

export interface SettingsReadReply {
  readonly kind: 'settings-read';
  readonly settings: LiveSettings;
}

export const settingsRead: RequestKind<SettingsReadRequest, SettingsReadReply> = {
  script: (req, tag) => settingsReadChunk(tag, req.query),
  parse: (req, sections, ctx) => {
    const settings = parseSettingsRead(sections, req.query, ctx.where);
    if (!settings) throw endedEarly(ctx, 'the settings read');
    return { kind: 'settings-read', settings };
  },
};
