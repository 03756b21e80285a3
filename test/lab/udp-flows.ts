/**
 * UDP flows through a VIP across a director failover (cluster-failover.test.ts): a responder on each real server that
 * answers every datagram with its name, and a client that keeps a few flows (one source port each) talking, then
 * reports which real server answered each flow before and after the failover.
 *
 * IPVS keeps a UDP "connection" per flow (client address and port): a director that holds the flow's entry sends its
 * datagrams to the same real server, one that does not schedules the flow anew. To make "anew" visible, the client
 * waits for the failover, and a new flow (`probe`) is answered through the new master before the old flows speak
 * again: a round-robin service that has scheduled nothing yet on the new master gives the probe its first real server,
 * so each old flow scheduled anew lands one real server further on than where the old master had put it. With the
 * connection sync daemon, the new master holds the flows' entries and the probe changes nothing for them.
 */

/** Python 3 (standard library only), run as `python3 -I -S -c RESPONDER NAME VIP PORT...` on a real server (the modules of
 * python3-minimal only, as the lab's own UDP echo). */
export const UDP_RESPONDER = `
import selectors, socket, sys
name, vip, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
sel = selectors.DefaultSelector()
for port in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: bound before the VIP is on lo, answering from it once it is
    s.bind((vip, int(port)))
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        data, peer = key.fileobj.recvfrom(2048)
        key.fileobj.sendto(name.encode() + b' ' + data, peer)
`;

/**
 * Python 3 (python3-minimal), run as `python3 -I -S -c CLIENT VIP PORT FIRST_SOURCE_PORT FLOWS FLAG_FILE SECONDS` in the client namespace.
 * Flows 1..FLOWS use source ports FIRST+1..FIRST+FLOWS; the probe uses FIRST. Every 100 ms each flow sends one
 * datagram. Once FLAG_FILE exists (the test writes it when the master is powered off), the flows are silent until the
 * probe, sent every 100 ms, is answered; then they speak again for 3 s, and the client prints a line per flow (`flow PORT BEFORE AFTER`, the names
 * of the real servers that answered, comma-separated, `-` for none) and `probe NAME`, and ends (or at SECONDS).
 */
export const UDP_CLIENT = `
import os, select, socket, sys, time
vip, port, first, flows, flag, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
def sock(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('', p))
    s.setblocking(False)
    return s
socks = {first + i: sock(first + i) for i in range(1, flows + 1)}
probe = sock(first)
# Replies are told apart by the number they echo: those to datagrams sent before the failover, and those to datagrams
# sent once the probe was answered (a reply still on its way from a real server at the power-off is neither).
before = {p: [] for p in socks}
after = {p: [] for p in socks}
probe_by = None
flag_seq = None
resume_seq = None
answered_at = None
end = time.monotonic() + seconds
seq = 0
while time.monotonic() < end:
    seq += 1
    if flag_seq is None and os.path.exists(flag):
        flag_seq = seq
    if flag_seq is None or resume_seq is not None:
        for s in socks.values():
            s.sendto(str(seq).encode(), (vip, port))
    else:
        probe.sendto(str(seq).encode(), (vip, port))
    deadline = time.monotonic() + 0.1
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([probe, *socks.values()], [], [], left)
        for s in ready:
            try:
                data, _ = s.recvfrom(2048)
            except BlockingIOError:
                continue
            name, n = data.decode().split(' ')[:2]
            if s is probe:
                if probe_by is None:
                    probe_by, answered_at, resume_seq = name, time.monotonic(), seq + 1
                continue
            p = s.getsockname()[1]
            if flag_seq is None or int(n) < flag_seq:
                before[p].append(name)
            elif resume_seq is not None and int(n) >= resume_seq:
                after[p].append(name)
    if answered_at is not None and time.monotonic() - answered_at > 3:
        break
for p in socks:
    print('flow', p, ','.join(before[p]) or '-', ','.join(after[p]) or '-')
print('probe', probe_by or '-')
`;

/** What the client saw: per flow (its source port), which real servers answered before and after the failover. */
export interface UdpFlows {
  readonly before: Readonly<Record<string, readonly string[]>>;
  readonly after: Readonly<Record<string, readonly string[]>>;
  /** The real server that answered the probe through the new master (null: never answered). */
  readonly probe: string | null;
}

/** The client's report; throws with all it printed when it is not whole. */
export function parseUdpFlows(out: { readonly stdout: string; readonly stderr: string; readonly exitCode: number }): UdpFlows {
  const before: Record<string, string[]> = {};
  const after: Record<string, string[]> = {};
  const names = (list: string): string[] => (list === '-' ? [] : list.split(','));
  for (const m of out.stdout.matchAll(/^flow (\d+) (\S+) (\S+)$/gm)) {
    before[m[1]!] = names(m[2]!);
    after[m[1]!] = names(m[3]!);
  }
  const probe = /^probe (\S+)$/m.exec(out.stdout)?.[1];
  if (probe === undefined || Object.keys(before).length === 0) {
    throw new Error(`the UDP client printed no whole report (exit ${out.exitCode}):\n${out.stdout}${out.stderr}`);
  }
  return { before, after, probe: probe === '-' ? null : probe };
}

/** The real servers that answered a flow, once each, in order of first answer. */
export const answeredFlow = (names: readonly string[]): string[] => [...new Set(names)];
