#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Usage: mkguest.sh KVER [OUT]
# Build the initramfs of the guest that selftests/qemu migrates: static
# busybox, guestd, the virtio-pci/-net/-blk modules of Debian kernel KVER
# (with their dependencies, decompressed) and guest-init as /init.
# OUT defaults to build/qemu-guest/KVER/initrd.gz; it is rebuilt only when
# older than one of its inputs, so calling this before every run is cheap.
# Prints OUT's path. Needs guestd (built here with gcc -static if
# build/guestd is missing or older than guestd.c).
set -eu
kver=$1
here=$(cd "$(dirname "$0")" && pwd)
build=${VMIG_BUILD:-$(cd "$here/../.." && pwd)/build}
out=${2:-$build/qemu-guest/$kver/initrd.gz}
guestd=$build/guestd

if [ ! -x "$guestd" ] || [ "$here/guestd.c" -nt "$guestd" ]; then
	mkdir -p "$build"
	gcc -static -O2 -Wall -pthread "$here/guestd.c" -o "$guestd"
fi
if [ -s "$out" ] && [ "$out" -nt "$guestd" ] && [ "$out" -nt "$here/guest-init" ] &&
   [ "$out" -nt "$here/mkguest.sh" ] && [ "$out" -nt "/lib/modules/$kver/modules.dep" ]; then
	echo "$out"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/lib/modules" "$tmp/proc" "$tmp/sys" "$tmp/dev"
cp /bin/busybox "$tmp/bin/busybox"
for a in sh mount insmod ip cat cut sleep echo poweroff; do
	ln -s busybox "$tmp/bin/$a"
done
cp "$guestd" "$tmp/bin/guestd"

# Ordered insmod list, dependencies first; built-in ones (virtio_pci on
# 6.12) print "builtin" and are skipped.
: > "$tmp/modules.list"
for m in virtio_pci virtio_net virtio_blk; do
	modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	case "$base" in
	*.xz) xz -dc "$ko" > "$tmp/lib/modules/${base%.xz}"; base=${base%.xz} ;;
	*) cp "$ko" "$tmp/lib/modules/$base" ;;
	esac
	echo "/lib/modules/$base" >> "$tmp/modules.list"
done

cp "$here/guest-init" "$tmp/init"
chmod +x "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
