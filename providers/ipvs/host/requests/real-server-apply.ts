/**
 * `real-server-apply`: one phase of a real server's changes (`before` the directors' batches: tunnels, fou ports, VIPs
 * on lo, sysctls, the default route when the app manages it; `after` them: removals and values put back), then a
 * read-back. As `settings-apply`, a change that does not hold is carried in the reply (`error`, LVS_REAL_SERVER_FAILED)
 * beside the read-back, so that the record written next says what was really changed; only an answer that ended
 * early fails the round trip.
 */
import { LvsError } from '../../model/errors.ts';
import { describeTarget } from '../../model/host-target.ts';
import { type LiveRealServer, type RealServerChange, realServerPhase } from '../../model/real-server.ts';
import { unfinishedRealServer } from '../../plan/real-server.ts';
import { parseRealServerApply, realServerApplyChunk } from '../real-server-chunk.ts';
import { endedEarly, type RequestKind } from './kind.ts';

export interface RealServerApplyRequest {
  readonly kind: 'real-server-apply';
  /** The plan's changes; only those of `phase` are carried out. */
  readonly changes: readonly RealServerChange[];
  readonly phase: 'before' | 'after';
}

export interface RealServerApplyReply {
  readonly kind: 'real-server-apply';
  readonly after: LiveRealServer;
  readonly error?: LvsError;
}

export const realServerApply: RequestKind<RealServerApplyRequest, RealServerApplyReply> = {
  script: (req, tag) => realServerApplyChunk(tag, req.changes, req.phase),
  parse: (req, sections, ctx) => {
    const out = parseRealServerApply(sections);
    if (!out.after) throw endedEarly(ctx, 'the real-server preparation');
    const missing = unfinishedRealServer(
      req.changes.filter((c) => realServerPhase(c) === req.phase),
      out.after,
    );
    if (missing.length === 0 && out.failed.length === 0) return { kind: 'real-server-apply', after: out.after };
    const said = out.log ? `; the host said: ${out.log.split('\n').slice(-5).join(' | ')}` : '';
    const error = new LvsError(
      'LVS_REAL_SERVER_FAILED',
      `real server ${describeTarget(ctx.target)}: preparation not applied: ${(missing.length > 0 ? missing : out.failed).join('; ')}${said}`,
      { hint: 'Fix the cause on the real server (its kernel modules, iproute2) and apply again; its ownership record keeps what was really changed.' },
    );
    return { kind: 'real-server-apply', after: out.after, error };
  },
};
