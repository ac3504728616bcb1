#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The VM runs in exactly one place whatever dies: vmigctl on either end
# (SIGKILL), a VMM, the commit's acknowledgment. Test VMMs (tvmm) between
# the netns hosts of lib/netns.sh; each test starts fresh ones. Moments are
# reached with vmigctl's test pause points (VMIGCTL_TEST_HOLD), not sleeps.
#
# The end states checked (one_place): either the source VMM runs and the
# destination's receive did not succeed (its VM is discarded), or the
# source VMM is stopped or gone and the destination's receive exited 0
# (its VMM runs the VM, which then verifies its own memory). A killed
# controller's session stays listed with its outcome until dismissed.
#
# Usage: controller_test.sh [-t TEST]...   (TAP; the plan is the number of tests)
top=$(cd "$(dirname "$0")/.." && pwd)
VMIG_BUILD=$top/build
export PATH="$VMIG_BUILD:$PATH"
. "$top/selftests/lib/netns.sh"
. "$top/selftests/lib/vmm.sh"
. "$top/selftests/lib/migrate.sh"
. "$top/selftests/lib/qemumig.sh"
. "$top/selftests/lib/taprun.sh"

TESTS="
	migrate_killed_in_precopy
	migrate_killed_after_stop
	migrate_killed_after_commit
	receive_killed_before_commit
	commit_lost_source_stays_stopped
	one_place_verifier_catches_two_copies
	source_vmm_killed_in_precopy
	destination_vmm_killed_when_ready
	namespace_gone_hides_its_sessions
	migrate_killed_while_throttled
	link_drops_in_precopy
	link_drops_before_end
	link_drops_the_acknowledgment
"
PORT=7411
T=$(mktemp -d)
CG=/sys/fs/cgroup/vmig-test-vmm	# a cgroup of the source VMM's own
LAYOUT="--slot 0:0:16M"

cleanup() {
	unset VMIGCTL_TEST_HOLD
	echo 0 > /sys/module/vmig/parameters/fault_inject
	link_restore
	[ -s "$T/mig.pid" ] && kill -KILL "$(cat "$T/mig.pid")" 2> /dev/null
	rm -f "$T/mig.pid"
	for v in src dst; do vmm_kill $v 2> /dev/null; done
	stop_receive
	dismiss_all
	netns_down
	rmdir "$CG" 2> /dev/null
}
trap 'cleanup; rm -rf "$T"' EXIT

# Unlist every session left (a killed controller's stay for linger-s).
dismiss_all() {
	local ns id
	for ns in in_src in_dst; do
		for id in $($ns vmigctl -j show 2> /dev/null | python3 -c \
			'import json,sys; print(" ".join(str(s["id"]) for s in json.load(sys.stdin)))' 2> /dev/null); do
			$ns vmigctl cancel "$id" > /dev/null 2>&1
		done
	done
}

# fresh: new VMMs and a listening receive (held at pause point $HOLD, if set).
fresh() {
	local rc
	cleanup
	netns_up && vmm_start src $VMIG_SRC_NS $LAYOUT --vcpus 1 --rate 20000 &&
		vmm_start dst $VMIG_DST_NS $LAYOUT --vcpus 1 --wait || return 1
	[ -n "$HOLD" ] && qm_hold_at "$HOLD"
	start_receive; rc=$?
	unset VMIGCTL_TEST_HOLD
	return $rc
}

# migrate_bg ARGS: vmigctl migrate in the background; its pid in
# $T/mig.pid, its status in $T/mig.rc once it ends.
migrate_bg() {
	rm -f "$T/mig.rc" "$T/mig.pid"
	( in_src sh -c 'echo $$ > "$0"; exec "$@"' "$T/mig.pid" \
		vmigctl migrate $VMIG_TEST_AUTH --pid "$src_pid" --to $VMIG_DST_IP:$PORT --keep-source "$@" \
		> "$T/mig.out" 2> "$T/mig.err"; echo $? > "$T/mig.rc" ) &
	mig_job=$!
	for _ in $(seq 50); do [ -s "$T/mig.pid" ] && return 0; sleep 0.1; done
	return 1
}

wait_migrate() {	# [TENTHS]: its exit status, or "timeout"
	for _ in $(seq "${1:-600}"); do
		[ -f "$T/mig.rc" ] && { wait $mig_job 2> /dev/null; cat "$T/mig.rc"; return; }
		sleep 0.1
	done
	echo timeout
}

