#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# migrate --qmp / receive --qmp with real QEMUs (Debian's 7.2, -accel kvm)
# that boot no guest OS (SeaBIOS finds nothing to boot and waits): the
# whole flow (pre-copy of the RAM backend, QMP stop, final pass, QEMU's
# device state with x-ignore-shared, the verdict) and every failure path
# of it, in seconds. The guest-OS suite with virtio devices is
# qemu_guest_test.sh. Hosts are the netns pair of lib/netns.sh; QEMUs run
# in the root namespace (they have no network here).
#
#   +--------------------------+            +---------------------------+
#   | netns vmig-src           |   veth     | netns vmig-dst            |
#   |  vmigctl migrate --qmp --+------------+-> vmigctl receive --qmp   |
#   +-----------|--------------+ ctl,ram,dev +-----------|--------------+
#               | QMP                                    | QMP
#        QEMU "src" (running)                   QEMU "dst" (-incoming defer)
#        RAM /dev/shm/vmigq-src                 RAM /dev/shm/vmigq-dst
#
# Usage: qemu_test.sh [-t TEST]...   (TAP; the plan is the number of tests)
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/build:$PATH"
. "$top/selftests/lib/netns.sh"
. "$top/selftests/lib/dm.sh"
. "$top/selftests/lib/qemumig.sh"
. "$top/selftests/lib/cgroup.sh"
. "$top/selftests/lib/taprun.sh"
QM_WRAP=in_dst

TESTS="
	idle_qemu_migrates
	userspace_writer_reaches_destination
	userspace_writer_lost_without_page_table_tracking
	memfd_ram_refused
	private_ram_refused
	destination_without_incoming_refused
	destination_qemu_killed_in_precopy
	device_state_refused_source_resumes
	link_cut_in_precopy_source_runs
	verdict_lost_source_stays_paused
	migrate_killed_while_paused_source_resumes
	disk_moves_with_qemu
	pid_mode_refuses_qemu
"
PORT=7411
MEM=64
T=$(mktemp -d)

# ---- QEMUs ---------------------------------------------------------------

# qstart NAME RAM-KIND [QEMU ARGS...]: start a bare QEMU whose RAM is a
# shared file (file), a memfd (memfd) or private (private); its QMP socket
# is $T/NAME.qmp, its pid in $T/NAME.pid. Returns once QMP listens.
qstart() {
	local name=$1 kind=$2 ram
	shift 2
	case $kind in
	file) ram="-object memory-backend-file,id=ram0,size=${MEM}M,mem-path=/dev/shm/vmigq-$name,share=on -machine memory-backend=ram0" ;;
	memfd) ram="-object memory-backend-memfd,id=ram0,size=${MEM}M,share=on -machine memory-backend=ram0" ;;
	private) ram="-m $MEM" ;;
	esac
	# shellcheck disable=SC2086
	qemu-system-x86_64 -machine q35 -accel kvm -cpu host -m $MEM -nodefaults \
		-display none -serial none $ram \
		-qmp "unix:$T/$name.qmp,server=on,wait=off" "$@" \
		> "$T/$name.qemu" 2>&1 &
	echo $! > "$T/$name.pid"
	own_cgroup "qemu-$name" $! || return 1
	for _ in $(seq 100); do
		[ -S "$T/$name.qmp" ] && return 0
		sleep 0.1
	done
	echo "# QEMU $name did not start: $(cat "$T/$name.qemu")"
	return 1
}

qpid() { cat "$T/$1.pid" 2> /dev/null; }
qalive() { [ -n "$(qpid "$1")" ] && kill -0 "$(qpid "$1")" 2> /dev/null; }

# qstatus NAME: QEMU's runstate ("running", "paused", ...) or "gone".
qstatus() {
	qalive "$1" || { echo gone; return; }
	python3 - "$T/$1.qmp" << 'EOF' 2> /dev/null || echo unreachable
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
f.write('{"execute":"query-status"}\n'); f.flush()
while True:
    m = json.loads(f.readline())
    if "return" in m:
        print(m["return"]["status"]); break
EOF
}

