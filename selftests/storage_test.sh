#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Local storage migration: vmigctl storage-move moves a device-mapper device
# in use to another block device (Documentation/storage.rst). Needs root,
# vmig.ko, dm-mod, brd (dm-delay for slow destinations).
#
#   diskverify run ──> /dev/mapper/vmdisk ── linear ──> /dev/ram0   (32 MiB)
#                              │
#                 storage-move │  vmig-track ram0 0 128 DEST   (while copying)
#                              ▼
#                      linear DEST 0      DEST: /dev/ram1 (64 MiB), or a
#                                         dm device over it: small, bad
#                                         (error target), slow (dm-delay)
#
# diskverify writes random blocks (O_DIRECT, with BLKZEROOUT and BLKDISCARD
# ranges and periodic fdatasync) all through a move, knows what each block
# must hold, and checks the device and the destination against that.
#
# The verifier is shown to catch a lost region in every run
# (verifier_catches_a_lost_region: fault_inject 16 makes the copier write
# zeros for region 5, blocks 80-95). Blocks a writer rewrites after the
# switchover would be right again: hence writers here stop as soon as the
# move returns.
#
# A test that checks what the one before it left (target_keeps_record_across_reload,
# writes_after_move_land_on_destination) sets that up itself when run alone.
#
# Usage: storage_test.sh [-t TEST]...   (TAP; the plan is the number of tests)
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/build:$PATH"
. "$top/selftests/lib/dm.sh"
. "$top/selftests/lib/taprun.sh"

TESTS="
	target_records_written_regions
	target_keeps_record_across_reload
	destination_too_small_refused
	destination_in_use_refused
	destination_not_a_block_device_refused
	destination_durable_at_switchover
	verifier_catches_a_skipped_flush
	writer_moves_with_the_device
	writes_after_move_land_on_destination
	granularity_4k_moves_with_the_device
	granularity_8m_moves_with_the_device
	verifier_catches_a_lost_region
	destination_error_aborts_move
	destination_out_of_space_aborts_move
	cancel_mid_copy_restores_device
	writer_outrunning_copy_aborts
	sync_writes_converge
	mirrored_write_failure_invisible_to_guest
	timeout_cancels_move
	granularity_1g_moves_with_the_device
	buffered_writer_moves_with_the_device
	no_sessions_or_tables_left
"
SECTORS=65536			# the device: 32 MiB
T=$(mktemp -d)

# A pass also says when it came, as a TAP comment.
START=$(date +%s)
eval "taprun_$(declare -f ok)"
ok() { taprun_ok "$1"; echo "#   at $(($(date +%s) - START)) s"; }

DEVS="vmdisk small bad slow holder thin pool tdata tmeta logdst"	# removed in this order

cleanup() {
	[ -n "$wpid" ] && kill -TERM "$wpid" 2> /dev/null && wait "$wpid" 2> /dev/null
	rmdm $DEVS
	logwrites_down
	rm -rf "$T"
}
trap cleanup EXIT

# What the last test left for the next to check ("" after a fresh start).
made=

# A fresh device on ram0 holding generation 0 everywhere, an empty ram1.
fresh() {
	made=
	rmdm $DEVS
	dd if=/dev/zero of=/dev/ram1 bs=1M count=64 oflag=direct status=none
	mkdm vmdisk "0 $SECTORS linear /dev/ram0 0" || return 1
	ORIG=$(dmsetup table vmdisk)
	diskverify fill /dev/mapper/vmdisk > /dev/null
}

writer_start() {	# writer_start [diskverify run options]
	rm -f "$T/model"
	diskverify run /dev/mapper/vmdisk "$T/model" --threads 2 --zeroout-pct 5 \
		--discard-pct 5 --discard-zeroes "$@" > "$T/w.out" 2>&1 &
	wpid=$!
	sleep 1
}

