# SPDX-License-Identifier: GPL-2.0
# Drive test VMM processes (build/tvmm) from shell through FIFOs.
#   vmm_start NAME NETNS ARGS...   start; sets ${NAME}_pid, ${NAME}_ranges
#   vmm_cmd NAME COMMAND           send a command, print its one-line answer
#   vmm_kill NAME                  SIGKILL and reap
# Each VMM runs in a cgroup of its own (lib/cgroup.sh), as under libvirt.
# Answers start with OK or ERR (see selftests/tvmm.c).

. "$(dirname "${BASH_SOURCE[0]}")/cgroup.sh"

vmm_start() {
	local name=$1 ns=$2 dir line
	shift 2
	dir=$(mktemp -d /tmp/vmm-$name.XXXX)
	mkfifo "$dir/in" "$dir/out"
	nsenter --net=/run/netns/"$ns" "$VMIG_BUILD/tvmm" "$@" < "$dir/in" > "$dir/out" 2> "$dir/err" &
	eval "exec {${name}_in}>\"$dir/in\" {${name}_out}<\"$dir/out\""
	eval "${name}_dir=$dir"
	local fdout
	eval "fdout=\${${name}_out}"
	if ! read -r -t 30 line <&"$fdout"; then
		echo "# $name: no READY line: $(cat "$dir/err")" >&2
		return 1
	fi
	case $line in READY*) ;; *) echo "# $name: $line" >&2; return 1 ;; esac
	eval "${name}_pid=${line#*pid=}; ${name}_pid=\${${name}_pid%% *}"
	eval "own_cgroup tvmm-$name \${${name}_pid}" || { vmm_kill "$name"; return 1; }
	local ranges=""
	# SLOT lines follow READY at once; nothing else comes until a command.
	while read -r -t 1 line <&"$fdout"; do
		case $line in
		SLOT*)	local hva=${line#*hva=} size=${line#*size=}
			ranges="$ranges ${hva%% *}:${size%% *}" ;;
		esac
	done
	eval "${name}_ranges=\"$ranges\""
}

vmm_cmd() {
	local name=$1 fdin fdout line
	shift
	eval "fdin=\${${name}_in} fdout=\${${name}_out}"
	echo "$*" >&"$fdin" || { echo "ERR $name is gone"; return 1; }
	if ! read -r -t "${VMM_CMD_TIMEOUT:-120}" line <&"$fdout"; then
		echo "ERR $name did not answer '$*' (read status $?)"
		return 1
	fi
	[ -n "$line" ] || line="ERR $name answered '$*' with an empty line"
	echo "$line"
	case $line in OK*) return 0 ;; *) return 1 ;; esac
}

vmm_kill() {
	local name=$1 pid dir
	eval "pid=\${${name}_pid} dir=\${${name}_dir}"
	# A VMM that died on its own says why on stderr (tvmm: ERR exit=...).
	if [ -n "$pid" ] && [ -s "$dir/err" ] &&
	   ! awk '$3 != "Z" { alive = 1 } END { exit !alive }' "/proc/$pid/stat" 2>/dev/null; then
		echo "# $name VMM $pid had exited: $(tail -n 3 "$dir/err" | tr '\n' ' ')"
	fi
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	true
	eval "exec {${name}_in}>&- {${name}_out}<&-" 2>/dev/null
	[ -n "$dir" ] && rm -rf "$dir"
	own_cgroup_del "tvmm-$name"
	eval "${name}_pid="
}
