#!/bin/sh
# Extract the pieces of Debian's linux-source-6.12 tarball that vmig uses at
# build time (YNL's generator and schemas, kselftest harness, checkpatch).
# They land in build/ksrc and are never committed.
set -eu
out=${1:-build/ksrc}
tarball=$(ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null || true)
[ -n "$tarball" ] || { echo "ksrc: linux-source-6.12 missing; run scripts/setup.sh" >&2; exit 1; }
[ -f "$out/.done" ] && exit 0
mkdir -p "$out"
top=linux-source-6.12
tar -C "$out" --strip-components=1 -xJf "$tarball" \
	"$top/tools/net/ynl" \
	"$top/Documentation/netlink" \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"
touch "$out/.done"
