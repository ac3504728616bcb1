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
# With --disk (the disk_* tests) the VM's disk is /dev/mapper/vmdisk on the
# source, a writer (diskverify, --stop-pid) stands for its I/O, and
# /dev/ram1 is the destination's disk (lib/diskwriter.sh). disk_end_state
# checks the same end states and more: the disk where the VM runs holds
# every write its writer saw complete, the other side's disk is not in
# use, every session is final, no vmig-track table is left, the source VMM
# is not throttled and, unless the VM moved, neither it nor the writer is
# left stopped.
#
# The kill matrix of issue #10, where each cell is covered:
#
#   killed             moment             memory (here)          --disk (here)
#   vmigctl migrate    mid pre-copy       migrate_killed_in_     disk_migrate_killed_
#                                         precopy                in_precopy
#                      VMM stopped        migrate_killed_after_  disk_migrate_killed_
#                                         stop                   after_stop
#                      END out, no ACK    migrate_killed_after_  disk_migrate_killed_
#                                         commit; ACK lost:      after_end_ack_lost
#                                         commit_lost_source_    (not killed, ACK lost:
#                                         stays_stopped          disk_commit_lost_
#                                                                source_stays_stopped)
#                      ACK in             migrate_killed_after_  disk_migrate_killed_
#                                         ack                    after_ack
#                      throttled          migrate_killed_while_  (as memory)
#                                         throttled
#   vmigctl receive    mid pre-copy       receive_killed_in_     disk_receive_killed_
#                                         precopy                in_precopy
#                      ready (before      receive_killed_        disk_receive_killed_
#                      its commit)        before_commit          before_commit
#                      committed, not     receive_killed_after_  (as memory)
#                      yet exited         commit
#   source VMM         mid pre-copy       source_vmm_killed_     disk_source_vmm_
#                                         in_precopy             killed_in_precopy
#                      VMM stopped        source_vmm_killed_     -
#                                         after_stop
#                      END out, no ACK    source_vmm_killed_     -
#                                         after_end
#   destination VMM    ready              destination_vmm_       disk_destination_vmm_
#                                         killed_when_ready      killed_when_ready
#                      mid pre-copy       migrate_test.sh        diskmig_test.sh (fail_midway)
#                                         (destination_vmm_dies)
#
# The verifiers shown to fail: one_place (one_place_verifier_catches_two_
# copies), disk_end_state's disk check (disk_verifier_catches_lost_write).
# Packets dropped (netem) at each step of the switchover: link_drops_in_
# precopy, link_drops_before_end (kernel pause point, fault bit 1024),
# link_drops_the_acknowledgment. storage-move's matrix is
# storage_kill_test.sh. Not covered: a source VMM killed after the ACK
# (the VM runs on the destination already; vmigctl kills it anyway), the
# destination VMM killed after its commit (the VM dies with it, a crash),
# and the --disk variants of the source VMM's later moments (the disk
# plays no part in them).
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
. "$top/selftests/lib/dm.sh"
. "$top/selftests/lib/diskwriter.sh"

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
	migrate_killed_after_ack
	receive_killed_in_precopy
	receive_killed_after_commit
	source_vmm_killed_after_stop
	source_vmm_killed_after_end
	disk_migrate_killed_in_precopy
	disk_migrate_killed_after_stop
	disk_migrate_killed_after_end_ack_lost
	disk_commit_lost_source_stays_stopped
	disk_migrate_killed_after_ack
	disk_receive_killed_in_precopy
	disk_receive_killed_before_commit
	disk_source_vmm_killed_in_precopy
	disk_destination_vmm_killed_when_ready
	disk_verifier_catches_lost_write
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
	disk_cleanup
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

# vmigctl migrate dies once the acknowledgment is in (held stopped until
# the kernel reports done, then killed): the VM runs on the destination,
# the source VMM stays stopped.
migrate_killed_after_ack() {
	local where
	HOLD=before-commit fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill -STOP "$(cat "$T/mig.pid")"
	qm_release before-commit
	if ! wait_state in_src source done 600; then
		kill_migrate
		fail "$FUNCNAME" "source session not done: $(sess); $(why)"
		return
	fi
	kill_migrate
	mig_rc=killed
	rrc=$(wait_receive 300)
	if ! where=$(one_place "$rrc") || [ "$rrc" != 0 ]; then
		fail "$FUNCNAME" "$where; $(why)"
	elif ! runs_on_destination "$FUNCNAME"; then
		fail "$FUNCNAME" "the destination VM does not run intact"
	else
		echo "# $where"
		ok "$FUNCNAME"
	fi
}

