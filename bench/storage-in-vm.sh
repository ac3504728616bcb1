#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Storage-move benchmark; runs inside the test VM (bench/storage.sh boots
# it). Moves a MIB-sized device from one brd ramdisk to another, or to a
# dm-delay'd "slow" disk over the other, four ways:
#
#   dd       dd if=/dev/ram0 of=DST bs=1M iflag=direct oflag=direct: an
#            offline copy, the devices' own pace for a synchronous 1 MiB
#            copy (under the writer it is not a consistent copy)
#   pvmove   lvm2: LV "bvg/lv" on PV ram0 moved to PV DST (dm-mirror and
#            kcopyd); pvmove -i 0 waits for the mirror's dm event rather
#            than polling, so no polling interval is counted
#   smove    vmigctl storage-move of /dev/mapper/vmdisk (linear over
#            ram0) to DST, default options
#   smove-sw the same with --sync-writes (writer rounds only: with no
#            writer it is the same as smove), the mirror mode, as pvmove's
#
# each idle and with diskverify writing to the device being moved (the LV
# or vmdisk; for dd, vmdisk over the source). After every pvmove and
# storage-move the device is checked block by block against what the
# writer wrote, over a destination zeroed before the run, so a fast but
# wrong move shows as FAILED instead of as a good number.
#
# Numbers from a nested TCG guest on a shared host are only meaningful as
# ratios within one run. This is not a test: failures are reported in the
# tables; the exit status is 0 unless the setup itself failed.
#
# Knobs (environment):
#   VMIG_BENCH_STORAGE_MIB       device size, MiB (default 512)
#   VMIG_BENCH_STORAGE_REPS      runs of each method per case (default 3)
#   VMIG_BENCH_STORAGE_IOPS      writer I/Os per second per thread, 2
#                                threads (default 500)
#   VMIG_BENCH_STORAGE_DELAY_MS  dm-delay write delay of the slow
#                                destination; 0: no slow case (default 2)
#   VMIG_BENCH_STORAGE_TIMEOUT   storage-move --timeout, seconds (default
#                                20): a move that cannot converge only
#                                fails after 30 passes, minutes on a slow
#                                destination
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
export PATH="$build:$PATH"
set -u

MIB=${VMIG_BENCH_STORAGE_MIB:-512}
REPS=${VMIG_BENCH_STORAGE_REPS:-3}
IOPS=${VMIG_BENCH_STORAGE_IOPS:-500}
DELAY_MS=${VMIG_BENCH_STORAGE_DELAY_MS:-2}
SM_TIMEOUT=${VMIG_BENCH_STORAGE_TIMEOUT:-20}
SECT=$((MIB * 2048))
# Room for LVM's label and metadata area ahead of the first extent
# (pe_start 1 MiB) and extent rounding (4 MiB): the LV is exactly MIB.
RD_MIB=$((MIB + 8))
VG=bvg
T=$(mktemp -d)
wpid= cur_dst=
: > "$T/detail"

# No udev in the VM: LVM must create its own device nodes, must not wait
# for udev, must not ask udev for devices, and must not look for the poll
# and event daemons. The filter keeps it to the two disks of the case.
lvm_conf() {	# lvm_conf DST
	echo "global { use_lvmpolld = 0 }" \
		"activation { udev_sync = 0 udev_rules = 0 monitoring = 0" \
		"verify_udev_operations = 1 }" \
		"devices { obtain_device_list_from_udev = 0 use_devicesfile = 0" \
		"filter = [ \"a|^/dev/ram0\$|\", \"a|^$1\$|\", \"r|.*|\" ] }"
}
L() { lvm "$@" --config "$(lvm_conf "$cur_dst")"; }

# ---- helpers ---------------------------------------------------------------

