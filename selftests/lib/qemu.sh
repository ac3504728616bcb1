# SPDX-License-Identifier: GPL-2.0
# A real QEMU guest to migrate, inside the test VM (selftests/rig): Debian's
# kernel + a busybox initramfs running guestd (selftests/qemu/guestd.c),
# with virtio-net and virtio-blk, under qemu-system-x86_64 -accel kvm.
#
#   test VM (the "host" of both QEMUs; everything below is one kernel)
#   +-------------------------------------------------------------------+
#   |  seqsink ---tcp:7000--+            +--- QEMU "src"  guest 10.77.0.2
#   |  flood   ---tcp:7001--+            |    RAM /dev/shm/vmig-src-ram
#   |                  vmigbr0 10.77.0.1 +-- vmigtap-src                 |
#   |                       |            +-- vmigtap-dst                 |
#   |                       |            +--- QEMU "dst"  -incoming defer
#   |                       |                 (same MAC, same disk image)|
#   |  QMP: $QEMU_DIR/NAME.qmp (for the VMM driver: vmigctl, a test)     |
#   |       $QEMU_DIR/NAME.lib.qmp (used by this library's helpers)      |
#   +-------------------------------------------------------------------+
#
# Both QEMUs share the disk image (shared storage) and the guest's MAC and
# IP: after a switchover the destination's self-announce (RARP) moves the
# MAC to its tap in the bridge, and a TCP connection to 10.77.0.2 survives.
#
# Source this from sh (dash) or bash. Every function returns 0 on success,
# non-zero with a "# ..." line on stderr on failure. Settings (environment,
# read when a function runs; defaults in brackets):
#   QEMU_DIR          state: sockets, consoles, logs, pids  [/run/vmig-qemu]
#   QEMU_KVER         guest kernel (/boot/vmlinuz-KVER)     [uname -r]
#   QEMU_MEM          guest RAM, MiB                        [256]
#   QEMU_SMP          guest vCPUs                           [1]
#   QEMU_CPU          -cpu model                            [host]
#   QEMU_APPEND       more guest kernel parameters          [see below]
#   QEMU_GUESTD_MIB   guestd's stamped buffer, MiB          [48]
#   QEMU_GUESTD_RATE  pages stamped per second, 0 = flat out [4096]
#   QEMU_DISK_MIB     size of the patterned disk image      [16]
#   QEMU_VHOST        virtio-net through vhost-net: on|off  [off]
#   QEMU_EXTRA        more QEMU arguments, both ends        []
# Both ends of a migration must be started with the same settings.

QEMU_DIR=${QEMU_DIR:-/run/vmig-qemu}
QEMU_BR=vmigbr0
QEMU_HOST_IP=10.77.0.1
QEMU_GUEST_IP=10.77.0.2
QEMU_GUEST_MAC=52:54:00:77:00:02
QEMU_STREAM_PORT=7000
QEMU_SINK_PORT=7001
# Guest kernel parameters measured to keep a nested guest on TCG steady:
# the TSC and the timer checks are what a slow, jittery vCPU trips over
# (see selftests/qemu/README).
QEMU_APPEND_DEFAULT="tsc=reliable no_timer_check clocksource=kvm-clock"
# The checkout: $VMIG_TOP, else found above the sourcing script ($0).
_qemu_top=${VMIG_TOP:-$(d=$(cd "$(dirname "$0")" && pwd)
	while [ "$d" != / ] && [ ! -f "$d/selftests/lib/qemu.sh" ]; do d=$(dirname "$d"); done
	echo "$d")}
_qemu_here=$_qemu_top/selftests/qemu
_qemu_build=${VMIG_BUILD:-$_qemu_top/build}

_qemu_err() { echo "# qemu.sh: $*" >&2; }
_qemu_tap() { echo "vmigtap-$1" | cut -c1-15; }
_qemu_now() { cut -d' ' -f1 /proc/uptime; }

# qemu_build: build guestd (static), seqsink, flood and the guest
# initramfs for $QEMU_KVER if missing or stale. Cheap when up to date; run
# it on the build host first, since compiling inside the TCG test VM is slow
# and lands in its throw-away overlay.
qemu_build() {
	local kver=${QEMU_KVER:-$(uname -r)} p
	mkdir -p "$_qemu_build" || return 1
	for p in seqsink flood; do
		if [ ! -x "$_qemu_build/$p" ] || [ "$_qemu_here/$p.c" -nt "$_qemu_build/$p" ]; then
			gcc -O2 -Wall -o "$_qemu_build/$p" "$_qemu_here/$p.c" || return 1
		fi
	done
	"$_qemu_here/mkguest.sh" "$kver" > /dev/null
}

