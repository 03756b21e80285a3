#!/bin/sh
# The lab's own init for one director: Debian's kernel under QEMU, started by the initramfs (initramfs-init.sh) on an
# overlay of the host's root (read-only over 9p) whose writable layer is a tmpfs. It runs in one of three roles:
#   (no argument)  PID 1. Mounts, the module tree, the persistent disk; then either the lab's set-up (below) and a
#                  loop reaping orphans, or, for a director booted with systemd, unit files and masks written into the
#                  overlay's /etc/systemd and exec of /lib/systemd/systemd as PID 1.
#   setup          the lab's set-up (network namespaces for the client and the real servers, addresses, the lab's
#                  VIPs, the lab's sysctls, sshd with the lab's keys, the real servers' services), run by PID 1 or by
#                  systemd as lvsform-lab.service.
#   ready          under systemd: prints the ready line once multi-user.target is reached (lvsform-lab-ready.service).
# Settings arrive as kernel command-line variables (under systemd, from /etc/lvsform/boot.env, written by PID 1):
#   lvsform_dir      the host's lab state directory (read once, before anything else)
#   lvsform_moddir   the kernel's module tree on the host (the lab's kernel cache)
#   lvsform_index    the director's number k (tap side 203.0.113.(4k-2), point to point with the host's 4k-3)
#   lvsform_skip     comma-separated kernel modules to hide and never load (e.g. ip_vs_sh)
#   lvsform_forward  1 (default) or 0: net.ipv4.ip_forward and IPv6 forwarding on the director
#   lvsform_persist  1: /etc and /var/lib keep their changes on the disk /dev/vda across reboots
#   lvsform_systemd  1: systemd is PID 1, so that what a director keeps on its disk comes back by the distribution's
#                    own boot (systemd-modules-load, systemd-sysctl, Debian's ipvsadm service restoring
#                    /etc/ipvsadm.rules when /etc/default/ipvsadm says AUTO="true"); the lab then loads no IPVS module.
#   lvsform_role     set on a VM of a cluster lab (director or real-server): the set-up is cluster-setup.sh's instead
#                    (with lvsform_name, lvsform_shared, lvsform_private; see there)
# It prints "lvsform-ready" on the console when sshd listens and every namespace serves (under systemd: when the boot
# is over). Under emulation every process start costs tenths of a second, so it starts as few as it can: batches for
# ip, one modprobe.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
k=${lvsform_index:?lvsform_index is required}
moddir=${lvsform_moddir:?lvsform_moddir is required}
nic=eth0
hostname=${lvsform_name:-lab-director-$k}
say() { echo "lvsform-init: $*"; }
# Boot timings for lab up: the guest's uptime at each phase (read is a shell builtin: no process).
mark() { read -r up _ < /proc/uptime; echo "lvsform-time: $1 $up"; }
without() { # WORD LIST...: the list without WORD
  w=$1; shift; kept=""
  for x in "$@"; do [ "$x" = "$w" ] || kept="$kept $x"; done
  echo "$kept"
}

