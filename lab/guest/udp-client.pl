#!/usr/bin/perl
# UDP client of the lab: sends COUNT datagrams to HOST:PORT, each from a new socket (a new source port, so IPVS
# schedules each one), waits up to TIMEOUT_MS for the answer and prints it, or "@@fail".
# Usage: udp-client.pl HOST PORT COUNT TIMEOUT_MS INTERVAL_MS
use strict;
use warnings;
use Socket qw(AF_INET AF_INET6 SOCK_DGRAM inet_aton inet_pton pack_sockaddr_in pack_sockaddr_in6);

my ($host, $port, $count, $timeout_ms, $interval_ms) = @ARGV;
my $v6 = $host =~ /:/;
my $sa = $v6 ? pack_sockaddr_in6($port, inet_pton(AF_INET6, $host)) : pack_sockaddr_in($port, inet_aton($host));
$| = 1;
for my $i (1 .. $count) {
  select(undef, undef, undef, $interval_ms / 1000) if $i > 1 && $interval_ms > 0;
  my ($answer, $s);
  if (socket($s, $v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0) && connect($s, $sa) && defined send($s, "lvsform\n", 0)) {
    my $ready = '';
    vec($ready, fileno($s), 1) = 1;
    if (select($ready, undef, undef, $timeout_ms / 1000) > 0 && defined recv($s, my $buf, 2048, 0)) {
      $answer = $buf;
      $answer =~ s/\s+\z//;
    }
    close($s);
  }
  print defined $answer && length $answer ? "$answer\n" : "\@\@fail\n";
}
