#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live migrations that meet a hazard (security review, issue #11): a
# bandwidth limit that would pace the worker for a minute, a guest that is
# mostly zero pages, memory slots changed under a session at either end.
# Between two netns "hosts" (lib/netns.sh), with fresh test VMMs per case.
# Needs root, vmig.ko (a test build: fault_inject), kvm.
#
# Usage: migrate_hazards_test.sh [-t TEST]...   (TAP; the plan is the number of tests)
top=$(cd "$(dirname "$0")/.." && pwd)
VMIG_BUILD=$top/build
export PATH="$VMIG_BUILD:$PATH"
. "$top/selftests/lib/netns.sh"
. "$top/selftests/lib/vmm.sh"
. "$top/selftests/lib/migrate.sh"
. "$top/selftests/lib/taprun.sh"

TESTS="
	cancel_ends_bandwidth_pacing
	zero_pages_stay_unmapped_on_destination
	destination_slot_change_fails_receive
	slot_deleted_while_arming_fails_source
"
PORT=7411
T=$(mktemp -d)
LAYOUT1="--slot 0:0:16M"
LAYOUT3="--slot 0:0:8M --slot 1:0x10000000:8M --slot 2:0x20000000:4M"

cleanup() {
	echo 0 > /sys/module/vmig/parameters/fault_inject 2> /dev/null
	for v in src dst; do vmm_kill $v 2>/dev/null; done
	stop_receive
	netns_down
}
trap 'cleanup; rm -rf "$T"' EXIT

fresh() {	# fresh "src tvmm args" "dst tvmm args"
	cleanup
	netns_up || return 1
	vmm_start src $VMIG_SRC_NS $1 || return 1
	vmm_start dst $VMIG_DST_NS $2 --wait || return 1
}

session_id() {	# in_src|in_dst
	$1 vmigctl -j show | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"id\"])"
}

# Full pages at 4 kB/s: one 64-page run is 64 s of pacing. A cancel must
# end the pass at once, not after the pacing sleep (30 s: the rig's TCG
# takes several seconds for the cancel and the controller's exit alone).
cancel_ends_bandwidth_pacing() {
	local name=${FUNCNAME[0]} t0 t1
	fresh "$LAYOUT1 --vcpus 1 --rate 200" "$LAYOUT1 --vcpus 1" && start_receive
	( for _ in $(seq 100); do
		in_src vmigctl -j show 2> /dev/null | grep -q precopy && break
		sleep 0.1
	  done
	  sleep 2
	  date +%s.%N > "$T/t0"
	  in_src vmigctl cancel "$(session_id in_src)" ) &
	local actor=$!
	migrate --max-bandwidth 4k --no-zero-detect
	t1=$(date +%s.%N)
	wait $actor
	rrc=$(wait_receive 300)
	t0=$(cat "$T/t0" 2> /dev/null || echo 0)
	local took
	took=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
	if [ "$mig_rc" -eq 1 ] && grep -q "cancelled" "$T/mig.err" &&
	   python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 30 else 1)" &&
	   source_still_runs && sessions_gone; then
		echo "# $name: the migration ended ${took}s after the cancel: $(tail -1 "$T/mig.err")"
		ok "$name"
	else
		fail "$name" "migrate rc $mig_rc ended ${took}s after the cancel ($(tail -1 "$T/mig.err")); receive rc $rrc"
	fi
}

# kB of anonymous memory resident in process $1.
rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }

# A 64 MiB guest that wrote 16 MiB at most: the destination stays as
# sparse as the source (zero runs discard, never fault in), and equal.
zero_pages_stay_unmapped_on_destination() {
	local name=${FUNCNAME[0]} sh dh srss drss
	fresh "--slot 0:0:64M --vcpus 1 --rate 200" "--slot 0:0:64M --vcpus 1" && start_receive
	sleep 1
	migrate
	rrc=$(wait_receive)
	if [ "$mig_rc" -ne 0 ] || [ "$rrc" != 0 ]; then
		fail "$name" "migrate rc $mig_rc ($(tail -2 "$T/mig.err")), receive rc $rrc ($(tail -1 "$T/recv.err"))"
		return
	fi
	srss=$(rss_anon "$src_pid")
	drss=$(rss_anon "$dst_pid")
	sh=$(memhash "$src_pid" $src_ranges)
	dh=$(vmm_cmd dst hash); dh=${dh#OK hash=}
	echo "# $name: RssAnon source ${srss} kB, destination ${drss} kB; $(grep -o 'zero[^,]*' "$T/mig.out" | tail -1)"
	if [ "$sh" = "$dh" ] && [ "$drss" -le $((srss + 8192)) ] &&
	   vmm_cmd dst verify > /dev/null; then
		ok "$name"
	else
		fail "$name" "hashes $sh/$dh; destination RssAnon $drss kB against the source's $srss kB"
	fi
}

# The destination VMM moves a slot to new memory while pages land: they
# would land in memory it unmapped (or reused). The session fails, naming it.
destination_slot_change_fails_receive() {
	local name=${FUNCNAME[0]}
	fresh "$LAYOUT3 --vcpus 2 --rate 200" "$LAYOUT3 --vcpus 2" && start_receive
	# Once pages land: a replacement before the session began is allowed.
	( for _ in $(seq 300); do
		in_dst vmigctl -j show 2> /dev/null | grep -q precopy && break
		sleep 0.1
	  done
	  sleep 1
	  in_dst vmigctl -j show > "$T/replace.out"
	  vmm_cmd dst slot-replace 1 copy >> "$T/replace.out" ) &
	local replacer=$!
	# Full pages at 1 MB/s: pre-copy (20 s) outlasts the replacement.
	migrate --max-bandwidth 1M --no-zero-detect
	wait $replacer
	rrc=$(wait_receive)
	if [ "$rrc" = 1 ] && [ "$mig_rc" -eq 1 ] && grep -q '^OK' "$T/replace.out" &&
	   grep -q "the destination VMM changed its memory slots during the migration" "$T/recv.err" &&
	   source_still_runs && sessions_gone; then
		echo "# $name: destination: $(tail -1 "$T/recv.err")"
		ok "$name"
	else
		fail "$name" "replace: $(cat "$T/replace.out"); migrate rc $mig_rc ($(tail -1 "$T/mig.err")); receive rc $rrc ($(tail -1 "$T/recv.err"))"
	fi
}

# fault_inject 256: the slot is deleted between vmig's check of the
# layout and its KVM_SET_USER_MEMORY_REGION, which then recreates it at
# the address read before. The source must notice and fail, naming it.
slot_deleted_while_arming_fails_source() {
	local name=${FUNCNAME[0]}
	fresh "$LAYOUT1 --vcpus 1 --rate 200" "$LAYOUT1 --vcpus 1" && start_receive
	# Parked vCPUs: none touches the slot while it is briefly gone.
	vmm_cmd src stop > /dev/null
	echo 256 > /sys/module/vmig/parameters/fault_inject
	migrate
	echo 0 > /sys/module/vmig/parameters/fault_inject
	rrc=$(wait_receive 300)
	vmm_cmd src resume > /dev/null
	if [ "$mig_rc" -eq 1 ] &&
	   grep -q "the VMM changed memory slots while vmig turned on their dirty logging" "$T/mig.err" &&
	   source_still_runs && sessions_gone; then
		echo "# $name: source: $(tail -1 "$T/mig.err")"
		ok "$name"
	else
		fail "$name" "migrate rc $mig_rc ($(tail -1 "$T/mig.err")); receive rc $rrc ($(tail -1 "$T/recv.err"))"
	fi
}

taprun_main "$@"