# qemu_kvm_up: make /dev/kvm usable in the test VM (kvm_amd/kvm_intel with
# nested=1) and hold KVM's static keys (lib/tvmm-hold-keys.sh) unless
# something already did (vm-tests.sh does both).
qemu_kvm_up() {
	local kvm=kvm_intel
	grep -qw svm /proc/cpuinfo && kvm=kvm_amd
	if [ ! -e /dev/kvm ]; then
		modprobe "$kvm" nested=1 || { _qemu_err "modprobe $kvm failed"; return 1; }
	fi
	if [ ! -f /tmp/tvmm-hold-keys.log ] && [ -x "$_qemu_build/tvmm" ]; then
		"$_qemu_top/selftests/lib/tvmm-hold-keys.sh"
	fi
	[ -e /dev/kvm ]
}

# qemu_net_up: lo up, bridge $QEMU_BR with $QEMU_HOST_IP/24 (no STP, so
# ports forward at once). Taps are added per guest by qemu_guest_start.
# Needs the tun and bridge modules (loaded here from the host root).
qemu_net_up() {
	ip link set lo up
	modprobe tun 2>/dev/null
	modprobe bridge 2>/dev/null
	[ "${QEMU_VHOST:-off}" = on ] && modprobe vhost_net 2>/dev/null
	if ! ip link show "$QEMU_BR" > /dev/null 2>&1; then
		ip link add "$QEMU_BR" type bridge stp_state 0 forward_delay 0 ||
			{ _qemu_err "cannot create bridge $QEMU_BR"; return 1; }
		ip addr add "$QEMU_HOST_IP/24" dev "$QEMU_BR"
	fi
	ip link set "$QEMU_BR" up
}

# qemu_guest_start NAME [--incoming]
# Start QEMU "NAME" in the background (returns once its QMP sockets exist):
# RAM in /dev/shm/vmig-NAME-ram (memory-backend-file, share=on), virtio-net
# on tap vmigtap-NAME in the bridge, virtio-blk on $QEMU_DIR/disk.img
# (created with guestd's pattern on first use, shared by every guest),
# serial console in $QEMU_DIR/NAME.console, QEMU's stderr in NAME.log.
# --incoming: a destination (-incoming defer) that waits for
# migrate-incoming or for vmig. Calls qemu_net_up if needed.
qemu_guest_start() {
	local name=$1 incoming= kver=${QEMU_KVER:-$(uname -r)} mem=${QEMU_MEM:-256}
	local tap initrd i
	[ "${2:-}" = --incoming ] && incoming="-incoming defer"
	tap=$(_qemu_tap "$name")
	mkdir -p "$QEMU_DIR"
	ip link show "$QEMU_BR" > /dev/null 2>&1 || qemu_net_up || return 1
	initrd=$(QEMU_KVER=$kver "$_qemu_here/mkguest.sh" "$kver") || return 1
	if [ ! -f "$QEMU_DIR/disk.img" ]; then
		"$_qemu_build/guestd" --mkdisk "$QEMU_DIR/disk.img" "${QEMU_DISK_MIB:-16}" ||
			return 1
	fi
	ip link del "$tap" 2>/dev/null
	ip tuntap add dev "$tap" mode tap &&
		ip link set "$tap" master "$QEMU_BR" up ||
		{ _qemu_err "cannot create $tap"; return 1; }
	rm -f "$QEMU_DIR/$name.qmp" "$QEMU_DIR/$name.lib.qmp" "$QEMU_DIR/$name.pid" \
		"$QEMU_DIR/$name.console" "/dev/shm/vmig-$name-ram"
	_qemu_now > "$QEMU_DIR/$name.t0"
	rm -f "$QEMU_DIR/$name.exit" "$QEMU_DIR/$name.resets"
	# A guest reset (triple fault) or panic pauses QEMU instead of ending
	# it, and -d cpu_reset records the vCPU state, so a guest that died is
	# told apart from a QEMU that did ($name.exit: its exit status).
	# shellcheck disable=SC2086 # $incoming and $QEMU_EXTRA are word lists
	( setsid qemu-system-x86_64 -name "$name" \
		-machine q35,memory-backend=ram0 -accel kvm \
		-cpu "${QEMU_CPU:-host}" -smp "${QEMU_SMP:-1}" -m "$mem" \
		-object "memory-backend-file,id=ram0,size=${mem}M,mem-path=/dev/shm/vmig-$name-ram,share=on" \
		-nodefaults -display none \
		-action reboot=shutdown,shutdown=pause,panic=pause \
		-d cpu_reset -D "$QEMU_DIR/$name.resets" \
		-kernel "/boot/vmlinuz-$kver" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 rdinit=/init guestd.mib=${QEMU_GUESTD_MIB:-48} guestd.rate=${QEMU_GUESTD_RATE:-4096} guest.ip=$QEMU_GUEST_IP/24 ${QEMU_APPEND-$QEMU_APPEND_DEFAULT}" \
		-serial "file:$QEMU_DIR/$name.console" \
		-netdev "tap,id=net0,ifname=$tap,script=no,downscript=no,vhost=${QEMU_VHOST:-off}" \
		-device "virtio-net-pci,netdev=net0,mac=$QEMU_GUEST_MAC,romfile=" \
		-drive "file=$QEMU_DIR/disk.img,if=none,id=disk0,format=raw" \
		-device virtio-blk-pci,drive=disk0 \
		-qmp "unix:$QEMU_DIR/$name.qmp,server=on,wait=off" \
		-qmp "unix:$QEMU_DIR/$name.lib.qmp,server=on,wait=off" \
		-pidfile "$QEMU_DIR/$name.pid" \
		$incoming ${QEMU_EXTRA:-} \
		< /dev/null > "$QEMU_DIR/$name.log" 2>&1
	  echo $? > "$QEMU_DIR/$name.exit" ) &
	for i in $(seq 300); do
		[ -S "$QEMU_DIR/$name.lib.qmp" ] && [ -s "$QEMU_DIR/$name.pid" ] &&
			{ own_cgroup "guest-$name" "$(cat "$QEMU_DIR/$name.pid")"; return; }
		if ! kill -0 $! 2>/dev/null; then
			_qemu_err "QEMU $name exited: $(tail -n 5 "$QEMU_DIR/$name.log")"
			return 1
		fi
		sleep 0.1
	done
	_qemu_err "QEMU $name: no QMP socket after 30 s"
	return 1
}

