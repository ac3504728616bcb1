# SPDX-License-Identifier: GPL-2.0
# The two ends of a QEMU migration (vmigctl migrate --qmp / receive --qmp)
# for the QEMU suites. The caller sets T (a scratch directory); QM_WRAP
# (e.g. in_dst of netns.sh) runs receive in a namespace, empty: here.
#   qm_start_recv QMP LISTEN [OPTIONS]  receive in the background, output in
#                                       $T/recv.{out,err,rc}; returns once
#                                       it listens
#   qm_wait_recv [TENTHS]               its exit status, or "timeout"
#   qm_stop_recv                        end it if it still runs
#   qm_hold_at POINT                    the next vmigctl started pauses at
#                                       test point POINT (util.c
#                                       vmig_test_hold())
#   qm_held POINT                       wait until it is there (2 min)
#   qm_release POINT                    let it go on

qm_recv_pid=

qm_start_recv() {
	local qmp=$1 listen=$2
	shift 2
	rm -f "$T/recv.rc"
	( $QM_WRAP vmigctl receive $VMIG_TEST_AUTH --qmp "$qmp" --listen "$listen" --timeout 300 "$@" \
		> "$T/recv.out" 2> "$T/recv.err"
	  echo $? > "$T/recv.rc" ) &
	qm_recv_pid=$!
	for _ in $(seq 100); do
		grep -q listening "$T/recv.err" 2> /dev/null && return 0
		[ -f "$T/recv.rc" ] && break
		sleep 0.1
	done
	return 1
}

qm_wait_recv() {
	for _ in $(seq "${1:-3000}"); do
		if [ -f "$T/recv.rc" ]; then
			wait $qm_recv_pid 2> /dev/null
			qm_recv_pid=
			cat "$T/recv.rc"
			return
		fi
		sleep 0.1
	done
	echo timeout
}

qm_stop_recv() {
	[ -n "$qm_recv_pid" ] || return 0
	kill "$qm_recv_pid" 2> /dev/null
	pkill -f "vmigctl receive .*--qmp" 2> /dev/null
	wait "$qm_recv_pid" 2> /dev/null
	qm_recv_pid=
}

qm_hold_at() { rm -f "$T/$1.held" "$T/$1.go"; export VMIGCTL_TEST_HOLD="$1:$T"; }
qm_held() {
	for _ in $(seq 1200); do [ -e "$T/$1.held" ] && return 0; sleep 0.1; done
	return 1
}
qm_release() { touch "$T/$1.go"; }
