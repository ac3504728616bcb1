#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# storage-move whatever dies (issue #10, "the VM runs in exactly one
# place"): vmigctl storage-move is killed, hung up on or loses the
# session's final word at each point of a move, and the device must end
# on exactly one consistent disk, after the documented tidy
# (Documentation/storage.rst, "When vmigctl dies"). Needs root, vmig.ko,
# dm-mod, brd, dm-delay.
#
#   diskverify run ──> /dev/mapper/vmdisk ── linear ──> /dev/ram0   (32 MiB)
#                          │ storage-move: vmig-track ram0 0 128 DEST
#                          ▼
#                      DEST: /dev/ram1, or "slow" (dm-delay over ram1,
#                      writes 800 ms: the first pass takes over 6 s)
#
# Moments are reached with vmigctl's test pause points (VMIGCTL_TEST_HOLD:
# storage-move-tracking, storage-move-final, storage-move-reloaded), not
# sleeps; a lost final event with VMIGCTL_TEST_LOSE_FINAL.
#
# Every test checks the end (check_end): the writer, running all along,
# saw no error and the device holds every block it wrote; the table is
# the original one over the source or "linear DEST 0"; no vmig-track
# table and no running storage session is left; and the device the table
# names holds the same. verifier_catches_restore_after_switch shows once
# that the "no write lost" check fails when a switched device is put back
# on its source (VMIGCTL_TEST_OLD_RESTORE: what vmigctl did before).
#
# Usage: storage_kill_test.sh [-t TEST]...   (TAP; the plan is the number of tests)
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/build:$PATH"
. "$top/selftests/lib/dm.sh"
. "$top/selftests/lib/taprun.sh"

TESTS="
	killed_mid_copy_rerun_finishes
	killed_after_switch_tidy_finishes
	killed_after_reload_rerun_is_done
	sighup_mid_copy_restores_source
	sigpipe_after_switch_still_finishes
	final_event_lost_record_decides
	final_event_and_record_lost_tracker_decides
	final_lost_before_switch_left_for_tidy
	verifier_catches_restore_after_switch
"
SECTORS=65536			# the device: 32 MiB
T=$(mktemp -d)
DEVS="vmdisk slow"		# removed in this order
wpid= mpid= rpid=

cleanup() {
	unset VMIGCTL_TEST_HOLD
	[ -n "$mpid" ] && kill -KILL "$mpid" 2> /dev/null && wait "$mpid" 2> /dev/null
	[ -n "$rpid" ] && kill -KILL "$rpid" 2> /dev/null && wait "$rpid" 2> /dev/null
	[ -n "$wpid" ] && kill -TERM "$wpid" 2> /dev/null && wait "$wpid" 2> /dev/null
	mpid= rpid= wpid=
	dismiss_all
	rmdm $DEVS
}
trap 'cleanup; rm -rf "$T"' EXIT

# Unlist the sessions left (a killed controller's stays for its linger);
# a running one is cancelled.
dismiss_all() {
	local id
	for id in $(vmigctl -j show 2> /dev/null | python3 -c \
		'import json,sys; print(" ".join(str(s["id"]) for s in json.load(sys.stdin)))' 2> /dev/null); do
		vmigctl cancel "$id" > /dev/null 2>&1
	done
}

# fresh [slow]: a device on ram0 holding generation 0 everywhere, an empty
# ram1; DEST is ram1, or with "slow" a dm-delay device over it.
fresh() {
	cleanup
	rc= rc2=
	dd if=/dev/zero of=/dev/ram1 bs=1M count=64 oflag=direct status=none
	mkdm vmdisk "0 $SECTORS linear /dev/ram0 0" || return 1
	ORIG=$(dmsetup table vmdisk)
	diskverify fill /dev/mapper/vmdisk > /dev/null || return 1
	DEST=/dev/ram1
	if [ "$1" = slow ]; then
		mkdm slow "0 $SECTORS delay /dev/ram1 0 0 /dev/ram1 0 800" || return 1
		DEST=/dev/mapper/slow
	fi
	DESTNUM=$(majmin "$DEST")
}

majmin() { stat -L -c '%t:%T' "$1" | { IFS=: read -r a b; echo $((0x$a)):$((0x$b)); }; }

writer_start() {	# writer_start [diskverify run options]
	rm -f "$T/model"
	diskverify run /dev/mapper/vmdisk "$T/model" --threads 2 --zeroout-pct 5 \
		--discard-pct 5 --discard-zeroes --iops 200 --max-kb 16 "$@" > "$T/w.out" 2>&1 &
	wpid=$!
}

