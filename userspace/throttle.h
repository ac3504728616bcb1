/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Slow a VMM down with the cgroup v2 cpu controller, whatever the VMM is:
 * the process moves into <cgroup2 root>/vmig-<pid> whose cpu.max gives it
 * (100 - pct)% of one CPU per vCPU, and moves back to its own cgroup when
 * the migration ends. Throttling is best effort: a failure is reported by
 * the caller and the migration goes on unthrottled.
 */
#ifndef VMIGCTL_THROTTLE_H
#define VMIGCTL_THROTTLE_H

#include <stdbool.h>
#include <sys/types.h>

#define VMIG_THROTTLE_PERIOD_US	100000

struct vmig_throttle {
	pid_t pid;
	unsigned int nr_vcpus;
	unsigned int pct;	/* in force; 0: none */
	bool created;		/* dir exists and is ours to remove */
	bool moved;		/* the VMM is in dir */
	bool broken;		/* setup failed once; do not retry */
	char root[256];		/* where cgroup2 is mounted */
	char orig[1024];	/* the VMM's own cgroup, relative to root */
	char dir[300];
	char err[512];		/* why the last call failed */
};

void vmig_throttle_init(struct vmig_throttle *t, pid_t pid,
			unsigned int nr_vcpus);
unsigned long long vmig_throttle_quota(unsigned int pct, unsigned int nr_vcpus);
int vmig_throttle_set(struct vmig_throttle *t, unsigned int pct);
int vmig_throttle_undo(struct vmig_throttle *t);

#endif
