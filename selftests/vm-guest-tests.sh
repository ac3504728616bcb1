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

result() {
	case $1 in
	ok) pass=$((pass + 1)); echo "ok - $2" ;;
	*) fail=$((fail + 1)); echo "not ok - $2${3:+ # $3}" ;;
	esac
}

ip link set lo up
dmesg -C
if grep -qw svm /proc/cpuinfo; then kvm=kvm_amd; else kvm=kvm_intel; fi
modprobe "$kvm" nested=1 || echo "# $kvm did not load"
"$top/selftests/lib/tvmm-hold-keys.sh"
if insmod "$build/$(uname -r)/vmig.ko" dyndbg=+p; then
	result ok "guest_vm: module_loads"
else
	result fail "guest_vm: module_loads"
fi
echo "# ---- qemu_guest_test.sh"
out=$(mktemp)
"$top/selftests/qemu_guest_test.sh" > "$out" 2>&1
rc=$?
cat "$out"
p=$(grep -cE '^ok [0-9]+' "$out")
f=$(grep -cE '^not ok [0-9]+' "$out")
pass=$((pass + p)); fail=$((fail + f))
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && result fail "qemu_guest_test.sh" "exited $rc without a failing test"
if rmmod vmig; then result ok "guest_vm: module_unloads"; else result fail "guest_vm: module_unloads"; fi
if dmesg | "$top/selftests/leakcheck.sh"; then
	result ok "guest_vm: object_log_balances"
else
	result fail "guest_vm: object_log_balances"
fi
bad=$(dmesg | grep -E 'Oops|BUG:|WARNING:|blocked for more than|general protection|Call Trace|KASAN|UBSAN|refcount_t:')
if [ -z "$bad" ]; then
	result ok "guest_vm: kernel_log_clean"
else
	echo "$bad" | sed 's/^/# /'
	result fail "guest_vm: kernel_log_clean"
fi
echo "VMIG-RESULT pass=$pass fail=$fail skip=$skip"
