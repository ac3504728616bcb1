// SPDX-License-Identifier: GPL-2.0
/*
 * Device-mapper tables through dmsetup: read a device's single linear
 * table, build the vmig-track table that replaces it, swap tables.
 * Documentation/storage.rst describes the vmig-track target.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmtable.h"
#include "util.h"

/**
 * vmig_dmsetup() - run "dmsetup ARGS..."
 * @out: its standard output, NUL-terminated (may be NULL: discarded)
 * @outsz: size of @out
 * @err: its standard error, trailing blanks removed
 * @errsz: size of @err
 * @...: the arguments, up to 14, then NULL
 *
 * Return: its exit status, or -1 when it could not run or was killed.
 */
int vmig_dmsetup(char *out, size_t outsz, char *err, size_t errsz, ...)
{
	int po[2], pe[2], status, n = 0;
	char *argv[16];
	size_t len;
	ssize_t r;
	va_list ap;
	pid_t pid;

	argv[n++] = "dmsetup";
	va_start(ap, errsz);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	err[0] = '\0';
	if (out)
		out[0] = '\0';
	if (pipe2(po, O_CLOEXEC))
		return -1;
	if (pipe2(pe, O_CLOEXEC)) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errsz, "fork: %s", strerror(errno));
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return -1;
	}
	if (!pid) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execvp("dmsetup", argv);
		fprintf(stderr, "cannot run dmsetup: %s", strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* Both outputs are a few lines: stdout fits the pipe while stderr is read. */
	for (len = 0; out && len + 1 < outsz; len += (size_t)r) {
		r = read(po[0], out + len, outsz - 1 - len);
		if (r <= 0)
			break;
		out[len + r] = '\0';
	}
	for (len = 0; len + 1 < errsz; len += (size_t)r) {
		r = read(pe[0], err + len, errsz - 1 - len);
		if (r <= 0)
			break;
		err[len + r] = '\0';
	}
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	len = strlen(err);
	while (len && (err[len - 1] == '\n' || err[len - 1] == ' '))
		err[--len] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/**
 * vmig_dm_swap_table() - load a table into a device and make it live
 * @name: the device-mapper name
 * @table: one table line
 * @err: why it failed
 * @errsz: size of @err
 *
 * A regular reload and resume: writes in flight complete on the old table
 * first. A table that did not go live is cleared again, so that no table
 * nobody asked for waits for somebody else's resume.
 *
 * Return: 0 or -1.
 */
int vmig_dm_swap_table(const char *name, const char *table, char *err,
		       size_t errsz)
{
	char out[1024];

	if (vmig_dmsetup(NULL, 0, out, sizeof(out), "reload", name, "--table",
			 table, NULL)) {
		snprintf(err, errsz, "dmsetup reload %s: %s", name, out);
		return -1;
	}
	if (vmig_dmsetup(NULL, 0, out, sizeof(out), "resume", name, NULL)) {
		snprintf(err, errsz, "dmsetup resume %s: %s", name, out);
		vmig_dmsetup(NULL, 0, out, sizeof(out), "clear", name, NULL);
		return -1;
	}
	return 0;
}

/*
 * Device-mapper devices whose tables a manager reloads from its own
 * metadata (by uuid prefix, as each manager sets it): a vmig-track table
 * swapped in behind its back would be replaced by the old table at the
 * next activation, refresh or resize, and the VM would silently see the
 * old disk. Such devices are moved with their manager's own tool.
 */
static const struct {
	const char *prefix, *owner, *instead;
} vmig_dm_owners[] = {
	{ "LVM-", "an LVM logical volume", "move it with pvmove, or migrate a device-mapper device stacked on it" },
	{ "mpath-", "a multipath device (multipathd reloads it)", "move its paths with multipath's tools" },
	{ "CRYPT-", "a dm-crypt mapping (cryptsetup owns its table)", "move the device beneath it" },
	{ "part", "a kpartx partition mapping", "move the whole device beneath it" },
};

/**
 * vmig_dm_check_owner() - refuse a device whose table a manager reloads
 * @dev: the device-mapper device's path
 * @err: why it is refused
 * @errsz: size of @err
 *
 * For a move whose end state is a new table (storage-move). A migration's
 * vmig-track table is temporary and the source's device is not used after.
 *
 * Return: 0, or -1 with @err.
 */
int vmig_dm_check_owner(const char *dev, char *err, size_t errsz)
{
	char path[128], uuid[160] = "";
	struct stat st;
	size_t i;
	FILE *f;

	if (stat(dev, &st)) {
		snprintf(err, errsz, "%s: %s", dev, strerror(errno));
		return -1;
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errsz, "%s: not a block device", dev);
		return -1;
	}
	/* Unknown is not "nobody's": a device whose owner cannot be read is refused. */
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/uuid",
		 major(st.st_rdev), minor(st.st_rdev));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errsz, "%s: cannot read its device-mapper uuid (%s): %s", dev, path,
			 strerror(errno));
		return -1;
	}
	if (!fgets(uuid, sizeof(uuid), f))
		uuid[0] = '\0';
	fclose(f);
	for (i = 0; i < sizeof(vmig_dm_owners) / sizeof(vmig_dm_owners[0]); i++) {
		if (strncmp(uuid, vmig_dm_owners[i].prefix, strlen(vmig_dm_owners[i].prefix)))
			continue;
		snprintf(err, errsz,
			 "%s is %s (uuid %.*s...): its table is reloaded from elsewhere and a vmig-track table would be undone; %s",
			 dev, vmig_dm_owners[i].owner,
			 (int)strlen(vmig_dm_owners[i].prefix), uuid, vmig_dm_owners[i].instead);
		return -1;
	}
	return 0;
}

