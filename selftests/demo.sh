#!/bin/sh
# make demo: boot the test VM with kernel KVER and migrate a running guest
# between two network-namespace hosts, showing vmigctl's progress bar.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
kver=${1:?usage: demo.sh KVER}
echo "vmig demo: booting $kver under QEMU (TCG, nested SVM); the guest inside is a test VM"
VMIG_RIG_TIMEOUT=600 exec "$top/selftests/rig/vm-run.sh" "$kver" "$top/selftests/demo-in-vm.sh"
