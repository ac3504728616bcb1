# SPDX-License-Identifier: GPL-2.0
# Device-mapper devices for the storage tests.
#   mkdm NAME TABLE   create /dev/mapper/NAME with a one- or multi-line table
#   rmdm NAME...      remove those that exist (resumed first: a suspended
#                     device cannot be removed)

mkdm() {
	dmsetup create "$1" --table "$2" && dmsetup mknodes "$1" && test -b "/dev/mapper/$1"
}

rmdm() {
	local d
	for d in "$@"; do
		dmsetup info "$d" > /dev/null 2>&1 || continue
		dmsetup resume "$d" 2> /dev/null
		dmsetup remove --retry "$d" > /dev/null 2>&1 ||
			echo "# cannot remove $d: $(dmsetup info "$d" 2>&1 | tr '\n' ' ')"
	done
}