now_us() { echo "${EPOCHREALTIME/./}"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 }
	END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
	      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() {	# best max|min: of the numbers on stdin
	tr ' ' '\n' | grep -v '^$' | sort -g | { [ "$1" = max ] && tail -n 1 || head -n 1; } |
		grep . || echo n/a
}
# Field of vmigctl's JSON report line: "name":number
jfield() { sed -n "s/.*\"report\".*\"$2\":\([0-9]*\).*/\1/p" "$1" | tail -n 1; }

# mkdm and rmdm, shared with the storage tests: no udev here, so mkdm
# makes the node and proves it is a block device.
. "$top/selftests/lib/dm.sh"

lvm_down() {
	L vgs "$VG" > /dev/null 2>&1 || return 0
	L vgremove -f "$VG" > /dev/null 2>&1
	L pvremove -ff -y /dev/ram0 "$cur_dst" > /dev/null 2>&1
	rmdm "$VG-pvmove0" "$VG-lv"
}

cleanup() {
	[ -n "$wpid" ] && kill -TERM "$wpid" 2> /dev/null && wait "$wpid" 2> /dev/null
	[ -n "$cur_dst" ] && lvm_down
	rmdm vmdisk slow
	rm -rf "$T"
}
trap cleanup EXIT

# Write I/Os the device has completed (sysfs stat field 5): the writer's
# pace during a move as the guest sees it, whatever the mover does below.
dev_writes() {	# dev_writes /dev/mapper/NAME
	local mm s
	mm=$(stat -L -c '%t:%T' "$1") || { echo 0; return; }
	read -r -a s < "/sys/dev/block/$((0x${mm%:*})):$((0x${mm#*:}))/stat"
	echo "${s[4]}"
}

# The destination zeroed before every run: after the move it must hold
# what the writer wrote, not what an earlier run left there. brd keeps the
# pages it allocated, so every run writes over allocated memory alike.
zero_dst() {
	dd if=/dev/zero of=/dev/ram1 bs=1M count="$RD_MIB" oflag=direct status=none
}

# The device to move (vmdisk or the LV), filled with generation 0.
fill() {
	diskverify fill "$1" > "$T/fill.out" 2>&1 ||
		{ echo "# fill $1: $(cat "$T/fill.out")" >&2; return 1; }
}

# Idle runs still get a model to verify against: a second of writes
# before the move, so the device is not uniform.
idle_model() {	# idle_model DEV
	diskverify run "$1" "$T/model" --seconds 1 --threads 2 --iops "$IOPS" \
		> "$T/w.out" 2>&1 ||
		{ echo "# writer on $1: $(tr '\n' ' ' < "$T/w.out")" >&2; return 1; }
}

writer_start() {	# writer_start DEV
	rm -f "$T/model"
	diskverify run "$1" "$T/model" --threads 2 --iops "$IOPS" > "$T/w.out" 2>&1 &
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
	if [ "$rc" != 0 ] || ! grep -q " 0 errors" "$T/w.out"; then
		werr="writer exited $rc: $(tr '\n' ' ' < "$T/w.out")"
	fi
}

verify() {	# verify DEV: "" when DEV holds exactly what the writer wrote
	diskverify verify "$1" "$T/model" > "$T/v.out" 2>&1 || tail -n 1 "$T/v.out"
}

# Results: r_wall_us, r_bytes, r_eng (bytes/s of the copy engine alone),
# r_passes, r_down_us, r_wps ("" when not measured) and r_fail ("" when
# the run is good).
r_clear() { r_wall_us= r_bytes= r_eng= r_passes= r_down_us= r_wps= r_fail=; }

declare -A wall bytes eng wps down passes fails rwall rtput
record() {	# record CASE METHOD ROUND
	local k="$1,$2"
	if [ -n "$r_fail" ]; then
		fails[$k]="${fails[$k]:-}$r_fail"$'\n'
		echo "#   $2 round $3: FAILED: $r_fail" >&2
		return
	fi
	wall[$k]="${wall[$k]:-} $r_wall_us"
	bytes[$k]="${bytes[$k]:-} $r_bytes"
	[ -n "$r_wps" ] && wps[$k]="${wps[$k]:-} $r_wps"
	[ -n "$r_down_us" ] && down[$k]="${down[$k]:-} $r_down_us"
	[ -n "$r_passes" ] && passes[$k]="${passes[$k]:-} $r_passes"
	[ -n "$r_eng" ] && eng[$k]="${eng[$k]:-} $r_eng"
	rwall[$k,$3]=$r_wall_us
	rtput[$k,$3]=$(calc "%.0f" "$r_bytes * 1e6 / $r_wall_us")
}