/*
 * The device-mapper name of the device at path dev. Return: 0, or -1 with
 * err.
 */
static int vmig_dm_name(const char *dev, char *name, size_t namesz, char *err,
			size_t errsz)
{
	char path[128];
	struct stat st;
	FILE *f;

	if (stat(dev, &st)) {
		snprintf(err, errsz, "%s: %s", dev, strerror(errno));
		return -1;
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errsz, "%s: not a block device", dev);
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/name",
		 major(st.st_rdev), minor(st.st_rdev));
	f = fopen(path, "re");
	if (!f || !fgets(name, (int)namesz, f)) {
		snprintf(err, errsz, "%s: not a device-mapper device", dev);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	name[strcspn(name, "\n")] = '\0';
	return 0;
}

/**
 * vmig_dm_read_track() - read a device's vmig-track table and its mode
 * @dev: the device's path, e.g. /dev/mapper/NAME
 * @t: filled (@t->name and @t->table whatever the table is)
 * @err: why it could not be read
 * @errsz: size of @err
 *
 * The mode is the tracker's own word on where the device's I/O goes
 * (Documentation/storage.rst): "redirect" once a move switched over, for
 * good; "record" or "mirror" while it passes I/O through to its source.
 *
 * Return: 1 when the table is one vmig-track target from sector 0 (@t
 * filled), 0 when it is anything else (@t->table holds it), -1 when it
 * could not be read.
 */
int vmig_dm_read_track(const char *dev, struct vmig_dm_track *t, char *err,
		       size_t errsz)
{
	char out[1024], derr[512], type[32], extra[2];
	unsigned long long start, len, dirty, regions;
	size_t n;
	int r;

	memset(t, 0, sizeof(*t));
	if (vmig_dm_name(dev, t->name, sizeof(t->name), err, errsz))
		return -1;
	if (vmig_dmsetup(out, sizeof(out), derr, sizeof(derr), "table", t->name, NULL)) {
		snprintf(err, errsz, "dmsetup table %s: %s", t->name, derr);
		return -1;
	}
	n = strcspn(out, "\n");
	if (out[n] && out[n + 1]) {
		snprintf(t->table, sizeof(t->table), "%.*s ...", (int)n, out);
		return 0;
	}
	out[n] = '\0';
	snprintf(t->table, sizeof(t->table), "%.*s", (int)sizeof(t->table) - 1, out);
	r = sscanf(out, "%llu %llu %31s %63s %llu %llu %63s %1s", &start, &t->len, type,
		   t->src, &t->src_off, &t->region, t->dest, extra);
	if (r < 6 || r > 7 || start || strcmp(type, "vmig-track"))
		return 0;
	if (vmig_dmsetup(out, sizeof(out), derr, sizeof(derr), "status", t->name, NULL)) {
		snprintf(err, errsz, "dmsetup status %s: %s", t->name, derr);
		return -1;
	}
	if (sscanf(out, "%llu %llu %31s %llu %llu %15s", &start, &len, type, &dirty,
		   &regions, t->mode) != 6 || strcmp(type, "vmig-track")) {
		snprintf(err, errsz, "dmsetup status %s: cannot read '%.*s'", t->name,
			 (int)strcspn(out, "\n"), out);
		return -1;
	}
	return 1;
}

