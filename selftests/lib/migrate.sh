# SPDX-License-Identifier: GPL-2.0
# Both ends of a migration between the netns hosts of netns.sh, with the
# VMMs of vmm.sh (src, dst). The caller sets T (a scratch directory) and
# PORT. Outputs land in $T/recv.{out,err,rc} and $T/mig.{out,err}.
#   start_receive [OPTIONS]  vmigctl receive in the background; returns once
#                            it listens
#   wait_receive [TENTHS]    its exit status, or "timeout"
#   stop_receive             end it (by its pid) if it still runs
#   migrate [OPTIONS]        vmigctl migrate --keep-source; status in $mig_rc
#   sessions_gone            neither host lists a session
#   source_still_runs        the source guest progresses and verifies

recv_job=

# The tests' credentials (lib/psk.sh), unless the options say --insecure: a test
# peer speaking raw frames (wire_craft.py, stalled_dest.py) has no TLS.
auth_args() { case " $* " in *" --insecure "*) ;; *) echo "$VMIG_TEST_AUTH" ;; esac; }

start_receive() {
	rm -f "$T/recv.rc" "$T/recv.pid"
	( in_dst sh -c 'echo $$ > "$0"; exec "$@"' "$T/recv.pid" \
		vmigctl receive $(auth_args "$@") --pid "$dst_pid" --listen $VMIG_DST_IP:$PORT "$@" \
		> "$T/recv.out" 2> "$T/recv.err"; echo $? > "$T/recv.rc" ) &
	recv_job=$!
	for _ in $(seq 100); do
		grep -q listening "$T/recv.err" 2> /dev/null && return 0
		[ -f "$T/recv.rc" ] && break
		sleep 0.1
	done
	echo "# receive did not listen: $(cat "$T/recv.err")"
	return 1
}

wait_receive() {
	local i
	for i in $(seq "${1:-600}"); do
		if [ -f "$T/recv.rc" ]; then
			wait $recv_job 2> /dev/null
			recv_job=
			cat "$T/recv.rc"
			return
		fi
		sleep 0.1
	done
	echo timeout
}

stop_receive() {
	if [ -s "$T/recv.pid" ] && [ ! -f "$T/recv.rc" ]; then
		kill -TERM "$(cat "$T/recv.pid")" 2> /dev/null
	fi
	rm -f "$T/recv.pid"
	[ -n "$recv_job" ] && wait "$recv_job" 2> /dev/null
	recv_job=
}

migrate() {
	in_src vmigctl migrate $(auth_args "$@") --pid "$src_pid" --to $VMIG_DST_IP:$PORT --keep-source "$@" \
		> "$T/mig.out" 2> "$T/mig.err"
	mig_rc=$?
}

sessions_gone() {
	[ "$(in_src vmigctl -j show)" = "[]" ] && [ "$(in_dst vmigctl -j show)" = "[]" ]
}

# After a failed migration: the guest keeps writing and its memory verifies.
source_still_runs() {
	local a b
	ip -n $VMIG_SRC_NS link set vsrc up 2> /dev/null
	a=$(vmm_cmd src stats); sleep 0.5; b=$(vmm_cmd src stats)
	[ "$a" != "$b" ] || {
		echo "# source did not progress: '$a'; its VMM said: $(tail -n 3 "$src_dir/err" 2> /dev/null | tr '\n' ' ')"
		return 1
	}
	vmm_cmd src stop > /dev/null && vmm_cmd src verify > /dev/null
}
