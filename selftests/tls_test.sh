#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Only the intended peer talks to a migration: TLS 1.3 with a pre-shared
# key between the two vmigctl, then kTLS, so vmig.ko's data path sends and
# receives through the kernel's TLS. Test VMMs (tvmm) between the netns
# hosts of lib/netns.sh; each test starts fresh ones.
#
# Usage: tls_test.sh [-t TEST]...   (TAP; the plan is the number of tests)
top=$(cd "$(dirname "$0")/.." && pwd)
VMIG_BUILD=$top/build
export PATH="$VMIG_BUILD:$PATH"
. "$top/selftests/lib/netns.sh"
. "$top/selftests/lib/vmm.sh"
. "$top/selftests/lib/migrate.sh"
. "$top/selftests/lib/taprun.sh"
# This suite's migrations run under TLS, whatever the others use (lib/psk.sh).
VMIG_TEST_AUTH="--psk-file $VMIG_PSK"

TESTS="
	migration_runs_under_ktls
	no_credentials_refused
	wrong_key_refused_then_right_key_migrates
	plain_tcp_peer_refused_then_migrates
	peer_outside_from_refused_then_source_migrates
	tampered_stream_refused
	tampering_unnoticed_without_tls
"
PORT=7411
RELAY_PORT=7412
T=$(mktemp -d)
LAYOUT="--slot 0:0:16M"

cleanup() {
	[ -n "$relay" ] && kill "$relay" 2> /dev/null
	relay=
	for v in src dst; do vmm_kill $v 2> /dev/null; done
	stop_receive
	netns_down
}
trap 'cleanup; rm -rf "$T"' EXIT

fresh() {	# fresh [TVMM ARGS]
	cleanup
	netns_up && vmm_start src $VMIG_SRC_NS $LAYOUT --vcpus 1 "$@" &&
		vmm_start dst $VMIG_DST_NS $LAYOUT --vcpus 1 --wait
}

# Source and destination memory equal, then the guest runs on and verifies.
landed() {
	local sh dh
	sh=$(memhash "$src_pid" $src_ranges)
	dh=$(vmm_cmd dst hash); dh=${dh#OK hash=}
	[ "$sh" = "$dh" ] || { echo "source $sh != destination $dh"; return 1; }
	vmm_cmd dst resume > /dev/null && sleep 0.5 && vmm_cmd dst guest-verify > /dev/null
}

why() { echo "migrate rc $mig_rc: $(tail -n 2 "$T/mig.err" | tr '\n' ' ') receive rc $rrc: $(tail -n 3 "$T/recv.err" | tr '\n' ' ') $*"; }

other_key() { printf 'vmig:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > "$T/other.psk"; }

migration_runs_under_ktls() {
	local ulp
	fresh --rate 2000 && start_receive || { fail "$FUNCNAME" "setup"; return; }
	# While pre-copy runs (2 MB/s, full pages), the socket shows its ULP.
	( for _ in $(seq 100); do
		ulp=$(in_src ss -tniH state established "( dport = :$PORT )")
		case $ulp in *tls*) echo "$ulp" > "$T/ulp"; break ;; esac
		sleep 0.1
	  done ) &
	local sampler=$!
	migrate --max-bandwidth 2M --no-zero-detect --max-iterations 2 --downtime-ms 10000
	rrc=$(wait_receive)
	wait $sampler
	if [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ]; then
		fail "$FUNCNAME" "$(why)"
	elif ! grep -q "tcp-ulp-tls" "$T/ulp" 2> /dev/null; then
		fail "$FUNCNAME" "the migration socket showed no kTLS: $(cat "$T/ulp" 2> /dev/null)"
	elif ! landed; then
		fail "$FUNCNAME" "the VM did not land intact"
	else
		echo "# $(grep -o "tcp-ulp-tls[^ ]* *[^ ]* *[^ ]* *[^ ]* *[^ ]*" "$T/ulp" | head -n 1)"
		ok "$FUNCNAME"
	fi
}

no_credentials_refused() {
	local out rc
	out=$(vmigctl migrate --pid 1 --to 127.0.0.1:$PORT 2>&1); rc=$?
	if [ $rc = 2 ] && echo "$out" | grep -q "give --psk-file (or --insecure"; then
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "rc $rc: $out"
	fi
}

# A peer with another key fails its handshake; the destination says so and
# goes on waiting, and the real source then migrates.
wrong_key_refused_then_right_key_migrates() {
	fresh --rate 2000 && start_receive --timeout 120 || { fail "$FUNCNAME" "setup"; return; }
	other_key
	in_src vmigctl migrate --psk-file "$T/other.psk" --pid "$src_pid" \
		--to $VMIG_DST_IP:$PORT --keep-source > "$T/bad.out" 2> "$T/bad.err"
	local bad_rc=$?
	sleep 0.5
	if [ $bad_rc != 1 ] || ! grep -q "TLS handshake" "$T/bad.err" ||
	   ! grep -q "refused a connection from $VMIG_SRC_IP" "$T/recv.err" || [ -f "$T/recv.rc" ]; then
		fail "$FUNCNAME" "wrong key: rc $bad_rc $(cat "$T/bad.err"); destination: $(cat "$T/recv.err")"
		return
	fi
	migrate
	rrc=$(wait_receive)
	if [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ] || ! landed; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# wrong key: $(tail -n 1 "$T/bad.err")"
		echo "# destination: $(grep "refused a connection" "$T/recv.err")"
		ok "$FUNCNAME"
	fi
}

plain_tcp_peer_refused_then_migrates() {
	fresh --rate 2000 && start_receive --timeout 120 || { fail "$FUNCNAME" "setup"; return; }
	# Plain TCP that speaks first, as a port scanner or a vmig frame would.
	in_src python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"GIBA" * 64)
try:
    s.recv(100)
except OSError:
    pass' $VMIG_DST_IP $PORT
	for _ in $(seq 100); do grep -q "refused a connection" "$T/recv.err" && break; sleep 0.1; done
	migrate --downtime-ms 30000	# converging is not what this test is about
	rrc=$(wait_receive)
	if ! grep -q "refused a connection from $VMIG_SRC_IP.*TLS handshake" "$T/recv.err"; then
		fail "$FUNCNAME" "plain peer not refused: $(cat "$T/recv.err")"
	elif [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ] || ! landed; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# destination: $(grep "refused a connection" "$T/recv.err")"
		ok "$FUNCNAME"
	fi
}

