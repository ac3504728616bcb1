#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: [VMIG_BENCH_...=..] bench/run.sh [KVER]   (default KVER: the newest
# installed Debian kernel)
# Build the benchmark programs, boot the test VM once with kernel KVER and
# run bench/in-vm.sh there (VMIG_BENCH_SCRIPT=qemu-in-vm.sh: the QEMU
# guest benchmark instead); it prints tables and ratios. Needs what
# `make kernels vmigctl selftests` builds (`make bench` does both).
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
kver=${1:-$(newest_kver)}
[ -n "$kver" ] || { echo "bench: no installed kernel with headers" >&2; exit 2; }

for f in "$build/$kver/vmig.ko" "$build/vmigctl" "$build/tvmm" "$build/memhash"; do
	[ -e "$f" ] || { echo "bench: $f missing: make kernels vmigctl selftests" >&2; exit 2; }
done

# Built here rather than by the Makefile so bench/ stays self-contained.
mkdir -p "$build/bench"
for p in tcpblast uvmcopy; do
	${CC:-cc} -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
		"$top/bench/$p.c" "$top/bench/netutil.c" -o "$build/bench/$p" || exit 2
done

# The VM does not inherit our environment: hand the knobs over in the
# command line (VMIG_BENCH_* are described in in-vm.sh).
knobs=""
for v in $(compgen -v VMIG_BENCH_); do
	knobs="$knobs$v=$(printf %q "${!v}") "
done

# Other VMs on this host slow the test VM down unevenly; say how busy it was.
hostload() { echo "host load average $(cut -d ' ' -f 1-3 /proc/loadavg) on $(nproc) CPUs"; }
echo "bench: booting $kver under QEMU (TCG, nested SVM); $(hostload)"
# The console carries firmware escapes and boot noise; keep the benchmark's
# own lines.
VMIG_RIG_TIMEOUT=${VMIG_RIG_TIMEOUT:-1200} \
	"$top/selftests/rig/vm-run.sh" "$kver" "$knobs$top/bench/${VMIG_BENCH_SCRIPT:-in-vm.sh}" |
	sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[A-Za-z]//g' |
	grep -av --line-buffered -e 'SeaBIOS' -e 'Booting from' -e 'reboot: Power down'
rc=${PIPESTATUS[0]}
echo "bench: $(hostload) at the end"
[ "$rc" -eq 0 ] || echo "bench: the test VM ended with status $rc" >&2
exit "$rc"