# qemu_guest_pid NAME: print the QEMU process id.
qemu_guest_pid() { cat "$QEMU_DIR/$1.pid" 2>/dev/null; }

# qemu_qmp_path NAME: print the QMP socket meant for the VMM's driver
# (vmigctl --qmp, or a test's own client). This library never uses it.
qemu_qmp_path() { echo "$QEMU_DIR/$1.qmp"; }

# qemu_qmp NAME [-t S] [-e EVENT [-m KEY=VALUE]...] [COMMAND_JSON]...
# QMP exchanges on NAME's library socket (qemu/qmp.py): prints each
# command's "return" JSON, one line each, then with -e the awaited event's
# data. Exit status: 0 ok, 1 QEMU error, 2 connection/timeout. Options come
# before the commands. Example:
#   qemu_qmp src '{"execute":"query-status"}'  ->  {"status": "running", ...}
qemu_qmp() {
	local name=$1 opts=
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		-t|-e|-m) opts="$opts $1 $2"; shift 2 ;;
		*) break ;;
		esac
	done
	# shellcheck disable=SC2086 # options carry no spaces
	python3 -S "$_qemu_here/qmp.py" $opts "$QEMU_DIR/$name.lib.qmp" "$@"
}

# qemu_guest_status NAME [TIMEOUT_S]
# Print QEMU's runstate (running, inmigrate, postmigrate, paused, ...);
# "exited" if the QEMU process is gone, "unresponsive" if it does not answer
# within TIMEOUT_S (default 30: a QEMU whose nested guest just resumed on
# TCG can be slow to serve its monitor).
qemu_guest_status() {
	local st
	kill -0 "$(qemu_guest_pid "$1")" 2>/dev/null || { echo exited; return; }
	st=$(qemu_qmp "$1" -t "${2:-30}" '{"execute":"query-status"}' |
		sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p')
	if [ -n "$st" ]; then
		echo "$st"
	elif kill -0 "$(qemu_guest_pid "$1")" 2>/dev/null; then
		echo unresponsive
	else
		echo exited
	fi
}

# qemu_guest_wait_ready NAME TIMEOUT_S
# Wait until the guest's console says GUESTD-READY (guestd listens, its
# buffer is stamped from then on). Sets QEMU_READY_S to the seconds since
# qemu_guest_start. Fails early if QEMU exits or the guest panics.
qemu_guest_wait_ready() {
	local name=$1 tmo=$2 con=$QEMU_DIR/$1.console t0 i=0
	t0=$(cat "$QEMU_DIR/$name.t0")
	while [ "$i" -lt $((tmo * 5)) ]; do
		if grep -q '^GUESTD-READY' "$con" 2>/dev/null; then
			QEMU_READY_S=$(awk -v a="$t0" -v b="$(_qemu_now)" 'BEGIN { printf "%.1f", b - a }')
			return 0
		fi
		if ! kill -0 "$(qemu_guest_pid "$name")" 2>/dev/null; then
			_qemu_err "$name: QEMU exited before READY: $(tail -n 3 "$QEMU_DIR/$name.log")"
			return 1
		fi
		if grep -qE 'Kernel panic|GUESTD-ERROR|GUESTD-EXITED' "$con" 2>/dev/null; then
			break
		fi
		sleep 0.2
		i=$((i + 1))
	done
	_qemu_err "$name: not ready after ${tmo}s; console tail:"
	tail -n 15 "$con" 2>/dev/null | tr -d '\r' | sed 's/^/#   /' >&2
	return 1
}

# qemu_guest_console NAME: print the guest's serial console so far.
qemu_guest_console() { tr -d '\r' < "$QEMU_DIR/$1.console"; }

# qemu_guest_failures NAME: print the guest's failure lines (memory or
# disk verification, guestd errors, OOM, guest kernel oops/panic) from its
# console; true if there are none.
qemu_guest_failures() {
	! grep -aE 'GUESTD-(VERIFY-FAIL|DISK-FAIL|ERROR|EXITED)|Kernel panic|BUG:|Oops|Out of memory|rcu.*stall' \
		"$QEMU_DIR/$1.console"
}

# qemu_guest_postmortem NAME: one line on how QEMU NAME ended or stands:
# its exit status, the vCPU resets it logged (the guest's start counts one
# per vCPU; a triple fault adds one), and any OOM kill in the kernel log.
qemu_guest_postmortem() {
	local name=$1
	printf 'QEMU %s: exit status %s, %s vCPU resets, log: %s; kernel: %s' "$name" \
		"$(cat "$QEMU_DIR/$name.exit" 2>/dev/null || echo none)" \
		"$(grep -c 'CPU Reset' "$QEMU_DIR/$name.resets" 2>/dev/null || echo 0)" \
		"$(tail -n 3 "$QEMU_DIR/$name.log" 2>/dev/null | tr '\n' ' ')" \
		"$(dmesg | grep -iE 'out of memory|oom-kill|killed process' | tail -n 2 | tr '\n' ' ')"
}

# qemu_guest_kill NAME: SIGKILL QEMU NAME and reap it; remove its tap and
# RAM file. Harmless if it is already gone.
qemu_guest_kill() {
	local name=$1 pid i
	pid=$(qemu_guest_pid "$name")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$QEMU_DIR/$name.pid" "/dev/shm/vmig-$name-ram"
	own_cgroup_del "guest-$name"
	ip link del "$(_qemu_tap "$name")" 2>/dev/null
	return 0
}

# qemu_migrate_native SRC DST PORT [TIMEOUT_S]
# QEMU's own live migration SRC -> DST (DST started with --incoming) over
# tcp:127.0.0.1:PORT: the reference vmig is compared with. Returns once
# SRC reports completed (0) or failed/timeout (1). Prints SRC's
# query-migrate JSON (total-time, downtime, ram.transferred, ...).
qemu_migrate_native() {
	local src=$1 dst=$2 port=$3 tmo=${4:-120} caps uri ev
	caps='{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"events","state":true}]}}'
	uri='{"uri":"tcp:127.0.0.1:'"$port"'"}'
	qemu_qmp "$dst" "$caps" '{"execute":"migrate-incoming","arguments":'"$uri"'}' > /dev/null ||
		return 1
	ev=$(qemu_qmp "$src" -t "$tmo" -e MIGRATION -m 'status=completed|failed|cancelled' \
		"$caps" '{"execute":"migrate","arguments":'"$uri"'}' | tail -n 1)
	qemu_qmp "$src" -t 10 '{"execute":"query-migrate"}'
	case $ev in *completed*) return 0 ;; esac
	return 1
}

