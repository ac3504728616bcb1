// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's own cgroup is throttled (throttle.h). Moving the VMM instead,
 * as an earlier version did, took it out of its slice's memory.max,
 * pids.max, cpuset and device filter, and a crash left it moved.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* /sys/fs/cgroup when it is cgroup2, else the first cgroup2 mount. */
static int find_root(struct vmig_throttle *t, char *root, size_t len)
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
			snprintf(root, len, "%s", dir);
		found = true;
	}
	fclose(f);
	if (!found)
		return fail(t, "no cgroup v2 hierarchy is mounted");
	return 0;
}

/* The "0::/path" line of a /proc/.../cgroup file into @out. Return: 0 or -1. */
static int read_cgroup(const char *path, char *out, size_t len)
{
	char line[1024];
	bool found = false;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", line + 3);
		found = true;
	}
	fclose(f);
	return found ? 0 : -1;
}

/* Cut @common back to the longest whole-component prefix it shares with @p. */
static void common_prefix(char *common, const char *p)
{
	size_t i = 0, cut = 0;

	while (common[i] && common[i] == p[i]) {
		if (common[i] == '/')
			cut = i;
		i++;
	}
	if (!common[i] && (p[i] == '/' || !p[i]))
		return;		/* @common is @p or a parent of it */
	if (!p[i] && common[i] == '/') {
		common[i] = '\0';	/* @p is a parent of @common */
		return;
	}
	common[cut ? cut : 1] = '\0';
}

/*
 * The VMM's cgroup directory: the nearest cgroup holding all its threads.
 * libvirt puts the vCPU threads in threaded cgroups of their own
 * (libvirt/vcpuN) beside the emulator's (libvirt/emulator); cpu.max of
 * their common parent is what limits the vCPUs.
 */
static int find_cgroup(struct vmig_throttle *t, const char *root)
{
	char path[300], cg[sizeof(t->cgroup)], common[sizeof(t->cgroup)];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)t->pid);
	if (read_cgroup(path, common, sizeof(common)))
		return fail(t, "process %d is in no cgroup v2 cgroup", (int)t->pid);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/cgroup", (int)t->pid, de->d_name);
		if (!read_cgroup(path, cg, sizeof(cg)))
			common_prefix(common, cg);
	}
	if (d)
		closedir(d);
	if (!strcmp(common, "/"))
		return fail(t, "process %d runs in the root cgroup, which has no cpu.max: give the VMM a cgroup of its own (systemd-run --scope, a libvirt machine)",
			    (int)t->pid);
	if (snprintf(t->cgroup, sizeof(t->cgroup), "%s%s", root, common) >=
	    (int)sizeof(t->cgroup))
		return fail(t, "the cgroup path of process %d is too long", (int)t->pid);
	return 0;
}

/*
 * The cpu controller must be enabled for the VMM's cgroup, by its parent's
 * subtree_control. Enabling it there is the one change not undone: it
 * only makes cpu.max and cpu.weight (default: no limit) apply.
 */
static int enable_cpu(struct vmig_throttle *t)
{
	char path[sizeof(t->cgroup) + 32], *slash;

	snprintf(path, sizeof(path), "%s/cpu.max", t->cgroup);
	if (!access(path, F_OK))
		return 0;
	snprintf(path, sizeof(path), "%s", t->cgroup);
	slash = strrchr(path, '/');
	snprintf(slash, sizeof(path) - (size_t)(slash - path), "/cgroup.subtree_control");
	if (write_str(path, "+cpu"))
		return fail(t, "the cpu controller is off for %s and enabling it in %s failed: %s",
			    t->cgroup, path, strerror(errno));
	return 0;
}

void vmig_throttle_init(struct vmig_throttle *t, pid_t pid,
			unsigned int nr_vcpus)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->nr_vcpus = nr_vcpus ? nr_vcpus : 1;
	t->fd = -1;
}

