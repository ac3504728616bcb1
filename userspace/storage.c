// SPDX-License-Identifier: GPL-2.0
/*
 * vmigctl storage-move: move a live device-mapper device (a VM's disk) to
 * another block device while it is in use, as LVM's pvmove does.
 *
 * vmig.ko tracks writes and copies (the vmig-track target and a storage
 * session); this command checks, swaps the device's tables with dmsetup
 * (dmtable.c), and follows the session's events:
 *
 *   1. storage-move-start: the kernel checks the destination and refuses
 *      with a reason before anything changes;
 *   2. dmsetup reload + resume: "vmig-track SRC OFF REGION DEST" replaces
 *      the device's single linear table; the kernel starts copying;
 *   3. done: the kernel has switched the device's I/O to DEST; the table
 *      becomes "linear DEST 0";
 *      failed or cancelled: the original table is loaded again.
 *
 * Documentation/storage.rst describes the protocol and its failure modes.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dmtable.h"
#include "nl.h"
#include "session.h"
#include "util.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

#define SM_TICK_MS		1000
#define SM_PROBE_MS		5000	/* silence before asking session-get */
#define SM_CANCEL_WAIT_MS	10000	/* session-del to its final event */
#define SM_DEF_GRANULARITY	(64 * 1024)
#define SM_DEF_DOWNTIME_MS	500
#define SM_DEF_MAX_ITERATIONS	30

struct smove {
	/* options */
	const char *dev;
	const char *to;
	uint64_t granularity;
	uint32_t downtime_ms;
	uint32_t max_iterations;
	uint32_t timeout_s;
	uint32_t flags;

	/* the device and its original table */
	struct vmig_dm_linear dm;
	unsigned int to_major, to_minor;

	/* the session */
	struct vmig_nl nl, ev;
	struct vmig_follow f;
	uint32_t last_iteration;	/* last pass reported */
	bool tracking;		/* the vmig-track table is loaded */
	uint64_t start_ms;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: vmigctl storage-move --dev /dev/mapper/NAME --to /dev/NEWDEV\n"
		"                            [--downtime-ms MS] [--max-iterations N] [--timeout S]\n"
		"                            [--granularity SIZE] [--sync-writes]\n");
}

static void sm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sm_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vmigctl: storage-move: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Load table into the device and make it live. Return: 0 or -1 (warned). */
static int sm_swap_table(struct smove *m, const char *table, const char *what)
{
	char err[1280];

	if (vmig_dm_swap_table(m->dm.name, table, err, sizeof(err))) {
		sm_warn("%s: %s", what, err);
		return -1;
	}
	return 0;
}

static int sm_start(struct smove *m)
{
	struct nlmsghdr *req = vmig_nl_msg(&m->nl, VMIG_CMD_STORAGE_MOVE_START, 0);

	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEV, m->dev);
	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEST, m->to);
	mnl_attr_put_u32(req, VMIG_A_SESSION_GRANULARITY, (uint32_t)m->granularity);
	mnl_attr_put_u32(req, VMIG_A_SESSION_DOWNTIME_MS, m->downtime_ms);
	mnl_attr_put_u32(req, VMIG_A_SESSION_MAX_ITERATIONS, m->max_iterations);
	mnl_attr_put_u32(req, VMIG_A_SESSION_STORAGE_FLAGS, m->flags);
	return vmig_sess_start(&m->nl, req, "storage-move", &m->f.id);
}

static void sm_cancel(struct smove *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sm_cancel(struct smove *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmig_follow_vreason(&m->f, fmt, ap);
	va_end(ap);
	vmig_follow_cancel(&m->f, SM_CANCEL_WAIT_MS);
}

static void sm_progress(struct smove *m)
{
	const struct vmig_sess *s = &m->f.last;
	char copied[16], rem[16], dirty[16], bw[16];

	if (vmigctl_json) {
		printf("{\"event\":\"pass\",\"id\":%u", m->f.id);
		vmig_sess_json(s);
		printf("}\n");
	} else {
		printf("pass %u copied %s remaining %s dirty %s/s copy %s/s\n",
		       s->iteration, vmig_fmt_short(copied, sizeof(copied), s->sent_bytes),
		       vmig_fmt_short(rem, sizeof(rem), s->dirty_pages * 4096),
		       vmig_fmt_short(dirty, sizeof(dirty), s->dirty_rate),
		       vmig_fmt_short(bw, sizeof(bw), s->bandwidth));
	}
	fflush(stdout);
}

static void sm_on_update(const struct vmig_sess *s __attribute__((unused)), void *data)
{
	struct smove *m = data;

	if (!m->f.have_final && m->f.last.iteration > m->last_iteration) {
		m->last_iteration = m->f.last.iteration;
		sm_progress(m);
	}
}

/* Follow the session to its end. */
static void sm_loop(struct smove *m)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(m->ev.sock), .events = POLLIN };

	for (;;) {
		uint64_t now = vmig_now_ms();
		int ret;

		vmig_follow_drain(&m->f);
		if (m->f.have_final)
			return;
		if (vmig_interrupted) {
			vmig_interrupted = 0;
			sm_cancel(m, "interrupted");
		}
		if (m->timeout_s && now - m->start_ms >= (uint64_t)m->timeout_s * 1000)
			sm_cancel(m, "not done within %u s (--timeout)", m->timeout_s);
		if (now - m->f.last_heard_ms >= SM_PROBE_MS)
			vmig_follow_probe(&m->f);
		if (m->f.have_final)
			return;
		if (m->f.lost ||
		    (m->f.cancel_deadline && now >= m->f.cancel_deadline)) {
			/* The kernel stops within one claim: this is a bug. */
			if (!m->f.lost)
				sm_warn("session %u did not end after cancel", m->f.id);
			m->f.last.state = VMIG_STATE_FAILED;
			m->f.have_final = true;
			return;
		}
		ret = poll(&pfd, 1, SM_TICK_MS);
		if (ret < 0 && errno != EINTR)
			sm_cancel(m, "poll: %s", strerror(errno));
	}
}