# vmigctl receive dies mid pre-copy: the kernel cancels its session, the
# source fails and runs on.
receive_killed_in_precopy() {
	local where
	fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg $SLOW
	wait_state in_dst destination precopy || { fail "$FUNCNAME" "no pre-copy: $(why)"; return; }
	kill_receive
	rrc=killed
	mig_rc=$(wait_migrate 300)
	if [ "$mig_rc" != 1 ]; then
		fail "$FUNCNAME" "$(why)"
	elif ! wait_state in_dst destination cancelled 100 || ! grep -q '"controller_gone": true' "$T/sess.json"; then
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

# vmigctl receive dies after its commit, before its exit: the VM runs
# nowhere until the orchestrator reads the record, which the man page says
# to do: destination "done" (controller gone) means run it there; the
# source has given it up (exit 0, stopped).
receive_killed_after_commit() {
	local where
	HOLD=after-commit fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg
	qm_held after-commit || { fail "$FUNCNAME" "never committed: $(why)"; return; }
	kill_receive
	rrc=killed
	mig_rc=$(wait_migrate 300)
	if [ "$mig_rc" != 0 ] || [ "$(proc_state "$src_pid")" != T ]; then
		fail "$FUNCNAME" "source: $(why)"
	elif ! wait_state in_dst destination done 100 || ! grep -q '"controller_gone": true' "$T/sess.json"; then
		fail "$FUNCNAME" "destination record: $(sess)"
	elif ! where=$(one_place 0) || ! runs_on_destination "$FUNCNAME"; then
		fail "$FUNCNAME" "run as the record says: $where"
	else
		echo "# record: done, controller gone; $where"
		ok "$FUNCNAME"
	fi
}

# The source VMM dies once stopped for the switchover, before END: the VM
# dies with it (a crash); the source session notices and fails, the
# destination never gets END and discards. No session runs on.
source_vmm_killed_after_stop() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	qm_hold_at after-stop
	migrate_bg
	unset VMIGCTL_TEST_HOLD
	qm_held after-stop || { fail "$FUNCNAME" "never stopped: $(why)"; return; }
	kill -KILL "$src_pid"
	qm_release after-stop
	mig_rc=$(wait_migrate 300)
	rrc=$(wait_receive 300)
	if [ "$mig_rc" != 1 ]; then
		fail "$FUNCNAME" "source: $(why)"
	elif [ "$rrc" = 0 ]; then
		fail "$FUNCNAME" "the destination accepted a VM whose source died: $(why)"
	elif ! sessions_ended; then
		fail "$FUNCNAME" "a session still runs: $(in_src vmigctl -j show) $(in_dst vmigctl -j show)"
	else
		echo "# source: $(tail -n 1 "$T/mig.err"); destination: $(tail -n 1 "$T/recv.err")"
		ok "$FUNCNAME"
	fi
}

