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
	x509_migration_runs_under_ktls
	x509_bad_peers_refused_then_source_migrates
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
	if [ $rc = 2 ] && echo "$out" | grep -q "give --psk-file or --tls-cert/--tls-key/--tls-ca (or --insecure"; then
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
	# A guest dirtying under a loaded test VM need not converge at 300 ms:
	# not what this test is about (the destination gives up after 120 s).
	migrate --downtime-ms 30000
	rrc=$(wait_receive)
	if [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ] || ! landed; then
		fail "$FUNCNAME" "$(why)"
	else
		echo "# wrong key: $(tail -n 1 "$T/bad.err")"
		echo "# destination: $(grep "refused a connection" "$T/recv.err")"
		ok "$FUNCNAME"
	fi
}

# stray_peer [FROM]: plain TCP from the source host (bound to FROM if
# given) that speaks first, as a port scanner or a vmig frame would;
# returns once the destination refused it.
stray_peer() {
	in_src python3 -c '
import socket, sys
s = socket.socket()
if sys.argv[3]:
    s.bind((sys.argv[3], 0))
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(10)
s.sendall(b"GIBA" * 64)
try:
    s.recv(100)
except OSError:
    pass' $VMIG_DST_IP $PORT "${1:-}"
	for _ in $(seq 100); do grep -q "refused a connection" "$T/recv.err" && break; sleep 0.1; done
}

plain_tcp_peer_refused_then_migrates() {
	fresh --rate 2000 && start_receive --timeout 120 || { fail "$FUNCNAME" "setup"; return; }
	stray_peer
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
	stray_peer 10.99.0.7
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

# X.509: a CA, a certificate per host (its IP as the name), and the bad
# ones: signed by another CA, expired. Made with GnuTLS's certtool.
mkcerts() {
	local d=$T/pki
	[ -f "$d/done" ] && return 0
	mkdir -p "$d" && cd "$d" || return 1
	printf 'cn = "vmig test CA"\nca\ncert_signing_key\nexpiration_days = 30\n' > ca.tmpl
	printf 'cn = "other CA"\nca\ncert_signing_key\nexpiration_days = 30\n' > oca.tmpl
	for h in src:$VMIG_SRC_IP dst:$VMIG_DST_IP; do
		printf 'cn = "%s"\nip_address = "%s"\ntls_www_server\ntls_www_client\nexpiration_days = 30\n' \
			"${h#*:}" "${h#*:}" > "${h%%:*}.tmpl"
	done
	printf 'cn = "%s"\nip_address = "%s"\ntls_www_server\ntls_www_client\nactivation_date = "2020-01-01 00:00:00 UTC"\nexpiration_date = "2021-01-01 00:00:00 UTC"\n' \
		$VMIG_SRC_IP $VMIG_SRC_IP > old.tmpl
	for k in ca oca src dst; do
		certtool --generate-privkey --key-type=ecdsa --outfile $k.key 2> /dev/null || return 1
	done
	certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem &&
	certtool --generate-self-signed --load-privkey oca.key --template oca.tmpl --outfile oca.pem &&
	for c in src:ca dst:ca stranger:oca old:ca; do
		k=${c%%:*}; [ $k = stranger ] || [ $k = old ] && k=src
		t=${c%%:*}; [ $t = stranger ] && t=src
		certtool --generate-certificate --load-privkey $k.key --load-ca-certificate ${c#*:}.pem \
			--load-ca-privkey ${c#*:}.key --template $t.tmpl --outfile ${c%%:*}.pem || return 1
	done > /dev/null 2>&1 && touch done
	cd - > /dev/null
}
x509() { echo "--tls-cert $T/pki/$1.pem --tls-key $T/pki/${2:-$1}.key --tls-ca $T/pki/ca.pem"; }

x509_migration_runs_under_ktls() {
	mkcerts || { fail "$FUNCNAME" "certtool"; return; }
	VMIG_TEST_AUTH="$(x509 dst) --tls-peer $VMIG_SRC_IP"
	fresh --rate 2000 && start_receive || { fail "$FUNCNAME" "setup"; return; }
	VMIG_TEST_AUTH="$(x509 src)"
	migrate --downtime-ms 30000
	rrc=$(wait_receive)
	VMIG_TEST_AUTH="--psk-file $VMIG_PSK"
	if [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ] || ! landed; then
		fail "$FUNCNAME" "$(why)"
	else
		ok "$FUNCNAME"
	fi
}

# bad_x509 NAME ARGS: a source with these credentials; it must fail.
bad_x509() {
	in_src vmigctl migrate $2 --pid "$src_pid" --to $VMIG_DST_IP:$PORT --keep-source \
		> "$T/$1.out" 2> "$T/$1.err" && return 1
	for _ in $(seq 50); do [ "$(grep -c "refused a connection" "$T/recv.err")" -ge "$3" ] && break; sleep 0.1; done
}

# Each refused with its own reason, on the side that checks it; the
# destination keeps waiting and the real source then migrates.
x509_bad_peers_refused_then_source_migrates() {
	local bad=
	mkcerts || { fail "$FUNCNAME" "certtool"; return; }
	VMIG_TEST_AUTH="$(x509 dst) --tls-peer $VMIG_SRC_IP"
	fresh --rate 2000 && start_receive --timeout 120 || { fail "$FUNCNAME" "setup"; return; }
	bad_x509 stranger "$(x509 stranger src)" 1 &&
		grep -q "refused a connection from $VMIG_SRC_IP:[0-9]*: TLS handshake: the peer's certificate: .*issuer is unknown" "$T/recv.err" ||
		bad="$bad another CA: $(tail -n 1 "$T/recv.err");"
	bad_x509 old "$(x509 old src)" 2 &&
		grep -q "refused a connection from $VMIG_SRC_IP:[0-9]*: TLS handshake: the peer's certificate: .*expired" "$T/recv.err" ||
		bad="$bad expired: $(tail -n 1 "$T/recv.err");"
	bad_x509 name "$(x509 src) --tls-peer dst.example.net" 3 &&
		grep -q "TLS handshake: the peer's certificate: .*name .*does not match" "$T/name.err" ||
		bad="$bad wrong name: $(cat "$T/name.err");"
	VMIG_TEST_AUTH="$(x509 src)"
	[ -z "$bad" ] && migrate --downtime-ms 30000
	rrc=$(wait_receive)
	VMIG_TEST_AUTH="--psk-file $VMIG_PSK"
	if [ -n "$bad" ]; then
		fail "$FUNCNAME" "$bad"
	elif [ "$mig_rc" != 0 ] || [ "$rrc" != 0 ] || ! landed; then
		fail "$FUNCNAME" "$(why)"
	else
		grep "refused a connection" "$T/recv.err" | sed 's/^/# /'
		echo "# source with --tls-peer dst.example.net: $(tail -n 1 "$T/name.err")"
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
	# A source that sent END before the destination reached the altered
	# record could only say "outcome unknown": hold it before its
	# switchover (test pause point) until the destination has ended and
	# the relay closed the source's connection.
	rm -f "$T/after-stop.held" "$T/after-stop.go"
	( for _ in $(seq 1200); do
		[ -f "$T/recv.rc" ] && grep -q "server closed" "$T/relay.out" && break
		sleep 0.1
	  done
	  touch "$T/after-stop.go" ) &
	local releaser=$!
	VMIGCTL_TEST_HOLD="after-stop:$T" relay_migrate $VMIG_TEST_AUTH
	wait $releaser
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