# PID 1's part before any set-up: mounts, files, the module tree, the persistent disk.
early() {
  # 1. The usual mounts (the root is already the overlay: nothing written here reaches the host). systemd mounts the
  # rest of its API file systems itself.
  mount -t proc proc /proc
  mark root
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev 2>/dev/null
  mkdir -p /var/lib/lvsform /usr/lib/modules
  [ "$lvsform_systemd" = 1 ] && mkdir -p /etc/systemd/system/sysinit.target.d /etc/systemd/system/multi-user.target.d \
    /etc/systemd/system-generators /etc/systemd/journald.conf.d
  if [ "$lvsform_systemd" != 1 ]; then
    mkdir -p /dev/pts /dev/shm /run
    mount -t devpts devpts /dev/pts
    mount -t tmpfs tmpfs /dev/shm
    mount -t tmpfs -o mode=0755 tmpfs /run
  fi
  cp -r "$lvsform_dir/guest" /etc/lvsform
  echo "$hostname" > /proc/sys/kernel/hostname

  # 2. Shell start-up files from the host's /root would run on every ssh command: blank them.
  for f in /root/.bashrc /root/.profile /root/.bash_profile /root/.bash_login /root/.bash_logout /root/.zshrc; do
    [ -e "$f" ] && : > "$f"
  done

  # 3. Kernel modules, findable inside the overlay only; hidden ones cannot be loaded, not even on demand.
  kver=$(uname -r)
  # (Under systemd, this machine's /.dockerenv goes too, from the guest's overlay only: with it, systemd would run in
  # container mode, ignoring the kernel's command line and skipping what a machine boots.)
  rm -rf "/usr/lib/modules/$kver" ${lvsform_systemd:+/.dockerenv} && ln -s "$moddir" "/usr/lib/modules/$kver"
  if [ -n "$lvsform_skip" ]; then
    oldifs=$IFS; IFS=,; set -- $lvsform_skip; IFS=$oldifs
    for m in "$@"; do
      for p in $(grep "/$m.ko[.a-z]*:" "$moddir/modules.dep" | cut -d: -f1); do rm -f "$moddir/$p"; done
      say "module $m hidden"
    done
  fi

  # 4. systemd's units, written before the persistent disk is mounted over /etc: they stay in the tmpfs layer, so
  # the disk holds only what the director itself wrote.
  [ "$lvsform_systemd" = 1 ] && systemd_units

  # 5. The persistent disk: an overlay upper for /etc and one for /var/lib, both on the director's own ext4 image.
  if [ "$lvsform_persist" = 1 ]; then
    mkdir -p /persist
    if modprobe -a virtio_blk ext4 && mount -t ext4 /dev/vda /persist; then
      for p in etc var/lib; do
        n=etc; [ "$p" = etc ] || n=var_lib
        mkdir -p "/persist/$n/upper" "/persist/$n/work"
        mount -t overlay -o "lowerdir=/$p,upperdir=/persist/$n/upper,workdir=/persist/$n/work" "lvsform-$n" "/$p" \
          || say "persistent /$p failed"
      done
    else
      say "persistent disk /dev/vda did not mount"
    fi
  fi
}

