# SPDX-License-Identifier: GPL-2.0
# Test VMMs (tvmm, QEMU) each run in a cgroup of their own, as under libvirt
# or systemd, whose cpu.max vmigctl's throttle writes (userspace/throttle.h);
# a VMM in the root cgroup cannot be throttled.
#   own_cgroup NAME PID   move process PID (all its threads) into vmig-vmm-NAME
#   own_cgroup_del NAME   remove that cgroup once its processes are gone

own_cgroup() {
	local cg=/sys/fs/cgroup/vmig-vmm-$1
	[ -f /sys/fs/cgroup/cgroup.subtree_control ] || return 0
	grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control ||
		echo +cpu > /sys/fs/cgroup/cgroup.subtree_control || return 1
	mkdir -p "$cg" && echo "$2" > "$cg/cgroup.procs"
}

own_cgroup_del() { rmdir "/sys/fs/cgroup/vmig-vmm-$1" 2> /dev/null; return 0; }
