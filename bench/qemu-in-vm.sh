#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmig+QEMU against QEMU's own live migration, the same real guest (Debian's
# kernel, virtio-net with a 2 MiB/s flood coming in, guestd stamping its
# memory; selftests/lib/qemu.sh) in one test-VM run, alternating methods.
# Both plain and under TLS 1.3 with a pre-shared key: QEMU's own TLS
# (tls-creds-psk, GnuTLS in QEMU's migration thread) against vmig's kTLS
# (handshake in vmigctl, records in the kernel; the device-state
# connection QEMU writes is a kTLS socket too).
# Prints per run and as medians: total time, guest-observed downtime
# (largest gap between the guest's 1 ms stream lines), the downtime each
# tool reports, bytes on the wire, CPU per GB, and the ratios vmig/QEMU;
# then the cost of vmig's page-table harvest per GiB of guest RAM (the
# part of it inside the downtime is the final harvest).
# Runs inside the test VM (bench/qemu.sh boots it, multi-threaded TCG).
# Knobs: VMIG_BENCH_QEMU_REPS (runs per method, default 3), QEMU_MEM (MiB),
# VMIG_BENCH_QEMU_METHODS (default "qemu vmig qemu_tls vmig_tls").
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/build:$PATH"
VMIG_TOP=$top
. "$top/selftests/lib/qemu.sh"
set -u

REPS=${VMIG_BENCH_QEMU_REPS:-3}
METHODS=${VMIG_BENCH_QEMU_METHODS:-qemu vmig qemu_tls vmig_tls}
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

# QEMU's TLS with the same key vmigctl uses: psktool's IDENTITY:HEXKEY
# file is what tls-creds-psk reads as keys.psk.
qemu_tls_on() {	# qemu_tls_on SRC DST
	local add='{"execute":"object-add","arguments":{"qom-type":"tls-creds-psk","id":"tls0","dir":"'$T/psk'",'
	local par='{"execute":"migrate-set-parameters","arguments":{"tls-creds":"tls0"}}'
	mkdir -p "$T/psk" && cp "$VMIG_PSK" "$T/psk/keys.psk" &&
	qemu_qmp "$1" "$add"'"username":"vmig","endpoint":"client"}}' "$par" > /dev/null &&
	qemu_qmp "$2" "$add"'"endpoint":"server"}}' "$par" > /dev/null
}

# One migration by METHOD (qemu|vmig|qemu_tls|vmig_tls); appends
# "total gap tooldown bytes cpu" to $T/METHOD.
run() {
	local method=$1 t0 b0 t1 b1 out line bytes down parts= auth=--insecure
	boot || { echo "  $method: the guest did not boot (rig stall); run skipped"; return; }
	case $method in
	qemu_tls) qemu_tls_on src dst || { echo "  $method: tls-creds-psk refused"; return; } ;;
	vmig_tls) auth="--psk-file $VMIG_PSK" ;;
	esac
	b0=$(busy); t0=$(now_ms)
	if [ "${method%_tls}" = qemu ]; then
		out=$(qemu_migrate_native src dst $PORT 300 | tail -n 1)
		t1=$(now_ms); b1=$(busy)
		bytes=$(json "$out" 'd["ram"]["transferred"]')
		down=$(json "$out" 'd["downtime"]')
	else
		vmigctl receive $auth --qmp "$(qemu_qmp_path dst)" --listen 127.0.0.1:$PORT \
			--timeout 300 > "$T/recv.out" 2> "$T/recv.err" &
		local rp=$!
		for _ in $(seq 100); do grep -q listening "$T/recv.err" && break; sleep 0.1; done
		out=$(vmigctl -j migrate $auth --qmp "$(qemu_qmp_path src)" --to 127.0.0.1:$PORT \
			--downtime-ms 300 2> "$T/mig.err" | grep '"report"')
		wait $rp
		t1=$(now_ms); b1=$(busy)
		bytes=$(json "$out" 'd["sent_bytes"]')
		down=$(json "$out" 'd["downtime_us"] // 1000')
		parts=$(json "$out" '" ".join("%s %d" % kv for kv in d["downtime_parts_ms"].items())')
	fi
	sleep 2
	line=$(qemu_seqsink_stop)
	qemu_flood_stop > /dev/null
	local gap; gap=$(qemu_field "$line" max_gap_ms)
	# The largest step of the guest's own clock between two lines: as large
	# as the arrival gap when the guest stood still (paused, stalled), small
	# when only the network was away.
	local ggap; ggap=$(qemu_field "$line" guest_max_gap_ms)
	parts="${parts:+$parts; }guest clock step $ggap, arrival gap at $(qemu_field "$line" max_gap_at_ms)"
	if [ -z "$bytes" ] || ! qemu_seqsink_ok "$line"; then
		echo "  $method: FAILED: $(tail -n 1 "$T/mig.err" 2> /dev/null) $out | $line"
		return
	fi
	local cpu; cpu=$(calc %.2f "($b1 - $b0) / $(getconf CLK_TCK)")
	echo "$((t1 - t0)) $gap $down $bytes $cpu" >> "$T/$method"
	printf "  %-8s total %6d ms  guest gap %6s ms  reported downtime %6s ms  wire %7.1f MB  CPU %6.2f s%s\n" \
		"$method" $((t1 - t0)) "$gap" "$down" "$(calc %.1f "$bytes / 1e6")" "$cpu" \
		"${parts:+  (ms: $parts)}"
}