# Stop the writer; $werr is "" when it never saw an error, else why.
writer_stop() {
	local rc
	[ -n "$wpid" ] || return 0
	kill -TERM "$wpid" 2> /dev/null
	wait "$wpid"
	rc=$?
	wpid=
	werr=
	if [ "$rc" != 0 ]; then
		werr="writer exited $rc: $(tr '\n' ' ' < "$T/w.out")"
	elif ! grep -q " 0 errors" "$T/w.out"; then
		werr="writer: $(cat "$T/w.out")"
	fi
}

verify() {	# verify DEV: "" when DEV holds exactly what the writer wrote
	diskverify verify "$1" "$T/model" > "$T/v.out" 2>&1 || tr '\n' ' ' < "$T/v.out"
}

# Pause points: the next vmigctl started pauses at POINT.
hold_at() { rm -f "$T/$1.held" "$T/$1.go"; export VMIGCTL_TEST_HOLD="$1:$T"; }
held() {	# held POINT: until vmigctl is there (or it ended: 1)
	for _ in $(seq 1200); do
		[ -e "$T/$1.held" ] && return 0
		kill -0 "$mpid" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}
release() { touch "$T/$1.go"; }

# move_bg ARGS: vmigctl storage-move of vmdisk in the background, pid $mpid.
move_bg() {
	( exec vmigctl storage-move --dev /dev/mapper/vmdisk "$@" > "$T/m.out" 2> "$T/m.err" ) &
	mpid=$!
	unset VMIGCTL_TEST_HOLD
}
move_wait() { { wait "$mpid"; rc=$?; } 2> /dev/null; mpid=; }	# no "Killed" notice
move_kill() { kill -"$1" "$mpid"; move_wait; }

# again ARGS: vmigctl storage-move of vmdisk in the foreground (the re-run
# or tidy after a kill), status $rc2, output in $T/a.*.
again() {
	vmigctl storage-move --dev /dev/mapper/vmdisk "$@" > "$T/a.out" 2> "$T/a.err"
	rc2=$?
}

# The storage sessions still running, as "ID:STATE ..." ("" when none).
running_moves() {
	vmigctl -j show | python3 -c '
import json, sys
print(" ".join("%d:%s" % (s["id"], s["state"]) for s in json.load(sys.stdin)
               if s["role"] == "storage" and s["state"] in ("new", "precopy", "switchover")))'
}

track_mode() { set -- $(dmsetup status vmdisk 2> /dev/null); echo "${6:-none}"; }

out() { cat "$T"/m.out "$T"/m.err "$T"/a.out "$T"/a.err 2> /dev/null | tr '\n' ' '; }

# check_end NAME WHERE: the end every test wants. WHERE is source, dest or
# either: where the table must have put the device. No write lost comes
# first: verifier_catches_restore_after_switch wants that check to fail.
check_end() {
	local name=$1 want=$2 v tbl on run
	writer_stop
	tbl=$(dmsetup table vmdisk)
	case $tbl in
	"$ORIG") on=source ;;
	"0 $SECTORS linear $DESTNUM 0") on=dest ;;
	*) on="table '$tbl'" ;;
	esac
	run=$(running_moves)
	if [ -n "$werr" ]; then
		fail "$name" "$werr"
	elif v=$(verify /dev/mapper/vmdisk) && [ -n "$v" ]; then
		fail "$name" "writes lost: the device does not hold what was written: $v"
	elif [ "$on" != source ] && [ "$on" != dest ]; then
		fail "$name" "the device ends with $on; $(out)"
	elif [ "$want" != either ] && [ "$on" != "$want" ]; then
		fail "$name" "the device ends on its $on, not its $want; $(out)"
	elif dmsetup table | grep -q vmig-track; then
		fail "$name" "a vmig-track table is left: $(dmsetup table | tr '\n' ' ')"
	elif [ -n "$run" ]; then
		fail "$name" "storage sessions still run: $run"
	elif v=$(verify "$([ "$on" = dest ] && echo /dev/ram1 || echo /dev/ram0)") && [ -n "$v" ]; then
		fail "$name" "the $on device itself: $v"
	else
		echo "# $name: on $on; $(tail -n 1 "$T/m.out" 2> /dev/null)${rc2:+ | then: $(tail -n 1 "$T/a.out" 2> /dev/null)}"
		ok "$name"
	fi
}