kill_migrate() { kill -KILL "$(cat "$T/mig.pid")"; wait $mig_job 2> /dev/null; rm -f "$T/mig.pid"; }
kill_receive() { kill -KILL "$(cat "$T/recv.pid")"; wait $recv_job 2> /dev/null; recv_job=; }

# proc_state PID: R, S, T (stopped), ... or "gone".
proc_state() { awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null || echo gone; }

# wait_state NS ROLE STATE [TENTHS]: until the only session of ROLE on NS
# has STATE (its JSON record in $T/sess.json). A killed controller's session
# stays listed: that is what a restarted vmigctl reads.
wait_state() {
	local ns=$1 role=$2 want=$3 i
	for i in $(seq "${4:-300}"); do
		$ns vmigctl -j show 2> /dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["role"] == sys.argv[1]:
        print(json.dumps(s))' "$role" > "$T/sess.json"
		grep -q "\"state\": \"$want\"" "$T/sess.json" && return 0
		sleep 0.1
	done
	return 1
}
sess() { cat "$T/sess.json"; }

# one_place RECV_RC: the VM runs in exactly one place. The destination runs
# it iff its receive exited 0 (the contract of vmigctl receive); the source
# iff its VMM is alive and not stopped. Prints what it found.
one_place() {
	local st src=no dst=no
	st=$(proc_state "$src_pid")
	case $st in gone|T|t|Z) ;; *) src=yes ;; esac
	[ "$1" = 0 ] && dst=yes
	echo "source VMM $st (runs: $src), destination receive rc $1 (runs: $dst)"
	[ "$src" != "$dst" ]
}

# runs_on_destination NAME: resume the destination VM; its guest verifies.
runs_on_destination() {
	local v
	vmm_cmd dst resume > /dev/null || return 1
	sleep 1
	v=$(vmm_cmd dst guest-verify) || { echo "# $1: guest verify on destination: $v"; return 1; }
}

why() { echo "migrate rc $mig_rc: $(tail -n 2 "$T/mig.err" | tr '\n' ' ') receive rc $rrc: $(tail -n 2 "$T/recv.err" | tr '\n' ' ') $*"; }

# Pre-copy that lasts: full pages at 2 MB/s, 8 s for the first pass.
SLOW="--max-bandwidth 2M --no-zero-detect"

migrate_killed_in_precopy() {
	local where
	fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg $SLOW
	wait_state in_src source precopy || { fail "$FUNCNAME" "no pre-copy: $(why)"; return; }
	kill_migrate
	mig_rc=killed
	rrc=$(wait_receive 300)
	if ! wait_state in_src source cancelled 100; then
		fail "$FUNCNAME" "source session not cancelled: $(sess)"
	elif ! grep -q '"controller_gone": true' "$T/sess.json"; then
		fail "$FUNCNAME" "outcome record lacks controller_gone: $(sess)"
	elif ! where=$(one_place "$rrc") || [ "$rrc" = 0 ]; then
		fail "$FUNCNAME" "$where; $(why)"
	elif ! source_still_runs; then
		fail "$FUNCNAME" "source guest does not run intact"
	else
		echo "# $where; destination: $(tail -n 1 "$T/recv.err")"
		ok "$FUNCNAME"
	fi
}

# vmigctl stopped the VMM and dies before asking for the switchover: the
# kernel resumes what it stopped.
migrate_killed_after_stop() {
	local where st
	fresh || { fail "$FUNCNAME" "setup"; return; }
	qm_hold_at after-stop
	migrate_bg
	unset VMIGCTL_TEST_HOLD
	qm_held after-stop || { fail "$FUNCNAME" "never stopped: $(why)"; return; }
	st=$(proc_state "$src_pid")
	kill_migrate
	mig_rc=killed
	rrc=$(wait_receive 300)
	wait_state in_src source cancelled 100
	if [ "$st" != T ]; then
		fail "$FUNCNAME" "the VMM was not stopped at the pause point ($st)"
	elif ! where=$(one_place "$rrc") || [ "$rrc" = 0 ]; then
		fail "$FUNCNAME" "$where; $(why); source session: $(sess)"
	elif ! source_still_runs; then
		fail "$FUNCNAME" "source guest does not run intact"
	else
		echo "# $where (stopped at the pause point, resumed by the kernel)"
		ok "$FUNCNAME"
	fi
}

