# SPDX-License-Identifier: GPL-2.0
# Measuring helpers the in-VM benchmarks share.

# Busy jiffies of the whole VM: user+nice+system+irq+softirq (guest time
# is already inside user; iowait and steal are not work done here).
busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 }
	END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
	      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