qemu_kvm_up && qemu_net_up || { echo "bench: no KVM or network in the test VM"; exit 2; }
modprobe dm-mod 2> /dev/null
modprobe tls 2> /dev/null
[ -e /sys/module/vmig ] || insmod "$top/build/$(uname -r)/vmig.ko" dyndbg=+p || exit 2
echo "== vmig+QEMU vs QEMU's own migration: ${QEMU_MEM:-256} MiB guest, virtio-net, 2 MiB/s flood in, $REPS runs each"
for m in $METHODS; do : > "$T/$m"; done
dmesg -C
for i in $(seq "$REPS"); do
	for m in $METHODS; do run "$m"; done
done
col() { awk -v c="$2" '{ print $c }' "$T/$1" | median; }
echo "medians           total ms  guest gap ms  reported ms  wire MB  CPU s"
for m in $METHODS; do
	printf "  %-14s %8s  %12s  %11s  %7s  %5s\n" "$m" "$(col $m 1)" "$(col $m 2)" \
		"$(col $m 3)" "$(calc %.1f "$(col $m 4) / 1e6")" "$(col $m 5)"
done
ratio() { calc %.2f "$(col "$2" "$1") / $(col "$3" "$1")" 2> /dev/null || echo n/a; }
# Throughput: wire bytes over the whole migration; CPU per GB of them.
rate() { calc %.1f "$(col "$1" 4) / $(col "$1" 1) / 1e3" 2> /dev/null || echo n/a; }
cpugb() { calc %.2f "$(col "$1" 5) / ($(col "$1" 4) / 1e9)" 2> /dev/null || echo n/a; }
for m in $METHODS; do
	printf "  %-14s throughput %6s MB/s  CPU %6s s/GB on the wire\n" "$m" "$(rate "$m")" "$(cpugb "$m")"
done
echo "ratios vmig/QEMU: total time $(ratio 1 vmig qemu), guest-observed downtime $(ratio 2 vmig qemu), bytes $(ratio 4 vmig qemu), CPU $(ratio 5 vmig qemu) (goal: time and downtime <= 0.5)"
case " $METHODS " in *" qemu_tls "*|*" vmig_tls "*)
	echo "ratios under TLS, vmig(kTLS)/QEMU(tls-creds-psk): total time $(ratio 1 vmig_tls qemu_tls), guest-observed downtime $(ratio 2 vmig_tls qemu_tls), CPU $(ratio 5 vmig_tls qemu_tls)"
	echo "cost of TLS (TLS/plain): vmig total time $(ratio 1 vmig_tls vmig), CPU $(ratio 5 vmig_tls vmig); QEMU total time $(ratio 1 qemu_tls qemu), CPU $(ratio 5 qemu_tls qemu)"
esac

# The page-table harvest, from vmig's debug log: microseconds per GiB.
dmesg | sed -n 's/.*harvest: \([0-9]*\) pages: .* page tables +\([0-9]*\) in \([0-9]*\) us/\1 \2 \3/p' > "$T/harvest"
# Each harvest in order: when, what KVM's log and the page tables reported,
# and what the page-table clean cost (it write-protects every resident page).
echo "harvests (kernel time s: KVM pages in us, page-table pages in us):"
dmesg | sed -n 's/^\[ *\([0-9.]*\)\].*harvest: [0-9]* pages: kvm and zapped \([0-9]*\) in \([0-9]*\) us, page tables +\([0-9]*\) in \([0-9]*\) us/  \1: \2 in \3, +\4 in \5/p'
dmesg | grep -E "vmig: session [0-9]+ (created|ended)" | sed 's/^/  /' 
if [ -s "$T/harvest" ]; then
	echo "page-table harvest: $(wc -l < "$T/harvest") harvests; median $(awk '{ print $3 * 262144 / $1 }' "$T/harvest" | median | xargs printf %.0f) us per GiB of guest RAM (all), final harvests (nothing left written) median $(awk '$2 == 0 { print $3 * 262144 / $1 }' "$T/harvest" | median | xargs printf %.0f) us per GiB"
fi