# Around the measured command: the writer (when the case has one) runs
# from a second before until the command returned; the device's write
# count over the command is the guest's pace during the move.
load_begin() {	# load_begin LOAD DEV
	if [ "$1" = writer ]; then
		writer_start "$2"
		w0=$(dev_writes "$2")
	fi
	t0=$(now_us)
}

load_end() {	# load_end LOAD DEV
	local t1
	t1=$(now_us)
	r_wall_us=$((t1 - t0))
	if [ "$1" = writer ]; then
		r_wps=$(calc "%.0f" "($(dev_writes "$2") - $w0) * 1e6 / $r_wall_us")
		writer_stop
		[ -n "$werr" ] && r_fail=$werr
	fi
}

# ---- the methods -----------------------------------------------------------

run_dd() {	# run_dd LOAD DST
	r_clear
	zero_dst
	mkdm vmdisk "0 $SECT linear /dev/ram0 0" && fill /dev/mapper/vmdisk ||
		{ r_fail="setup"; rmdm vmdisk; return; }
	load_begin "$1" /dev/mapper/vmdisk
	dd if=/dev/ram0 of="$2" bs=1M count="$MIB" iflag=direct oflag=direct \
		status=none 2> "$T/dd.err" || r_fail="dd: $(cat "$T/dd.err")"
	load_end "$1" /dev/mapper/vmdisk
	r_bytes=$((MIB << 20))
	r_eng=$(calc "%.0f" "$r_bytes * 1e6 / $r_wall_us")
	rmdm vmdisk
}

# The pvmove mirror from its first appearance to its in-sync event, in
# the background: a builtin test and read -t poll for the node (no fork
# per poll on a 2-CPU guest), then dmsetup wait sleeps on its events.
pv_watch() {
	local fd dev=$VG-pvmove0 ta tw n st
	# A FIFO nobody writes: read -t on it is a sleep without a fork. (No
	# <(:) here: the VM's /dev has no /dev/fd.)
	[ -p "$T/never" ] || mkfifo "$T/never"
	exec {fd}<> "$T/never"
	until [ -b "/dev/mapper/$dev" ]; do
		[ -e "$T/pv.stop" ] && return
		read -r -t 0.01 -u "$fd"
	done
	ta=$(now_us)
	tw=
	# The event count is read before the status, so an in-sync event
	# after the read ends the wait at once. A wait left sleeping past the
	# last event would hold the device, and dm's remove waits for every
	# holder: pvmove could never finish.
	while n=$(dmsetup info -c --noheadings -o events "$dev" 2> /dev/null); do
		st=$(dmsetup status "$dev" 2> /dev/null) || break
		# "0 LEN mirror 2 A B IN_SYNC/REGIONS ..."
		set -- $st
		if [ "$#" -ge 7 ] && [ "$3" = mirror ] && [ "${7%/*}" = "${7#*/}" ]; then
			echo $(($(now_us) - ta)) > "$T/pv.copy"
			return
		fi
		dmsetup wait "$dev" "$n" > /dev/null 2>&1 || break
		tw=$(now_us)
	done
	# The mirror is gone: LVM removes it as soon as it is in sync, mostly
	# before the status after the in-sync event can be read, so that
	# event was the last one. (A pvmove that failed is not counted.)
	[ -n "$tw" ] && echo $((tw - ta)) > "$T/pv.copy"
}