# --- SIGKILL -----------------------------------------------------------------------
# Killed mid-copy: the kernel's session runs on (storage moves do) and
# switches the device over by itself. Running the same command again
# waits for it and makes the table plain.
killed_mid_copy_rerun_finishes() {
	local st
	fresh slow || { fail "$FUNCNAME" "setup"; return; }
	writer_start
	rm -f "$T"/a.*
	hold_at storage-move-tracking
	move_bg --to "$DEST" --downtime-ms 5000
	held storage-move-tracking || { fail "$FUNCNAME" "never held: $(out)"; return; }
	st="$(running_moves) $(track_mode)"
	move_kill KILL
	again --to "$DEST" --downtime-ms 5000
	case $st in
	*:precopy\ record|*:new\ record) ;;
	*) fail "$FUNCNAME" "not mid-copy when killed: $st"; return ;;
	esac
	if [ "$rc2" != 0 ]; then
		fail "$FUNCNAME" "the re-run exited $rc2: $(out)"
		return
	fi
	echo "# killed at $st; re-run: $(grep -o 'waiting for storage session [0-9, ]*' "$T/a.err")"
	check_end "$FUNCNAME" dest
}

# Killed after the switch, before the table reload: the tracker redirects
# for good; --tidy loads "linear DEST 0".
killed_after_switch_tidy_finishes() {
	local st mode
	fresh || { fail "$FUNCNAME" "setup"; return; }
	writer_start
	rm -f "$T"/a.*
	hold_at storage-move-final
	move_bg --to "$DEST"
	held storage-move-final || { fail "$FUNCNAME" "never held: $(out)"; return; }
	mode=$(track_mode)
	move_kill KILL
	again --tidy
	if [ "$mode" != redirect ]; then
		fail "$FUNCNAME" "the tracker at the pause point: $mode; $(out)"
	elif [ "$rc2" != 0 ] || ! grep -q "had switched it over" "$T/a.out"; then
		fail "$FUNCNAME" "--tidy exited $rc2: $(out)"
	else
		check_end "$FUNCNAME" dest
	fi
}

# Killed after the reload: the table is plain already; running the same
# command again says so and changes nothing.
killed_after_reload_rerun_is_done() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	writer_start
	rm -f "$T"/a.*
	hold_at storage-move-reloaded
	move_bg --to "$DEST"
	held storage-move-reloaded || { fail "$FUNCNAME" "never held: $(out)"; return; }
	move_kill KILL
	again --to "$DEST"
	if [ "$rc2" != 0 ] || ! grep -q "already: nothing to move" "$T/a.out"; then
		fail "$FUNCNAME" "the re-run exited $rc2: $(out)"
	else
		check_end "$FUNCNAME" dest
	fi
}

# --- SIGHUP, SIGPIPE -----------------------------------------------------------------
# A hang-up mid-copy cancels: the session ends cancelled before any
# switch (the first pass takes over 6 s), the original table is back.
sighup_mid_copy_restores_source() {
	fresh slow || { fail "$FUNCNAME" "setup"; return; }
	writer_start
	rm -f "$T"/a.*
	hold_at storage-move-tracking
	move_bg --to "$DEST"
	held storage-move-tracking || { fail "$FUNCNAME" "never held: $(out)"; return; }
	kill -HUP "$mpid"
	release storage-move-tracking
	move_wait
	if [ "$rc" != 1 ] || ! grep -q "move cancelled: interrupted" "$T/m.err"; then
		fail "$FUNCNAME" "storage-move exited $rc: $(out)"
	else
		check_end "$FUNCNAME" source
	fi
}

# Its reader gone after the switch (SIGPIPE, ignored): vmigctl's writes to
# stdout fail, the table is made plain all the same.
sigpipe_after_switch_still_finishes() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	writer_start
	rm -f "$T"/a.* "$T/fifo"
	mkfifo "$T/fifo"
	cat "$T/fifo" > "$T/m.out" &
	rpid=$!
	hold_at storage-move-final
	( exec vmigctl storage-move --dev /dev/mapper/vmdisk --to "$DEST" > "$T/fifo" 2> "$T/m.err" ) &
	mpid=$!
	unset VMIGCTL_TEST_HOLD
	held storage-move-final || { fail "$FUNCNAME" "never held: $(out)"; return; }
	kill -KILL "$rpid"
	wait "$rpid" 2> /dev/null
	rpid=
	release storage-move-final
	move_wait
	if [ "$rc" != 0 ]; then
		fail "$FUNCNAME" "storage-move exited $rc: $(out)"
	else
		check_end "$FUNCNAME" dest
	fi
}

# --- the final event lost ------------------------------------------------------------
# Lost event: the session's record (listed until dismissed) says done.
final_event_lost_record_decides() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	writer_start
	rm -f "$T"/a.*
	VMIGCTL_TEST_LOSE_FINAL=event vmigctl storage-move --dev /dev/mapper/vmdisk \
		--to "$DEST" > "$T/m.out" 2> "$T/m.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$FUNCNAME" "storage-move exited $rc: $(out)"
	else
		check_end "$FUNCNAME" dest
	fi
}

