"""UDP echo of a lab cluster's real server: answers every datagram on port 53 with the server's name, from the address
the datagram was sent to. Bound to the wildcard addresses (IPv4 and IPv6), so it also answers on addresses the host
gains later (a VIP on lo for direct routing, on a tunnel device for tunnelling): the destination comes with each
datagram (IP_PKTINFO, IPV6_RECVPKTINFO) and goes back as the reply's source, as a DNS server bound to the wildcard does.
Usage: python3 udp-echo-any.py [--ready FILE] NAME   (FILE is created once both sockets are bound)
"""

import os
import select
import socket
import struct
import sys

IP_PKTINFO = 8  # linux/in.h (Python's socket module does not name it)
PORT = 53


def main(argv):
    ready = None
    if len(argv) > 2 and argv[0] == "--ready":
        ready, argv = argv[1], argv[2:]
    answer = (argv[0] + "\n").encode()

    v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    v4.setsockopt(socket.SOL_IP, IP_PKTINFO, 1)
    v4.bind(("0.0.0.0", PORT))
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    v6.bind(("::", PORT))
    if ready:
        open(ready, "w").close()

    space = socket.CMSG_SPACE(64)
    while True:
        for s in select.select([v4, v6], [], [])[0]:
            try:
                _, ancillary, _, peer = s.recvmsg(2048, space)
            except OSError:
                continue
            reply = []
            for level, kind, data in ancillary:
                if s is v4 and level == socket.SOL_IP and kind == IP_PKTINFO:
                    # struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }: send from addr, any interface.
                    reply = [(socket.SOL_IP, IP_PKTINFO, struct.pack("i4s4s", 0, data[8:12], b"\0" * 4))]
                elif s is v6 and level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    # struct in6_pktinfo { in6_addr addr; int ifindex; }: send from addr, through any interface (but a
                    # link-local address only means something on the interface it came in on).
                    link_local = data[0] == 0xFE and data[1] & 0xC0 == 0x80
                    index = struct.unpack("i", data[16:20])[0] if link_local else 0
                    reply = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, data[:16] + struct.pack("i", index))]
            try:
                s.sendmsg([answer], reply, 0, peer)
            except OSError:
                pass


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        os._exit(0)