static void sm_report(struct smove *m, const char *result, const char *where)
{
	const struct vmig_sess *s = &m->f.last;
	uint64_t total = vmig_now_ms() - m->start_ms;
	char size[16], copied[16], dur[16];

	if (vmigctl_json) {
		printf("{\"event\":\"report\",\"id\":%u,\"result\":\"%s\",\"device\":",
		       m->f.id, result);
		vmig_json_str(m->dev);
		printf(",\"on\":");
		vmig_json_str(where);
		if (strcmp(result, "done")) {
			printf(",\"reason\":");
			vmig_json_str(m->f.reason);
		}
		printf(",\"total_ms\":%llu,\"passes\":%u,\"bytes\":%llu,\"copied_bytes\":%llu",
		       (unsigned long long)total, s->iteration,
		       (unsigned long long)s->ram_bytes,
		       (unsigned long long)s->sent_bytes);
		if (!strcmp(result, "done"))
			printf(",\"downtime_us\":%llu", (unsigned long long)s->downtime_us);
		printf("}\n");
	} else if (!strcmp(result, "done")) {
		printf("moved %s (%s) to %s in %s: %u passes, copied %s, downtime %.1f ms\n",
		       m->dev, vmig_fmt_short(size, sizeof(size), s->ram_bytes), m->to,
		       vmig_fmt_duration(dur, sizeof(dur), total), s->iteration,
		       vmig_fmt_short(copied, sizeof(copied), s->sent_bytes),
		       s->downtime_us / 1000.0);
	}
	fflush(stdout);
}

/* The session ended: put the device's table right. */
static int sm_final(struct smove *m)
{
	struct vmig_nl_error e;
	char table[512];

	/* The outcome is read: unlist the session now, not after its linger. */
	vmig_sess_dismiss(&m->nl, m->f.id, &e);

	if (m->f.last.state == VMIG_STATE_DONE) {
		/* I/O goes to the destination already; this makes it plain. */
		snprintf(table, sizeof(table), "0 %llu linear %u:%u 0", m->dm.len,
			 m->to_major, m->to_minor);
		if (sm_swap_table(m, table, "switching the table")) {
			sm_warn("%s runs on %s through vmig-track; make its table plain by hand: dmsetup reload %s --table '%s' && dmsetup resume %s",
				m->dev, m->to, m->dm.name, table, m->dm.name);
			sm_report(m, "done", m->to);
			return VMIGCTL_FAIL;
		}
		sm_report(m, "done", m->to);
		return VMIGCTL_OK;
	}

	if (m->f.last.state == VMIG_STATE_FAILED && !m->f.cancel_sent) {
		vmig_sess_reason(&m->f.last, m->f.reason, sizeof(m->f.reason));
		/* The kernel's word for a move that does not converge. */
		if (m->f.last.error == -EAGAIN &&
		    !(m->flags & VMIG_STORAGE_FLAGS_SYNC_WRITES))
			snprintf(m->f.reason + strlen(m->f.reason),
				 sizeof(m->f.reason) - strlen(m->f.reason),
				 "; --sync-writes makes it converge");
	} else {
		vmig_follow_reason(&m->f,
				   "cancelled by another request (vmigctl cancel?)");
	}
	if (m->tracking && sm_swap_table(m, m->dm.table, "restoring the table")) {
		sm_warn("move %s: %s; %s still runs on its source through vmig-track: restore its table by hand: dmsetup reload %s --table '%s' && dmsetup resume %s",
			m->f.last.state == VMIG_STATE_FAILED ? "failed" : "cancelled",
			m->f.reason, m->dev, m->dm.name, m->dm.table, m->dm.name);
	} else {
		sm_warn("move %s: %s; %s stays on its source",
			m->f.last.state == VMIG_STATE_FAILED ? "failed" : "cancelled",
			m->f.reason, m->dev);
	}
	sm_report(m, m->f.last.state == VMIG_STATE_FAILED ? "failed" : "cancelled",
		  "source");
	return VMIGCTL_FAIL;
}

