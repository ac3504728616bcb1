// SPDX-License-Identifier: GPL-2.0
/*
 * Our cgroup sits directly under the cgroup2 root: the root is exempt from
 * the no-internal-processes rule, so enabling the cpu controller in its
 * subtree_control works whatever runs in it, and a child of the VMM's own
 * cgroup could not hold the VMM (that cgroup would have to be empty).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "throttle.h"

#define CPU_MAX_MIN_QUOTA_US	1000	/* the kernel refuses less */

static int fail(struct vmig_throttle *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int write_str(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	return 0;
}

/* Does the space-separated list in file path contain word? */
static bool file_has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (tok = strtok_r(buf, " \n", &save); tok && !found;
		     tok = strtok_r(NULL, " \n", &save))
			found = !strcmp(tok, word);
	fclose(f);
	return found;
}

/* /sys/fs/cgroup when it is cgroup2, else the first cgroup2 mount. */
static int find_root(struct vmig_throttle *t)
{
	char dev[64], dir[256], type[32];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return fail(t, "/proc/self/mounts: %s", strerror(errno));
	while (fscanf(f, "%63s %255s %31s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		if (!found || !strcmp(dir, "/sys/fs/cgroup"))
			snprintf(t->root, sizeof(t->root), "%s", dir);
		found = true;
	}
	fclose(f);
	if (!found)
		return fail(t, "no cgroup v2 hierarchy is mounted");
	return 0;
}

/* The "0::/path" line of /proc/PID/cgroup. */
static int find_orig(struct vmig_throttle *t)
{
	char path[64], line[sizeof(t->orig) + 3];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)t->pid);
	f = fopen(path, "re");
	if (!f)
		return fail(t, "%s: %s", path, strerror(errno));
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		memcpy(t->orig, line + 3, strlen(line + 3) + 1);
		found = true;
	}
	fclose(f);
	if (!found)
		return fail(t, "process %d is in no cgroup v2 cgroup", (int)t->pid);
	return 0;
}

static int setup(struct vmig_throttle *t)
{
	char path[sizeof(t->root) + 64];

	if (find_root(t) || find_orig(t))
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", t->root);
	if (!file_has_word(path, "cpu"))
		return fail(t, "the cpu controller is not available in %s (bound to cgroup v1?)",
			    t->root);
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", t->root);
	if (!file_has_word(path, "cpu") && write_str(path, "+cpu"))
		return fail(t, "enabling +cpu in %s: %s", path, strerror(errno));
	snprintf(t->dir, sizeof(t->dir), "%s/vmig-%d", t->root, (int)t->pid);
	/* A directory left by an earlier vmigctl that was killed is reused. */
	if (mkdir(t->dir, 0755) && errno != EEXIST)
		return fail(t, "%s: %s", t->dir, strerror(errno));
	t->created = true;
	return 0;
}

void vmig_throttle_init(struct vmig_throttle *t, pid_t pid,
			unsigned int nr_vcpus)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->nr_vcpus = nr_vcpus ? nr_vcpus : 1;
}

/* cpu.max quota per 100 ms period that leaves the VMM (100 - pct)% per vCPU. */
unsigned long long vmig_throttle_quota(unsigned int pct, unsigned int nr_vcpus)
{
	unsigned long long q;

	if (pct > 100)
		pct = 100;
	q = (unsigned long long)(100 - pct) * (VMIG_THROTTLE_PERIOD_US / 100) *
	    nr_vcpus;
	return q < CPU_MAX_MIN_QUOTA_US ? CPU_MAX_MIN_QUOTA_US : q;
}

/* Give up throttling for good; the first reason is the one reported. */
static int broken(struct vmig_throttle *t)
{
	char err[sizeof(t->err)];

	memcpy(err, t->err, sizeof(err));
	t->broken = true;
	vmig_throttle_undo(t);
	memcpy(t->err, err, sizeof(err));
	return -1;
}

/**
 * vmig_throttle_set() - throttle the VMM by pct percent
 *
 * The first call creates the cgroup and moves the VMM in; the limit is
 * written before the move so the VMM never runs in our cgroup unlimited.
 * After a setup failure later calls fail at once with the same reason.
 *
 * Return: 0, or -1 with t->err saying why.
 */
int vmig_throttle_set(struct vmig_throttle *t, unsigned int pct)
{
	char path[sizeof(t->dir) + 32], val[64];

	if (t->broken)
		return -1;
	if (!t->created && setup(t))
		return broken(t);
	snprintf(path, sizeof(path), "%s/cpu.max", t->dir);
	snprintf(val, sizeof(val), "%llu %u", vmig_throttle_quota(pct, t->nr_vcpus),
		 VMIG_THROTTLE_PERIOD_US);
	if (write_str(path, val))
		return fail(t, "%s: %s", path, strerror(errno));
	if (!t->moved) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", t->dir);
		snprintf(val, sizeof(val), "%d", (int)t->pid);
		if (write_str(path, val)) {
			fail(t, "moving process %d into %s: %s", (int)t->pid,
			     t->dir, strerror(errno));
			return broken(t);
		}
		t->moved = true;
	}
	t->pct = pct;
	return 0;
}

/**
 * vmig_throttle_undo() - move the VMM back to its cgroup, remove ours
 *
 * A VMM that has exited counts as moved back. Safe to call when nothing
 * was set up, and more than once.
 *
 * Return: 0, or -1 with t->err saying why (our cgroup is then left).
 */
int vmig_throttle_undo(struct vmig_throttle *t)
{
	char path[sizeof(t->root) + sizeof(t->orig) + 32], val[32];
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	int tries, ret;

	if (t->moved) {
		snprintf(path, sizeof(path), "%s%s/cgroup.procs", t->root, t->orig);
		snprintf(val, sizeof(val), "%d", (int)t->pid);
		if (write_str(path, val) && errno != ESRCH)
			return fail(t, "moving process %d back to %s: %s",
				    (int)t->pid, t->orig, strerror(errno));
		t->moved = false;
		t->pct = 0;
	}
	if (t->created) {
		/* An exiting VMM leaves the cgroup a moment after it is gone. */
		for (tries = 0; (ret = rmdir(t->dir)) && errno == EBUSY &&
		     tries < 50; tries++)
			nanosleep(&ms10, NULL);
		if (ret && errno != ENOENT)
			return fail(t, "removing %s: %s", t->dir, strerror(errno));
		t->created = false;
	}
	return 0;
}
