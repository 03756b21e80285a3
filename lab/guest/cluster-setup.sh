# The set-up of one virtual machine of a cluster lab (sourced by init.sh, run as lvsform-lab.service under systemd).
# A cluster VM is a bare host, as it would be racked: its addresses, sshd, and on a real server the application. No
# namespaces, no VIPs, no IPVS table, no ARP or rp_filter settings, no tunnel devices, no default route: whatever a
# forwarding method needs on a host is lvsform's to do (or the test's, by hand).
# Reads, besides init.sh's settings:
#   lvsform_role     director or real-server
#   lvsform_name     e.g. cluster-rs-1 (its hostname, and what its application answers)
#   lvsform_shared   IPV4,IPV6 on eth1, the shared segment (198.51.100.0/24, 2001:db8:100::/64) with the client
#   lvsform_private  IPV4,IPV6 on eth2, the private segment for NAT (192.0.2.0/24, 2001:db8::/64)
# Only under systemd (every cluster VM boots with it): cluster_ready runs in init.sh's `ready` role.
# A director gets forwarding (lvsform_forward, default 1); its IPVS modules load on demand from the module tree.
# A real server runs its application bound to the wildcard addresses, IPv4 and IPv6: HTTP on TCP 80 and 8080 (its
# name at /, 24 MiB of zeros at /big) and an echo of its name on UDP 53 from the address each datagram was sent to.

cluster_setup() {
  mkdir -p /run/sshd
  mgmt=203.0.113.$((4 * k - 2))
  shared4=${lvsform_shared%%,*}
  shared6=${lvsform_shared#*,}
  private4=${lvsform_private%%,*}
  private6=${lvsform_private#*,}
  # nodad: the addresses serve at once (the segments are the lab's own; nothing else could hold them).
  ip -force -b - <<NET
link set lo up
addr add $mgmt/32 peer 203.0.113.$((4 * k - 3))/32 dev $nic
link set $nic up
addr add $shared4/24 dev eth1
addr add $shared6/64 dev eth1 nodad
link set eth1 up
addr add $private4/24 dev eth2
addr add $private6/64 dev eth2 nodad
link set eth2 up
NET
  /usr/sbin/sshd -f /etc/lvsform/sshd_config -o "ListenAddress=$mgmt" &
  sshd_starting=$!
  mark network
  case "$lvsform_role" in
    director)
      echo "${lvsform_forward:-1}" > /proc/sys/net/ipv4/ip_forward
      echo "${lvsform_forward:-1}" > /proc/sys/net/ipv6/conf/all/forwarding
      ;;
    real-server) cluster_application ;;
    *) say "unknown cluster role $lvsform_role" ;;
  esac
  wait "$sshd_starting" || say "sshd failed"
  mark all-serving
}

cluster_application() {
  www=/srv/lvsform/www
  mkdir -p "$www"
  echo "$lvsform_name" > "$www/index.html"
  # Sparse: 24 MiB served, no memory taken in the guest's tmpfs.
  busybox truncate -s 24M "$www/big"
  busybox httpd -p 80 -h "$www"
  busybox httpd -p 8080 -h "$www"
  # -I -S: no user site, no site module (fewer files to read over 9p under emulation). Python's start overlaps the
  # rest of the boot: cluster_ready waits for it.
  python3 -I -S /etc/lvsform/udp-echo-any.py --ready /run/lvsform-udp "$lvsform_name" </dev/null >/dev/null 2>&1 &
}

# Before the ready line (run by lvsform-lab-ready.service once the boot is over): a real server's UDP echo has bound
# its sockets (a 20 s bound).
cluster_ready() {
  [ "$lvsform_role" = real-server ] || return 0
  n=0
  while [ $n -lt 400 ] && [ ! -e /run/lvsform-udp ]; do
    busybox usleep 50000; n=$((n + 1))
  done
  [ -e /run/lvsform-udp ] || say "UDP echo did not start"
}