qkill_all() {
	local name
	for name in src dst; do
		qalive $name && kill -9 "$(qpid $name)" 2> /dev/null
		[ -n "$(qpid $name)" ] && wait "$(qpid $name)" 2> /dev/null
		rm -f "$T/$name.pid" "$T/$name.qmp" "/dev/shm/vmigq-$name"
		own_cgroup_del "qemu-$name"
	done
}

# ---- the two ends ------------------------------------------------------------

start_recv() { qm_start_recv "$T/dst.qmp" $VMIG_DST_IP:$PORT "$@"; }
wait_recv() { qm_wait_recv 1200; }

# migrate [OPTIONS]: vmigctl migrate --qmp for QEMU src; status in $mig_rc.
migrate() {
	in_src vmigctl migrate $VMIG_TEST_AUTH --qmp "$T/src.qmp" --to $VMIG_DST_IP:$PORT "$@" \
		> "$T/mig.out" 2> "$T/mig.err"
	mig_rc=$?
}

# Neither host lists a session.
sessions_gone() {
	[ -z "$(in_src vmigctl show 2>&1 | grep -v '^no sessions')" ] &&
	[ -z "$(in_dst vmigctl show 2>&1 | grep -v '^no sessions')" ]
}

hold_at() { qm_hold_at "$@"; }
held() { qm_held "$@"; }
release() { qm_release "$@"; }

why() {
	echo "migrate rc $mig_rc: $(tail -n 2 "$T/mig.err" | tr '\n' ' ') receive: $(tail -n 2 "$T/recv.err" | tr '\n' ' ')" \
		"QEMU src: $(tail -n 2 "$T/src.qemu" 2> /dev/null | tr '\n' ' ') dst: $(tail -n 2 "$T/dst.qemu" 2> /dev/null | tr '\n' ' ')"
}

fresh() {	# fresh [SRC-RAM-KIND [SRC QEMU ARGS...]]
	local kind=${1:-file}
	shift
	cleanup_one
	netns_up || return 1
	qstart src "$kind" "$@" || return 1
	qstart dst file -incoming defer || return 1
}

cleanup_one() {
	unset VMIGCTL_TEST_HOLD
	qm_stop_recv
	qkill_all
	echo 0 > /sys/module/vmig/parameters/fault_inject
	rmdm vmigq-disk
}
trap 'cleanup_one; netns_down; rm -rf "$T"' EXIT

# ---- tests ---------------------------------------------------------------------

# The whole flow: RAM equal once delivered (before the destination QEMU
# loads the device state), then the destination runs and the source QEMU
# is gone.
idle_qemu_migrates() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	hold_at before-load
	start_recv || { fail "$FUNCNAME" "setup: $(cat "$T/recv.err")"; return; }
	( held before-load && { cmp -s /dev/shm/vmigq-src /dev/shm/vmigq-dst; echo $? > "$T/cmp"; }
	  release before-load ) &
	local checker=$!
	migrate --downtime-ms 300
	local rrc; rrc=$(wait_recv)
	wait $checker
	if [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ]; then
		fail "$FUNCNAME" "$(why)"
	elif [ "$(cat "$T/cmp")" != 0 ]; then
		fail "$FUNCNAME" "source and destination RAM differ once vmig delivered the RAM"
	elif [ "$(qstatus dst)" != running ] || qalive src; then
		fail "$FUNCNAME" "destination $(qstatus dst), source $(qstatus src)"
	elif ! sessions_gone; then
		fail "$FUNCNAME" "sessions left: $(in_src vmigctl show) $(in_dst vmigctl show)"
	else
		echo "# $(grep migrated "$T/mig.out")"
		ok "$FUNCNAME"
	fi
}