/**
 * vmig_throttle_open() - find and open the VMM cgroup's cpu.max
 *
 * Done once, before the migration starts, so that the file and its value
 * go to the kernel with migrate-start. Nothing is changed yet.
 *
 * Return: 0, or -1 with t->err saying why (later sets fail the same way).
 */
int vmig_throttle_open(struct vmig_throttle *t)
{
	char root[256], path[sizeof(t->cgroup) + 32], quota[32];
	ssize_t n;

	if (t->fd >= 0)
		return 0;
	if (find_root(t, root, sizeof(root)) || find_cgroup(t, root) || enable_cpu(t))
		goto broken;
	snprintf(path, sizeof(path), "%s/cpu.max", t->cgroup);
	t->fd = open(path, O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		fail(t, "%s: %s", path, strerror(errno));
		goto broken;
	}
	n = pread(t->fd, t->orig, sizeof(t->orig) - 1, 0);
	if (n <= 0 || sscanf(t->orig, "%31s %llu", quota, &t->orig_period) != 2) {
		fail(t, "%s: cannot read it", path);
		goto broken_close;
	}
	t->orig[strcspn(t->orig, "\n")] = '\0';
	t->orig_quota = strcmp(quota, "max") ? strtoull(quota, NULL, 10) : 0;
	return 0;

broken_close:
	close(t->fd);
	t->fd = -1;
broken:
	t->broken = true;
	return -1;
}

/*
 * cpu.max quota per VMIG_THROTTLE_PERIOD_US that leaves the VMM (100 - pct)%
 * per vCPU, and never more than the cgroup's own limit (@orig_quota per
 * @orig_period; 0: none).
 */
unsigned long long vmig_throttle_quota(unsigned int pct, unsigned int nr_vcpus,
				       unsigned long long orig_quota,
				       unsigned long long orig_period)
{
	unsigned long long q, own;

	if (pct > 100)
		pct = 100;
	q = (unsigned long long)(100 - pct) * (VMIG_THROTTLE_PERIOD_US / 100) *
	    nr_vcpus;
	if (orig_quota && orig_period) {
		own = orig_quota * VMIG_THROTTLE_PERIOD_US / orig_period;
		if (own < q)
			q = own;
	}
	return q < CPU_MAX_MIN_QUOTA_US ? CPU_MAX_MIN_QUOTA_US : q;
}

/**
 * vmig_throttle_set() - throttle the VMM by pct percent
 *
 * Return: 0, or -1 with t->err saying why.
 */
int vmig_throttle_set(struct vmig_throttle *t, unsigned int pct)
{
	char val[64];
	int len;

	if (t->broken || (t->fd < 0 && vmig_throttle_open(t)))
		return -1;
	len = snprintf(val, sizeof(val), "%llu %u",
		       vmig_throttle_quota(pct, t->nr_vcpus, t->orig_quota, t->orig_period),
		       VMIG_THROTTLE_PERIOD_US);
	if (pwrite(t->fd, val, (size_t)len, 0) != len)
		return fail(t, "%s/cpu.max: %s", t->cgroup, strerror(errno));
	t->pct = pct;
	return 0;
}

/**
 * vmig_throttle_undo() - give cpu.max its value from before
 *
 * Safe when nothing was set, and more than once; the file stays open.
 * A VMM whose cgroup went away with it counts as restored.
 *
 * Return: 0, or -1 with t->err saying why.
 */
int vmig_throttle_undo(struct vmig_throttle *t)
{
	ssize_t len = (ssize_t)strlen(t->orig);

	if (!t->pct || t->fd < 0)
		return 0;
	if (pwrite(t->fd, t->orig, (size_t)len, 0) != len && errno != ENODEV && errno != ENOENT)
		return fail(t, "restoring %s/cpu.max to \"%s\": %s", t->cgroup, t->orig,
			    strerror(errno));
	t->pct = 0;
	return 0;
}

void vmig_throttle_close(struct vmig_throttle *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
