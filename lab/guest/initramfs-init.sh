#!/bin/busybox sh
# /init of a lab director's initramfs (static busybox and the modules listed in /modules/order).
# It loads virtio, the network card, 9p and overlayfs, mounts this machine's root read-only over virtio-9p (tag
# hostroot) as the lower layer of an overlay whose upper layer is a tmpfs, and switches into it: every write of the
# guest stays in its own memory, nothing reaches the host. Then the lab's init (lvsform_dir/guest/init.sh) runs as
# PID 1 (and, for a director booted with systemd, hands PID 1 over to /lib/systemd/systemd), or the script named by
# lvsform_init. With lvsform_probe=1 it only reports that the kernel booted (the accelerator probe) and powers off.
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t devtmpfs devtmpfs /dev
mark() { read -r up _ < /proc/uptime; echo "lvsform-time: $1 $up"; }
mark kernel
if [ "$lvsform_probe" = 1 ]; then
  echo "lvsform-probe-ok"
  $b poweroff -f
fi
say() { echo "lvsform-init: $*"; }
fail() { say "$*"; $b sleep 1; $b poweroff -f; }
while read -r m; do
  $b insmod "/modules/$m" || say "insmod $m failed"
done < /modules/order
$b mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower \
  || fail "the host's root (9p tag hostroot) did not mount"
$b mount -t tmpfs -o mode=0755 lvsform-upper /mnt || fail "tmpfs failed"
$b mkdir -p /mnt/upper /mnt/work
$b mount -t overlay -o lowerdir=/lower,upperdir=/mnt/upper,workdir=/mnt/work lvsform-root /newroot \
  || fail "overlay failed"
# The lab's init, or another (a path on the host's root) given as lvsform_init, e.g. scripts/capture-fixtures.sh.
next=${lvsform_init:-$lvsform_dir/guest/init.sh}
[ -f "/newroot$next" ] || fail "no $next on the host's root"
mark initramfs
$b umount /proc
$b umount /dev
exec $b switch_root /newroot /bin/sh "$next"