# Lost event and record: the tracker redirects, so the move was done. The
# writer is stopped at the pause point, after the switch, and one more
# second of writes goes to the device: they are on the destination only,
# and a table put back on the source would lose them (the negative control
# below does exactly that).
lost_final_after_switch() {	# NAME [env...]
	local name=$1
	shift
	fresh || { fail "$name" "setup"; return; }
	writer_start
	rm -f "$T"/a.*
	hold_at storage-move-final
	( exec env VMIGCTL_TEST_LOSE_FINAL=record "$@" vmigctl storage-move \
		--dev /dev/mapper/vmdisk --to "$DEST" > "$T/m.out" 2> "$T/m.err" ) &
	mpid=$!
	unset VMIGCTL_TEST_HOLD
	held storage-move-final || { fail "$name" "never held: $(out)"; return; }
	writer_stop
	[ -z "$werr" ] || { fail "$name" "$werr"; release storage-move-final; move_wait; return; }
	if [ "$(track_mode)" != redirect ] ||
	   ! diskverify run /dev/mapper/vmdisk "$T/model2" --from "$T/model" --seconds 1 \
		--iops 500 > "$T/w.out" 2>&1 || ! mv "$T/model2" "$T/model"; then
		fail "$name" "after the switch: $(track_mode), $(tr '\n' ' ' < "$T/w.out")"
		release storage-move-final
		move_wait
		return
	fi
	release storage-move-final
	move_wait
	if [ "$rc" != 0 ] && [ -z "$*" ]; then
		fail "$name" "storage-move exited $rc: $(out)"
	elif [ -z "$*" ] && ! grep -q "its tracker redirects" "$T/m.err"; then
		fail "$name" "no word of the tracker deciding: $(out)"
	else
		check_end "$name" dest
	fi
}

final_event_and_record_lost_tracker_decides() {
	lost_final_after_switch "$FUNCNAME"
}

# Lost before any switch, the session cancelled (--timeout) but not known
# to have ended: the tracker passes I/O through and the session might
# still switch, so vmigctl leaves the vmig-track table, says the outcome
# is unknown (exit 3) and how to tidy; the tidy restores the source.
final_lost_before_switch_left_for_tidy() {
	local tbl cmd
	fresh slow || { fail "$FUNCNAME" "setup"; return; }
	writer_start
	rm -f "$T"/a.*
	VMIGCTL_TEST_LOSE_FINAL=record vmigctl storage-move --dev /dev/mapper/vmdisk \
		--to "$DEST" --timeout 1 > "$T/m.out" 2> "$T/m.err"
	rc=$?
	tbl=$(dmsetup table vmdisk)
	cmd=$(grep -o 'vmigctl storage-move --tidy --dev [^ ]*' "$T/m.err")
	if [ "$rc" != 3 ]; then
		fail "$FUNCNAME" "storage-move exited $rc: $(out)"
	elif [ "${tbl#* * vmig-track }" = "$tbl" ]; then
		fail "$FUNCNAME" "the vmig-track table was not left: '$tbl'"
	elif [ -z "$cmd" ]; then
		fail "$FUNCNAME" "no tidy command printed: $(out)"
	else
		$cmd > "$T/a.out" 2> "$T/a.err"
		rc2=$?
		if [ "$rc2" != 0 ]; then
			fail "$FUNCNAME" "'$cmd' exited $rc2: $(out)"
		else
			echo "# $(grep -o 'the outcome of session.*unknown' "$T/m.err")"
			check_end "$FUNCNAME" source
		fi
	fi
}

# --- the check fails when it should ---------------------------------------------------
# The old behaviour (a missing final word taken for a failure, the source
# table loaded unasked) after the switch: the writes made on the
# destination since are gone, and check_end says so.
verifier_catches_restore_after_switch() {
	local n0=$n failed0=$failed
	lost_final_after_switch "$FUNCNAME" VMIGCTL_TEST_OLD_RESTORE=1 > "$T/neg.out"
	n=$n0 failed=$failed0
	if grep -q "^not ok .* # writes lost:" "$T/neg.out"; then
		echo "# with the old restore: $(sed -n 's/^not ok [0-9]* [a-z_]* # //p' "$T/neg.out" | cut -c1-200)"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "the check passed with the source table put back: $(tr '\n' ' ' < "$T/neg.out")"
	fi
}

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
modprobe dm-mod
rmmod brd 2> /dev/null
if ! modprobe brd rd_nr=2 rd_size=65536 || ! test -b /dev/ram0 || ! test -b /dev/ram1; then
	echo "1..0 # SKIP no brd ramdisks"
	exit 0
fi
modprobe dm-delay 2> /dev/null
dmsetup targets | grep -q '^vmig-track' || { echo "1..0 # SKIP vmig-track target missing (vmig.ko loaded?)"; exit 0; }
dmsetup targets | grep -q '^delay' || { echo "1..0 # SKIP no dm-delay"; exit 0; }

taprun_main "$@"
