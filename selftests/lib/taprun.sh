# SPDX-License-Identifier: GPL-2.0
# A shell suite as a list of test functions (as fib_tests.sh): the plan is
# the number of names, never a literal, and a run that does not reach
# every name fails.
#   ok NAME / fail NAME WHY / skip NAME WHY   one result
#   taprun_main "$@"             runs $TESTS (or those given with -t NAME),
#                                prints the plan, exits 0 only if all pass

n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
fail() { n=$((n + 1)); failed=1; echo "not ok $n $1 # $2"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }

taprun_main() {
	local only= o t
	OPTIND=1
	while getopts "t:" o; do
		case $o in
		t) only="$only $OPTARG" ;;
		*) echo "usage: $0 [-t TEST]..."; exit 2 ;;
		esac
	done
	[ -n "$only" ] && TESTS=$only
	set -- $TESTS
	echo "1..$#"
	for t in $TESTS; do
		$t
	done
	[ "$n" -eq "$#" ] || { echo "# plan $# but ran $n"; failed=1; }
	exit $failed
}
