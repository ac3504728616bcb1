#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The rig proving itself: QEMU's OWN live migration of the guestd guest
# (lib/qemu.sh), under load, must leave it running on the destination with
# its TCP stream unbroken and its memory and disk verified. No vmig here:
# if this fails, a vmig test on the same rig cannot be trusted either.
#
# Run inside the test VM:
#   selftests/rig/vm-run.sh KVER 'sh /work/main/selftests/qemu/selfmigrate.sh'
# Settings: lib/qemu.sh's QEMU_* plus
#   SELFMIG_ROUNDS    migrations back and forth                 [1]
#   SELFMIG_FLOOD     KiB/s flowing into the guest              [2048]
#   SELFMIG_BOOT_TMO  seconds the guest may take to boot        [240]
# Last line: "VMIG-SELFMIGRATE result=pass|fail|stall kver=... ready_s=...
#   rounds=N total_ms=a,b.. downtime_ms=a,b.. max_gap_ms=a,b.. why=..."
# result=stall: the guest (or the test VM) stalled before any migration,
# the known instability of a nested guest under TCG, not a migration bug.
top=$(cd "$(dirname "$0")/../.." && pwd)
VMIG_TOP=$top
. "$top/selftests/lib/qemu.sh"

rounds=${SELFMIG_ROUNDS:-1}
kver=$(uname -r)
result=pass why= ready=- totals= downs= gaps=
trap 'qemu_guest_stop_all' EXIT INT TERM

finish() {
	[ -n "$why" ] && echo "# why: $why"
	if [ "$result" != pass ]; then
		for n in src dst; do
			[ -f "$QEMU_DIR/$n.console" ] || continue
			echo "# ---- console of $n (tail)"
			qemu_guest_console $n | tail -n 25 | sed 's/^/#   /'
			echo "# ---- QEMU log of $n"
			sed 's/^/#   /' "$QEMU_DIR/$n.log"
		done
		dmesg | grep -E 'rcu.*stall|soft lockup|hung task|BUG:|Oops|Call Trace' | head -n 5 | sed 's/^/# test VM: /'
	fi
	echo "VMIG-SELFMIGRATE result=$result kver=$kver ready_s=$ready rounds=$rounds" \
		"total_ms=${totals#,} downtime_ms=${downs#,} max_gap_ms=${gaps#,} why=${why:-none}"
	[ "$result" = pass ]
	exit $?
}
fail() { result=fail; why=$*; finish; }
stall() { result=stall; why=$*; finish; }

json_num() {	# json_num JSON KEY: first numeric value of "KEY"
	echo "$1" | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p"
}

qemu_build || fail "build failed"
qemu_kvm_up || fail "no /dev/kvm in the test VM"
qemu_net_up || fail "bridge"
qemu_guest_start src || fail "source QEMU did not start"
qemu_guest_wait_ready src "${SELFMIG_BOOT_TMO:-240}" || stall "guest did not boot"
ready=$QEMU_READY_S
echo "# guest ready after ${ready}s"
qemu_seqsink_start || stall "no stream from the guest"
qemu_flood_start "${SELFMIG_FLOOD:-2048}"
sleep 3
line=$(qemu_seqsink_report)
echo "# before: $line"
qemu_seqsink_ok "$line" || fail "stream broken before migrating: $line"
[ "$(qemu_field "$line" lines)" -gt 100 ] || stall "guest stalled before migrating: $line"
qemu_guest_failures src > /dev/null || fail "before migrating: $(qemu_guest_failures src | head -n 3)"

from=src to=dst i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	qemu_guest_kill $to
	qemu_guest_start $to --incoming || fail "round $i: destination QEMU did not start"
	qemu_seqsink_reset
	before=$(qemu_field "$(qemu_seqsink_report)" last_seq)
	t0=$(date +%s%N)
	mig=$(qemu_migrate_native $from $to $((4440 + i)) 180)
	rc=$?
	t1=$(date +%s%N)
	echo "# round $i $from->$to: rc=$rc wall_ms=$(((t1 - t0) / 1000000)) $mig"
	[ "$rc" -eq 0 ] || fail "round $i: QEMU migration failed"
	totals="$totals,$(json_num "$mig" total-time)"
	downs="$downs,$(json_num "$mig" downtime)"
	sleep 2
	st=$(qemu_guest_status $to)
	[ "$st" = running ] || fail "round $i: destination is $st, not running"
	st=$(qemu_guest_status $from)
	[ "$st" = postmigrate ] || fail "round $i: source is $st, not postmigrate"
	line=$(qemu_seqsink_report)
	echo "# after round $i: $line"
	gaps="$gaps,$(qemu_field "$line" max_gap_ms)"
	qemu_seqsink_ok "$line" || fail "round $i: stream broken: $line"
	[ "$(qemu_field "$line" last_seq)" -gt $((before + 500)) ] ||
		fail "round $i: guest does not progress on $to: $line"
	qemu_guest_failures $to > /dev/null || fail "round $i: $(qemu_guest_failures $to | head -n 3)"
	tmp=$from from=$to to=$tmp
done

fl=$(qemu_flood_stop)
line=$(qemu_seqsink_stop)
echo "# final: $line"
echo "# $fl"
qemu_seqsink_ok "$line" || fail "stream broken at the end: $line"
case $fl in *connection=same*) ;; *) fail "flood connection broken: $fl" ;; esac
grep -a 'GUESTD-STATS' "$QEMU_DIR/$from.console" | tail -n 1 | sed 's/^/# /'
finish
