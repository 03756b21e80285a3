#!/usr/bin/env bash
# Installs the Debian packages the lvsform lab needs, only those missing (apt-get update once, then install), and
# those the unit tests of the pictures draw with: graphviz (`dot -Tsvg`) and chromium (mermaid.js, headless).
# Quiet when everything is present. keepalived is the director pairs' VRRP (test/lab/director-pair.test.ts,
# test/lab/cluster-failover.test.ts): the guests run from this machine's root, so it comes from here. Extra package
# names may be given as arguments.
set -euo pipefail

packages=(qemu-system-x86 xz-utils ipvsadm kmod iproute2 openssh-server openssh-client busybox-static curl iptables perl-base
  e2fsprogs procps iputils-arping python3-minimal sudo graphviz chromium keepalived "$@")

missing=()
for p in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-lab-deps: missing ${missing[*]}; run as root (sudo $0)" >&2
  exit 1
fi
echo "install-lab-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
