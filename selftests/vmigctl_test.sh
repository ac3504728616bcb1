#!/bin/bash
# vmigctl as an operator meets it: exit codes, terse and JSON output, and
# the kernel's error text passed through verbatim. Needs vmig.ko loaded.
#
# Usage: vmigctl_test.sh [-t TEST]...   (TAP; the plan is the number of tests)
. "$(dirname "$0")/lib/taprun.sh"

TESTS="
	usage_is_exit_2
	bad_option_is_exit_2
	bad_id_is_exit_2
	version_answers
	version_json
	show_empty_json
	cancel_unknown_has_kernel_text
	cancel_unprivileged_is_eperm
	show_unknown_has_kernel_text
	storage_move_refuses_lvm
"

# The API version is defined once, in the spec; read it from the generated header.
api=$(sed -n 's/^#define VMIG_API_VERSION[[:space:]]*//p' "$(dirname "$0")/../uapi/linux/vmig.h")
[ -n "$api" ] || { echo "Bail out! no VMIG_API_VERSION in uapi/linux/vmig.h"; exit 1; }
export api

t() {	# t NAME EXPECTED_RC EXPECTED_STDERR_SUBSTRING -- command...
	local name=$1 want_rc=$2 want_err=$3 rc
	shift 4
	"$@" > /tmp/vt.out 2> /tmp/vt.err
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && { [ -z "$want_err" ] || grep -qF -- "$want_err" /tmp/vt.err; }; then
		ok "$name"
	else
		fail "$name" "rc=$rc stderr=$(cat /tmp/vt.err)"
	fi
}

usage_is_exit_2() { t "${FUNCNAME[0]}" 2 "unknown command" -- vmigctl frobnicate; }
bad_option_is_exit_2() { t "${FUNCNAME[0]}" 2 "unknown option" -- vmigctl -x version; }
bad_id_is_exit_2() { t "${FUNCNAME[0]}" 2 "not a session id" -- vmigctl cancel notanumber; }
version_answers() { t "${FUNCNAME[0]}" 0 "" -- sh -c 'out=$(vmigctl version) && echo "$out" | grep -q "^vmig [0-9.]* api $api features dirty-log" || { echo "version said: $out" >&2; exit 1; }'; }
version_json() { t "${FUNCNAME[0]}" 0 "" -- sh -c 'vmigctl -j version | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"api_version\"] == $api, d"'; }
show_empty_json() { t "${FUNCNAME[0]}" 0 "" -- sh -c 'test "$(vmigctl -j show)" = "[]"'; }
cancel_unknown_has_kernel_text() { t "${FUNCNAME[0]}" 1 "cancel: vmig: no such session (No such file or directory)" -- vmigctl cancel 77; }
cancel_unprivileged_is_eperm() { t "${FUNCNAME[0]}" 1 "Operation not permitted" -- setpriv --reuid=65534 --regid=65534 --clear-groups vmigctl cancel 1; }
show_unknown_has_kernel_text() { t "${FUNCNAME[0]}" 1 "show: vmig: no such session" -- vmigctl show 5; }

# storage-move refuses a device whose table LVM reloads (by its uuid), and
# changes nothing on it: LVM would load the old table at the next refresh.
lvm_refused() {
	local img a b rc=1 table
	img=$(mktemp -d)
	modprobe loop 2> /dev/null	# the rig loads only what the suites ask for
	truncate -s 8M "$img/a" "$img/b"
	a=$(losetup -f --show "$img/a") && b=$(losetup -f --show "$img/b") &&
	dmsetup create vmigt-lv --uuid LVM-vmigtestvmigtestvmigtestvmigtest --table "0 16384 linear $a 0" &&
	dmsetup mknodes vmigt-lv &&
	table=$(dmsetup table vmigt-lv) || { echo "setup failed" >&2; rc=9; }
	if [ "$rc" != 9 ]; then
		vmigctl storage-move --dev /dev/mapper/vmigt-lv --to "$b" > /dev/null
		rc=$?
		[ "$(dmsetup table vmigt-lv)" = "$table" ] || { echo "table changed" >&2; rc=8; }
	fi
	dmsetup remove vmigt-lv 2> /dev/null
	losetup -d "$a" "$b" 2> /dev/null
	rm -rf "$img"
	return $rc
}
storage_move_refuses_lvm() { t "${FUNCNAME[0]}" 1 "is an LVM logical volume (uuid LVM-...): its table is reloaded from elsewhere and a vmig-track table would be undone; move it with pvmove" -- lvm_refused; }

taprun_main "$@"