# qemu_seqsink_start: connect build/seqsink to the guest's 1 ms stream
# (10.77.0.2:7000) in the background, output in $QEMU_DIR/seqsink.out;
# returns once connected and the first lines arrived.
qemu_seqsink_start() {
	local i
	"$_qemu_build/seqsink" "$QEMU_GUEST_IP:$QEMU_STREAM_PORT" > "$QEMU_DIR/seqsink.out" 2>&1 &
	echo $! > "$QEMU_DIR/seqsink.pid"
	for i in $(seq 300); do
		grep -q '^seqsink: connected' "$QEMU_DIR/seqsink.out" && { sleep 0.5; return 0; }
		kill -0 "$(cat "$QEMU_DIR/seqsink.pid")" 2>/dev/null || break
		sleep 0.1
	done
	_qemu_err "seqsink did not connect: $(cat "$QEMU_DIR/seqsink.out")"
	return 1
}

# qemu_seqsink_reset: restart seqsink's max-gap measurement (call it just
# before the migration, so the boot's jitter is not counted).
qemu_seqsink_reset() { kill -USR2 "$(cat "$QEMU_DIR/seqsink.pid")"; }

# qemu_seqsink_report: print seqsink's current summary line (it keeps
# running). The line: "seqsink: lines=N last_seq=N seq_gaps=N max_gap_ms=N
# max_gap_at_ms=N guest_max_gap_ms=N verified=N verify_fail=N
# connection=same|lost".
qemu_seqsink_report() {
	local n
	n=$(grep -c '^seqsink: lines=' "$QEMU_DIR/seqsink.out")
	kill -USR1 "$(cat "$QEMU_DIR/seqsink.pid")" 2>/dev/null || { qemu_seqsink_last; return 1; }
	while [ "$(grep -c '^seqsink: lines=' "$QEMU_DIR/seqsink.out")" -le "$n" ]; do
		sleep 0.1
	done
	qemu_seqsink_last
}