# A process that writes the RAM backend through its own mapping (as QEMU's
# device models and vhost do) while pre-copy runs. It stops before the
# source pauses (it is not part of QEMU), so the final state is defined.
# $1: extra fault bits. Sets $poke_cmp: 0 when the RAMs were equal.
poke_run() {
	fresh && start_recv || { poke_cmp=setup; return; }
	echo "${1:-0}" > /sys/module/vmig/parameters/fault_inject
	shmpoke /dev/shm/vmigq-src 32 48 > "$T/poke.out" &
	local poke=$!
	for _ in $(seq 100); do grep -q ready "$T/poke.out" && break; sleep 0.1; done
	hold_at before-pause
	( migrate --downtime-ms 300; echo $mig_rc > "$T/mig.rc" ) &
	local mig=$!
	# It stops writing but stays mapped (shmpoke.c says why).
	held before-pause
	kill -TERM $poke
	for _ in $(seq 100); do grep -q stopped "$T/poke.out" && break; sleep 0.1; done
	release before-pause
	wait $mig
	mig_rc=$(cat "$T/mig.rc")
	kill -9 $poke
	wait $poke 2> /dev/null
	# The destination was told to go on: its QEMU runs, it wrote nothing
	# to the backend yet that this region holds, so compare the region.
	wait_recv > /dev/null
	if cmp -s -i $((32 << 20)):$((32 << 20)) -n $((16 << 20)) \
		/dev/shm/vmigq-src /dev/shm/vmigq-dst; then
		poke_cmp=0
	else
		poke_cmp=1
	fi
	echo "# shmpoke: $(tr '\n' ' ' < "$T/poke.out"); migrate rc $mig_rc"
}

userspace_writer_reaches_destination() {
	poke_run 0
	if [ "$poke_cmp" = 0 ] && [ "$mig_rc" = 0 ] && [ "$(qstatus dst)" = running ]; then
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "region equal: $poke_cmp; $(why)"
	fi
}

# The check above can fail: without the page-table harvest (fault bit 64)
# the writer's last words never reach the destination.
userspace_writer_lost_without_page_table_tracking() {
	poke_run 64
	if [ "$poke_cmp" = 1 ]; then
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "region equal ($poke_cmp) with page-table tracking off; $(why)"
	fi
}

# refused SRC-KIND PATTERN NAME [DST ARGS...]: migrate refuses before any
# change: the source runs, no session, the phrase says what to change.
refused() {
	local kind=$1 pat=$2 name=$3
	shift 3
	fresh "$kind" "$@" || { fail "$name" "setup"; return; }
	migrate
	if [ "$mig_rc" = 1 ] && grep -q -- "$pat" "$T/mig.err" "$T/recv.err" &&
	   [ "$(qstatus src)" = running ] && sessions_gone; then
		echo "# $(grep -h -- "$pat" "$T/mig.err" "$T/recv.err" | head -n 1)"
		ok "$name"
	else
		fail "$name" "source $(qstatus src); $(why)"
	fi
}

memfd_ram_refused() {
	refused memfd "mem-path=/dev/shm" "$FUNCNAME"
}

private_ram_refused() {
	refused private "share=off (private pages)" "$FUNCNAME"
}

destination_without_incoming_refused() {
	cleanup_one
	netns_up && qstart src file && qstart dst file ||
		{ fail "$FUNCNAME" "setup"; return; }
	( in_dst vmigctl receive $VMIG_TEST_AUTH --qmp "$T/dst.qmp" --listen $VMIG_DST_IP:$PORT \
		> "$T/recv.out" 2> "$T/recv.err"; echo $? > "$T/recv.rc" )
	if [ "$(cat "$T/recv.rc")" = 1 ] && grep -q -- "-incoming defer" "$T/recv.err" &&
	   [ "$(qstatus dst)" = running ] && sessions_gone; then
		echo "# $(cat "$T/recv.err")"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "receive rc $(cat "$T/recv.rc"): $(cat "$T/recv.err")"
	fi
}

