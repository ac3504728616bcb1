#!/bin/sh
# Runs inside the test VM (see rig/vm-run.sh): load KVM and vmig.ko, run
# every test program, unload, check the object log balances and that the
# kernel printed no oops, BUG, WARNING or hung task. Ends with
# "VMIG-RESULT pass=N fail=N skip=N".
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
kver=$(uname -r)
pass=0 fail=0 skip=0
export PATH="$build:$PATH"

. "$top/selftests/lib/vmcheck.sh"

ip link set lo up
dmesg -C
if grep -qw svm /proc/cpuinfo; then kvm=kvm_amd; else kvm=kvm_intel; fi
modprobe "$kvm" nested=1 || echo "# $kvm did not load"
# Keep KVM's static keys set for the whole run: flipping them live-patches
# kernel text, which can hang a TCG-emulated SMP guest (lib/tvmm-hold-keys.sh).
"$top/selftests/lib/tvmm-hold-keys.sh"
modprobe veth 2>/dev/null
modprobe dm-mod 2>/dev/null
modprobe tls 2>/dev/null	# kTLS (TCP_ULP would load it on first use too)

if insmod "$build/$kver/vmig.ko" dyndbg=+p && [ -d /sys/module/vmig ] &&
   dmesg | grep -q 'vmig: vmig .* loaded'; then
	result ok "module_loads"
else
	result fail "module_loads"
fi

for t in ${VMIG_TESTS:-netlink_test wirefuzz vmigctl_test.sh tvmm_test migrate_test.sh migrate_hazards_test.sh controller_test.sh tls_test.sh storage_test.sh storage_kill_test.sh diskmig_test.sh qemu_test.sh}; do
	if [ -x "$build/$t" ]; then
		tap "$t" "$build/$t"
	elif [ -x "$top/selftests/$t" ]; then
		tap "$t" "$top/selftests/$t"
	else
		result fail "$t" "not built"
	fi
	# A suite that died with a fault injected leaves none to the next.
	echo 0 > /sys/module/vmig/parameters/fault_inject 2> /dev/null
done

if rmmod vmig && [ ! -d /sys/module/vmig ] && dmesg | grep -q 'vmig: vmig .* unloaded'; then
	result ok "module_unloads"
else
	result fail "module_unloads"
fi

# The family autoloads the module (MODULE_ALIAS_GENL_FAMILY) once installed.
mkdir -p "/lib/modules/$kver/extra"
cp "$build/$kver/vmig.ko" "/lib/modules/$kver/extra/" && depmod -a "$kver"
if vmigctl version > /dev/null 2>&1 && [ -d /sys/module/vmig ] && rmmod vmig; then
	result ok "family_autoloads_module"
else
	result fail "family_autoloads_module"
fi

vmcheck_finish
