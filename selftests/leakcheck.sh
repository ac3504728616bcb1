#!/bin/sh
# Read a kernel log on stdin; every "vmig: <object> <id> created" must be
# matched by "vmig: <object> <id> destroyed" exactly once. Prints the
# unbalanced objects and exits 1 if there are any.
awk '
/vmig: [a-z_]+ [0-9]+ created$/   { k = $(NF-2) " " $(NF-1); c[k]++; n++ }
/vmig: [a-z_]+ [0-9]+ destroyed$/ { k = $(NF-2) " " $(NF-1); d[k]++ }
END {
	bad = 0
	for (k in c) if (c[k] != d[k]) { print "leak: " k " created " c[k] ", destroyed " d[k] + 0; bad = 1 }
	for (k in d) if (!(k in c)) { print "leak: " k " destroyed but never created"; bad = 1 }
	printf "leakcheck: %d objects created, %s\n", n, bad ? "UNBALANCED" : "all destroyed"
	exit bad
}'
