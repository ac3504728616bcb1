#!/bin/sh
# Install from Debian's archive whatever vmig's build and test rig need.
# Idempotent: installs only what is missing. Versions are discovered with
# apt-cache, never hard-coded, because Debian's kernel ABI numbers drift.
set -eu

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

newest() {
	apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -n 1
}

k612=$(newest '^linux-image-6\.12\.[0-9]+[+]deb12-amd64$')
h612=$(echo "$k612" | sed 's/linux-image/linux-headers/')

# lvm2 only for bench/storage.sh, which measures storage-move against pvmove;
# gnutls-bin for certtool, which makes tls_test.sh's X.509 certificates.
want="linux-image-amd64 linux-headers-amd64 $k612 $h612 linux-source-6.1
linux-source-6.12 qemu-system-x86 busybox-static kmod cpio xz-utils
libmnl-dev libjansson-dev libgnutls28-dev gnutls-bin sparse iproute2 procps util-linux python3 python3-yaml python3-jsonschema make gcc bc
flex bison libelf-dev pkg-config dmsetup lvm2"

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "setup: installing:$missing"
	$SUDO apt-get update -qq || true
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: all packages present"
