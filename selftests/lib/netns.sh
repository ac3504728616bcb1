# SPDX-License-Identifier: GPL-2.0
# Two "hosts" for migration tests, as network namespaces joined by veth:
#
#   +-------------------------+            +-------------------------+
#   | netns vmig-src          |            | netns vmig-dst          |
#   |   source VMM (tvmm)     |   veth     |   destination VMM       |
#   |   vmigctl migrate ------+------------+-> vmigctl receive       |
#   |   vsrc 10.99.0.1/24     |            |   vdst 10.99.0.2/24     |
#   +-------------------------+            +-------------------------+
#
# vmig.ko itself is shared (one kernel); sessions are per namespace.

VMIG_SRC_NS=vmig-src
VMIG_DST_NS=vmig-dst
VMIG_SRC_IP=10.99.0.1
VMIG_DST_IP=10.99.0.2

netns_up() {
	netns_down
	ip netns add $VMIG_SRC_NS || return 1
	ip netns add $VMIG_DST_NS || return 1
	ip link add vsrc netns $VMIG_SRC_NS type veth peer name vdst netns $VMIG_DST_NS || return 1
	ip -n $VMIG_SRC_NS addr add $VMIG_SRC_IP/24 dev vsrc
	ip -n $VMIG_DST_NS addr add $VMIG_DST_IP/24 dev vdst
	ip -n $VMIG_SRC_NS link set vsrc up
	ip -n $VMIG_DST_NS link set vdst up
	ip -n $VMIG_SRC_NS link set lo up
	ip -n $VMIG_DST_NS link set lo up
}

netns_down() {
	ip netns del $VMIG_SRC_NS 2>/dev/null
	ip netns del $VMIG_DST_NS 2>/dev/null
	return 0
}

# nsenter, not "ip netns exec": the latter remounts /sys, which hides the
# cgroup2 hierarchy vmigctl throttles through.
in_src() { nsenter --net=/run/netns/$VMIG_SRC_NS "$@"; }
in_dst() { nsenter --net=/run/netns/$VMIG_DST_NS "$@"; }
. "$(dirname "${BASH_SOURCE[0]}")/psk.sh"
