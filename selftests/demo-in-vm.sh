#!/bin/bash
# Runs inside the test VM: a Linux guest under QEMU, with virtio devices and
# a TCP connection into it, migrates to a second QEMU (migrate --qmp), and
# the connection survives; the guest-observed downtime is printed. Then a
# disk in use moves to another device (storage-move) under a verifying
# writer.
top=$(cd "$(dirname "$0")/.." && pwd)
VMIG_BUILD=$top/build
export PATH="$VMIG_BUILD:$PATH"
. "$top/selftests/lib/dm.sh"
set -u

ip link set lo up
modprobe kvm_amd nested=1 2>/dev/null || modprobe kvm_intel nested=1
"$top/selftests/lib/tvmm-hold-keys.sh"	# see the script: avoids a TCG hang
# Installed the way a user installs it, so modprobe pulls in dependencies.
mkdir -p "/lib/modules/$(uname -r)/extra"
cp "$VMIG_BUILD/$(uname -r)/vmig.ko" "/lib/modules/$(uname -r)/extra/"
depmod -a && modprobe vmig || exit 1
modprobe tls	# kTLS: every migration connection is TLS 1.3 under the kernel
echo "== vmig.ko loaded: $(vmigctl version)"
# A real VM: Debian's kernel under QEMU with virtio-net and virtio-blk
# (selftests/lib/qemu.sh), streaming sequence numbers to this host over TCP
# while a flood comes in. vmig carries its RAM, QEMU its devices.
VMIG_TOP=$top
. "$top/selftests/lib/qemu.sh"
trap 'qemu_guest_stop_all > /dev/null 2>&1' EXIT
qemu_kvm_up && qemu_net_up || exit 1
booted=
for attempt in 1 2; do
	qemu_guest_start src && qemu_guest_start dst --incoming || exit 1
	if qemu_guest_wait_ready src 240; then booted=1; break; fi
	# A nested guest under TCG sometimes stalls at boot (qemu/README).
	echo "== the nested guest stalled while booting (emulation, not vmig); once more"
	qemu_guest_stop_all > /dev/null 2>&1
	qemu_net_up || exit 1
done
[ -n "$booted" ] || exit 1
qemu_seqsink_start && qemu_flood_start 2048 || exit 1
echo "== source QEMU pid $(qemu_guest_pid src): a Linux guest ($QEMU_GUEST_IP), RAM in /dev/shm/vmig-src-ram"
echo "== destination QEMU pid $(qemu_guest_pid dst): -incoming defer"
echo "== a TCP stream from the guest (1 line per ms) and a 2 MiB/s flood into it are running"
sleep 2
qemu_seqsink_reset
vmigctl receive --psk-file "$VMIG_PSK" --qmp "$(qemu_qmp_path dst)" --listen 127.0.0.1:7411 2> /tmp/recv.err &
recv=$!
sleep 0.5
echo "== vmigctl migrate --psk-file $VMIG_PSK --qmp $(qemu_qmp_path src) --to 127.0.0.1:7411 --downtime-ms 300"
vmigctl migrate --psk-file "$VMIG_PSK" --qmp "$(qemu_qmp_path src)" --to 127.0.0.1:7411 --downtime-ms 300
rc=$?
wait $recv
rrc=$?
echo
echo "== migrate exited $rc, receive exited $rrc: $(tail -n 1 /tmp/recv.err)"
[ $rc = 0 ] && [ $rrc = 0 ] || { cat /tmp/recv.err; exit 1; }
sleep 2
line=$(qemu_seqsink_stop)
qemu_flood_stop > /dev/null
echo "== destination QEMU: $(qemu_guest_status dst); source QEMU: $(kill -0 "$(qemu_guest_pid src)" 2> /dev/null && echo still there || echo gone)"
echo "== the guest's TCP stream: $line"
echo "== guest-observed downtime (largest gap between stream lines): $(qemu_field "$line" max_gap_ms) ms"
qemu_seqsink_ok "$line" || { echo "== the stream broke"; exit 1; }
[ -z "$(qemu_guest_failures dst)" ] || { echo "== guest checks failed: $(qemu_guest_failures dst)"; exit 1; }
echo "== the guest's memory and disk checks keep passing on the destination"
qemu_guest_stop_all > /dev/null 2>&1
trap - EXIT

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
