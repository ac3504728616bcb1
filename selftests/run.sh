#!/bin/bash
# Run every vmig test: host-side checks (generated code, W=1, sparse,
# checkpatch, pure unit tests), then the in-VM suite once per kernel.
# Usage: run.sh KVER...   Ends with "N passed, N failed, N skipped".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
pass=0 fail=0 skip=0
logdir=$top/build/test-logs
mkdir -p "$logdir"

result() {
	case $1 in
	ok) pass=$((pass + 1)); echo "ok - $2" ;;
	skip) skip=$((skip + 1)); echo "ok - $2 # SKIP $3" ;;
	*) fail=$((fail + 1)); echo "not ok - $2${3:+ # $3}" ;;
	esac
}

host_check() {	# host_check NAME command...
	name=$1; shift
	if "$@" > "$logdir/$name.log" 2>&1; then
		result ok "host: $name"
	else
		tail -n 20 "$logdir/$name.log" | sed 's/^/#   /'
		result fail "host: $name" "see build/test-logs/$name.log"
	fi
}

echo "# host checks"
host_check gen_check make -s gen-check
host_check w1_clean make -s w1
host_check sparse_clean make -s sparse
host_check checkpatch_strict make -s checkpatch
host_check production_build_has_no_fault_inject sh -c \
	'make -s prod-module && ! modinfo -p build/prod/src/vmig.ko | grep -q fault_inject &&
	 modinfo -p build/$(ls build | sort -V | grep -E "^[0-9]" | tail -n 1)/vmig.ko | grep -q fault_inject'
host_check leakcheck_accepts_balanced_log sh -c \
	'printf "vmig: session 1 created\nvmig: session 1 destroyed\n" | selftests/leakcheck.sh'
host_check leakcheck_catches_a_leak sh -c \
	'! printf "vmig: session 1 created\nvmig: session 2 created\nvmig: session 1 destroyed\n" | selftests/leakcheck.sh'
for t in build/*_unittest; do
	[ -x "$t" ] || continue
	host_check "$(basename "$t")" "$t"
done

# A run that tests no kernel proves nothing about the module.
[ $# -gt 0 ] || result fail "kernels" "no Debian kernel with headers is installed (make setup)"
# One test VM per kernel, as many at a time as there are cores: a VM
# emulates its vCPUs on one host thread (rig/vm-run.sh).
jobs=${VMIG_RIG_JOBS:-$(nproc)}
rm -f "$logdir"/vm-*.rc
running=0
for kver in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	(
		VMIG_RIG_TIMEOUT=${VMIG_RIG_TIMEOUT:-2400} \
			selftests/rig/vm-run.sh "$kver" "$top/selftests/vm-tests.sh" \
			> "$logdir/vm-$kver.log" 2>&1
		echo $? > "$logdir/vm-$kver.rc"
	) &
	running=$((running + 1))
done
wait
# The real-guest suite wants multi-threaded TCG, which uses every core:
# one such VM at a time, after the others (vm-guest-tests.sh says why).
for kver in "$@"; do
	VMIG_RIG_THREAD=multi VMIG_RIG_TIMEOUT=${VMIG_RIG_TIMEOUT:-1800} \
		selftests/rig/vm-run.sh "$kver" "$top/selftests/vm-guest-tests.sh" \
		> "$logdir/guestvm-$kver.log" 2>&1
	echo $? > "$logdir/guestvm-$kver.rc"
done
for run in $(for kver in "$@"; do echo "vm-$kver guestvm-$kver"; done); do
	kver=${run#*vm-}
	echo "# kernel $kver (${run%%-*})"
	log=$logdir/$run.log
	rc=$(cat "$logdir/$run.rc" 2>/dev/null || echo 125)
	grep -E '^(not )?ok |^#' "$log" | grep -vE '^#  +(RUN|OK)' | sed 's/^/    /'
	res=$(sed -n 's/.*VMIG-RESULT pass=\([0-9]*\) fail=\([0-9]*\) skip=\([0-9]*\).*/\1 \2 \3/p' "$log" | tail -n 1)
	if [ -z "$res" ] || [ "$rc" -ne 0 ]; then
		tail -n 30 "$log" | sed 's/^/#   /'
		result fail "$kver: test VM did not finish (rc $rc)" "see $log"
		continue
	fi
	read -r p f s <<< "$res"
	echo "# $kver: $p passed, $f failed, $s skipped"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
