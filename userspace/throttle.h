/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Slow a VMM down with the cgroup v2 cpu controller, where the VMM lives:
 * the cpu.max of its own cgroup (the nearest holding all its threads: a
 * libvirt machine, whose vCPU threads sit in threaded children of their
 * own; a systemd unit; any cgroup but the root) gets a quota of (100 - pct)% of one CPU per
 * vCPU, never more than the cgroup allowed before. The VMM is never moved.
 * The file is opened before the migration starts and handed to the kernel
 * with its original value (throttle-fd, throttle-restore), so the kernel
 * writes that value back when the session ends even if vmigctl is killed;
 * vmigctl restores it itself on every exit path it lives through.
 * Throttling is best effort: a failure is reported by the caller and the
 * migration goes on unthrottled.
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
	int fd;			/* the cgroup's cpu.max, -1 when not open */
	bool broken;		/* opening failed; do not retry */
	unsigned long long orig_quota, orig_period;	/* orig_quota 0: "max" */
	char orig[64];		/* cpu.max as found, without the newline */
	char cgroup[1024];	/* the VMM's cgroup directory */
	char err[1200];		/* why the last call failed */
};

void vmig_throttle_init(struct vmig_throttle *t, pid_t pid,
			unsigned int nr_vcpus);
int vmig_throttle_open(struct vmig_throttle *t);
unsigned long long vmig_throttle_quota(unsigned int pct, unsigned int nr_vcpus,
				       unsigned long long orig_quota,
				       unsigned long long orig_period);
int vmig_throttle_set(struct vmig_throttle *t, unsigned int pct);
int vmig_throttle_undo(struct vmig_throttle *t);
void vmig_throttle_close(struct vmig_throttle *t);

#endif
