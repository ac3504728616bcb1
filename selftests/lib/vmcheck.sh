# SPDX-License-Identifier: GPL-2.0
# Counting and closing checks of a test VM's run (vm-tests.sh,
# vm-guest-tests.sh). The caller sets top and pass=0 fail=0 skip=0.
#   result ok|fail|skip NAME [WHY]   one result of the VM's own
#   tap NAME COMMAND...              run a TAP program, count its results
#   vmcheck_finish                   object log balanced, kernel log clean,
#                                    then "VMIG-RESULT pass=N fail=N skip=N"

result() {
	case $1 in
	ok) pass=$((pass + 1)); echo "ok - $2" ;;
	skip) skip=$((skip + 1)); echo "ok - $2 # SKIP $3" ;;
	*) fail=$((fail + 1)); echo "not ok - $2${3:+ # $3}" ;;
	esac
}

tap() {
	name=$1; shift
	echo "# ---- $name"
	out=$(mktemp)
	"$@" > "$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -cE '^ok [0-9]+' "$out" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$out" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$out" | tr -d ' ')
	pass=$((pass + p - s)); skip=$((skip + s)); fail=$((fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		result fail "$name" "exited $rc without a failing test"
	fi
	rm -f "$out"
}

vmcheck_finish() {
	if dmesg | "$top/selftests/leakcheck.sh"; then
		result ok "${1}object_log_balances"
	else
		result fail "${1}object_log_balances"
	fi
	bad=$(dmesg | grep -E 'Oops|BUG:|WARNING:|blocked for more than|general protection|Call Trace|KASAN|UBSAN|refcount_t:')
	if [ -z "$bad" ]; then
		result ok "${1}kernel_log_clean"
	else
		echo "$bad" | sed 's/^/# /'
		result fail "${1}kernel_log_clean"
	fi
	echo "VMIG-RESULT pass=$pass fail=$fail skip=$skip"
}