# The source VMM dies after END went out, before the destination commits:
# the destination holds the whole VM and runs it; the source must not
# report "failed" (which tells an orchestrator the VM stayed there).
source_vmm_killed_after_end() {
	local where
	HOLD=before-commit fresh || { fail "$FUNCNAME" "setup"; return; }
	migrate_bg
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill -KILL "$src_pid"
	qm_release before-commit
	rrc=$(wait_receive 300)
	mig_rc=$(wait_migrate 1200)
	if [ "$rrc" != 0 ] || [ "$mig_rc" = 1 ]; then
		fail "$FUNCNAME" "want receive 0 and migrate not failed: $(why)"
	elif ! where=$(one_place "$rrc") || ! runs_on_destination "$FUNCNAME"; then
		fail "$FUNCNAME" "$where; the destination VM does not run intact"
	elif ! sessions_ended; then
		fail "$FUNCNAME" "a session still runs"
	else
		echo "# $where; migrate rc $mig_rc: $(tail -n 1 "$T/mig.err")"
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

# --- the same with the VM's disk (--disk) ------------------------------------

DLAYOUT="$LAYOUT --vcpus 1"
# Pre-copy that lasts: 16 MiB of memory and a 32 MiB disk at 2 MB/s.
DSLOW="--max-bandwidth 2M"
# A switchover as soon as the policy may: what is tested is who survives.
DFAST="--downtime-ms 10000"

# disk_fresh_all: fresh VMMs, disk and writer, and a listening receive
# --disk (held at pause point $HOLD, if set).
disk_fresh_all() {
	local rc why
	cleanup
	why=$(disk_setup) || { echo "# $why"; return 1; }
	disk_fresh || return 1
	netns_up && vmm_start src $VMIG_SRC_NS $DLAYOUT --rate 2000 &&
		vmm_start dst $VMIG_DST_NS $DLAYOUT --wait || return 1
	src_cpumax=$(cat "/sys/fs/cgroup/vmig-vmm-tvmm-src/cpu.max" 2> /dev/null)
	writer_start
	[ -n "$HOLD" ] && qm_hold_at "$HOLD"
	start_receive --disk /dev/ram1; rc=$?
	unset VMIGCTL_TEST_HOLD
	return $rc
}

disk_migrate_bg() { migrate_bg --disk $DISK=/dev/ram1 --stop-pid "$wpid" "$@"; }

# Until the source session is in pre-copy with part of the disk sent.
disk_midcopy() {
	local at
	for _ in $(seq 600); do
		at=$(disk_sent)
		[ "${at:-0}" -gt 0 ] && break
		[ -f "$T/mig.rc" ] && return 1
		sleep 0.1
	done
	[ "${at:-0}" -gt 0 ] && [ "$at" -lt $((DISK_SECTORS * 512)) ] &&
		wait_state in_src source precopy 10 || return 1
	echo "$at" > "$T/at"
}

# Every session listed on either host final (done, failed, cancelled,
# unknown) within TENTHS; prints those that are not.
sessions_final() {
	local i left
	for i in $(seq "${1:-300}"); do
		left=$(for ns in in_src in_dst; do $ns vmigctl -j show 2> /dev/null; done | python3 -c '
import json, sys
dec, text, i = json.JSONDecoder(), sys.stdin.read(), 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i == len(text): break
    lst, i = dec.raw_decode(text, i)
    for s in lst:
        if s["state"] not in ("done", "failed", "cancelled", "unknown"):
            print("session %s (%s) %s;" % (s["id"], s["role"], s["state"]), end=" ")')
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "$left"
	return 1
}

# disk_end_state WHERE: the end state of issue #10 with the VM expected to
# run on WHERE: src (the source, unchanged), dst (the destination), or
# none (its source VMM was killed: the VM is gone, the destination does not
# run it, the source disk holds every write). Uses $rrc (the destination
# receive's status). Every problem found, one per line, in $T/problems;
# 1 if any. Not in a subshell: it reaps the writer.
disk_end_state() {
	local where=$1 v st wst p=() cg
	v=$(sessions_final 300) || p+=("sessions still running: $v")
	st=$(proc_state "$src_pid")
	wst=$(writer_state)
	case $where in
	src)
		v=$(one_place "$rrc") && [ "$rrc" != 0 ] || p+=("not on the source alone: $v")
		case $wst in T|t|gone) p+=("the writer is $wst, not running") ;; esac
		;;
	dst)
		v=$(one_place "$rrc") && [ "$rrc" = 0 ] || p+=("not on the destination alone: $v")
		[ "$wst" = T ] || p+=("the source writer is $wst, not stopped")
		;;
	none)
		[ "$st" = gone ] || p+=("the source VMM is $st, not gone")
		[ "$rrc" != 0 ] || p+=("the destination runs a VM whose source VMM died (receive rc 0)")
		;;
	esac
	# The VMM is not left throttled (its cgroup's own cpu.max is back).
	cg=/sys/fs/cgroup/vmig-vmm-tvmm-src/cpu.max
	if [ "$st" != gone ] && [ -f "$cg" ] && [ "$(cat "$cg")" != "$src_cpumax" ]; then
		p+=("the source VMM is throttled: cpu.max '$(cat "$cg")', was '$src_cpumax'")
	fi
	if [ "$where" = dst ]; then
		writer_kill
		v=$(disk_verify /dev/ram1) && [ -n "$v" ] && p+=("destination disk: $v")
		v=$(dm_open_count vmdisk)
		[ "$v" = 0 ] || p+=("the source disk is still open ($v) with its writer gone")
		runs_on_destination disk > "$T/rod.out" || p+=("the destination VM does not run intact: $(cat "$T/rod.out")")
	else
		writer_stop
		[ -z "$werr" ] || p+=("$werr")
		v=$(disk_verify $DISK) && [ -n "$v" ] && p+=("source disk: $v")
		dev_claimed /dev/ram1 && p+=("the destination disk is still in use (claimed)")
		if [ "$where" = src ]; then
			source_still_runs > "$T/ssr.out" || p+=("the source guest does not run intact: $(cat "$T/ssr.out")")
		fi
	fi
	# A killed vmigctl's guardian restores the table once the session ended.
	for _ in $(seq 100); do track_tables > /dev/null || break; sleep 0.1; done
	v=$(track_tables) && p+=("vmig-track table left: $(echo "$v" | tr '\n' ' ')")
	[ "$(dmsetup table vmdisk 2> /dev/null)" = "$DISK_TABLE" ] ||
		p+=("vmdisk's table is '$(dmsetup table vmdisk 2>&1)', was '$DISK_TABLE'")
	: > "$T/problems"
	[ ${#p[@]} = 0 ] && return 0
	printf '%s\n' "${p[@]}" > "$T/problems"
	return 1
}

# disk_result NAME WHERE: ok when disk_end_state WHERE holds, else fail
# with everything it found.
disk_result() {
	if disk_end_state "$2"; then
		echo "# $(one_place "$rrc"); migrate rc $mig_rc, receive rc $rrc"
		echo "# $(cat "$T/v.out")"
		ok "$1"
	else
		fail "$1" "$(tr '\n' '|' < "$T/problems" | sed 's/|$//; s/|/; /g'); $(why)"
	fi
}

disk_migrate_killed_in_precopy() {
	disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	disk_migrate_bg $DSLOW
	disk_midcopy || { fail "$FUNCNAME" "no disk pre-copy: $(why)"; return; }
	kill_migrate
	mig_rc=killed
	rrc=$(wait_receive 300)
	if ! wait_state in_src source cancelled 100 || ! grep -q '"controller_gone": true' "$T/sess.json"; then
		fail "$FUNCNAME" "source session not cancelled by the kernel: $(sess)"
	else
		echo "# killed at $(cat "$T/at") disk bytes sent"
		disk_result "$FUNCNAME" src
	fi
}

# Killed holding the VMM and the writer stopped, before the switchover:
# the kernel resumes both.
disk_migrate_killed_after_stop() {
	local st wst
	disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	qm_hold_at after-stop
	disk_migrate_bg $DFAST
	unset VMIGCTL_TEST_HOLD
	qm_held after-stop || { fail "$FUNCNAME" "never stopped: $(why)"; return; }
	st=$(proc_state "$src_pid")
	wst=$(writer_state)
	kill_migrate
	mig_rc=killed
	rrc=$(wait_receive 300)
	if [ "$st" != T ] || [ "$wst" != T ]; then
		fail "$FUNCNAME" "at the pause point the VMM was $st, the writer $wst, not both stopped"
	elif ! wait_state in_src source cancelled 100; then
		fail "$FUNCNAME" "source session not cancelled: $(sess)"
	else
		disk_result "$FUNCNAME" src
	fi
}

# Killed once END is out, and the destination's ACK is lost (fault bit
# 128): the source stays stopped, its record says unknown, the destination
# (which committed) runs the VM from a disk with every write.
disk_migrate_killed_after_end_ack_lost() {
	HOLD=before-commit disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	disk_migrate_bg $DFAST
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	echo 128 > /sys/module/vmig/parameters/fault_inject
	kill_migrate
	mig_rc=killed
	qm_release before-commit
	rrc=$(wait_receive 300)
	if ! wait_state in_src source unknown 900 || ! grep -q '"controller_gone": true' "$T/sess.json"; then
		echo 0 > /sys/module/vmig/parameters/fault_inject
		fail "$FUNCNAME" "source session: $(sess); $(why)"
	else
		echo 0 > /sys/module/vmig/parameters/fault_inject
		echo "# source record: $(sess)"
		disk_result "$FUNCNAME" dst
	fi
}

# vmigctl lives, the ACK is lost (fault bit 128): it exits 3 "unknown" and
# leaves the VMM and the writer stopped; the destination runs the VM. The
# kernel's session ended (unknown) and let go of the disk, so nothing needs
# the vmig-track table any more.
disk_commit_lost_source_stays_stopped() {
	disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	echo 128 > /sys/module/vmig/parameters/fault_inject
	disk_migrate_bg $DFAST
	mig_rc=$(wait_migrate 1200)
	rrc=$(wait_receive 300)
	echo 0 > /sys/module/vmig/parameters/fault_inject
	if [ "$mig_rc" != 3 ] || ! grep -q "outcome of the switchover unknown" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	else
		disk_result "$FUNCNAME" dst
	fi
}

# Killed after the ACK came in, before it acted on it: held stopped
# (SIGSTOP) while the destination commits, killed once the source's record
# says done.
disk_migrate_killed_after_ack() {
	HOLD=before-commit disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	disk_migrate_bg $DFAST
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill -STOP "$(cat "$T/mig.pid")"
	qm_release before-commit
	if ! wait_state in_src source done 600; then
		kill_migrate
		fail "$FUNCNAME" "source session not done: $(sess); $(why)"
		return
	fi
	kill_migrate
	mig_rc=killed
	rrc=$(wait_receive 300)
	disk_result "$FUNCNAME" dst
}

disk_receive_killed_in_precopy() {
	disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	disk_migrate_bg $DSLOW
	disk_midcopy || { fail "$FUNCNAME" "no disk pre-copy: $(why)"; return; }
	kill_receive
	rrc=killed
	mig_rc=$(wait_migrate 300)
	if [ "$mig_rc" != 1 ]; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# killed at $(cat "$T/at") disk bytes sent; source: $(tail -n 1 "$T/mig.err")"
		disk_result "$FUNCNAME" src
	fi
}

# Killed holding the whole VM and disk, before its commit: the kernel
# refuses the switchover, the source resumes on its own disk.
disk_receive_killed_before_commit() {
	HOLD=before-commit disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	disk_migrate_bg $DFAST
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill_receive
	rrc=killed
	mig_rc=$(wait_migrate 300)
	if [ "$mig_rc" != 1 ] || ! grep -q "refused the switchover: cancelled, or its controller exited" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# source: $(tail -n 1 "$T/mig.err")"
		disk_result "$FUNCNAME" src
	fi
}

# The VM is gone with its VMM; its disk (and writer) on the source is
# whole and back on its own table, the destination runs nothing.
disk_source_vmm_killed_in_precopy() {
	disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	disk_migrate_bg $DSLOW
	disk_midcopy || { fail "$FUNCNAME" "no disk pre-copy: $(why)"; return; }
	kill -KILL "$src_pid"
	mig_rc=$(wait_migrate 100)
	rrc=$(wait_receive 300)
	if [ "$mig_rc" != 1 ] || ! grep -q "the source VMM exited" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# source: $(tail -n 1 "$T/mig.err")"
		disk_result "$FUNCNAME" none
	fi
}

disk_destination_vmm_killed_when_ready() {
	HOLD=before-commit disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	disk_migrate_bg $DFAST
	qm_held before-commit || { fail "$FUNCNAME" "destination never ready: $(why)"; return; }
	kill -KILL "$dst_pid"
	mig_rc=$(wait_migrate 300)
	qm_release before-commit
	rrc=$(wait_receive 300)
	if [ "$mig_rc" != 1 ] || ! grep -q "refused the switchover: the destination VMM exited" "$T/mig.err"; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# source: $(tail -n 1 "$T/mig.err")"
		disk_result "$FUNCNAME" src
	fi
}

# The disk check can fail: a migration that never sends the disk's first
# regions (fault bit 4) but otherwise succeeds, and disk_end_state dst
# finds exactly that wrong, nothing else.
disk_verifier_catches_lost_write() {
	local v
	disk_fresh_all || { fail "$FUNCNAME" "setup"; return; }
	echo 4 > /sys/module/vmig/parameters/fault_inject
	disk_migrate_bg $DFAST
	mig_rc=$(wait_migrate 1200)
	echo 0 > /sys/module/vmig/parameters/fault_inject
	rrc=$(wait_receive 300)
	if [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ]; then
		fail "$FUNCNAME" "the migration did not succeed: $(why)"
	elif disk_end_state dst; then
		fail "$FUNCNAME" "not caught: $(cat "$T/v.out")"
	elif [ "$(wc -l < "$T/problems")" != 1 ] || ! grep -q "^destination disk: .* [1-9][0-9]* bad" "$T/problems"; then
		fail "$FUNCNAME" "caught something else: $(tr '\n' ' ' < "$T/problems")"
	else
		echo "# caught: $(cat "$T/problems")"
		ok "$FUNCNAME"
	fi
}

taprun_main "$@"
