#!/usr/bin/perl
# UDP echo of one lab real server: answers every datagram on port 53 with the server's name, from the address the
# datagram was sent to (one socket per address, so direct-routing and tunnelled VIPs answer from the VIP).
# Usage: udp-echo.pl [--ready FILE] NAME ADDRESS...   (FILE is created once every socket is bound)
use strict;
use warnings;
use Socket qw(AF_INET AF_INET6 SOCK_DGRAM SOL_SOCKET SO_REUSEADDR inet_aton inet_pton pack_sockaddr_in pack_sockaddr_in6);

my $ready_file;
if (@ARGV > 1 && $ARGV[0] eq '--ready') { shift @ARGV; $ready_file = shift @ARGV; }
my ($name, @addresses) = @ARGV;
my (@sockets, $wanted);
$wanted = '';
for my $address (@addresses) {
  my $v6 = $address =~ /:/;
  socket(my $s, $v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0) or die "socket: $!";
  setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
  my $sa = $v6 ? pack_sockaddr_in6(53, inet_pton(AF_INET6, $address)) : pack_sockaddr_in(53, inet_aton($address));
  if (!bind($s, $sa)) { warn "bind $address: $!\n"; next; }
  push @sockets, $s;
  vec($wanted, fileno($s), 1) = 1;
}
if (defined $ready_file) { open(my $f, '>', $ready_file) or die "$ready_file: $!"; close($f); }
while (1) {
  my $ready = $wanted;
  next if select($ready, undef, undef, undef) <= 0;
  for my $s (@sockets) {
    next unless vec($ready, fileno($s), 1);
    my $peer = recv($s, my $buf, 2048, 0);
    send($s, "$name\n", 0, $peer) if defined $peer;
  }
}