# vmigctl migrate dies once END is out: the destination's commit decides;
# the source stays stopped, the VM runs on the destination.
migrate_killed_after_commit() {
	local where
	HOLD=before-commit fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill_migrate
	mig_rc=killed
	qm_release before-commit
	rrc=$(wait_receive 300)
	if ! wait_state in_src source done 100; then
		fail "$FUNCNAME" "source session: $(sess); $(why)"
	elif ! where=$(one_place "$rrc") || [ "$rrc" != 0 ]; then
		fail "$FUNCNAME" "$where; $(why)"
	elif ! runs_on_destination "$FUNCNAME"; then
		fail "$FUNCNAME" "the destination VM does not run intact"
	else
		echo "# $where"
		ok "$FUNCNAME"
	fi
}

# vmigctl receive dies holding the whole VM, before it commits: the kernel
# refuses the switchover, the source resumes.
receive_killed_before_commit() {
	local where
	HOLD=before-commit fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill_receive
	rrc=killed
	mig_rc=$(wait_migrate 300)
	if [ "$mig_rc" != 1 ] || ! grep -q "refused the switchover: cancelled, or its controller exited" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	elif ! wait_state in_dst destination cancelled 50 || ! grep -q '"controller_gone": true' "$T/sess.json"; then
		fail "$FUNCNAME" "destination session: $(sess)"
	elif ! where=$(one_place "$rrc"); then
		fail "$FUNCNAME" "$where"
	elif ! source_still_runs; then
		fail "$FUNCNAME" "source guest does not run intact"
	else
		echo "# $where; source: $(tail -n 1 "$T/mig.err")"
		ok "$FUNCNAME"
	fi
}

# The destination commits and runs the VM; its acknowledgment never
# arrives (fault bit 128). The source must not resume: exit 3, stopped.
commit_lost() {
	fresh || return 1
	echo 128 > /sys/module/vmig/parameters/fault_inject
	migrate_bg
	mig_rc=$(wait_migrate 1200)
	rrc=$(wait_receive 300)
	echo 0 > /sys/module/vmig/parameters/fault_inject
}

commit_lost_source_stays_stopped() {
	local where
	commit_lost || { fail "$FUNCNAME" "setup"; return; }
	if [ "$mig_rc" != 3 ] || ! grep -q "outcome of the switchover unknown" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	elif ! where=$(one_place "$rrc") || [ "$rrc" != 0 ]; then
		fail "$FUNCNAME" "$where; $(why)"
	elif ! runs_on_destination "$FUNCNAME"; then
		fail "$FUNCNAME" "the destination VM does not run intact"
	else
		echo "# $where; source: $(grep -o "outcome of the switchover unknown ([^)]*)" "$T/mig.err")"
		ok "$FUNCNAME"
	fi
}

# The verifier can fail: resuming the source after that lost commit, as
# vmigctl did before it knew "unknown" from "failed", is two copies.
one_place_verifier_catches_two_copies() {
	local where
	commit_lost || { fail "$FUNCNAME" "setup"; return; }
	kill -CONT "$src_pid"
	sleep 0.2
	if where=$(one_place "$rrc"); then
		fail "$FUNCNAME" "not caught: $where"
	else
		echo "# caught: $where"
		ok "$FUNCNAME"
	fi
}

source_vmm_killed_in_precopy() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg $SLOW
	wait_state in_src source precopy || { fail "$FUNCNAME" "no pre-copy: $(why)"; return; }
	kill -KILL "$src_pid"
	mig_rc=$(wait_migrate 100)
	rrc=$(wait_receive 300)
	if [ "$mig_rc" != 1 ] || ! grep -q "the source VMM exited" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	elif [ "$rrc" = 0 ]; then
		fail "$FUNCNAME" "the destination accepted a VM whose source died: $(why)"
	else
		echo "# within 10 s: $(tail -n 1 "$T/mig.err")"
		ok "$FUNCNAME"
	fi
}

