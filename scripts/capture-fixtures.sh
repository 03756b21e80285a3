#!/bin/sh
# Captures real ipvsadm output from a real IPVS kernel (the lab's: Debian's own kernel under QEMU) into
# test/fixtures/ipvsadm/, and proves the restore-line round trip on that kernel.
#
#   scripts/capture-fixtures.sh            boot 1: build a table covering the whole option set, capture every
#                                          listing, try every in-place edit, feed deliberately bad -R batches;
#                                          then render the captured table with render-restore.ts and
#                                          boot 2: ipvsadm -C; ipvsadm -R < rendered; read back; compare.
#
# The guest runs without a network. It boots the lab's kernel and initramfs (lab/kernel.ts), whose init mounts this
# machine's root read-only under an overlay whose writable half is a tmpfs, then runs this file as PID 1 (lvsform_init):
# nothing the guest does reaches the host.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$REPO/test/fixtures/ipvsadm

# ---------------------------------------------------------------------------------------------------------------
# Guest side: this same file is init (PID 1) inside the lab's kernel.
# ---------------------------------------------------------------------------------------------------------------
if [ "$$" = 1 ]; then
  PATH=/usr/sbin:/usr/bin:/sbin:/bin
  export PATH
  mount -n -t proc proc /proc
  mount -n -t sysfs sysfs /sys
  mount -n -t devtmpfs devtmpfs /dev 2>/dev/null || true
  echo 1 > /proc/sys/kernel/printk
  KVER=$(uname -r)
  rm -rf /usr/lib/modules/$KVER; mkdir -p /usr/lib/modules; ln -s "$lvsform_moddir" /usr/lib/modules/$KVER
  modprobe ip_vs
  for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; do modprobe ip_vs_$s; done
  modprobe ip_vs_pe_sip
  modprobe dummy 2>/dev/null || true

  begin() { echo "@@@BEGIN $1"; }
  end() { echo "@@@END $1 rc=$2"; }
  # sec NAME CMD... : capture one command's output (stdout and stderr) and exit code
  sec() { sn=$1; shift; begin "$sn"; "$@" 2>&1; rc=$?; end "$sn" "$rc"; }
  # run a list of ipvsadm argument lines one by one, echoing each with its exit code (the evidence of what the
  # kernel accepts)
  runlist() {
    while IFS= read -r line; do
      case "$line" in ''|'#'*) echo "$line"; continue ;; esac
      out=$(eval "ipvsadm $line" 2>&1); rc=$?
      echo "+ ipvsadm $line"
      [ -n "$out" ] && echo "$out"
      echo "= rc=$rc"
    done
  }
  captures() { # PREFIX
    sec "$1.save" ipvsadm -S -n
    sec "$1.list" ipvsadm -L -n
    sec "$1.thresholds" ipvsadm -L -n --thresholds
    sec "$1.stats" ipvsadm -L -n --stats
    sec "$1.rate" ipvsadm -L -n --rate
    sec "$1.persistent-conn" ipvsadm -L -n --persistent-conn
    sec "$1.proc" cat /proc/net/ip_vs
  }

  set +e
  # IPv4 real servers must be routable (the kernel refuses a destination whose address type is not unicast):
  # a dummy interface carries the documentation ranges. Nothing leaves the guest.
  ip link set lo up
  ip link add d0 type dummy
  ip link set d0 up
  ip route add 192.0.2.0/24 dev d0
  ip -6 route add 2001:db8::/32 dev d0
  echo "@@@KERNEL $(uname -r) $(ipvsadm --version 2>&1 | head -n1)"
  case "${fixture_mode:-capture}" in
  capture)
    begin setup.log
    runlist < "$fixture_dir/setup.txt"
    end setup.log 0
    # a little traffic so that the counters and the connection table are not all zero: the VIPs are local, so
    # locally generated connections pass IPVS (LOCAL_OUT); the real servers do not exist, the SYNs still count.
    ip addr add 198.51.100.10/32 dev lo
    ip addr add 198.51.100.12/32 dev lo
    for p in 8001 8001 8002 443 443 444; do busybox timeout 2 busybox nc 198.51.100.10 $p </dev/null >/dev/null 2>&1; done
    for p in 443 443 444 445; do busybox timeout 2 busybox nc 198.51.100.12 $p </dev/null >/dev/null 2>&1; done
    sleep 5
    captures full
    sec full.save-names busybox timeout 20 ipvsadm -S
    sec full.list-names busybox timeout 20 ipvsadm -L
    sec full.list-exact ipvsadm -L -n --exact --stats
    sec full.list-service ipvsadm -L -n -t 198.51.100.16:80 --thresholds
    begin edits.log
    runlist < "$fixture_dir/edits.txt"
    end edits.log 0
    sec edited.save ipvsadm -S -n
    sec edited.thresholds ipvsadm -L -n --thresholds
    sec edited.proc cat /proc/net/ip_vs
    ipvsadm -C
    sec empty.save ipvsadm -S -n
    sec empty.list ipvsadm -L -n
    sec empty.proc cat /proc/net/ip_vs
    for b in "$fixture_dir"/bad-*.txt; do
      n=$(basename "$b" .txt)
      ipvsadm -C
      sec "$n.restore" ipvsadm -R < "$b"
      sec "$n.after" ipvsadm -S -n
    done
    ;;
  roundtrip)
    ipvsadm -C
    sec roundtrip.restore ipvsadm -R < "$fixture_dir/rendered.txt"
    sec roundtrip.save ipvsadm -S -n
    sec roundtrip.thresholds ipvsadm -L -n --thresholds
    ;;
  esac
  echo "@@@DONE"
  sync
  busybox poweroff -f
  exit 0