run_pvmove() {	# run_pvmove LOAD DST
	local lv=/dev/mapper/$VG-lv v wp
	r_clear
	zero_dst
	if ! L pvcreate -ff -y /dev/ram0 "$2" > "$T/lvm.out" 2>&1 ||
	   ! L vgcreate "$VG" /dev/ram0 "$2" >> "$T/lvm.out" 2>&1 ||
	   ! L lvcreate -y -L "${MIB}m" -n lv "$VG" /dev/ram0 >> "$T/lvm.out" 2>&1 ||
	   ! dmsetup mknodes "$VG-lv" || ! test -b "$lv" || ! fill "$lv"; then
		r_fail="lvm setup: $(tail -n 2 "$T/lvm.out" | tr '\n' ' ')"
		lvm_down
		return
	fi
	[ "$1" = idle ] && ! idle_model "$lv" && { r_fail="writer"; lvm_down; return; }
	rm -f "$T/pv.stop" "$T/pv.copy"
	pv_watch &
	wp=$!
	load_begin "$1" "$lv"
	L pvmove -i 0 /dev/ram0 "$2" > "$T/pv.out" 2>&1 ||
		r_fail="pvmove: $(tail -n 2 "$T/pv.out" | tr '\n' ' ')"
	load_end "$1" "$lv"
	: > "$T/pv.stop"
	kill "$wp" 2> /dev/null
	wait "$wp" 2> /dev/null
	r_bytes=$((MIB << 20))
	[ -s "$T/pv.copy" ] && r_eng=$(calc "%.0f" "$r_bytes * 1e6 / $(cat "$T/pv.copy")")
	if [ -z "$r_fail" ]; then
		if [ "$(dmsetup table "$VG-lv" | awk '{ print $3 }')" != linear ]; then
			r_fail="LV table after pvmove: $(dmsetup table "$VG-lv")"
		elif v=$(verify "$lv") && [ -n "$v" ]; then
			r_fail="verify: $v"
		fi
	fi
	lvm_down
}

# One line on a storage-move run from vmigctl's JSON: each pass (bytes,
# the kernel's copy rate, what was dirty after it), the downtime the
# kernel could have predicted at the switch (what was dirty at the copy
# rate of all passes, as vmig_move_fits() reckons) against the one it
# reported, and the time outside the copy: before the first pass
# (session start, tracking table load, attach) and after the last one
# (switchover, the final linear table, dismissing the session).
smove_detail() {	# smove_detail TAG
	awk -v tag="$1" '
	function f(k) {
		if (!match($0, "\"" k "\":[0-9]+"))
			return 0
		return substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) + 0
	}
	/"event":"pass"/ {
		n++; el[n] = f("elapsed_ms"); bw[n] = f("bandwidth")
		dirty[n] = f("dirty_pages") * 4096; sent[n] = f("sent_bytes")
	}
	/"event":"report"/ {
		tot = f("total_ms"); down = f("downtime_us"); done = /"result":"done"/
	}
	END {
		if (!n || !tot) { print tag ": no pass or report"; exit }
		line = ""; prev = 0; copy_s = 0
		for (i = 1; i <= n; i++) {
			b = sent[i] - prev; prev = sent[i]
			if (bw[i]) copy_s += b / bw[i]
			# A move that does not converge runs up to 30 passes:
			# the first two and the last tell the story.
			if (n > 4 && i == 3)
				line = line " ...;"
			if (n > 4 && i > 2 && i < n)
				continue
			line = line sprintf(" %d: %.0f MB at %.0f MB/s, %.1f MB dirty;", i,
					    b / 1e6, bw[i] / 1e6, dirty[i] / 1e6)
		}
		est = sent[n] ? dirty[n] * copy_s / sent[n] * 1000 : 0
		first = bw[1] ? sent[1] / bw[1] * 1000 : 0
		if (!done) {
			printf "%s:%s not done after %d passes, %.1f s\n", tag, line, n, tot / 1000
			exit
		}
		printf "%s:%s est %.0f ms, downtime %.1f ms; before pass 1 %.0f ms, after the last %.0f ms\n",
		       tag, line, est, down / 1000, el[1] - first, tot - el[n]
	}' "$T/m.out"
}

