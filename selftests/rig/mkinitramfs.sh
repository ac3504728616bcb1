#!/bin/sh
# Build the test VM's initramfs for kernel KVER: static busybox, the modules
# needed to reach the host's root over 9p, and an /init that chroots into an
# overlay of it and runs /cmd. Everything else (kvm, veth, dm, our build, the
# tests) comes from the host root inside the VM.
set -eu
kver=$1
out=$2
cmd=$3
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/lib/modules" "$tmp/proc" "$tmp/sys" "$tmp/dev" \
	"$tmp/host" "$tmp/upper" "$tmp/root"
cp /bin/busybox "$tmp/bin/busybox"
for a in sh mount umount insmod mkdir cat echo chroot poweroff sleep switch_root; do
	ln -s busybox "$tmp/bin/$a"
done

# Ordered insmod list: each module's dependencies come before it.
: > "$tmp/modules.list"
for m in virtio_pci 9pnet_virtio 9p overlay; do
	modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	case "$base" in
	*.xz) xz -dc "$ko" > "$tmp/lib/modules/${base%.xz}"; base=${base%.xz} ;;
	*) cp "$ko" "$tmp/lib/modules/$base" ;;
	esac
	echo "/lib/modules/$base" >> "$tmp/modules.list"
done

printf '#!/bin/sh\nexec chroot /root /sbin/modprobe "$@"\n' > "$tmp/bin/modprobe-chroot"
chmod +x "$tmp/bin/modprobe-chroot"
cp "$here/init" "$tmp/init"
chmod +x "$tmp/init"
printf '%s\n' "$cmd" > "$tmp/cmd"
(cd "$tmp" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
