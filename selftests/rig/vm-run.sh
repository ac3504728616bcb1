#!/bin/sh
# Usage: vm-run.sh KVER 'shell command'
# Boot Debian kernel KVER under QEMU/TCG (nested SVM available), run the
# command inside a chroot of the host's root (read-only 9p + tmpfs overlay),
# print the console, and exit with the command's status. Exit 125 when the
# VM died without reporting one (panic, timeout).
set -eu
kver=$1
cmd=$2
here=$(cd "$(dirname "$0")" && pwd)
timeout=${VMIG_RIG_TIMEOUT:-1800}
# VMIG_RIG_APPEND: more kernel parameters (debugging, e.g. debug_pagealloc=on)
# log_buf_len: the object-log check reads a whole run's debug lines from
# the kernel log, and the frame fuzzer alone writes thousands.
mem=${VMIG_RIG_MEM:-2048}
# VMIG_RIG_THREAD: QEMU's TCG threading, single (default) or multi. With
# multi-threaded TCG and nested SVM the rig broke itself in 4 of 6 full
# runs: a vCPU of a test guest handed back the L1 kernel's own
# CR0 and CS, and a test VM panicked in a test that never touches vmig.
# One thread per VM also leaves the other core to a second VM (run.sh).
thread=${VMIG_RIG_THREAD:-single}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/mkinitramfs.sh" "$kver" "$work/initrd" "$cmd"
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
	-machine q35 -accel "tcg,thread=$thread" -cpu EPYC,+svm,+npt -smp 2 -m "$mem" \
	-nographic -no-reboot -nic none \
	-kernel "/boot/vmlinuz-$kver" -initrd "$work/initrd" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic log_buf_len=16M rdinit=/init ${VMIG_RIG_APPEND:-}" \
	< /dev/null 2>&1 | grep -av "^qemu-system-x86_64: warning: TCG doesn't support" \
	| tee "$work/console" | tr -d '\r'
rc=$(sed -n 's/.*VMIG-RIG-EXIT \([0-9]*\).*/\1/p' "$work/console" | tail -n 1)
[ -n "$rc" ] || { echo "rig: VM ended without an exit status" >&2; exit 125; }
exit "$rc"