run_smove() {	# run_smove LOAD DST [storage-move options]
	local load=$1 dst=$2 dev=/dev/mapper/vmdisk v rc
	shift 2
	r_clear
	zero_dst
	mkdm vmdisk "0 $SECT linear /dev/ram0 0" && fill "$dev" ||
		{ r_fail="setup"; rmdm vmdisk; return; }
	[ "$load" = idle ] && ! idle_model "$dev" && { r_fail="writer"; rmdm vmdisk; return; }
	load_begin "$load" "$dev"
	vmigctl -j storage-move --dev "$dev" --to "$dst" --timeout "$SM_TIMEOUT" "$@" \
		> "$T/m.out" 2> "$T/m.err"
	rc=$?
	load_end "$load" "$dev"
	r_bytes=$(jfield "$T/m.out" copied_bytes)
	r_passes=$(jfield "$T/m.out" passes)
	r_down_us=$(jfield "$T/m.out" downtime_us)
	# The kernel's copy rate over its first pass (a sweep of the whole
	# device): the engine without vmigctl's table swaps and process starts.
	r_eng=$(sed -n 's/.*"event":"pass".*"iteration":1,.*"bandwidth":\([0-9]*\).*/\1/p' \
		"$T/m.out" | head -n 1)
	smove_detail "$tag" >> "$T/detail"
	if [ "$rc" != 0 ] || [ -z "$r_bytes" ]; then
		r_fail="storage-move: $(tail -n 1 "$T/m.err" | sed 's/^vmigctl: storage-move: //')"
	elif v=$(verify "$dev") && [ -n "$v" ]; then
		r_fail="verify: $v"
	fi
	rmdm vmdisk
}

# ---- setup -----------------------------------------------------------------

if grep -qw svm /proc/cpuinfo; then kvm=kvm_amd; else kvm=kvm_intel; fi
modprobe "$kvm" || { echo "bench: cannot load $kvm"; exit 1; }
modprobe dm-mod
# insmod does not load dependencies (kvm, dm-mod) itself.
ko=$build/$(uname -r)/vmig.ko
for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do modprobe "$dep"; done
insmod "$ko" || { echo "bench: insmod $ko failed"; exit 1; }
dmsetup targets | grep -q '^vmig-track' || { echo "bench: no vmig-track target"; exit 1; }
rmmod brd 2> /dev/null
if ! modprobe brd rd_nr=2 rd_size=$((RD_MIB * 1024)) || ! test -b /dev/ram0 ||
   ! test -b /dev/ram1; then
	echo "bench: no brd ramdisks"
	exit 1
fi
# pvmove needs dm-mirror (with dm-log and dm-region-hash); LVM loads
# nothing itself without udev's help, so load it here.
have_pvmove=1
if ! command -v lvm > /dev/null; then
	echo "# pvmove rows skipped: lvm2 is not installed (make setup)"
	have_pvmove=
elif ! modprobe dm-mirror || ! dmsetup targets | grep -q '^mirror'; then
	echo "# pvmove rows skipped: dm-mirror does not load"
	have_pvmove=
fi
cases=ram
if [ "$DELAY_MS" != 0 ]; then
	if modprobe dm-delay && dmsetup targets | grep -q '^delay'; then
		cases="ram slow"
	else
		echo "# slow-destination case skipped: dm-delay does not load"
	fi
fi
mkdir -p /run/lock/lvm

echo "== vmig storage-move benchmark: kernel $(uname -r), $(nproc) CPUs," \
	"$(vmigctl version | head -n 1), lvm2" \
	"$(lvm version 2> /dev/null | sed -n 's/^ *LVM version: *//p' | cut -d ' ' -f 1)"
