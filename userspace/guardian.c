// SPDX-License-Identifier: GPL-2.0
/*
 * The guardian of a `vmigctl migrate --qmp` or `--disk` (guardian.h). It
 * speaks a line protocol on its pipe: "id N", "phase N", "dm NAME",
 * "table ORIGINAL-TABLE", "nodm", "disarm". Everything it
 * decides, it decides after its parent is gone, from the kernel's record
 * of the session, which outlives the controller (linger-s).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmtable.h"
#include "guardian.h"
#include "nl.h"
#include "qmp.h"
#include "session.h"
#include "util.h"
#include "uapi/linux/vmig.h"

#define GUARDIAN_FD		3	/* where the pipe's read end goes */
#define GUARDIAN_QMP_MS		10000	/* to reach QEMU once the parent is gone */
#define GUARDIAN_GONE		-2	/* the session is not listed: ended and dismissed */

/* What the parent told: its session, its phase, the disk it tracks. */
struct guardian_told {
	uint32_t id;
	int phase;
	char dm[128];		/* device-mapper name whose vmig-track table is live, or "" */
	char table[512];	/* that device's own table */
};

static void glog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void glog(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vmigctl[guardian %d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Read the parent's lines until EOF. Return: true when it disarmed us. */
static bool guardian_listen(struct guardian_told *g)
{
	char buf[1024];
	size_t got = 0;
	ssize_t n;

	for (;;) {
		char *nl;

		n = read(GUARDIAN_FD, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
		buf[got] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (!strcmp(buf, "disarm"))
				return true;
			if (!strncmp(buf, "id ", 3))
				g->id = (uint32_t)strtoul(buf + 3, NULL, 10);
			else if (!strncmp(buf, "phase ", 6))
				g->phase = atoi(buf + 6);
			else if (!strncmp(buf, "dm ", 3))
				snprintf(g->dm, sizeof(g->dm), "%.127s", buf + 3);
			else if (!strncmp(buf, "table ", 6))
				snprintf(g->table, sizeof(g->table), "%.511s", buf + 6);
			else if (!strcmp(buf, "nodm"))
				g->dm[0] = '\0';
			got -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, got + 1);
		}
		if (got == sizeof(buf) - 1)
			got = 0;	/* not our protocol: drop it */
	}
}

/* The session's final state, GUARDIAN_GONE, or -1 (no answer in time). */
static int guardian_outcome(uint32_t id)
{
	struct timespec ms100 = { 0, 100 * 1000 * 1000 };
	uint64_t deadline = vmig_now_ms() + VMIG_GUARDIAN_WAIT_MS;
	struct vmig_nl_error e;
	struct vmig_sess s;
	struct vmig_nl nl;
	int state = -1;

	if (vmig_nl_open(&nl))
		return -1;
	while (vmig_now_ms() < deadline) {
		if (vmig_sess_get(&nl, id, &s, &e)) {
			if (e.err == ENOENT)
				state = GUARDIAN_GONE;
			break;
		}
		if (s.state == VMIG_STATE_DONE || s.state == VMIG_STATE_FAILED ||
		    s.state == VMIG_STATE_CANCELLED || s.state == VMIG_STATE_UNKNOWN) {
			state = (int)s.state;
			break;
		}
		nanosleep(&ms100, NULL);
	}
	vmig_nl_close(&nl);
	return state;
}

static void guardian_resume(const char *qmp_path, uint32_t id, const char *how)
{
	uint64_t deadline = vmig_now_ms() + GUARDIAN_QMP_MS;
	struct timespec ms100 = { 0, 100 * 1000 * 1000 };
	char err[512] = "";
	struct qmp *q;

	/* QEMU serves one client: the dead parent's connection goes first. */
	while (!(q = qmp_open(qmp_path, 2000, err, sizeof(err))) && vmig_now_ms() < deadline)
		nanosleep(&ms100, NULL);
	if (!q) {
		glog("the controller died, session %u %s, but QEMU cannot be reached to resume it: %s",
		     id, how, err);
		return;
	}
	if (qmp_cont(q, err, sizeof(err)))
		glog("the controller died, session %u %s; resuming QEMU failed: %s", id, how, err);
	else
		glog("the controller died, session %u %s: resumed the source QEMU (cont)", id, how);
	qmp_close(q);
}

/*
 * The disk's vmig-track table outlived its controller. Once the session has
 * ended (or never began) the tracker passes I/O through to the disk and
 * nobody reads its record: the disk's own table goes back, as vmigctl
 * itself does on every exit. Not while the session may still run: writes
 * past an untracked table would never reach the destination.
 */
static void guardian_restore_disk(const struct guardian_told *g, int state)
{
	char dev[160], err[1280], type[32], src[64];
	unsigned long long start, len, off;
	struct vmig_dm_track t;

	if (state == -1) {
		glog("the controller died; session %u did not end in time, so %s keeps its vmig-track table: once it has ended, dmsetup reload %s --table '%s' && dmsetup resume %s",
		     g->id, g->dm, g->dm, g->table, g->dm);
		return;
	}
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", g->dm);
	/*
	 * Only the table the parent loaded: a recording tracker (no
	 * destination) over the same source. Anything else is someone
	 * else's now (an operator's, a storage move's): not ours to touch.
	 */
	if (sscanf(g->table, "%llu %llu %31s %63s %llu", &start, &len, type, src, &off) != 5 ||
	    vmig_dm_read_track(dev, &t, err, sizeof(err)) != 1 || t.dest[0] ||
	    strcmp(t.src, src) || t.src_off != off || t.len != len) {
		glog("the controller died; %s no longer has the tracking table it loaded: left as it is",
		     g->dm);
		return;
	}
	if (vmig_dm_swap_table(g->dm, g->table, err, sizeof(err)))
		glog("the controller died; restoring %s's own table failed: %s", g->dm, err);
	else
		glog("the controller died; %s has its own table again", g->dm);
}

static void __attribute__((noreturn)) guardian_main(const char *qmp_path)
{
	struct guardian_told g = { .phase = VMIG_GUARDIAN_RUNNING };
	bool resume;
	int state, fd;

	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Nothing of the parent's but the pipe and stderr: its sockets must close with it. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
	}
	syscall(SYS_close_range, GUARDIAN_FD + 1, ~0U, 0);

	if (guardian_listen(&g))
		_exit(0);
	resume = qmp_path && g.id && g.phase == VMIG_GUARDIAN_PAUSED;
	if (!g.dm[0] && !resume) {
		if (qmp_path && g.phase == VMIG_GUARDIAN_STATE_SENT)
			glog("the controller died after QEMU's device state went out: the destination may run the VM; the source QEMU stays paused (outcome unknown)");
		_exit(0);
	}
	/* Its end is awaited so that the cancel the kernel made runs first. */
	state = g.id ? guardian_outcome(g.id) : GUARDIAN_GONE;
	if (g.dm[0])
		guardian_restore_disk(&g, state);
	if (qmp_path && g.phase == VMIG_GUARDIAN_STATE_SENT)
		glog("the controller died after QEMU's device state went out: the destination may run the VM; the source QEMU stays paused (outcome unknown)");
	if (!resume)
		_exit(0);
	/*
	 * QEMU's device state never left: the destination cannot run the VM,
	 * whatever the kernel's session says. Resume in every case.
	 */
	guardian_resume(qmp_path, g.id,
			state == VMIG_STATE_FAILED ? "failed" :
			state == VMIG_STATE_CANCELLED ? "was cancelled" :
			state == VMIG_STATE_DONE ? "delivered the RAM but no device state" :
			state == VMIG_STATE_UNKNOWN ? "lost the end of the RAM, and no device state left" :
			"cannot be read, and no device state left");
	_exit(0);
}