/**
 * vmig_dm_read_linear() - read a device whose table is one linear target
 * @dev: the device's path, e.g. /dev/mapper/NAME
 * @l: filled
 * @err: why it is not such a device
 * @errsz: size of @err
 *
 * A device carrying a vmig-track table is refused: it is in the middle of
 * a move or migration, or one was interrupted and its table must be put
 * back first.
 *
 * Return: 0 or -1.
 */
int vmig_dm_read_linear(const char *dev, struct vmig_dm_linear *l, char *err,
			size_t errsz)
{
	char path[128], out[1024], derr[512], type[32], extra[2];
	unsigned long long start;
	struct stat st;
	size_t n;
	FILE *f;
	int r;

	memset(l, 0, sizeof(*l));
	if (stat(dev, &st)) {
		snprintf(err, errsz, "%s: %s", dev, strerror(errno));
		return -1;
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errsz, "%s: not a block device", dev);
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/name",
		 major(st.st_rdev), minor(st.st_rdev));
	f = fopen(path, "r");
	if (!f || !fgets(l->name, sizeof(l->name), f)) {
		snprintf(err, errsz, "%s: not a device-mapper device", dev);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	l->name[strcspn(l->name, "\n")] = '\0';

	if (vmig_dmsetup(out, sizeof(out), derr, sizeof(derr), "table", l->name,
			 NULL)) {
		snprintf(err, errsz, "dmsetup table %s: %s", l->name, derr);
		return -1;
	}
	n = strcspn(out, "\n");
	if (out[n] && out[n + 1]) {
		snprintf(err, errsz,
			 "%s has a table of several targets; only a single linear target can be moved",
			 l->name);
		return -1;
	}
	out[n] = '\0';
	r = sscanf(out, "%llu %llu %31s %63s %llu %1s", &start, &l->len, type,
		   l->src, &l->src_off, extra);
	if (r >= 3 && !strcmp(type, "vmig-track")) {
		snprintf(err, errsz,
			 "%s already has a vmig-track table (an interrupted move?); load its own table again first",
			 l->name);
		return -1;
	}
	if (r != 5 || start || strcmp(type, "linear")) {
		snprintf(err, errsz,
			 "%s: table '%s' is not a single linear target; only those can be moved",
			 l->name, out);
		return -1;
	}
	if (strlen(out) >= sizeof(l->table)) {
		snprintf(err, errsz, "%s: table '%s' is too long", l->name, out);
		return -1;
	}
	memcpy(l->table, out, strlen(out) + 1);
	return 0;
}

/**
 * vmig_dm_track_table() - the vmig-track table that replaces a linear one
 * @buf: the table line
 * @sz: size of @buf
 * @l: the device
 * @region_bytes: tracking granularity
 * @dest: "MAJ:MIN" of a local move's destination; NULL for a migration,
 *	whose destination is on another host
 */
void vmig_dm_track_table(char *buf, size_t sz, const struct vmig_dm_linear *l,
			 uint64_t region_bytes, const char *dest)
{
	snprintf(buf, sz, "0 %llu vmig-track %s %llu %llu%s%s", l->len, l->src,
		 l->src_off, (unsigned long long)(region_bytes >> 9),
		 dest ? " " : "", dest ? dest : "");
}

/*
 * A tracking granularity: a power of two from 4 KiB to 1 GiB (what the
 * target accepts). Return: 0 or -1.
 */
int vmig_dm_parse_region(const char *arg, uint64_t *bytes)
{
	if (vmig_parse_rate(arg, bytes) || *bytes < 4096 || *bytes > (1ULL << 30) ||
	    (*bytes & (*bytes - 1)))
		return -1;
	return 0;
}