echo "== $MIB MiB device on brd; $REPS runs per method and case; writer:" \
	"diskverify, 2 threads x $IOPS I/O/s, 4-64 KiB writes, fdatasync every 16;" \
	"storage-move: default options, --timeout $SM_TIMEOUT"
echo "== QEMU TCG + nested SVM: compare ratios within this run, not absolute numbers"
bench_t0=$(now_us)

methods_idle="dd pvmove smove"
methods_writer="dd pvmove smove smove-sw"
for c in $cases; do
	if [ "$c" = ram ]; then
		dst=/dev/ram1
	else
		dst=/dev/mapper/slow
		# Reads undelayed, writes DELAY_MS late: a disk slower to write
		# than the source, so that copy I/O in flight at once matters.
		mkdm slow "0 $((RD_MIB * 2048)) delay /dev/ram1 0 0 /dev/ram1 0 $DELAY_MS" ||
			{ echo "bench: cannot create the slow destination"; exit 1; }
	fi
	cur_dst=$dst
	for load in idle writer; do
		mlist=methods_$load
		# Interleave the methods so drift in the host's speed hits all.
		for r in $(seq "$REPS"); do
			echo "# $c $load round $r of $REPS ($((($(now_us) - bench_t0) / 1000000)) s)"
			for m in ${!mlist}; do
				tag="$c $load $m #$r"
				case $m in
				dd) run_dd "$load" "$dst" ;;
				pvmove) [ -n "$have_pvmove" ] || continue
					run_pvmove "$load" "$dst" ;;
				smove) run_smove "$load" "$dst" ;;
				smove-sw) run_smove "$load" "$dst" --sync-writes ;;
				esac
				record "$c,$load" "$m" "$r"
				[ -n "$r_fail" ] && [ "${m#smove}" != "$m" ] &&
					echo "$tag: FAILED: $r_fail" >> "$T/detail"
			done
		done
	done
	[ "$c" = slow ] && rmdm slow
	cur_dst=
done

# ---- tables ----------------------------------------------------------------