# What systemd boots in the guest: the distribution's own early boot (journald, systemd-modules-load, systemd-sysctl),
# the lab's set-up as lvsform-lab.service, the services of multi-user.target that a director has (Debian's ipvsadm,
# through systemd's SysV generator), and nothing of this machine's own: its enabled services, timers and gettys, udev
# (devtmpfs has every device the guest needs, and udev's coldplug costs seconds under emulation), first-boot and
# update steps that would write /etc, mounts the lab never uses. All of it goes into the overlay's /etc, written by
# shell built-ins only (under emulation a process per file would cost seconds): a unit or generator is masked by an
# empty file of its name, as by a link to /dev/null, and the lab's units are pulled in by drop-ins, not links.
systemd_units() {
  u=/etc/systemd/system
  # This machine's own enabled services (a database, its sshd, apt's timers, a getty, time sync, …): not a director's.
  # keepalived is a director's own (Debian enables it on install): left as this machine has it, it starts only once
  # /etc/keepalived/keepalived.conf is not empty (its unit's condition), as on a director where it is installed.
  for f in "$u"/*.wants/*; do
    n=${f##*/}
    case "$n" in *.target | keepalived.service | "*") ;; *) : > "$u/$n" ;; esac
  done
  # systemd-tmpfiles-setup: /tmp is this machine's /tmp under the overlay, which --boot --remove would walk over 9p.
  for n in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service \
    systemd-udev-settle.service systemd-hwdb-update.service kmod-static-nodes.service systemd-tmpfiles-setup-dev.service \
    getty.target getty-static.service console-getty.service serial-getty@ttyS0.service \
    dbus.service dbus.socket systemd-logind.service systemd-user-sessions.service \
    ldconfig.service systemd-sysusers.service systemd-firstboot.service systemd-machine-id-commit.service \
    systemd-update-done.service systemd-journal-catalog-update.service systemd-random-seed.service \
    systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-repart.service systemd-binfmt.service \
    proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
    sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount systemd-remount-fs.service \
    systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer systemd-journal-flush.service \
    systemd-update-utmp.service systemd-update-utmp-runlevel.service; do
    : > "$u/$n"
  done
  # Generators: only the SysV one (Debian's ipvsadm has an init script, no unit). No fstab (the root is the overlay),
  # no gettys, no partition probing of the persistent disk, no generated units of this machine's database.
  for g in /usr/lib/systemd/system-generators/*; do
    case "${g##*/}" in systemd-sysv-generator) ;; *) : > "/etc/systemd/system-generators/${g##*/}" ;; esac
  done
  printf '[Journal]\nStorage=volatile\n' > /etc/systemd/journald.conf.d/lvsform-lab.conf
  echo "$hostname" > /etc/hostname
  printf '%s\n' "lvsform_dir=$lvsform_dir" "lvsform_moddir=$moddir" "lvsform_index=$k" "lvsform_skip=$lvsform_skip" \
    "lvsform_forward=${lvsform_forward:-1}" "lvsform_persist=$lvsform_persist" "lvsform_systemd=1" \
    "lvsform_role=$lvsform_role" "lvsform_name=$lvsform_name" "lvsform_shared=$lvsform_shared" \
    "lvsform_private=$lvsform_private" > /etc/lvsform/boot.env
  # The lab's set-up is this machine image's network configuration: it runs before systemd-sysctl, so that the
  # director's /etc/sysctl.d has the last word over the lab's sysctls, as over any image's defaults.
  printf '%s\n' '[Unit]' 'Description=lvsform lab: addresses, namespaces, real servers, sshd' 'DefaultDependencies=no' \
    'After=systemd-journald.socket' 'Before=systemd-sysctl.service sysinit.target network-pre.target' \
    'Wants=network-pre.target' '' '[Service]' 'Type=oneshot' 'RemainAfterExit=yes' \
    'EnvironmentFile=/etc/lvsform/boot.env' 'ExecStart=/bin/sh /etc/lvsform/init.sh setup' \
    'StandardOutput=tty' 'StandardError=tty' 'TTYPath=/dev/console' 'TimeoutStartSec=300' > "$u/lvsform-lab.service"
  printf '[Unit]\nWants=lvsform-lab.service\n' > "$u/sysinit.target.d/lvsform-lab.conf"
  # The ready line once multi-user.target is reached: Debian's ipvsadm service has run by then.
  printf '%s\n' '[Unit]' 'Description=lvsform lab: the boot is over' 'After=multi-user.target' '' '[Service]' \
    'Type=oneshot' 'EnvironmentFile=/etc/lvsform/boot.env' 'ExecStart=/bin/sh /etc/lvsform/init.sh ready' \
    'StandardOutput=tty' 'StandardError=tty' 'TTYPath=/dev/console' > "$u/lvsform-lab-ready.service"
  printf '[Unit]\nWants=lvsform-lab-ready.service\n' > "$u/multi-user.target.d/lvsform-lab.conf"
}

# The lab's set-up: what the test topology needs, whoever is PID 1.
setup() {
mkdir -p /run/sshd /run/netns
# What the namespaces below need now (veth pairs, the bridge, the real servers' tunnel devices, which appear in every
# namespace when their module loads), and the rest (IPVS and every scheduler, conntrack, the firewall-mark matches),
# which loads in the background while the network is built: under emulation the guest waits mostly on reading module
# files from the host, and that wait overlaps the work that follows.
net_modules="veth bridge tunnel4 tunnel6 ipip ip_gre fou fou6 ip6_tunnel ip6_gre"
modules="nf_conntrack nf_nat ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_ftp ip_vs_pe_sip dummy iptable_mangle ip6table_mangle xt_mark
xt_multiport"
if [ -n "$lvsform_skip" ]; then
  oldifs=$IFS; IFS=,; set -- $lvsform_skip; IFS=$oldifs
  for m in "$@"; do
    modules=$(without "$m" $modules)
    net_modules=$(without "$m" $net_modules)
  done
fi
if [ "$lvsform_systemd" = 1 ]; then
  # IPVS comes from the director's own boot files, or not at all.
  kept=""
  for x in $modules; do case "$x" in ip_vs*) ;; *) kept="$kept $x" ;; esac; done
  modules=$kept