# receive --from: a peer from another address (of the same host here) is
# dropped before any handshake, and the source named by --from migrates.
peer_outside_from_refused_then_source_migrates() {
	fresh --rate 2000 && ip -n $VMIG_SRC_NS addr add 10.99.0.7/24 dev vsrc &&
		start_receive --timeout 120 --from $VMIG_SRC_IP || { fail "$FUNCNAME" "setup"; return; }
	in_src python3 -c '
import socket, sys
s = socket.socket()
s.bind(("10.99.0.7", 0))
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(10)
try:
    s.recv(100)
except OSError:
    pass' $VMIG_DST_IP $PORT
	for _ in $(seq 100); do grep -q "refused a connection" "$T/recv.err" && break; sleep 0.1; done
	migrate --downtime-ms 30000	# converging is not what this test is about
	rrc=$(wait_receive)
	if ! grep -q "refused a connection from 10.99.0.7:[0-9]*: not from $VMIG_SRC_IP/32 (--from)" "$T/recv.err"; then
		fail "$FUNCNAME" "stray peer not refused by --from: $(cat "$T/recv.err")"
	elif [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ] || ! landed; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# destination: $(grep "refused a connection" "$T/recv.err")"
		ok "$FUNCNAME"
	fi
}

# relay_migrate ARGS: migrate through mitm_relay.py, which inverts the
# byte at offset 1000000 of the source's stream: guest page data, with full
# pages and no zero markers (HELLO, then 262168-byte PAGES frames).
relay_migrate() {
	in_dst python3 "$top/selftests/mitm_relay.py" $VMIG_DST_IP $RELAY_PORT \
		$VMIG_DST_IP $PORT 1000000 > "$T/relay.out" 2>&1 &
	relay=$!
	for _ in $(seq 50); do grep -q listening "$T/relay.out" && break; sleep 0.1; done
	in_src vmigctl migrate "$@" --pid "$src_pid" --to $VMIG_DST_IP:$RELAY_PORT --keep-source \
		--no-zero-detect > "$T/mig.out" 2> "$T/mig.err"
	mig_rc=$?
	rrc=$(wait_receive)
}

tampered_stream_refused() {
	fresh && start_receive || { fail "$FUNCNAME" "setup"; return; }
	vmm_cmd src stop > /dev/null	# vCPUs parked: no page is sent twice
	relay_migrate $VMIG_TEST_AUTH
	if ! grep -q flipped "$T/relay.out"; then
		fail "$FUNCNAME" "the relay altered nothing: $(why)"
	elif [ "$mig_rc" != 1 ] || [ "$rrc" != 1 ] ||
	     ! grep -q "a TLS record failed authentication" "$T/recv.err"; then
		fail "$FUNCNAME" "$(why)"
	elif ! vmm_cmd src verify > /dev/null; then
		fail "$FUNCNAME" "the source VM does not verify"
	else
		echo "# destination: $(tail -n 1 "$T/recv.err")"
		ok "$FUNCNAME"
	fi
}

# The check above can fail: the same alteration without TLS lands unseen.
tampering_unnoticed_without_tls() {
	local sh dh
	fresh && start_receive --insecure || { fail "$FUNCNAME" "setup"; return; }
	vmm_cmd src stop > /dev/null
	relay_migrate --insecure
	sh=$(memhash "$src_pid" $src_ranges)
	dh=$(vmm_cmd dst hash); dh=${dh#OK hash=}
	if grep -q flipped "$T/relay.out" && [ "$mig_rc" = 0 ] && [ "$rrc" = 0 ] && [ "$sh" != "$dh" ]; then
		echo "# plain TCP: migration succeeded, source $sh != destination $dh"
		ok "$FUNCNAME"
	else
		fail "$FUNCNAME" "relay: $(cat "$T/relay.out"); hashes $sh $dh; $(why)"
	fi
}

taprun_main "$@"