# Stop the writer; $werr is "" when it never saw an error, else why.
writer_stop() {
	local rc
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

move() {	# move [storage-move options]; status in $rc and $T/m.rc, output in $T/m.*
	vmigctl storage-move --dev /dev/mapper/vmdisk "$@" > "$T/m.out" 2> "$T/m.err"
	rc=$?
	echo "rc=$rc" > "$T/m.rc"
}

table_is_original() { [ "$(dmsetup table vmdisk)" = "$ORIG" ]; }

# Content hash of the first MIB MiB of a device or file, read around the
# page cache.
devhash() {	# devhash DEV|FILE MIB
	dd if="$1" bs=1M count="$2" $([ -b "$1" ] && echo iflag=direct) status=none |
		sha256sum | cut -c1-16
}

# An aborted move: the device is back on its original table, the writer
# saw no error, and the device holds everything written.
check_aborted() {	# check_aborted NAME WANTED-MESSAGE [COUNT-THAT-MUST-BE-NONZERO]
	local v
	writer_stop
	if [ "${3:-1}" = 0 ]; then
		fail "$1" "the case under test did not happen (count 0)"
	elif [ "$rc" != 1 ]; then
		fail "$1" "storage-move exited $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	elif ! grep -q "$2" "$T/m.err"; then
		fail "$1" "no '$2' in: $(tr '\n' ' ' < "$T/m.err")"
	elif ! table_is_original; then
		fail "$1" "table now '$(dmsetup table vmdisk)', was '$ORIG'"
	elif [ -n "$werr" ]; then
		fail "$1" "$werr"
	elif v=$(verify /dev/mapper/vmdisk) && [ -n "$v" ]; then
		fail "$1" "$v"
	else
		echo "# $1: $(tail -n 1 "$T/m.err")"
		ok "$1"
	fi
}

# --- the switchover makes the copy durable before any new write -------------------
# The guest may have seen a flush complete on the source for writes the copy
# left in the destination's volatile cache. The destination is a loop
# device (a write cache: flushes reach it) logged by dm-log-writes, which
# logs a write only once a flush or its own FUA made it durable. Marked
# right after the move, the log must already hold the whole device: a
# crash on the destination at once loses nothing the source held.
durable_after_switch() {	# durable_after_switch NAME: moves an idle device, checks the log
	local name=$1 img=$T/replayed v
	made=
	rmdm vmdisk logdst
	for l in $LOOPS; do losetup -d "$l" 2> /dev/null; done
	rm -f "$SHM/dst.img" "$SHM/log.img"
	truncate -s 32M "$SHM/dst.img" && truncate -s 48M "$SHM/log.img"
	LOOPS="$(losetup -f --show "$SHM/dst.img") $(losetup -f --show "$SHM/log.img")" || {
		fail "$name" "no loop devices"; return; }
	set -- $LOOPS
	mkdm logdst "0 $SECTORS log-writes $1 $2" || { fail "$name" "no log-writes device"; return; }
	mkdm vmdisk "0 $SECTORS linear /dev/ram0 0"
	ORIG=$(dmsetup table vmdisk)
	dd if=/dev/urandom of=/dev/mapper/vmdisk bs=1M count=32 oflag=direct status=none
	move --to /dev/mapper/logdst
	dmsetup message logdst 0 mark switched
	# The guest's first write there, durable by itself.
	dd if=/dev/urandom of=/dev/mapper/vmdisk bs=4k count=1 seek=3 oflag=direct,dsync conv=notrunc status=none
	replay=$(python3 "$top/selftests/logreplay.py" "$2" switched "$img" $SECTORS 2>&1)
	if [ "$rc" != 0 ]; then
		fail "$name" "storage-move exited $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	elif [ "$(devhash /dev/ram0 32)" != "$(devhash "$img" 32)" ]; then
		fail "$name" "the destination's durable content at the switch is not the source's: $replay"
	else
		echo "# $name: $replay"
		ok "$name"
	fi
	rm -f "$img"
	rmdm vmdisk logdst
}

# dm-log-writes over two loop devices on a tmpfs, for the two tests that
# use durable_after_switch: set up once, gone after the second or at exit.
SHM=$T/shm LOOPS='' logw=''
logwrites_up() {	# status 0 when there
	if [ -z "$logw" ]; then
		if modprobe dm-log-writes 2> /dev/null && modprobe loop 2> /dev/null &&
		   dmsetup targets | grep -q '^log-writes' && mkdir -p "$SHM" && mount -t tmpfs tmpfs "$SHM"; then
			logw=0
		else
			logw=1
		fi
	fi
	return "$logw"
}
logwrites_down() {
	[ "$logw" = 0 ] || return 0
	for l in $LOOPS; do losetup -d "$l"; done
	umount "$SHM"
	LOOPS='' logw=''
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
RAM0=$(stat -L -c '%t:%T' /dev/ram0 | { IFS=: read -r a b; echo $((0x$a)):$((0x$b)); })
RAM1=$(stat -L -c '%t:%T' /dev/ram1 | { IFS=: read -r a b; echo $((0x$a)):$((0x$b)); })

# --- the target alone: records writes per region, passes I/O through -------
tracked_device() {	# the device on vmig-track, written in regions 6, 62 and 63
	fresh
	dmsetup reload vmdisk --table "0 $SECTORS vmig-track $RAM0 0 128" && dmsetup resume vmdisk
	st0=$(dmsetup status vmdisk)
	dd if=/dev/urandom of=/dev/mapper/vmdisk bs=4k seek=100 count=1 oflag=direct status=none	# region 6
	dd if=/dev/urandom of=/dev/mapper/vmdisk bs=4k seek=1000 count=20 oflag=direct status=none	# 62, 63
	st1=$(dmsetup status vmdisk)
	dd if=/dev/mapper/vmdisk of="$T/a" bs=1M iflag=direct status=none
	dd if=/dev/ram0 of="$T/b" bs=1M count=32 iflag=direct status=none
	cmp -s "$T/a" "$T/b"
	same=$?
	rm -f "$T/a" "$T/b"
	made=tracked_device
}

target_records_written_regions() {
	tracked_device
	if [ "$st0" = "0 $SECTORS vmig-track 0 512 record" ] &&
	   [ "$st1" = "0 $SECTORS vmig-track 3 512 record" ] && [ "$same" = 0 ]; then
		ok "target_records_written_regions"
	else
		fail "target_records_written_regions" "status '$st0' then '$st1', data equal: $same"
	fi
}

# A reload with the same arguments keeps the record; "clear" empties it.
target_keeps_record_across_reload() {
	local st2 st3
	[ "$made" = tracked_device ] || tracked_device
	made=
	dmsetup reload vmdisk --table "0 $SECTORS vmig-track $RAM0 0 128" && dmsetup resume vmdisk
	st2=$(dmsetup status vmdisk)
	dmsetup message vmdisk 0 clear
	st3=$(dmsetup status vmdisk)
	if [ "$st2" = "$st1" ] && [ "$st3" = "0 $SECTORS vmig-track 0 512 record" ]; then
		ok "target_keeps_record_across_reload"
	else
		fail "target_keeps_record_across_reload" "after reload '$st2', after clear '$st3'"
	fi
	dmsetup reload vmdisk --table "$ORIG" && dmsetup resume vmdisk
}

# --- refusals before anything changes -------------------------------------------
# Those after the first need the device on its original table, not a fresh one.
on_original() {
	if [ -z "$ORIG" ] || [ "$(dmsetup table vmdisk 2> /dev/null)" != "$ORIG" ]; then
		fresh
	fi
}

destination_too_small_refused() {
	fresh
	mkdm small "0 32768 linear /dev/ram1 0"
	move --to /dev/mapper/small
	if [ "$rc" = 1 ] && grep -q "destination is smaller than the device" "$T/m.err" &&
	   table_is_original; then
		echo "# $(cat "$T/m.err")"
		ok "destination_too_small_refused"
	else
		fail "destination_too_small_refused" "rc $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' '), table '$(dmsetup table vmdisk)'"
	fi
}

destination_in_use_refused() {
	on_original
	mkdm holder "0 8 linear /dev/ram1 0"
	move --to /dev/ram1
	if [ "$rc" = 1 ] && grep -q "destination is in use" "$T/m.err" && table_is_original; then
		ok "destination_in_use_refused"
	else
		fail "destination_in_use_refused" "rc $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	fi
	rmdm holder small
}

destination_not_a_block_device_refused() {
	on_original
	: > "$T/plainfile"
	move --to "$T/plainfile"
	if [ "$rc" = 1 ] && grep -q "destination is not a block device" "$T/m.err" && table_is_original; then
		ok "destination_not_a_block_device_refused"
	else
		fail "destination_not_a_block_device_refused" "rc $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	fi
}

destination_durable_at_switchover() {
	if logwrites_up; then
		durable_after_switch "destination_durable_at_switchover"
	else
		skip "destination_durable_at_switchover" "no dm-log-writes or loop"
	fi
}

# The check can fail: without the switchover's flush the copy is not
# in the log when the guest writes again.
verifier_catches_a_skipped_flush() {
	local n0 failed0
	if ! logwrites_up; then
		skip "verifier_catches_a_skipped_flush" "no dm-log-writes or loop"
		return
	fi
	n0=$n failed0=$failed
	echo 8 > /sys/module/vmig/parameters/fault_inject
	durable_after_switch "verifier_catches_a_skipped_flush" > "$T/neg.out"
	echo 0 > /sys/module/vmig/parameters/fault_inject
	n=$n0 failed=$failed0
	if grep -q "^not ok .*durable content at the switch is not the source's" "$T/neg.out"; then
		sed -n 's/^not ok [0-9]* [a-z_]* # /# without the flush: /p' "$T/neg.out"
		ok "verifier_catches_a_skipped_flush"
	else
		fail "verifier_catches_a_skipped_flush" "the check passed without the flush: $(cat "$T/neg.out")"
	fi
	logwrites_down
}

# --- a move under a writer -------------------------------------------------------
# The writer stops as soon as the move returns: each later write overwrites
# blocks, and so would hide a region the copy lost (a writer at full speed
# rewrites every block of this small device within a second).
writer_move() {	# the move both tests below look at
	fresh
	writer_start --iops 2000 --max-kb 16
	move --to /dev/ram1
	writer_stop
	tbl=$(dmsetup table vmdisk)
	made=writer_move
}

writer_moves_with_the_device() {
	local v
	writer_move
	if [ "$rc" != 0 ]; then
		fail "writer_moves_with_the_device" "storage-move exited $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	elif [ "$tbl" != "0 $SECTORS linear $RAM1 0" ]; then
		fail "writer_moves_with_the_device" "table '$tbl'"
	elif [ -n "$werr" ]; then
		fail "writer_moves_with_the_device" "$werr"
	elif v=$(verify /dev/mapper/vmdisk) && [ -n "$v" ]; then
		fail "writer_moves_with_the_device" "$v"
	elif v=$(verify /dev/ram1) && [ -n "$v" ]; then
		fail "writer_moves_with_the_device" "destination: $v"
	else
		echo "# $(tail -n 1 "$T/m.out"); $(cat "$T/w.out")"
		ok "writer_moves_with_the_device"
	fi
}

# Writes after the move land on the destination, nothing else changes.
writes_after_move_land_on_destination() {
	local v
	[ "$made" = writer_move ] || writer_move
	made=
	if diskverify run /dev/mapper/vmdisk "$T/model2" --from "$T/model" --seconds 1 \
		--iops 500 --zeroout-pct 5 --discard-pct 5 --discard-zeroes > "$T/w.out" 2>&1 &&
	   mv "$T/model2" "$T/model" && v=$(verify /dev/ram1) && [ -z "$v" ]; then
		ok "writes_after_move_land_on_destination"
	else
		fail "writes_after_move_land_on_destination" "$(tr '\n' ' ' < "$T/w.out") $v"
	fi
}

# Any granularity: 4 KiB regions (a claim takes up to 1024 of them, from
# all over the device) and 8 MiB ones (larger than the 4 MiB copy buffer:
# one region is copied in two batches under one claim).
granularity_moves() {	# granularity_moves 4k|8m
	local g=$1 v
	fresh
	writer_start --iops 2000 --max-kb 16
	move --to /dev/ram1 --granularity $g
	writer_stop
	if [ "$rc" != 0 ]; then
		fail "granularity_${g}_moves_with_the_device" "storage-move exited $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	elif [ -n "$werr" ]; then
		fail "granularity_${g}_moves_with_the_device" "$werr"
	elif v=$(verify /dev/ram1) && [ -n "$v" ]; then
		fail "granularity_${g}_moves_with_the_device" "destination: $v"
	else
		echo "# $(tail -n 1 "$T/m.out")"
		ok "granularity_${g}_moves_with_the_device"
	fi
}
granularity_4k_moves_with_the_device() { granularity_moves 4k; }
granularity_8m_moves_with_the_device() { granularity_moves 8m; }

# The check above can fail: a copier that loses region 5 (blocks 80-95).
verifier_catches_a_lost_region() {
	local v outside nbad
	fresh
	writer_start --iops 2000 --max-kb 16
	echo 16 > /sys/module/vmig/parameters/fault_inject
	move --to /dev/ram1
	echo 0 > /sys/module/vmig/parameters/fault_inject
	writer_stop
	v=$(verify /dev/ram1)
	# 1 to 16 blocks are bad, and every one diskverify names lies in region 5.
	outside=$(sed -n 's/^diskverify: [^ ]* block \([0-9]*\):.*/\1/p' "$T/v.out" |
		awk '$1 < 80 || $1 > 95' | head -n 3)
	nbad=$(sed -n 's/.* blocks, \([0-9]*\) bad.*/\1/p' "$T/v.out")
	if [ "$rc" = 0 ] && [ -n "$v" ] && [ "${nbad:-0}" -ge 1 ] && [ "$nbad" -le 16 ] &&
	   [ -z "$outside" ]; then
		echo "# lost region caught: $(tail -n 1 "$T/v.out")"
		ok "verifier_catches_a_lost_region"
	else
		fail "verifier_catches_a_lost_region" "rc $rc; bad blocks outside region 5: '$outside'; $(tr '\n' ' ' < "$T/v.out")"
	fi
}

# --- a destination failing mid-copy: abort, original table, nothing lost --------
destination_error_aborts_move() {
	fresh
	mkdm bad "0 32768 linear /dev/ram1 0
32768 32768 error"
	writer_start
	move --to /dev/mapper/bad
	check_aborted "destination_error_aborts_move" "writing the destination failed"
	rmdm bad
}

# --- a destination that runs out of space mid-copy: ENOSPC aborts the same way --
# A thin volume as large as the device over a pool of 8 MiB: the size check
# passes, the copy's writes fail with ENOSPC once the pool is full
# (error_if_no_space: at once, not after the pool's queueing timeout).
destination_out_of_space_aborts_move() {
	if modprobe dm-thin-pool 2> /dev/null && dmsetup targets | grep -q '^thin-pool'; then
		fresh
		dd if=/dev/zero of=/dev/ram1 bs=4k count=1 oflag=direct status=none
		mkdm tmeta "0 8192 linear /dev/ram1 0" &&
		mkdm tdata "0 16384 linear /dev/ram1 8192" &&
		mkdm pool "0 16384 thin-pool /dev/mapper/tmeta /dev/mapper/tdata 128 0 1 error_if_no_space" &&
		dmsetup message pool 0 "create_thin 0" &&
		mkdm thin "0 $SECTORS thin /dev/mapper/pool 0"
		writer_start
		move --to /dev/mapper/thin
		check_aborted "destination_out_of_space_aborts_move" \
			"writing the destination failed (No space left on device)"
		echo "# pool: $(dmsetup status pool 2>&1)"
		rmdm thin pool tdata tmeta
	else
		skip "destination_out_of_space_aborts_move" "no dm-thin-pool"
	fi
}

# --- cancel in the middle --------------------------------------------------------
cancel_mid_copy_restores_device() {
	local mpid id
	if dmsetup targets | grep -q '^delay'; then
		fresh
		mkdm slow "0 $SECTORS delay /dev/ram1 0 0 /dev/ram1 0 400"
		writer_start --iops 200
		vmigctl storage-move --dev /dev/mapper/vmdisk --to /dev/mapper/slow \
			> "$T/m.out" 2> "$T/m.err" &
		mpid=$!
		for _ in $(seq 100); do
			id=$(sed -n 's/^session \([0-9]*\):.*/\1/p' "$T/m.out")
			[ -n "$id" ] && break
			sleep 0.1
		done
		sleep 1				# well before the copy ends (>= 3.2 s)
		vmigctl cancel "$id"
		wait $mpid
		rc=$?
		check_aborted "cancel_mid_copy_restores_device" "move cancelled"
		rmdm slow
	else
		skip "cancel_mid_copy_restores_device" "no dm-delay"
	fi
}

# --- a writer faster than the copy: abort, or converge with --sync-writes -------
writer_outrunning_copy_aborts() {
	if dmsetup targets | grep -q '^delay'; then
		fresh
		mkdm slow "0 $SECTORS delay /dev/ram1 0 0 /dev/ram1 0 20"
		writer_start
		move --to /dev/mapper/slow --downtime-ms 10 --max-iterations 3
		check_aborted "writer_outrunning_copy_aborts" "faster than the copy"
		rmdm slow
	else
		skip "writer_outrunning_copy_aborts" "no dm-delay"
	fi
}

sync_writes_converge() {
	local slow v
	if dmsetup targets | grep -q '^delay'; then
		fresh
		mkdm slow "0 $SECTORS delay /dev/ram1 0 0 /dev/ram1 0 20"
		writer_start
		# Discards and write-zeroes are not mirrored (their regions are copied
		# again), and each copy claim pays the destination's 20 ms: a target
		# of a few claims, not 10 ms, which no claim can meet.
		move --to /dev/mapper/slow --downtime-ms 200 --max-iterations 5 --sync-writes
		writer_stop
		slow=$(stat -L -c '%t:%T' /dev/mapper/slow | { IFS=: read -r a b; echo $((0x$a)):$((0x$b)); })
		if [ "$rc" != 0 ]; then
			fail "sync_writes_converge" "storage-move exited $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
		elif [ "$(dmsetup table vmdisk)" != "0 $SECTORS linear $slow 0" ]; then
			fail "sync_writes_converge" "table '$(dmsetup table vmdisk)'"
		elif [ -n "$werr" ]; then
			fail "sync_writes_converge" "$werr"
		elif v=$(verify /dev/mapper/vmdisk) && [ -n "$v" ]; then
			fail "sync_writes_converge" "$v"
		else
			echo "# $(tail -n 1 "$T/m.out"); $(cat "$T/w.out")"
			ok "sync_writes_converge"
		fi
		rmdm vmdisk slow
	else
		skip "sync_writes_converge" "no dm-delay"
	fi
}

# --- a mirrored write fails on the destination: the guest never sees it -------
# The destination is slow (the copy takes over 3 s, 4 MiB per 400 ms, in
# ascending order). Once the copy is past its first 12 MiB, the first 8 MiB
# start failing writes. The writer's writes there are mirrored
# (--sync-writes, the regions are copied and clean) and their destination
# half fails: the move fails, the guest's writes do not. The writer issues
# no discards or write-zeroes: those are not mirrored, they would dirty a
# region and the failure would come from the copy instead.
mirrored_write_failure_invisible_to_guest() {
	local mpid mfail
	if dmsetup targets | grep -q '^delay'; then
		fresh
		mkdm slow "0 $SECTORS delay /dev/ram1 0 0 /dev/ram1 0 400"
		mkdm bad "0 $SECTORS linear /dev/mapper/slow 0"
		writer_start --iops 200 --zeroout-pct 0 --discard-pct 0
		move --to /dev/mapper/bad --sync-writes &
		mpid=$!
		# dmsetup status: <start> <len> vmig-track <dirty> <regions> <mode>
		for _ in $(seq 400); do
			set -- $(dmsetup status vmdisk 2> /dev/null)
			[ "${6:-}" = mirror ] && [ "$4" -le $(($5 * 5 / 8)) ] && break
			sleep 0.05
		done
		dmsetup reload bad --table "0 16384 error
16384 $((SECTORS - 16384)) linear /dev/mapper/slow 16384" && dmsetup resume bad
		wait $mpid
		rc=$(sed -n 's/^rc=//p' "$T/m.rc" 2> /dev/null)
		mfail=$(dmesg | sed -n 's/.*the destination failed \([0-9]*\) mirrored writes/\1/p' | tail -n 1)
		check_aborted "mirrored_write_failure_invisible_to_guest" "writing the destination failed" \
			"${mfail:-0}"
		echo "# the destination failed ${mfail:-0} mirrored writes"
		rmdm vmdisk bad slow
	else
		skip "mirrored_write_failure_invisible_to_guest" "no dm-delay"
	fi
}

# --- --timeout cancels ---------------------------------------------------------
timeout_cancels_move() {
	if dmsetup targets | grep -q '^delay'; then
		fresh
		mkdm slow "0 $SECTORS delay /dev/ram1 0 0 /dev/ram1 0 400"
		writer_start --iops 200
		move --to /dev/mapper/slow --timeout 1
		check_aborted "timeout_cancels_move" "not done within 1 s"
		rmdm vmdisk slow
	else
		skip "timeout_cancels_move" "no dm-delay"
	fi
}

# --- the largest granularity: one 1 GiB region over the whole 32 MiB device ------
# It is copied in 4 MiB batches of 1 MiB bios under one claim.
granularity_1g_moves_with_the_device() {
	local name=$FUNCNAME v
	fresh
	writer_start --iops 2000 --max-kb 16
	move --to /dev/ram1 --granularity 1g --downtime-ms 10000
	writer_stop
	if [ "$rc" != 0 ]; then
		fail $name "storage-move exited $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	elif [ -n "$werr" ]; then
		fail $name "$werr"
	elif v=$(verify /dev/ram1) && [ -n "$v" ]; then
		fail $name "destination: $v"
	else
		echo "# $(tail -n 1 "$T/m.out")"
		ok $name
	fi
}

# --- a writer through the device's page cache (QEMU's default cache=writeback) ----
# Its writes complete as dirty pages of the dm device and reach vmig-track
# only when written back; periodic writeback is held off, so that most are
# still dirty at the switchover. They need no writeback by the move: once
# written back they go through vmig-track, which redirects them to the
# destination, and what the cache holds clean reads the same from either
# device. The writer's final fdatasync writes them back.
buffered_writer_moves_with_the_device() {
	local name=$FUNCNAME v expire tbl
	expire=$(cat /proc/sys/vm/dirty_expire_centisecs)
	echo 360000 > /proc/sys/vm/dirty_expire_centisecs
	fresh
	writer_start --iops 2000 --max-kb 16 --buffered --sync-every 0
	move --to /dev/ram1
	writer_stop
	echo "$expire" > /proc/sys/vm/dirty_expire_centisecs
	tbl=$(dmsetup table vmdisk)
	if [ "$rc" != 0 ]; then
		fail $name "storage-move exited $rc: $(cat "$T/m.out" "$T/m.err" | tr '\n' ' ')"
	elif [ "$tbl" != "0 $SECTORS linear $RAM1 0" ]; then
		fail $name "table '$tbl'"
	elif [ -n "$werr" ]; then
		fail $name "$werr"
	elif v=$(verify /dev/ram1) && [ -n "$v" ]; then
		fail $name "destination: $v"
	else
		echo "# $(tail -n 1 "$T/m.out"); $(cat "$T/w.out")"
		ok $name
	fi
}

# --- nothing left behind ---------------------------------------------------------
no_sessions_or_tables_left() {
	local s
	rmdm $DEVS
	s=$(vmigctl -j show)
	if [ "$s" = "[]" ] && ! dmsetup table 2> /dev/null | grep -q vmig-track; then
		ok "no_sessions_or_tables_left"
	else
		fail "no_sessions_or_tables_left" "sessions $s; $(dmsetup table 2>&1 | tr '\n' ' ')"
	fi
}

taprun_main "$@"