# qemu_seqsink_stop: end seqsink (SIGTERM), print its final summary line.
qemu_seqsink_stop() {
	local pid
	pid=$(cat "$QEMU_DIR/seqsink.pid" 2>/dev/null) || return 1
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$QEMU_DIR/seqsink.pid"
	qemu_seqsink_last
}
qemu_seqsink_last() { grep '^seqsink: lines=' "$QEMU_DIR/seqsink.out" | tail -n 1; }

# qemu_seqsink_ok LINE: true if a summary line shows an unbroken stream:
# connection=same, seq_gaps=0, verify_fail=0.
qemu_seqsink_ok() {
	case $1 in
	*' seq_gaps=0 '*' verify_fail=0 connection=same'*) return 0 ;;
	esac
	return 1
}

# qemu_field LINE KEY: print the value of KEY=VALUE in LINE.
qemu_field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# qemu_flood_start KIB_PER_SEC: build/flood into the guest's discard port
# (10.77.0.2:7001) in the background; output in $QEMU_DIR/flood.out.
qemu_flood_start() {
	"$_qemu_build/flood" "$QEMU_GUEST_IP:$QEMU_SINK_PORT" "$1" > "$QEMU_DIR/flood.out" 2>&1 &
	echo $! > "$QEMU_DIR/flood.pid"
}

# qemu_flood_stop: end the flood, print "flood: bytes=N seconds=N
# connection=same|lost".
qemu_flood_stop() {
	local pid
	pid=$(cat "$QEMU_DIR/flood.pid" 2>/dev/null) || return 1
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$QEMU_DIR/flood.pid"
	tail -n 1 "$QEMU_DIR/flood.out"
}

# qemu_guest_stop_all: kill seqsink, flood and every QEMU this library
# started; delete taps, bridge, RAM files and $QEMU_DIR (consoles and logs
# too: copy what you want to keep first, e.g. qemu_guest_console). Leaves
# nothing behind; safe to call twice or from a trap.
qemu_guest_stop_all() {
	local f name
	for f in seqsink flood; do
		[ -s "$QEMU_DIR/$f.pid" ] && kill -KILL "$(cat "$QEMU_DIR/$f.pid")" 2>/dev/null
	done
	for f in "$QEMU_DIR"/*.t0; do
		[ -f "$f" ] || continue
		name=$(basename "$f" .t0)
		qemu_guest_kill "$name"
	done
	ip link del "$QEMU_BR" 2>/dev/null
	rm -rf "$QEMU_DIR"
	return 0
}
. "$(dirname "${BASH_SOURCE[0]}")/psk.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cgroup.sh"