fi
load() { modprobe -a "$@" 2>/dev/null || for m in "$@"; do modprobe "$m" || say "module $m not loaded"; done; }
load $net_modules
(
  load $modules
  # Firewall marks for the fwmark services, set in mangle PREROUTING, before IPVS sees the packet.
  iptables-legacy -t mangle -A PREROUTING -d 198.51.100.50 -p tcp -m multiport --dports 80,8080 -j MARK --set-mark 1 \
    || say "IPv4 fwmark rule failed"
  ip6tables-legacy -t mangle -A PREROUTING -d 2001:db8:100::50 -p tcp -m multiport --dports 80,8080 -j MARK --set-mark 2 \
    || say "IPv6 fwmark rule failed"
) &

mark modules
# Networking. Root namespace = the director; namespaces client and rs1..rs4.
fwd=${lvsform_forward:-1}
ip -force -b - <<NET
link set lo up
addr add 203.0.113.$((4 * k - 2))/32 peer 203.0.113.$((4 * k - 3))/32 dev $nic
link set $nic up
netns add client
netns add rs1
netns add rs2
netns add rs3
netns add rs4
link add client0 type veth peer name eth0 netns client
link add rsbr0 type bridge
link add veth-rs1 type veth peer name eth0 netns rs1
link add veth-rs2 type veth peer name eth0 netns rs2
link add veth-rs3 type veth peer name eth0 netns rs3
link add veth-rs4 type veth peer name eth0 netns rs4
link set veth-rs1 master rsbr0
link set veth-rs2 master rsbr0
link set veth-rs3 master rsbr0
link set veth-rs4 master rsbr0
addr add 198.51.100.1/24 dev client0
addr add 2001:db8:100::1/64 dev client0 nodad
addr add 192.0.2.1/24 dev rsbr0
addr add 2001:db8::1/64 dev rsbr0 nodad
link set client0 up
link set rsbr0 up
link set veth-rs1 up
link set veth-rs2 up
link set veth-rs3 up
link set veth-rs4 up
NET
# VIPs are local on the client-facing link, so the client resolves them by ARP and by neighbour discovery; all but
# 17-19, 27-29 and 47-49 (IPv4 and IPv6), which lvsform itself puts on the director (a Director's `vips`).
i=10
vips=""
while [ $i -le 59 ]; do
  case $i in
    17|18|19|27|28|29|47|48|49) ;;
    *) vips="${vips}addr add 198.51.100.$i/32 dev client0
addr add 2001:db8:100::$i/128 dev client0 nodad
" ;;
  esac
  i=$((i + 1))
done
printf '%s' "$vips" | ip -force -b -
echo "$fwd" > /proc/sys/net/ipv4/ip_forward
echo "$fwd" > /proc/sys/net/ipv6/conf/all/forwarding
for d in all default client0 rsbr0 $nic; do
  echo 0 > /proc/sys/net/ipv4/conf/$d/rp_filter
  echo 1 > /proc/sys/net/ipv4/conf/$d/accept_local
done
# sshd on the tap address, with the lab's pinned host key and the lab's client key; it starts (reading its libraries
# from the host) while the namespaces are built. The configuration comes from the host (lab/ssh-files.ts).
/usr/sbin/sshd -f /etc/lvsform/sshd_config -o "ListenAddress=203.0.113.$((4 * k - 2))" &
sshd_starting=$!
ip -n client -force -b - <<NET
link set lo up
addr add 198.51.100.200/24 dev eth0
addr add 2001:db8:100::200/64 dev eth0 nodad
link set eth0 up
route add default via 198.51.100.1
route add default via 2001:db8:100::1
NET

