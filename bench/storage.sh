#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: [VMIG_BENCH_STORAGE_...=..] bench/storage.sh [KVER...]   (default:
# the newest installed Debian kernel)
# The storage-move benchmark: for each KVER in turn, boot the test VM and
# run bench/storage-in-vm.sh there, which moves a ramdisk-backed device
# with dd, pvmove and vmigctl storage-move, idle and under a writer, and
# prints tables and ratios. Needs what `make kernels vmigctl selftests`
# builds (`make bench-storage` does both) and lvm2 (`make setup`).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# Guest vCPUs in parallel, as the recorded ratios were measured (a flake
# there costs a rerun, not a verdict; see selftests/rig/vm-run.sh).
export VMIG_RIG_THREAD=${VMIG_RIG_THREAD:-multi}
build=$top/build

# Same rule as the Makefile's KVERS: a kernel image and its build tree.
newest_kver() {
	for d in /lib/modules/*/build; do
		k=$(basename "${d%/build}")
		[ -e "/boot/vmlinuz-$k" ] && [ -e "$d/Makefile" ] && echo "$k"
	done | sort -V | tail -n 1
}
[ $# -gt 0 ] || set -- "$(newest_kver)"
[ -n "$1" ] || { echo "bench: no installed kernel with headers" >&2; exit 2; }

for f in "$build/vmigctl" "$build/diskverify"; do
	[ -e "$f" ] || { echo "bench: $f missing: make kernels vmigctl selftests" >&2; exit 2; }
done
for kver in "$@"; do
	[ -e "$build/$kver/vmig.ko" ] ||
		{ echo "bench: $build/$kver/vmig.ko missing: make kernels" >&2; exit 2; }
done
command -v lvm > /dev/null ||
	echo "bench: lvm2 is not installed (make setup): no pvmove rows" >&2

# The VM reads the host's files live, and bash reads a script as it runs
# it: a rebuild or an edit during a run would change what is measured
# halfway. Run from a private copy (the rig keeps the host's /tmp visible).
stage=$(mktemp -d /tmp/vmig-bench-storage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bench" "$stage/build" "$stage/selftests/lib"
cp "$top/bench/storage-in-vm.sh" "$stage/bench/"
cp "$top/selftests/lib/dm.sh" "$stage/selftests/lib/"
cp "$build/vmigctl" "$build/diskverify" "$stage/build/"
for kver in "$@"; do
	mkdir -p "$stage/build/$kver"
	cp "$build/$kver/vmig.ko" "$stage/build/$kver/"
done

# The VM does not inherit our environment: hand the knobs over in the
# command line (VMIG_BENCH_STORAGE_* are described in storage-in-vm.sh).
knobs=""
for v in $(compgen -v VMIG_BENCH_STORAGE_); do
	knobs="$knobs$v=$(printf %q "${!v}") "
done

# Two ramdisks of the device's size live in the VM's memory.
mib=${VMIG_BENCH_STORAGE_MIB:-512}
export VMIG_RIG_MEM=${VMIG_RIG_MEM:-$((mib * 2 + 1536))}

hostload() { echo "host load average $(cut -d ' ' -f 1-3 /proc/loadavg) on $(nproc) CPUs"; }
rc=0
# One VM at a time: the kernels' runs must not compete for the host.
for kver in "$@"; do
	echo "bench: booting $kver under QEMU (TCG, nested SVM); $(hostload)"
	# The console carries firmware escapes and boot noise; keep the
	# benchmark's own lines.
	VMIG_RIG_TIMEOUT=${VMIG_RIG_TIMEOUT:-1200} \
		"$top/selftests/rig/vm-run.sh" "$kver" "$knobs$stage/bench/storage-in-vm.sh" |
		sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[A-Za-z]//g' |
		grep -av --line-buffered -e 'SeaBIOS' -e 'Booting from' -e 'reboot: Power down'
	r=${PIPESTATUS[0]}
	echo "bench: $(hostload) at the end"
	if [ "$r" -ne 0 ]; then
		echo "bench: the test VM for $kver ended with status $r" >&2
		rc=$r
	fi
done
exit "$rc"