fi

# ---------------------------------------------------------------------------------------------------------------
# Host side.
# ---------------------------------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/fixture-capture.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# The table: every scheduler; flags; persistence with and without value; netmasks; pe sip; one-packet; tcp, udp,
# sctp; IPv4 and IPv6; fwmark v4 and v6; every forwarding method and tunnel type; weights; thresholds; long forms.
# Lines the kernel or ipvsadm rejects stay in on purpose: setup.log records which.
cat > "$WORK/setup.txt" <<'LIST'
# every scheduler
-A -t 198.51.100.10:8001 -s rr
-A -t 198.51.100.10:8002 -s wrr
-A -t 198.51.100.10:8003 -s lc
-A -t 198.51.100.10:8004 -s wlc
-A -t 198.51.100.10:8005 -s lblc
-A -t 198.51.100.10:8006 -s lblcr
-A -t 198.51.100.10:8007 -s dh
-A -t 198.51.100.10:8008 -s sh
-A -t 198.51.100.10:8009 -s sed
-A -t 198.51.100.10:8010 -s nq
-A -t 198.51.100.10:8011 -s fo
-A -t 198.51.100.10:8012 -s ovf
-A -t 198.51.100.10:8013 -s mh
-A -t 198.51.100.10:8014
-A -t 198.51.100.10:8015 -s twos
-a -t 198.51.100.10:8001 -r 192.0.2.11:8080 -m
-a -t 198.51.100.10:8001 -r 192.0.2.12:8080 -m -w 0
-a -t 198.51.100.10:8001 -r 192.0.2.13 -m
-a -t 198.51.100.10:8002 -r 192.0.2.11:8080 -m -w 2
-a -t 198.51.100.10:8004 -r 192.0.2.11:8080 -m -w 65535
-a -t 198.51.100.10:8004 -r 192.0.2.12:8080 -m -w 65536
-a -t 198.51.100.10:8004 -r 192.0.2.14:8080 -m -w -1
# scheduler flags
-A -t 198.51.100.11:80 -s sh -b sh-fallback,sh-port
-A -t 198.51.100.11:81 -s sh -b sh-port
-A -t 198.51.100.11:82 -s mh -b mh-fallback
-A -t 198.51.100.11:83 -s mh -b mh-fallback,mh-port
-A -t 198.51.100.11:84 -s rr -b flag-1,flag-3
-A -t 198.51.100.11:85 -s wlc -b sh-fallback
-A -t 198.51.100.11:86 -s sh -b mh-port
-A -t 198.51.100.11:87 -s sh -b flag-2,flag-1
-A -t 198.51.100.11:88 -s sh -b nonsense
# persistence
-A -t 198.51.100.12:443 -s wlc -p
-A -t 198.51.100.12:444 -s wlc -p 60
-A -t 198.51.100.12:445 -s wlc -p 600 -M 255.255.255.0
-A -t 198.51.100.12:0 -s rr -p 30
-A -t 198.51.100.12:446 -s rr -M 255.255.0.0
-A -t 198.51.100.12:447 -s rr -p 0
-A -t 198.51.100.12:448 -s rr -p 2678400
-A -t 198.51.100.12:449 -s rr -p 1 -M 0.0.0.0
-A -t 198.51.100.12:450 -s rr -p 10 -M 255.0.255.0
-A -t 198.51.100.13:0 -s rr
-a -t 198.51.100.12:443 -r 192.0.2.15:443 -m
-a -t 198.51.100.12:444 -r 192.0.2.15:444 -m
-a -t 198.51.100.12:0 -r 192.0.2.15 -m
-a -t 198.51.100.12:0 -r 192.0.2.16:0 -g
# persistence engine sip and one-packet scheduling
-A -u 198.51.100.13:5060 -s rr -p 120 --pe sip
-A -u 198.51.100.13:5061 -s rr --pe sip
-A -u 198.51.100.13:5062 -s sh -b sh-port -p --pe sip -o
-A -u 198.51.100.13:5063 -s rr --pe nonsense -p
-A -u 198.51.100.14:53 -s rr -o
-A -u 198.51.100.14:54 -s wrr --ops -p 10
-A -t 198.51.100.14:55 -s rr -o
-A -u 198.51.100.14:56 -s rr
-a -u 198.51.100.13:5060 -r 192.0.2.17:5060 -m
-a -u 198.51.100.14:53 -r 192.0.2.18:53 -g -w 3
# sctp
-A --sctp-service 198.51.100.15:3868 -s rr
-a --sctp-service 198.51.100.15:3868 -r 192.0.2.21:3868 -m
-a --sctp-service 198.51.100.15:3868 -r 192.0.2.22:3868 -g
# IPv6
-A -t [2001:db8::10]:80 -s wlc
-a -t [2001:db8::10]:80 -r [2001:db8:0:1::11]:80 -m -w 3
-a -t [2001:db8::10]:80 -r [2001:DB8:0:1:0:0:0:12]:8080 -g
-a -t [2001:db8::10]:80 -r [2001:db8:0:1::13]:80 -i --tun-type gue --tun-port 6080 --tun-csum
-A -u [2001:db8::10]:53 -s rr -p 300 -M 64
-A -t [2001:db8::10]:443 -s sh -b sh-fallback -p
-A -t [2001:db8::10]:444 -s rr -p 60 -M 128
-A -t [2001:db8::10]:445 -s rr -p 60 -M 0
-A -t [2001:db8::10]:446 -s rr -p 60 -M 129
-A -t [2001:db8:0:0:0:0:0:20]:80 -s rr
-A -u [2001:db8::10]:5060 -s rr -p 30 --pe sip -o
-A --sctp-service [2001:db8::10]:3868 -s rr
-a -t [2001:db8::10]:80 -r 192.0.2.19:80 -i
-a -t [2001:db8::10]:80 -r 192.0.2.20:80 -m
-A -t [::ffff:198.51.100.1]:80 -s rr
# firewall marks
-A -f 1 -s wlc
-a -f 1 -r 192.0.2.31 -m
-a -f 1 -r 192.0.2.32:8080 -m
-a -f 1 -r 192.0.2.33 -g
-a -f 1 -r 192.0.2.34 -i --tun-type gre
-A -f 2 -6 -s rr -p 60 -M 64
-a -f 2 -6 -r [2001:db8::31] -m
-a -f 2 -6 -r 2001:db8::31 -m
-a -f 2 -6 -r [2001:db8::32]:443 -g -w 4
-A -f 3 -s rr -p
-A -f 4 -s rr -o
-A -f 4294967295 -s rr
-A -f 0 -s rr
-A -f 1 -6 -s sh -b sh-fallback
# forwarding methods, weights, thresholds
-A -t 198.51.100.16:80 -s wrr
-a -t 198.51.100.16:80 -r 192.0.2.41:80 -g -w 5
-a -t 198.51.100.16:80 -r 192.0.2.42:80 -i -w 10
-a -t 198.51.100.16:80 -r 192.0.2.43:8080 -g
-a -t 198.51.100.16:80 -r 192.0.2.44:80 -m -w 65535
-a -t 198.51.100.16:80 -r 192.0.2.46:80 -m -x 100 -y 50
-a -t 198.51.100.16:80 -r 192.0.2.47:80 -m -x 2147483647 -y 0
-a -t 198.51.100.16:80 -r 192.0.2.45:80 -m -x 0 -y 7
-a -t 198.51.100.16:80 -r 192.0.2.40:80 -m -x 5 -y 9
-a -t 198.51.100.16:80 -r 192.0.2.48:80 -m -x 20 -y 0
-a -t 198.51.100.16:80 -r 192.0.2.49:80 -m -x 9 -y 9
-a -t 198.51.100.16:80 -r 192.0.2.50:80
-a -t 198.51.100.16:80 -r 192.0.2.50:80 -m
# tunnels
-A -t 198.51.100.17:80 -s rr
-a -t 198.51.100.17:80 -r 192.0.2.51:80 -i --tun-type ipip
-a -t 198.51.100.17:80 -r 192.0.2.52:80 -i --tun-type gue --tun-port 6080
-a -t 198.51.100.17:80 -r 192.0.2.53:80 -i --tun-type gue --tun-port 6081 --tun-nocsum
-a -t 198.51.100.17:80 -r 192.0.2.54:80 -i --tun-type gue --tun-port 6082 --tun-csum
-a -t 198.51.100.17:80 -r 192.0.2.55:80 -i --tun-type gue --tun-port 6083 --tun-remcsum
-a -t 198.51.100.17:80 -r 192.0.2.56:80 -i --tun-type gre
-a -t 198.51.100.17:80 -r 192.0.2.57:80 -i --tun-type gre --tun-csum
-a -t 198.51.100.17:80 -r 192.0.2.58:80 -i --tun-type gre --tun-remcsum
-a -t 198.51.100.17:80 -r 192.0.2.59:80 -i --tun-type ipip --tun-port 6080
-a -t 198.51.100.17:80 -r 192.0.2.60:80 -i --tun-type gue
-a -t 198.51.100.17:80 -r 192.0.2.61:80 -i --tun-type gre --tun-nocsum
-a -t 198.51.100.17:80 -r 192.0.2.62:80 -m --tun-type gue --tun-port 6080
-a -t 198.51.100.17:80 -r [2001:db8::61]:80 -i
-a -t 198.51.100.17:80 -r [2001:db8::62]:80 -i --tun-type gue --tun-port 6090 --tun-remcsum
-a -t 198.51.100.17:80 -r [2001:db8::63]:80 -m
-a -t 198.51.100.17:80 -r [2001:db8::64]:80 -g
# long option forms
--add-service --tcp-service 198.51.100.18:80 --scheduler wrr --persistent 100 --netmask 255.255.255.0
--add-server --tcp-service 198.51.100.18:80 --real-server 192.0.2.71:80 --masquerading --weight 7 --u-threshold 9 --l-threshold 3
--add-server --tcp-service 198.51.100.18:80 --real-server 192.0.2.72:80 --gatewaying
--add-server --tcp-service 198.51.100.18:80 --real-server 192.0.2.73:80 --ipip --tun-type gue --tun-port 5555 --tun-remcsum
--add-service --udp-service 198.51.100.18:53 --scheduler sh --sched-flags sh-port --persistent --pe sip --ops
--add-service --fwmark-service 9 --ipv6 --scheduler mh --sched-flags mh-port,mh-fallback
LIST

