#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run inside the test VM after "modprobe kvm_amd": start a background
# "tvmm --wait --pin-keys" that holds KVM's static keys until poweroff,
# with the secondary CPUs offline while the keys flip.
#
# Why: creating the first VM and destroying the last one live-patches
# scheduler and KVM text (text_poke_bp).  Under QEMU TCG a CPU executing
# that text while another CPU patches it can be left looping on the int3
# forever, hanging the whole test VM (seen about once per 100 flips).  With
# the keys held, later VM create/destroy cycles patch nothing, and the one
# flip here happens with a single CPU online.
set -eu
tvmm=${TVMM:-$(cd "$(dirname "$0")/../.." && pwd)/build/tvmm}
log=/tmp/tvmm-hold-keys.log

cpus=
for c in /sys/devices/system/cpu/cpu[1-9]*; do
	[ -w "$c/online" ] || continue
	[ "$(cat "$c/online")" = 1 ] || continue
	echo 0 > "$c/online"
	cpus="$cpus $c"
done

# The pipe keeps the keeper's stdin open (EOF would make it quit).
(sleep 2147483647 | "$tvmm" --wait --pin-keys --slot 0:0:1M > "$log" 2>&1 &)
i=0
until grep -q '^READY' "$log" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 200 ]; then
		echo "tvmm-hold-keys: keeper did not start:" >&2
		cat "$log" >&2
		break
	fi
	sleep 0.1
done

for c in $cpus; do
	echo 1 > "$c/online"
done