/**
 * vmig_guardian_start() - fork the guardian of a QMP or --disk migration
 * @g: out
 * @qmp_path: the source QEMU's QMP socket, or NULL (no QEMU to resume)
 *
 * Called before anything else is opened, so that the guardian inherits no
 * socket (a netlink or QMP socket it held would outlive the controller).
 *
 * Return: 0, or -1 with errno.
 */
int vmig_guardian_start(struct vmig_guardian *g, const char *qmp_path)
{
	int p[2];

	g->fd = -1;
	g->pid = -1;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	g->pid = fork();
	if (g->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!g->pid) {
		close(p[1]);
		if (dup2(p[0], GUARDIAN_FD) < 0)
			_exit(1);
		guardian_main(qmp_path);
	}
	close(p[0]);
	g->fd = p[1];
	return 0;
}

static void guardian_say(struct vmig_guardian *g, const char *line)
{
	if (g->fd >= 0 && write(g->fd, line, strlen(line)) < 0)
		fprintf(stderr, "vmigctl: guardian: %s\n", strerror(errno));
}

void vmig_guardian_session(struct vmig_guardian *g, uint32_t id)
{
	char line[32];

	snprintf(line, sizeof(line), "id %u\n", id);
	guardian_say(g, line);
}

void vmig_guardian_phase(struct vmig_guardian *g, enum vmig_guardian_phase p)
{
	char line[32];

	snprintf(line, sizeof(line), "phase %d\n", (int)p);
	guardian_say(g, line);
}

/**
 * vmig_guardian_disk() - tell the guardian which vmig-track table is live
 * @g: the guardian
 * @dm: the device-mapper name, or NULL once its own table is back
 * @table: its own table, which the guardian loads again if vmigctl dies
 */
void vmig_guardian_disk(struct vmig_guardian *g, const char *dm, const char *table)
{
	char line[700];

	if (!dm) {
		guardian_say(g, "nodm\n");
		return;
	}
	snprintf(line, sizeof(line), "table %s\ndm %s\n", table, dm);
	guardian_say(g, line);
}

/* vmigctl lived to its end and did its own undoing: the guardian exits. */
void vmig_guardian_disarm(struct vmig_guardian *g)
{
	if (g->fd < 0)
		return;
	guardian_say(g, "disarm\n");
	close(g->fd);
	g->fd = -1;
	waitpid(g->pid, NULL, 0);
}