# In-place edits: every service and destination attribute. edits.log shows each command, its exit code and the
# service's lines of `ipvsadm -S -n` afterwards.
cat > "$WORK/edits.txt" <<'LIST'
# scheduler
-E -t 198.51.100.10:8001 -s wlc
# an edit without -s
-E -t 198.51.100.10:8003
# scheduler flags: remove one, remove all, add, change scheduler keeping flags
-E -t 198.51.100.11:80 -s sh -b sh-port
-E -t 198.51.100.11:82 -s mh
-E -t 198.51.100.11:81 -s sh -b sh-fallback,sh-port
-E -t 198.51.100.11:83 -s rr -b flag-1,flag-2
# persistence on, off, timeout, netmask (IPv4 and IPv6)
-E -t 198.51.100.10:8002 -s wrr -p 90
-E -t 198.51.100.12:444 -s wlc
-E -t 198.51.100.12:443 -s wlc -p 100
-E -t 198.51.100.12:445 -s wlc -p 600 -M 255.255.0.0
-E -u [2001:db8::10]:53 -s rr -p 300 -M 48
-E -t [2001:db8::10]:444 -s rr -p 60 -M 64
-E -t [2001:db8::10]:443 -s sh -b sh-fallback
# persistence off on a port-0 service
-E -t 198.51.100.12:0 -s rr
# persistence engine: add, remove, keep persistence
-E -u 198.51.100.14:54 -s wrr -p 10 --pe sip --ops
-E -u 198.51.100.13:5060 -s rr -p 120
-E -u 198.51.100.14:56 -s rr --pe sip
# persistence off while pe stays
-E -u [2001:db8::10]:5060 -s rr --pe sip -o
# one-packet on and off
-E -u 198.51.100.14:53 -s rr
-E -u 198.51.100.18:53 -s sh -b sh-port -p 360 --pe sip
-E -u [2001:db8::10]:53 -s rr -p 300 -M 48 -o
# fwmark services
-E -f 1 -s rr -p 30
-E -f 2 -6 -s wlc
# destinations: forwarding method masq -> droute (same port), droute -> tunnel, tunnel -> masq
-e -t 198.51.100.16:80 -r 192.0.2.44:80 -g -w 65535
-e -t 198.51.100.16:80 -r 192.0.2.41:80 -i -w 5
-e -t 198.51.100.16:80 -r 192.0.2.42:80 -m -w 10
# masq on another port -> droute: ipvsadm rewrites the port to the service port
-e -t 198.51.100.10:8001 -r 192.0.2.11:8080 -g
# weight
-e -t 198.51.100.16:80 -r 192.0.2.46:80 -m -w 0 -x 100 -y 50
# edit without -x/-y/-w/-m: what is reset
-e -t 198.51.100.16:80 -r 192.0.2.47:80
# thresholds
-e -t 198.51.100.16:80 -r 192.0.2.48:80 -m -x 10 -y 5
-e -t 198.51.100.16:80 -r 192.0.2.49:80 -m -x 0 -y 0
# tunnel type, port, checksum
-e -t 198.51.100.17:80 -r 192.0.2.51:80 -i --tun-type gue --tun-port 7000
-e -t 198.51.100.17:80 -r 192.0.2.52:80 -i --tun-type gue --tun-port 7001
-e -t 198.51.100.17:80 -r 192.0.2.53:80 -i --tun-type gue --tun-port 6081 --tun-remcsum
-e -t 198.51.100.17:80 -r 192.0.2.54:80 -i --tun-type gre --tun-csum
-e -t 198.51.100.17:80 -r 192.0.2.56:80 -i --tun-type ipip
-e -t 198.51.100.17:80 -r 192.0.2.57:80 -m
-e -t 198.51.100.17:80 -r [2001:db8::61]:80 -i --tun-type gue --tun-port 6091
-e -t 198.51.100.17:80 -r [2001:db8::61]:80 -m
# fwmark destinations: port changes are identity changes
-e -f 1 -r 192.0.2.32:8080 -m -w 9
-e -f 1 -r 192.0.2.31:0 -g
# the largest mark, as ipvsadm -S prints it (-1) and as unsigned
-E -f -1 -s wlc
-E -f 4294967295 -s lc
# edits of things that do not exist
-E -t 198.51.100.99:80 -s rr
-e -t 198.51.100.16:80 -r 192.0.2.99:80 -m
LIST