static int sm_parse(struct smove *m, int argc, char **argv)
{
	enum { O_DOWNTIME = 256, O_ITER, O_TIMEOUT, O_GRAN, O_SYNCW };
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "to", required_argument, NULL, 't' },
		{ "downtime-ms", required_argument, NULL, O_DOWNTIME },
		{ "max-iterations", required_argument, NULL, O_ITER },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "granularity", required_argument, NULL, O_GRAN },
		{ "sync-writes", no_argument, NULL, O_SYNCW },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	m->granularity = SM_DEF_GRANULARITY;
	m->downtime_ms = SM_DEF_DOWNTIME_MS;
	m->max_iterations = SM_DEF_MAX_ITERATIONS;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (c) {
		case 'd':
			m->dev = optarg;
			break;
		case 't':
			m->to = optarg;
			break;
		case O_DOWNTIME:
			if (vmig_parse_u32(optarg, &m->downtime_ms) ||
			    !m->downtime_ms || m->downtime_ms > 30000)
				bad = "--downtime-ms wants 1 to 30000 milliseconds";
			break;
		case O_ITER:
			if (vmig_parse_u32(optarg, &m->max_iterations) ||
			    !m->max_iterations || m->max_iterations > 10000)
				bad = "--max-iterations wants 1 to 10000 passes";
			break;
		case O_TIMEOUT:
			if (vmig_parse_u32(optarg, &m->timeout_s) || !m->timeout_s)
				bad = "--timeout wants seconds, at least 1";
			break;
		case O_GRAN:
			if (vmig_dm_parse_region(optarg, &m->granularity))
				bad = "--granularity wants a power of two from 4k to 1G";
			break;
		case O_SYNCW:
			m->flags |= VMIG_STORAGE_FLAGS_SYNC_WRITES;
			break;
		default:
			return vmig_opt_usage("storage-move", c, argv, usage);
		}
		if (bad) {
			fprintf(stderr, "vmigctl: storage-move: %s\n", bad);
			return VMIGCTL_USAGE;
		}
	}
	if (optind != argc || !m->dev || !m->to) {
		if (optind != argc)
			fprintf(stderr, "vmigctl: storage-move: unexpected '%s'\n",
				argv[optind]);
		else
			fprintf(stderr, "vmigctl: storage-move: --dev and --to are required\n");
		usage();
		return VMIGCTL_USAGE;
	}
	return VMIGCTL_OK;
}

int storage_move_main(int argc, char **argv)
{
	char table[512], err[1024], to[32];
	struct smove m;
	struct stat st;
	int ret;

	memset(&m, 0, sizeof(m));
	ret = sm_parse(&m, argc, argv);
	if (ret)
		return ret;
	if (vmig_dm_check_owner(m.dev, err, sizeof(err)) ||
	    vmig_dm_read_linear(m.dev, &m.dm, err, sizeof(err))) {
		sm_warn("%s", err);
		return VMIGCTL_FAIL;
	}
	/* The kernel checks the destination; its number is for the tables. */
	if (!stat(m.to, &st) && S_ISBLK(st.st_mode)) {
		m.to_major = major(st.st_rdev);
		m.to_minor = minor(st.st_rdev);
	}

	ret = vmig_nl_open(&m.nl);
	if (!ret)
		ret = vmig_events_open(&m.ev);
	if (ret) {
		fprintf(stderr, "vmigctl: vmig family: %s%s\n", strerror(ret),
			ret == ENOENT ? " (is vmig.ko loaded?)" : "");
		vmig_nl_close(&m.nl);
		return VMIGCTL_FAIL;
	}
	vmig_signals_install();
	m.start_ms = vmig_now_ms();
	m.f = (struct vmig_follow){ .nl = &m.nl, .ev = &m.ev, .on_update = sm_on_update,
				    .data = &m, .last_heard_ms = m.start_ms };
	ret = VMIGCTL_FAIL;
	if (sm_start(&m))
		goto out;
	if (vmigctl_json) {
		printf("{\"event\":\"start\",\"id\":%u,\"device\":", m.f.id);
		vmig_json_str(m.dev);
		printf(",\"to\":");
		vmig_json_str(m.to);
		printf("}\n");
	} else {
		printf("session %u: moving %s (%s) to %s\n", m.f.id, m.dev, m.dm.name, m.to);
	}
	fflush(stdout);

	snprintf(to, sizeof(to), "%u:%u", m.to_major, m.to_minor);
	vmig_dm_track_table(table, sizeof(table), &m.dm, m.granularity, to);
	if (sm_swap_table(&m, table, "loading the tracking table")) {
		sm_cancel(&m, "the tracking table could not be loaded");
		sm_loop(&m);
		ret = sm_final(&m);
		goto out;
	}
	m.tracking = true;
	sm_loop(&m);
	ret = sm_final(&m);
out:
	vmig_nl_close(&m.ev);
	vmig_nl_close(&m.nl);
	return ret;
}