declare -A label=(
	[dd]="dd (offline copy)"
	[pvmove]="pvmove (lvm2)"
	[smove]="vmigctl storage-move"
	[smove-sw]="storage-move --sync-writes"
)
secs() { [ "$1" = n/a ] && echo n/a || calc "%.2f" "$1 / 1e6"; }
ms() { [ "$1" = n/a ] && echo n/a || calc "%.1f" "$1 / 1e3"; }
mbs() { [ "$1" = n/a ] && echo n/a || calc "%.0f" "$1 / 1e6"; }
# Interference only ever slows a run down, so the best run of each method
# is the headline and ratios are of best runs; the median of the ratios
# within each round, whose runs are seconds apart, follows as a check.
paired() {	# paired ARRAY KEY_A KEY_B: median over rounds of A/B
	local -n arr=$1
	local i list=""
	for i in $(seq "$REPS"); do
		[ -n "${arr[$2,$i]:-}" ] && [ -n "${arr[$3,$i]:-}" ] &&
			list="$list $(calc "%.3f" "${arr[$2,$i]} / ${arr[$3,$i]}")"
	done
	list=$(echo "$list" | median)
	[ "$list" = n/a ] && echo n/a || calc "%.2f" "$list"
}
declare -A bwall btput
ratio() { { [ "$1" = n/a ] || [ "$2" = n/a ]; } && echo n/a || calc "%.2f" "$1 / $2"; }
say() {	# say TEXT tput|wall CASE METHOD_A METHOD_B
	local a="$3,$4" b="$3,$5" v
	if [ "$2" = tput ]; then
		v=$(ratio "${btput[$a]:-n/a}" "${btput[$b]:-n/a}")
	else
		v=$(ratio "${bwall[$a]:-n/a}" "${bwall[$b]:-n/a}")
	fi
	printf "   %-52s %6s  (round-paired median %s)%s\n" "$1:" "$v" \
		"$(paired "r$2" "$a" "$b")" \
		"$([ -n "${fails[$a]:-}${fails[$b]:-}" ] && echo "; some runs FAILED")"
}
hdr="%-7s %-27s %6s %6s %6s %6s %6s %6s %7s %8s  %s\n"
for c in $cases; do
	echo
	if [ "$c" = ram ]; then
		echo "== destination: brd ramdisk (/dev/ram1)"
	else
		echo "== destination: dm-delay over /dev/ram1, writes $DELAY_MS ms late"
	fi
	printf "$hdr" load method "best" median "MB/s" engine copied passes "down" "guest" \
		"runs (s)"
	printf "$hdr" "" "" "s" "s" best "MB/s" "MB" "" "ms" "writes/s" ""
	for load in idle writer; do
		mlist=methods_$load
		for m in ${!mlist}; do
			k="$c,$load,$m"
			w=$(echo "${wall[$k]:-}" | best min)
			bwall[$k]=$w
			# Throughput: bytes the mover copied (storage-move's re-copies
			# included) per wall second of its best run.
			t=n/a
			if [ "$w" != n/a ]; then
				t=$(for i in $(seq "$REPS"); do echo "${rtput[$k,$i]:-}"; done | best max)
			fi
			btput[$k]=$t
			runs=""
			for v in ${wall[$k]:-}; do runs="$runs $(secs "$v")"; done
			printf "$hdr" "$load" "${label[$m]}" "$(secs "$w")" \
				"$(secs "$(echo "${wall[$k]:-}" | median)")" "$(mbs "$t")" \
				"$(mbs "$(echo "${eng[$k]:-}" | median)" | sed 's/n\/a/-/')" \
				"$(mbs "$(echo "${bytes[$k]:-}" | median)")" \
				"$(echo "${passes[$k]:-}" | median | sed 's/n\/a/-/')" \
				"$(ms "$(echo "${down[$k]:-}" | median)" | sed 's/n\/a/-/')" \
				"$(echo "${wps[$k]:-}" | median | sed 's/n\/a/-/')" \
				"${runs# }${fails[$k]:+  FAILED:}"
			# Each different reason once, with how many runs it ended.
			[ -n "${fails[$k]:-}" ] && printf '%s' "${fails[$k]}" | sort | uniq -c |
				sed -e 's/^ *\([0-9]*\) /        FAILED \1x: /'
		done
	done
	echo "   best/median: wall seconds from command start to its exit (time to converge:"
	echo "   the device runs on the destination); MB/s: copied bytes / wall of the best"
	echo "   run; engine: median copy rate without the tools around it (pvmove: the"
	echo "   device / its mirror's time from appearing to in sync, - when it synced"
	echo "   before it could be watched; storage-move: the kernel's first pass); copied:"
	echo "   median bytes the mover copied (dd, pvmove: the device once; storage-move:"
	echo "   all passes); down: storage-move's downtime_us, median; guest writes/s: the"
	echo "   writer's completed writes during the move"
	echo "   ratios (best runs; > 1: storage-move faster for throughput, slower for time):"
	for load in idle writer; do
		say "storage-move/dd throughput, $load" tput "$c" "$load,smove" "$load,dd"
		say "storage-move/pvmove throughput, $load" tput "$c" "$load,smove" "$load,pvmove"
		say "storage-move/pvmove time to converge, $load" wall "$c" "$load,smove" "$load,pvmove"
	done
	say "storage-move --sync-writes/pvmove throughput, writer" tput "$c" \
		"writer,smove-sw" "writer,pvmove"
	say "storage-move --sync-writes/pvmove time, writer" wall "$c" \
		"writer,smove-sw" "writer,pvmove"
done
echo
echo "== storage-move runs pass by pass (MB dirty: still dirty after the pass; est: the"
echo "   downtime the kernel could foresee from that at its average copy rate; before/after:"
echo "   time of the run outside the kernel's copy)"
sed 's/^/   /' "$T/detail"
echo
echo "== storage bench done in $((($(now_us) - bench_t0) / 1000000)) s"
exit 0