# Deliberately bad ipvsadm -R batches.
cat > "$WORK/bad-rejected-line.txt" <<'LIST'
-A -t 198.51.100.90:80 -s rr
-a -t 198.51.100.90:80 -r 192.0.2.91:80 -m
-A -t 198.51.100.90:80 -s rr
-a -t 198.51.100.90:80 -r 192.0.2.92:80 -m
-a -t 198.51.100.90:80 -r 192.0.2.91:80 -m
-A -t 198.51.100.91:80 -s nosuchscheduler
-a -t 198.51.100.90:80 -r 192.0.2.93:80 -m
LIST
cat > "$WORK/bad-address.txt" <<'LIST'
-A -t 198.51.100.90:80 -s rr
-a -t 198.51.100.90:80 -r 192.0.2.300:80 -m
-a -t 198.51.100.90:80 -r 192.0.2.92:80 -m
LIST
cat > "$WORK/bad-port.txt" <<'LIST'
-A -t 198.51.100.90:80 -s rr
-A -t 198.51.100.90:70000 -s rr
-a -t 198.51.100.90:80 -r 192.0.2.92:80 -m
LIST
cat > "$WORK/bad-unparsable.txt" <<'LIST'
-A -t 198.51.100.90:80 -s rr
-a -t 198.51.100.90:80 -r 192.0.2.91:80 -m --no-such-option
-a -t 198.51.100.90:80 -r 192.0.2.92:80 -m
LIST
cat > "$WORK/bad-comment-and-blank.txt" <<'LIST'
# a comment line
-A -t 198.51.100.90:80 -s rr