# A slow pre-copy (bandwidth limit) leaves time to kill the destination QEMU.
destination_qemu_killed_in_precopy() {
	fresh && start_recv || { fail "$FUNCNAME" "setup"; return; }
	( for _ in $(seq 100); do
		grep -q "^connection" "$T/recv.err" && break; sleep 0.1; done
	  sleep 0.5; kill -9 "$(qpid dst)" ) &
	local killer=$!
	migrate --max-bandwidth 2M --no-zero-detect
	local rrc; rrc=$(wait_recv)
	wait $killer
	if [ "$mig_rc" = 1 ] && [ "$rrc" = 1 ] && [ "$(qstatus src)" = running ] &&
	   sessions_gone; then
		echo "# $(tail -n 1 "$T/mig.err")"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "source $(qstatus src); $(why)"
	fi
}

# The source QEMU has a device the destination lacks: loading the device
# state fails, its QEMU exits, the verdict is "failed" and the source runs.
device_state_refused_source_resumes() {
	fresh file -device virtio-rng-pci && start_recv || { fail "$FUNCNAME" "setup"; return; }
	migrate
	local rrc; rrc=$(wait_recv)
	if [ "$mig_rc" = 1 ] && [ "$rrc" = 1 ] && [ "$(qstatus src)" = running ] &&
	   ! qalive dst && grep -q "could not run the VM" "$T/mig.err" && sessions_gone; then
		echo "# $(grep "could not run" "$T/mig.err")"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "source $(qstatus src), destination $(qstatus dst); $(why)"
	fi
}

link_cut_in_precopy_source_runs() {
	fresh && start_recv || { fail "$FUNCNAME" "setup"; return; }
	( for _ in $(seq 100); do
		grep -q "^connection" "$T/recv.err" && break; sleep 0.1; done
	  sleep 0.5; ip -n $VMIG_SRC_NS link set vsrc down ) &
	local cutter=$!
	migrate --max-bandwidth 2M --no-zero-detect
	local rrc; rrc=$(wait_recv)
	wait $cutter
	if [ "$mig_rc" = 1 ] && [ "$rrc" = 1 ] && [ "$(qstatus src)" = running ] &&
	   ! qalive dst && sessions_gone; then
		echo "# $(tail -n 1 "$T/mig.err")"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "source $(qstatus src), destination $(qstatus dst); $(why)"
	fi
}

# The destination's controller dies after its QEMU loaded the state and
# before it runs the VM: no verdict. The source must stay paused and say
# the outcome is unknown, never resume on its own.
verdict_lost_source_stays_paused() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	hold_at before-cont
	start_recv || { fail "$FUNCNAME" "setup"; return; }
	# The pattern must match whatever options precede --qmp ($VMIG_TEST_AUTH).
	( held before-cont && pkill -9 -f "vmigctl receive .*--qmp $T/dst.qmp" ) &
	local killer=$! killed
	migrate
	wait $killer; killed=$?
	if [ $killed != 0 ]; then
		fail "$FUNCNAME" "the destination's vmigctl was never killed (pkill $killed); $(why)"
	elif [ "$mig_rc" = 3 ] && grep -q "outcome unknown" "$T/mig.err" &&
	   [ "$(qstatus src)" != running ] && qalive src && sessions_gone; then
		echo "# $(grep "outcome unknown" "$T/mig.err")"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "source $(qstatus src); $(why)"
	fi
}

# vmigctl migrate dies with the source QEMU paused (SIGKILL at the pause
# point after QMP stop): the kernel cancels the orphaned session, and the
# guardian vmigctl forked at start resumes QEMU; the destination discards.
migrate_killed_while_paused_source_resumes() {
	local rrc i
	fresh && start_recv || { fail "$FUNCNAME" "setup"; return; }
	hold_at after-stop
	rm -f "$T/mig.pid"
	( in_src sh -c 'echo $$ > "$0"; exec "$@"' "$T/mig.pid" vmigctl migrate $VMIG_TEST_AUTH \
		--qmp "$T/src.qmp" --to $VMIG_DST_IP:$PORT > "$T/mig.out" 2> "$T/mig.err" ) &
	local job=$!
	unset VMIGCTL_TEST_HOLD
	# Held after QMP stop and a query-status that said paused (qemumig_pause);
	# QEMU serves one QMP client, vmigctl, so the test cannot ask it itself.
	held after-stop || { fail "$FUNCNAME" "never paused: $(cat "$T/mig.err")"; return; }
	kill -KILL "$(cat "$T/mig.pid")"
	wait $job 2> /dev/null
	for i in $(seq 300); do [ "$(qstatus src)" = running ] && break; sleep 0.1; done
	rrc=$(wait_recv)
	mig_rc=killed
	if [ "$(qstatus src)" != running ]; then
		fail "$FUNCNAME" "the source QEMU stays $(qstatus src); $(why)"
	elif ! grep -q "guardian.*resumed the source QEMU (cont)" "$T/mig.err"; then
		fail "$FUNCNAME" "no guardian record: $(cat "$T/mig.err")"
	elif [ "$rrc" = 0 ] || [ "$(qstatus dst)" = running ]; then
		fail "$FUNCNAME" "the destination runs it too: receive rc $rrc, QEMU $(qstatus dst)"
	else
		echo "# $(grep guardian "$T/mig.err")"
		ok "$FUNCNAME"
	fi
}

