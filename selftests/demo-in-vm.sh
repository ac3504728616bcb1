#!/bin/bash
# Runs inside the test VM: a guest writing stamped pages migrates from host
# "vmig-src" to host "vmig-dst" (network namespaces joined by veth, see
# lib/netns.sh), then proves it carried on intact on the destination. Then
# a disk in use moves to another device (storage-move) under a verifying
# writer.
top=$(cd "$(dirname "$0")/.." && pwd)
VMIG_BUILD=$top/build
export PATH="$VMIG_BUILD:$PATH"
. "$top/selftests/lib/netns.sh"
. "$top/selftests/lib/vmm.sh"
. "$top/selftests/lib/dm.sh"
set -u

ip link set lo up
modprobe kvm_amd nested=1 2>/dev/null || modprobe kvm_intel nested=1
"$top/selftests/lib/tvmm-hold-keys.sh"	# see the script: avoids a TCG hang
# Installed the way a user installs it, so modprobe pulls in dependencies.
mkdir -p "/lib/modules/$(uname -r)/extra"
cp "$VMIG_BUILD/$(uname -r)/vmig.ko" "/lib/modules/$(uname -r)/extra/"
depmod -a && modprobe vmig || exit 1
echo "== vmig.ko loaded: $(vmigctl version)"
netns_up
layout="--slot 0:0:32M --slot 1:0x10000000:16M"
vmm_start src $VMIG_SRC_NS $layout --vcpus 2 --rate 20000 || exit 1
vmm_start dst $VMIG_DST_NS $layout --vcpus 2 --wait || exit 1
echo "== source VMM pid $src_pid (host vmig-src, 48 MiB guest writing ~80 MB/s)"
echo "== destination VMM pid $dst_pid (host vmig-dst, same layout, waiting)"
sleep 1
echo "== guest dirty rate: $(in_src vmigctl dirty-rate --pid "$src_pid" --seconds 1)"
in_dst vmigctl receive --pid "$dst_pid" --listen $VMIG_DST_IP:7411 2> /tmp/recv.err &
recv=$!
sleep 0.5
echo "== vmigctl migrate --pid $src_pid --to $VMIG_DST_IP:7411 --downtime-ms 300"
in_src vmigctl migrate --pid "$src_pid" --to $VMIG_DST_IP:7411 --downtime-ms 300 --keep-source
rc=$?
wait $recv
rrc=$?
echo
echo "== migrate exited $rc, receive exited $rrc"
[ $rc = 0 ] && [ $rrc = 0 ] || { cat /tmp/recv.err; exit 1; }
sh=$(memhash "$src_pid" $src_ranges)
dh=$(vmm_cmd dst hash)
echo "== source RAM (stopped)   fnv64 $sh"
echo "== destination RAM        fnv64 ${dh#OK hash=}"
[ "$sh" = "${dh#OK hash=}" ] || { echo "== MISMATCH"; exit 1; }
vmm_kill src
echo "== destination resumes: $(vmm_cmd dst resume)"
sleep 2
echo "== guest on destination:  $(vmm_cmd dst stats)"
echo "== guest self-check:      $(vmm_cmd dst guest-verify)"
vmm_kill dst
netns_down

# Storage vMotion: /dev/mapper/vmdisk (on ram0) moves to ram1 while written.
modprobe dm-mod && modprobe brd rd_nr=2 rd_size=131072 || exit 1
mkdm vmdisk "0 262144 linear /dev/ram0 0" || exit 1
diskverify fill /dev/mapper/vmdisk > /dev/null || exit 1
diskverify run /dev/mapper/vmdisk /tmp/disk.model --threads 2 --iops 500 \
	> /tmp/writer.out 2>&1 &
writer=$!
sleep 1
echo "== table before: $(dmsetup table vmdisk)"
echo "== vmigctl storage-move --dev /dev/mapper/vmdisk --to /dev/ram1 (a writer runs)"
vmigctl storage-move --dev /dev/mapper/vmdisk --to /dev/ram1
rc=$?
kill -TERM $writer
wait $writer
echo "== storage-move exited $rc; table after: $(dmsetup table vmdisk)"
echo "== writer: $(cat /tmp/writer.out)"
diskverify verify /dev/mapper/vmdisk /tmp/disk.model > /tmp/verify.out 2>&1
vrc=$?
echo "== disk check: $(tail -n 1 /tmp/verify.out)"
rmdm vmdisk
rmmod brd
[ $rc = 0 ] && [ $vrc = 0 ] || exit 1
rmmod vmig
echo "== demo done"
