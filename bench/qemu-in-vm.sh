#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmig+QEMU against QEMU's own live migration, the same real guest (Debian's
# kernel, virtio-net with a 2 MiB/s flood coming in, guestd stamping its
# memory; selftests/lib/qemu.sh) in one test-VM run, alternating methods.
# Prints per run and as medians: total time, guest-observed downtime
# (largest gap between the guest's 1 ms stream lines), the downtime each
# tool reports, bytes on the wire, CPU per GB, and the ratios vmig/QEMU;
# then the cost of vmig's page-table harvest per GiB of guest RAM (the
# part of it inside the downtime is the final harvest).
# Runs inside the test VM (bench/qemu.sh boots it, multi-threaded TCG).
# Knobs: VMIG_BENCH_QEMU_REPS (runs per method, default 3), QEMU_MEM (MiB).
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/build:$PATH"
VMIG_TOP=$top
. "$top/selftests/lib/qemu.sh"
set -u

REPS=${VMIG_BENCH_QEMU_REPS:-3}
PORT=7411
T=$(mktemp -d)
trap 'qemu_guest_stop_all > /dev/null 2>&1; rm -rf "$T"' EXIT

. "$top/bench/lib.sh"
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2" 2> /dev/null; }

boot() {
	qemu_guest_stop_all > /dev/null 2>&1
	qemu_net_up || return 1
	qemu_guest_start src && qemu_guest_start dst --incoming &&
	qemu_guest_wait_ready src 240 && qemu_seqsink_start && qemu_flood_start 2048 || return 1
	sleep 2
	qemu_seqsink_reset
}

# One migration by METHOD (qemu|vmig); appends "total gap tooldown bytes cpu" to $T/METHOD.
run() {
	local method=$1 t0 b0 t1 b1 out line bytes down
	boot || { echo "  $method: the guest did not boot (rig stall); run skipped"; return; }
	b0=$(busy); t0=$(now_ms)
	if [ "$method" = qemu ]; then
		out=$(qemu_migrate_native src dst $PORT 300 | tail -n 1)
		t1=$(now_ms); b1=$(busy)
		bytes=$(json "$out" 'd["ram"]["transferred"]')
		down=$(json "$out" 'd["downtime"]')
	else
		vmigctl receive $VMIG_TEST_AUTH --qmp "$(qemu_qmp_path dst)" --listen 127.0.0.1:$PORT \
			--timeout 300 > "$T/recv.out" 2> "$T/recv.err" &
		local rp=$!
		for _ in $(seq 100); do grep -q listening "$T/recv.err" && break; sleep 0.1; done
		out=$(vmigctl -j migrate $VMIG_TEST_AUTH --qmp "$(qemu_qmp_path src)" --to 127.0.0.1:$PORT \
			--downtime-ms 300 2> "$T/mig.err" | grep '"report"')
		wait $rp
		t1=$(now_ms); b1=$(busy)
		bytes=$(json "$out" 'd["sent_bytes"]')
		down=$(json "$out" 'd["downtime_us"] // 1000')
	fi
	sleep 2
	line=$(qemu_seqsink_stop)
	qemu_flood_stop > /dev/null
	local gap; gap=$(qemu_field "$line" max_gap_ms)
	if [ -z "$bytes" ] || ! qemu_seqsink_ok "$line"; then
		echo "  $method: FAILED: $(tail -n 1 "$T/mig.err" 2> /dev/null) $out | $line"
		return
	fi
	local cpu; cpu=$(calc %.2f "($b1 - $b0) / $(getconf CLK_TCK)")
	echo "$((t1 - t0)) $gap $down $bytes $cpu" >> "$T/$method"
	printf "  %-5s total %6d ms  guest gap %6s ms  reported downtime %6s ms  wire %7.1f MB  CPU %6.2f s\n" \
		"$method" $((t1 - t0)) "$gap" "$down" "$(calc %.1f "$bytes / 1e6")" "$cpu"
}

qemu_kvm_up && qemu_net_up || { echo "bench: no KVM or network in the test VM"; exit 2; }
modprobe dm-mod 2> /dev/null
modprobe tls 2> /dev/null
[ -e /sys/module/vmig ] || insmod "$top/build/$(uname -r)/vmig.ko" dyndbg=+p || exit 2
echo "== vmig+QEMU vs QEMU's own migration: ${QEMU_MEM:-256} MiB guest, virtio-net, 2 MiB/s flood in, $REPS runs each"
: > "$T/qemu"; : > "$T/vmig"
dmesg -C
for i in $(seq "$REPS"); do
	run qemu
	run vmig
done
col() { awk -v c="$2" '{ print $c }' "$T/$1" | median; }
echo "medians           total ms  guest gap ms  reported ms  wire MB  CPU s"
for m in qemu vmig; do
	printf "  %-14s %8s  %12s  %11s  %7s  %5s\n" "$m" "$(col $m 1)" "$(col $m 2)" \
		"$(col $m 3)" "$(calc %.1f "$(col $m 4) / 1e6")" "$(col $m 5)"
done
ratio() { calc %.2f "$(col vmig "$1") / $(col qemu "$1")" 2> /dev/null || echo n/a; }
echo "ratios vmig/QEMU: total time $(ratio 1), guest-observed downtime $(ratio 2), bytes $(ratio 4), CPU $(ratio 5) (goal: time and downtime <= 0.5)"

# The page-table harvest, from vmig's debug log: microseconds per GiB.
dmesg | sed -n 's/.*harvest: \([0-9]*\) pages: .* page tables +\([0-9]*\) in \([0-9]*\) us/\1 \2 \3/p' > "$T/harvest"
if [ -s "$T/harvest" ]; then
	echo "page-table harvest: $(wc -l < "$T/harvest") harvests; median $(awk '{ print $3 * 262144 / $1 }' "$T/harvest" | median | xargs printf %.0f) us per GiB of guest RAM (all), final harvests (nothing left written) median $(awk '$2 == 0 { print $3 * 262144 / $1 }' "$T/harvest" | median | xargs printf %.0f) us per GiB"
fi
