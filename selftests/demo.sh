#!/bin/sh
# make demo: boot the test VM with kernel KVER and migrate a running guest
# under QEMU (a real Linux guest, multi-threaded TCG: see
# selftests/qemu/README), showing vmigctl's progress bar.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
kver=${1:?usage: demo.sh KVER}
echo "vmig demo: booting $kver under QEMU (TCG, nested SVM); inside it, QEMU with -accel kvm runs the guest"
VMIG_RIG_THREAD=${VMIG_RIG_THREAD:-multi} VMIG_RIG_TIMEOUT=900 exec "$top/selftests/rig/vm-run.sh" "$kver" "$top/selftests/demo-in-vm.sh"