-a -t 198.51.100.90:80 -r 192.0.2.92:80 -m
LIST

# The lab's kernel and initramfs (fetched and built on first use, then cached).
LAB_BOOT=$(cd "$REPO" && node --import tsx -e "
  const { ensureKernel, ensureInitramfs } = await import('./lab/kernel.ts');
  const k = await ensureKernel((m) => console.error(m));
  console.log(k.image, k.moduleDir, await ensureInitramfs(k));
")
set -- $LAB_BOOT
KERNEL_IMAGE=$1 KERNEL_MODULES=$2 INITRAMFS=$3

boot() { # MODE LOG
  /usr/bin/qemu-system-x86_64 -machine pc -accel tcg,thread=multi -m 512 -smp 1 -nodefaults -no-reboot -display none \
    -serial stdio -monitor none -kernel "$KERNEL_IMAGE" -initrd "$INITRAMFS" \
    -fsdev local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
    -append "console=ttyS0 quiet panic=-1 lvsform_init=$REPO/scripts/capture-fixtures.sh lvsform_moddir=$KERNEL_MODULES fixture_mode=$1 fixture_dir=$WORK" \
    </dev/null >"$2" 2>&1 || true
  grep -q '^@@@DONE' "$2" || { echo "guest did not finish; console log:" >&2; cat "$2" >&2; exit 1; }
}

# split a console log into files: section NAME -> $2/NAME.txt (exit code in NAME.exit when not 0)
split_log() { # LOG DIR
  tr -d '\r' < "$1" | awk -v dir="$2" '
    /^@@@BEGIN / { name = $2; file = dir "/" name ".txt"; printf "" > file; next }
    /^@@@END / { close(file); rc = $3; sub(/^rc=/, "", rc); if (rc != "0") { print rc > (dir "/" name ".exit"); close(dir "/" name ".exit") } name = ""; next }
    name != "" { print >> file }
  '
}

mkdir -p "$WORK/out"
echo "boot 1: capture" >&2
boot capture "$WORK/capture.log"
split_log "$WORK/capture.log" "$WORK/out"
rm -f "$OUT"/*.txt "$OUT"/*.exit
cp "$WORK/out"/* "$OUT"/
for f in "$WORK"/bad-*.txt; do cp "$f" "$OUT/$(basename "$f" .txt).input.txt"; done
cp "$WORK/setup.txt" "$OUT/setup.input.txt"
cp "$WORK/edits.txt" "$OUT/edits.input.txt"
grep '^@@@KERNEL' "$WORK/capture.log" | tr -d '\r' | sed 's/^@@@KERNEL //' > "$OUT/kernel.txt"

[ "${CAPTURE_ONLY:-}" = 1 ] && exit 0

# Round trip: captured live table -> parseSave (+ thresholds) -> renderTable -> ipvsadm -C; ipvsadm -R -> read back
cat > "$WORK/render.ts" <<TS
import { readFileSync, writeFileSync } from 'node:fs';
import { parseSave } from '$REPO/providers/ipvs/parse-save.ts';
import { mergeThresholds } from '$REPO/providers/ipvs/parse-list.ts';
import { renderTable } from '$REPO/providers/ipvs/render-restore.ts';
import { tableEquals } from '$REPO/providers/ipvs/model.ts';
const [mode, a, b, c, d] = process.argv.slice(2) as [string, string, string, string, string];
const read = (save: string, thr: string) => mergeThresholds(parseSave(readFileSync(save, 'utf8'), save), readFileSync(thr, 'utf8'));
if (mode === 'render') writeFileSync(b, renderTable(read(a, c)));
else {
  const x = read(a, b), y = read(c, d);
  const ok = tableEquals(x, y);
  console.log(ok ? 'round trip: identical (' + x.services.length + ' services, ' + x.services.reduce((n, s) => n + s.destinations.length, 0) + ' destinations)' : 'round trip: DIFFERENT');
  if (!ok) { console.log(JSON.stringify(x, null, 1)); console.log(JSON.stringify(y, null, 1)); process.exit(1); }
}
TS
echo "boot 2: round trip" >&2
(cd "$REPO" && npx tsx "$WORK/render.ts" render "$OUT/full.save.txt" "$WORK/rendered.txt" "$OUT/full.thresholds.txt")
boot roundtrip "$WORK/roundtrip.log"
mkdir -p "$WORK/rt"
split_log "$WORK/roundtrip.log" "$WORK/rt"
cp "$WORK/rendered.txt" "$OUT/roundtrip.input.txt"
cp "$WORK/rt"/* "$OUT"/
(cd "$REPO" && npx tsx "$WORK/render.ts" compare "$OUT/full.save.txt" "$OUT/full.thresholds.txt" "$OUT/roundtrip.save.txt" "$OUT/roundtrip.thresholds.txt") | tee "$OUT/roundtrip.result.txt"
