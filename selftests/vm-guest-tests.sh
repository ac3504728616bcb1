#!/bin/sh
# Runs inside a test VM on multi-threaded TCG (run.sh boots it so; a nested
# Linux guest makes no progress under single-threaded TCG, qemu/README):
# load KVM and vmig.ko, run the real-guest suite, unload, check the object
# log balances and the kernel printed nothing bad. Ends with
# "VMIG-RESULT pass=N fail=N skip=N", as vm-tests.sh does.
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
pass=0 fail=0 skip=0
export PATH="$build:$PATH"

. "$top/selftests/lib/vmcheck.sh"

ip link set lo up
dmesg -C
if grep -qw svm /proc/cpuinfo; then kvm=kvm_amd; else kvm=kvm_intel; fi
modprobe "$kvm" nested=1 || echo "# $kvm did not load"
"$top/selftests/lib/tvmm-hold-keys.sh"
# vmig.ko uses device-mapper's exports (the vmig-track target).
modprobe dm-mod 2>/dev/null
modprobe tls 2>/dev/null
if insmod "$build/$(uname -r)/vmig.ko" dyndbg=+p; then
	result ok "guest_vm: module_loads"
else
	result fail "guest_vm: module_loads"
fi
tap qemu_guest_test.sh "$top/selftests/qemu_guest_test.sh"
if rmmod vmig; then result ok "guest_vm: module_unloads"; else result fail "guest_vm: module_unloads"; fi
vmcheck_finish "guest_vm: "