destination_vmm_killed_when_ready() {
	HOLD=before-commit fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill -KILL "$dst_pid"
	mig_rc=$(wait_migrate 300)
	qm_release before-commit
	rrc=$(wait_receive 300)
	if [ "$mig_rc" != 1 ] || ! grep -q "refused the switchover: the destination VMM exited" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	elif [ "$rrc" = 0 ]; then
		fail "$FUNCNAME" "receive succeeded without a VMM: $(why)"
	elif ! source_still_runs; then
		fail "$FUNCNAME" "source guest does not run intact"
	else
		echo "# source: $(tail -n 1 "$T/mig.err")"
		ok "$FUNCNAME"
	fi
}

# Sessions do not pin their network namespace (a record lingers an hour):
# when it goes, they are found nowhere, and no event goes to the dead one.
namespace_gone_hides_its_sessions() {
	local ids id i missing
	fresh || { fail "$FUNCNAME" "setup"; return; }
	# A killed controller's session is the one that stays listed.
	migrate_bg $SLOW
	wait_state in_src source precopy || { fail "$FUNCNAME" "no pre-copy: $(why)"; return; }
	kill_migrate
	wait_state in_src source cancelled 100 || { fail "$FUNCNAME" "not cancelled: $(sess)"; return; }
	ids=$(for ns in in_src in_dst; do $ns vmigctl -j show | python3 -c \
		'import json,sys; print(" ".join(str(s["id"]) for s in json.load(sys.stdin)))'; done | xargs)
	[ -n "$ids" ] || { fail "$FUNCNAME" "no session listed"; return; }
	for v in src dst; do vmm_kill $v 2> /dev/null; done
	stop_receive
	netns_down
	for i in $(seq 300); do
		missing=
		for id in $ids; do
			dmesg | grep -q "vmig: session $id: its network namespace is gone" || missing="$missing $id"
		done
		[ -z "$missing" ] && break
		sleep 0.1
	done
	netns_up
	if [ -n "$missing" ]; then
		fail "$FUNCNAME" "no namespace-gone record for session(s)$missing"
	elif [ "$(in_src vmigctl -j show)" != "[]" ] || [ "$(in_dst vmigctl -j show)" != "[]" ]; then
		fail "$FUNCNAME" "sessions of a deleted namespace are visible in its successor"
	else
		echo "# sessions $ids unlisted with their namespaces"
		ok "$FUNCNAME"
	fi
}

# vmigctl dies while it throttles the VMM: the VMM never left its own
# cgroup, and the kernel gives that cgroup's cpu.max its own value back
# (a quota of its own here, so "restored" is not just "unlimited").
migrate_killed_while_throttled() {
	local own="900000 100000" during cg_during
	fresh || { fail "$FUNCNAME" "setup"; return; }
	mkdir -p "$CG" && echo +cpu > /sys/fs/cgroup/cgroup.subtree_control &&
		echo "$own" > "$CG/cpu.max" && echo "$src_pid" > "$CG/cgroup.procs" ||
		{ fail "$FUNCNAME" "cgroup setup"; return; }
	qm_hold_at after-throttle
	migrate_bg --max-bandwidth 3M --downtime-ms 10 --timeout 300
	unset VMIGCTL_TEST_HOLD
	qm_held after-throttle || { fail "$FUNCNAME" "never throttled: $(why)"; return; }
	during=$(cat "$CG/cpu.max")
	cg_during=$(sed -n 's/^0:://p' "/proc/$src_pid/cgroup")
	kill_migrate
	wait_state in_src source cancelled 100
	if [ "$during" = "$own" ]; then
		fail "$FUNCNAME" "cpu.max unchanged at the pause point: $during"
	elif [ "$cg_during" != "/${CG##*/}" ]; then
		fail "$FUNCNAME" "the VMM was moved to $cg_during"
	elif [ "$(cat "$CG/cpu.max")" != "$own" ]; then
		fail "$FUNCNAME" "cpu.max after the kill: $(cat "$CG/cpu.max"), was $own; session: $(sess)"
	elif ! source_still_runs; then
		fail "$FUNCNAME" "source guest does not run intact"
	else
		echo "# throttled to '$during' in its own cgroup; restored to '$own' by the kernel"
		ok "$FUNCNAME"
	fi
}

# Packets dropped at each step of the switchover (netem, both directions,
# nothing reset: the ends learn only by their timeouts). Whatever ends up
# where, no path runs two copies, and a side in doubt stays stopped and
# says "unknown".
link_drop() {
	in_src tc qdisc add dev vsrc root netem loss 100% &&
		in_dst tc qdisc add dev vdst root netem loss 100%
}
link_restore() {
	in_src tc qdisc del dev vsrc root 2> /dev/null
	in_dst tc qdisc del dev vdst root 2> /dev/null
}