# Shared-nothing: the QEMU's virtio-blk disk is a dm device, written during
# pre-copy by a process stopped at switchover (--stop-pid, as a storage
# daemon would be); the destination
# QEMU's disk is another device, which receive --disk fills.
disk_moves_with_qemu() {
	local sectors=131072 writer rrc
	if ! test -b /dev/ram1 && ! modprobe brd rd_nr=2 rd_size=65536; then
		fail "$FUNCNAME" "no brd ramdisks"
		return
	fi
	cleanup_one
	netns_up &&
	dd if=/dev/urandom of=/dev/ram0 bs=1M count=64 status=none &&
	dd if=/dev/zero of=/dev/ram1 bs=1M count=64 status=none &&
	mkdm vmigq-disk "0 $sectors linear /dev/ram0 0" &&
	qstart src file -drive file=/dev/mapper/vmigq-disk,format=raw,if=virtio &&
	qstart dst file -incoming defer -drive file=/dev/ram1,format=raw,if=virtio &&
		start_recv --disk /dev/ram1 || { fail "$FUNCNAME" "setup: $(why)"; return; }
	# One process (its threads stop with it), not a loop of dd children
	# that a SIGSTOP to the loop would leave writing.
	diskverify run /dev/mapper/vmigq-disk "$T/disk.model" --threads 1 --iops 300 \
		> "$T/writer.out" 2>&1 &
	writer=$!
	migrate --disk /dev/mapper/vmigq-disk=/dev/ram1 --stop-pid $writer
	rrc=$(wait_recv)
	kill -9 $writer
	wait $writer 2> /dev/null
	if [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ]; then
		fail "$FUNCNAME" "$(why)"
	elif ! cmp -s -n $((sectors * 512)) /dev/mapper/vmigq-disk /dev/ram1; then
		fail "$FUNCNAME" "destination disk differs from the source disk at switchover"
	elif [ "$(qstatus dst)" != running ] || [ "$(dmsetup table vmigq-disk)" != "0 $sectors linear 1:0 0" ]; then
		fail "$FUNCNAME" "destination $(qstatus dst); source table $(dmsetup table vmigq-disk)"
	else
		echo "# $(grep migrated "$T/mig.out")"
		ok "$FUNCNAME"
	fi
}

# --pid relies on KVM's dirty log alone, which misses QEMU's device writes.
pid_mode_refuses_qemu() {
	fresh || { fail "$FUNCNAME" "setup"; return; }
	in_src vmigctl migrate $VMIG_TEST_AUTH --pid "$(qpid src)" --to $VMIG_DST_IP:$PORT \
		> "$T/mig.out" 2> "$T/mig.err"
	mig_rc=$?
	if [ "$mig_rc" = 1 ] && grep -q "is QEMU.*migrate it with --qmp" "$T/mig.err" &&
	   [ "$(qstatus src)" = running ] && sessions_gone; then
		echo "# $(cat "$T/mig.err")"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "$(why)"
	fi
}

# ---- run -------------------------------------------------------------------------

ip link set lo up
taprun_main "$@"