mark network
# Real servers: their own address, the DR/TUN VIPs on lo, tunnel decapsulation, HTTP on 80/8080, UDP echo on 53.
lovips=""
echo_addrs=""
i=20
while [ $i -le 49 ]; do
  lovips="${lovips}addr add 198.51.100.$i/32 dev lo
addr add 2001:db8:100::$i/128 dev lo nodad
"
  echo_addrs="$echo_addrs 198.51.100.$i 2001:db8:100::$i"
  i=$((i + 1))
done
mkdir -p /srv/lvsform/rs1 /srv/lvsform/rs2 /srv/lvsform/rs3 /srv/lvsform/rs4
# The four are set up side by side: each mostly waits on the host's files.
for r in 1 2 3 4; do (
  echo "rs$r" > /srv/lvsform/rs$r/index.html
  printf 'link set lo up\naddr add 192.0.2.1%s/24 dev eth0\naddr add 2001:db8::1%s/64 dev eth0 nodad\nlink set eth0 up
route add default via 192.0.2.1\nroute add default via 2001:db8::1\n%slink set tunl0 up\nlink set gre0 up
link set ip6tnl0 up\nlink set ip6gre0 up\nfou add port 6080 gue\nfou add port 6080 gue -6\n' \
    "$r" "$r" "$lovips" | ip -n "rs$r" -force -b -
  # Static busybox throughout (nsenter, sh, httpd): under emulation a dynamically linked start costs several times more.
  busybox nsenter --net=/run/netns/rs$r busybox sh -c '
    for d in /proc/sys/net/ipv4/conf/*; do echo 0 > $d/rp_filter; done
    echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore
    echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce
    echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_ignore
    echo 2 > /proc/sys/net/ipv4/conf/eth0/arp_announce
    busybox httpd -p 80 -h "$1"
    busybox httpd -p 8080 -h "$1"
    shift
    perl /etc/lvsform/udp-echo.pl --ready "/run/lvsform-udp-$1" "$@" </dev/null >/dev/null 2>&1 &
  ' sh "/srv/lvsform/rs$r" "rs$r" "192.0.2.1$r" "2001:db8::1$r" $echo_addrs
) & done
mark real-servers-started

wait "$sshd_starting" || say "sshd failed"
wait
# The UDP echo servers run in the background: ready means every one has bound its sockets (a 10 s bound).
n=0
while [ $n -lt 200 ] && ! { [ -e /run/lvsform-udp-rs1 ] && [ -e /run/lvsform-udp-rs2 ] && [ -e /run/lvsform-udp-rs3 ] \
  && [ -e /run/lvsform-udp-rs4 ]; }; do
  busybox usleep 50000; n=$((n + 1))
done
[ $n -lt 200 ] || say "UDP echo servers did not start"
mark all-serving
}

# A cluster VM's set-up instead of the single-guest topology (read when it runs: /etc/lvsform is there by then).
if [ -n "$lvsform_role" ]; then
  setup() { . /etc/lvsform/cluster-setup.sh && cluster_setup; }
fi

case "${1:-pid1}" in
  setup) setup ;;
  ready)
    mark boot-over
    if [ -n "$lvsform_role" ]; then . /etc/lvsform/cluster-setup.sh && cluster_ready; fi
    echo "lvsform-ready"
    ;;
  pid1)
    early
    if [ "$lvsform_systemd" = 1 ]; then
      mark systemd
      exec /lib/systemd/systemd
    fi
    setup
    echo "lvsform-ready"
    # PID 1 stays, reaping orphans.
    while :; do
      sleep 3600 &
      wait
    done
    ;;
  *) say "unknown role $1"; exit 2 ;;
esac