# sessions_ended: no session of either host is still running.
sessions_ended() {
	local ns
	for ns in in_src in_dst; do
		$ns vmigctl -j show | python3 -c '
import json, sys
live = [s for s in json.load(sys.stdin)
        if s["state"] not in ("done", "failed", "cancelled", "unknown")]
sys.exit(1 if live else 0)' || return 1
	done
}

# drop_outcome NAME: after a drop, both ends have ended. The source either
# failed before its commit and runs (exit 1), or is in doubt, stopped (exit
# 3); the destination runs the VM only if the source does not.
drop_outcome() {
	local where st
	st=$(proc_state "$src_pid")
	where=$(one_place "$rrc")
	case $mig_rc in
	1)	if [ "$rrc" = 0 ] || ! source_still_runs; then
			fail "$1" "source failed but: $where; $(why)"; return
		fi ;;
	3)	if [ "$st" != T ] || ! grep -q "outcome of the switchover unknown" "$T/mig.err"; then
			fail "$1" "in doubt but: $where; $(why)"; return
		fi
		if [ "$rrc" = 0 ] && ! runs_on_destination "$1"; then
			fail "$1" "the destination VM does not run intact"; return
		fi ;;
	*)	fail "$1" "migrate: $(why)"; return ;;
	esac
	if ! sessions_ended; then
		fail "$1" "a session still runs: $(in_src vmigctl -j show) $(in_dst vmigctl -j show)"
	else
		echo "# $where; source: $(tail -n 1 "$T/mig.err")"
		ok "$1"
	fi
}

# Mid pre-copy: the source's send times out, before any commit: it fails
# and runs on; the destination never gets END.
link_drops_in_precopy() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg $SLOW
	wait_state in_src source precopy || { fail "$FUNCNAME" "no pre-copy: $(why)"; return; }
	link_drop || { skip "$FUNCNAME" "no netem qdisc"; return; }
	mig_rc=$(wait_migrate 1500)
	link_restore
	stop_receive
	rrc=$(wait_receive 300)
	if [ "$mig_rc" != 1 ]; then
		fail "$FUNCNAME" "source did not fail: $(why)"
	else
		drop_outcome "$FUNCNAME"
	fi
}

# Every page and every state record is out, END is not (the kernel's
# test-only pause point, fault bit 1024), and the link goes dead: the
# source commits into it and, with no answer, stays stopped in doubt.
# Whether the queued END still reaches the destination once the link is
# back decides where the VM runs; never in both places.
link_drops_before_end() {
	local held0 i
	fresh || { fail "$FUNCNAME" "setup"; return; }
	held0=$(dmesg | grep -c "held before END")
	echo 1024 > /sys/module/vmig/parameters/fault_inject
	migrate_bg
	for i in $(seq 1200); do
		[ "$(dmesg | grep -c "held before END")" -gt "$held0" ] && break
		sleep 0.1
	done
	[ "$i" = 1200 ] && { fail "$FUNCNAME" "the source never reached END: $(why)"; return; }
	link_drop || { skip "$FUNCNAME" "no netem qdisc"; return; }
	echo 0 > /sys/module/vmig/parameters/fault_inject
	mig_rc=$(wait_migrate 1500)
	link_restore
	rrc=$(wait_receive 100)
	[ "$rrc" = timeout ] && { stop_receive; rrc=$(wait_receive 300); }
	if [ "$mig_rc" != 3 ]; then
		fail "$FUNCNAME" "want migrate 3 (in doubt): $(why)"
	else
		drop_outcome "$FUNCNAME"
	fi
}

# The destination committed; its acknowledgment is dropped: it runs the VM,
# the source must stay stopped in doubt (as commit_lost, on a real link).
link_drops_the_acknowledgment() {
	HOLD=before-commit fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	link_drop || { skip "$FUNCNAME" "no netem qdisc"; return; }
	qm_release before-commit
	rrc=$(wait_receive 300)
	mig_rc=$(wait_migrate 1500)
	link_restore
	if [ "$rrc" != 0 ] || [ "$mig_rc" != 3 ]; then
		fail "$FUNCNAME" "want receive 0, migrate 3: $(why)"
	else
		drop_outcome "$FUNCNAME"
	fi
}

taprun_main "$@"
