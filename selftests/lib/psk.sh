# SPDX-License-Identifier: GPL-2.0
# Credentials for the tests' migrations.
#   VMIG_PSK        a pre-shared key (psktool's IDENTITY:HEXKEY), made once
#                   per test VM, readable by root only
#   VMIG_TEST_AUTH  what suites pass to vmigctl migrate/receive: --insecure
#                   unless set. The rig's CPU is TCG-emulated, AES included,
#                   which makes a kTLS stream several times slower than plain
#                   TCP (controller_test: 588 s against 101 s), too slow for
#                   the convergence tests within CI's time. tls_test.sh runs
#                   its migrations under TLS; VMIG_TEST_AUTH="--psk-file
#                   \$VMIG_PSK" runs every suite so.
VMIG_PSK=${VMIG_PSK:-/tmp/vmig-test.psk}
if [ ! -s "$VMIG_PSK" ]; then
	( umask 077; printf 'vmig:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > "$VMIG_PSK" )
fi
VMIG_TEST_AUTH=${VMIG_TEST_AUTH:---insecure}
