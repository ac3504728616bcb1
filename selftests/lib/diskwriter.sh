# SPDX-License-Identifier: GPL-2.0
# The VM's disk for the --disk suites: a device-mapper disk on the source
# "host" (/dev/mapper/vmdisk, linear on /dev/ram0, 32 MiB) and a ramdisk for
# the destination (/dev/ram1), with a verifying writer (build/diskverify)
# standing for the VM's disk I/O. The caller sets T (a scratch directory).
#   disk_setup              brd ramdisks and dm-mod; 1 (and why) if missing
#   disk_fresh              vmdisk on ram0 holding generation 0, ram1 zeroed
#   disk_cleanup            kill the writer, remove vmdisk
#   writer_start ARGS...    diskverify run on vmdisk with a shared model
#                           ($T/model), pid in $wpid
#   writer_state            its state letter (T: stopped), or "gone"
#   writer_stop             SIGCONT, SIGTERM, reap; $werr "" if it never
#                           saw an error
#   writer_kill             SIGKILL (after a switchover: it never resumes)
#   disk_verify DEV         "" when DEV holds every write the model says
#                           completed, else why ($T/v.out: the verdict)
#   disk_sent               disk bytes the source session reports sent
#   dev_claimed DEV         someone holds DEV open exclusively (O_EXCL)
#   dm_open_count NAME      opens of /dev/mapper/NAME
#   track_tables            the vmig-track tables of this kernel, if any

DISK=/dev/mapper/vmdisk
DISK_SECTORS=65536		# 32 MiB
wpid=

disk_setup() {
	modprobe dm-mod 2> /dev/null
	if ! test -b /dev/ram3 || [ "$(blockdev --getsize64 /dev/ram1 2> /dev/null)" != 67108864 ]; then
		rmmod brd 2> /dev/null
		modprobe brd rd_nr=4 rd_size=65536 && test -b /dev/ram3 ||
			{ echo "no brd ramdisks"; return 1; }
	fi
	dmsetup targets | grep -q '^vmig-track' || { echo "no vmig-track target"; return 1; }
	vmigctl version | grep -q disk-migrate || { echo "vmig.ko cannot carry disks"; return 1; }
}

disk_cleanup() {
	if [ -n "$wpid" ]; then
		kill -KILL "$wpid" 2> /dev/null
		wait "$wpid" 2> /dev/null
		wpid=
	fi
	rmdm vmdisk
}

disk_fresh() {
	disk_cleanup
	dd if=/dev/zero of=/dev/ram1 bs=1M count=64 oflag=direct status=none &&
		mkdm vmdisk "0 $DISK_SECTORS linear /dev/ram0 0" &&
		DISK_TABLE=$(dmsetup table vmdisk) &&
		diskverify fill $DISK > /dev/null
}

# A few hundred random writes a second (O_DIRECT, zeroout and discard
# ranges), as diskmig_test.sh's writer: pre-copy converges under TCG.
writer_start() {
	rm -f "$T/model"
	diskverify run $DISK --shared-model "$T/model" --threads 2 --iops 100 --max-kb 16 \
		--zeroout-pct 5 --discard-pct 5 --discard-zeroes "$@" > "$T/w.out" 2>&1 &
	wpid=$!
	sleep 1
}

writer_state() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$wpid/status" 2> /dev/null)
	echo "${st:-gone}"
}

writer_stop() {
	local rc
	kill -CONT "$wpid" 2> /dev/null
	kill -TERM "$wpid" 2> /dev/null
	wait "$wpid"
	rc=$?
	wpid=
	werr=
	if [ "$rc" != 0 ]; then
		werr="writer exited $rc: $(tr '\n' ' ' < "$T/w.out")"
	elif ! grep -q " 0 errors" "$T/w.out"; then
		werr="writer: $(tr '\n' ' ' < "$T/w.out")"
	fi
}

writer_kill() {
	kill -KILL "$wpid" 2> /dev/null
	wait "$wpid" 2> /dev/null
	wpid=
}

disk_verify() {
	diskverify verify "$1" "$T/model" > "$T/v.out" 2>&1 || tr '\n' ' ' < "$T/v.out"
}

disk_sent() {
	in_src vmigctl -j show | python3 -c '
import json, sys
s = [s for s in json.load(sys.stdin) if s["role"] == "source"]
print(s[0].get("disk_sent_bytes", 0) if s else 0)' 2> /dev/null
}

dev_claimed() {
	python3 -c '
import os, sys
try:
    os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL))
except OSError:
    sys.exit(0)
sys.exit(1)' "$1"
}

dm_open_count() { dmsetup info -c --noheadings -o open "$1" 2> /dev/null | tr -d ' '; }

track_tables() { dmsetup table 2> /dev/null | grep vmig-track; }
