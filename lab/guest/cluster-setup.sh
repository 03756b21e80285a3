# The set-up of one virtual machine of a cluster lab (sourced by init.sh, run as lvsform-lab.service under systemd).
# A cluster VM is a bare host, as it would be racked: its addresses, sshd, and on a real server the application. No
# namespaces, no VIPs, no IPVS table, no ARP or rp_filter settings, no tunnel devices, no default route: whatever a
# forwarding method needs on a host is lvsform's to do (or the test's, by hand).
# Reads, besides init.sh's settings:
#   lvsform_role     director or real-server
#   lvsform_name     e.g. cluster-rs-1 (its hostname, and what its application answers)
#   lvsform_shared   IPV4,IPV6 on eth1, the shared segment (198.51.100.0/24, 2001:db8:100::/64) with the client
#                    (empty for a real server booted on the private segment only: its VM has no card there)
#   lvsform_private  IPV4,IPV6 on eth2, the private segment for NAT (192.0.2.0/24, 2001:db8::/64)
# Only under systemd (every cluster VM boots with it): cluster_ready runs in init.sh's `ready` role.
# A director is as bare as a real server: forwarding off (the kernel's default; lvsform's Director `setup` turns it on
# for NAT), its IPVS modules loaded on demand from the module tree.
# A real server runs its application bound to the wildcard addresses, IPv4 and IPv6: HTTP on TCP 80 and 8080 (its
# name at /, 24 MiB of zeros at /big) and an echo of its name on UDP 53 from the address each datagram was sent to.

cluster_setup() {
  mkdir -p /run/sshd
  mgmt=203.0.113.$((4 * k - 2))
  shared4=${lvsform_shared%%,*}
  shared6=${lvsform_shared#*,}
  private4=${lvsform_private%%,*}
  private6=${lvsform_private#*,}
  if [ -n "$lvsform_shared" ]; then
    shared="addr add $shared4/24 dev eth1
addr add $shared6/64 dev eth1 nodad
link set eth1 up"
  else
    # No card on the shared segment: the private card, probed second, is eth1 until it takes the private card's name.
    shared="link set eth1 name eth2"
  fi
  # nodad: the addresses serve at once (the segments are the lab's own; nothing else could hold them).
  ip -force -b - <<NET
link set lo up
addr add $mgmt/32 peer 203.0.113.$((4 * k - 3))/32 dev $nic
link set $nic up
$shared
addr add $private4/24 dev eth2
addr add $private6/64 dev eth2 nodad
link set eth2 up
NET
  # A real server also listens on its private address: reached there through a director (ssh -J), as behind NAT.
  listen="-o ListenAddress=$mgmt"
  [ "$lvsform_role" = real-server ] && listen="$listen -o ListenAddress=$private4"
  # sshd starts (reading its libraries from the host) while the boot goes on: cluster_ready waits for its PID file.
  /usr/sbin/sshd -f /etc/lvsform/sshd_config $listen &
  mark network
  case "$lvsform_role" in
    director) ;;
    real-server) cluster_application ;;
    *) say "unknown cluster role $lvsform_role" ;;
  esac
  mark all-started
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

# Before the ready line (run by lvsform-lab-ready.service once the boot is over): sshd listens (it writes its PID file
# once its sockets are bound) and a real server's UDP echo has bound its sockets (20 s bounds).
cluster_ready() {
  wait_for /run/sshd.pid || say "sshd did not start"
  [ "$lvsform_role" = real-server ] || return 0
  wait_for /run/lvsform-udp || say "UDP echo did not start"
}

wait_for() {
  n=0
  while [ $n -lt 400 ] && [ ! -e "$1" ]; do
    busybox usleep 50000; n=$((n + 1))
  done
  [ -e "$1" ]
}
