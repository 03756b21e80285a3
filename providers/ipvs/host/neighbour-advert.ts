/**
 * The unsolicited neighbour advertisement of an added IPv6 address (RFC 4861 §7.2.6), the IPv6 twin of `arping -U`.
 *
 * Debian ships no tool that sends one: ndisc6's package has no `ndsend`, and the kernel sends one only after duplicate
 * address detection with `ndisc_notify` set, while lvsform adds VIPs with `nodad` so that they serve at once. perl is
 * on every Debian system (perl-base, `Essential: yes`) and on RHEL-likes with the tools, and its `Socket` module is
 * enough: a raw ICMPv6 socket (the kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket), the hop limit 255 the
 * receiver requires of neighbour discovery, the interface chosen by its index, the source bound to the VIP (not
 * tentative, thanks to `nodad`), one Neighbor Advertisement to ff02::1: Override set, Solicited clear, Router set when
 * the interface forwards (as the kernel's own `ndisc_send_unsol_na`), target the VIP, and the interface's MAC as the
 * target link-layer address option. A neighbour holding an entry for the VIP takes the new link-layer address (the
 * Override flag), which is what moves traffic when a VIP comes to this director.
 *
 * The script is a fixed text; the VIP, interface index, MAC and router flag are its arguments, quoted, and the shell
 * reads the index, MAC and forwarding from /sys and /proc with its own `read`.
 */
import { shQuote } from './shell-quote.ts';

const SCRIPT = [
  'use Socket qw(AF_INET6 SOCK_RAW IPPROTO_IPV6 IPV6_MULTICAST_HOPS IPV6_MULTICAST_IF pack_sockaddr_in6 inet_pton);',
  'my ($vip, $ifindex, $mac, $router) = @ARGV;',
  'my $target = inet_pton(AF_INET6, $vip) or die "not an IPv6 address\\n";',
  'socket(my $s, AF_INET6, SOCK_RAW, 58) or die "socket: $!\\n";',
  'setsockopt($s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, pack("i", 255)) or die "hop limit: $!\\n";',
  'setsockopt($s, IPPROTO_IPV6, IPV6_MULTICAST_IF, pack("i", $ifindex)) or die "interface: $!\\n";',
  'bind($s, pack_sockaddr_in6(0, $target)) or die "bind: $!\\n";',
  'my $flags = ($router eq "1" ? 0x80000000 : 0) | 0x20000000;',
  'my $na = pack("CCnN", 136, 0, 0, $flags) . $target . pack("CC", 2, 1) . pack("H12", join("", split(/:/, $mac)));',
  'send($s, $na, 0, pack_sockaddr_in6(0, inet_pton(AF_INET6, "ff02::1"), $ifindex)) or die "send: $!\\n";',
].join(' ');

/** The perl script's text (for tests). */
export function neighbourAdvertScript(): string {
  return SCRIPT;
}

/**
 * The shell lines that announce `address` (canonical IPv6) on `device` (a checked interface name), in the background:
 * the apply does not wait for it, as it does not wait for arping.
 */
export function neighbourAdvertLines(device: string, address: string): string[] {
  const dev = shQuote(device);
  return [
    `read -r lvs_ix < /sys/class/net/${dev}/ifindex; read -r lvs_mac < /sys/class/net/${dev}/address`,
    `lvs_fw=0; [ -r /proc/sys/net/ipv6/conf/${dev}/forwarding ] && read -r lvs_fw < /proc/sys/net/ipv6/conf/${dev}/forwarding`,
    `perl -e ${shQuote(SCRIPT)} ${shQuote(address)} "$lvs_ix" "$lvs_mac" "$lvs_fw" </dev/null >/dev/null 2>&1 9>&- &`,
  ];
}
