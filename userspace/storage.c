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
 * Which of the two tables is right is decided by where the tracker sends
 * the device's I/O (its status: "redirect" once switched over, for good),
 * not by the session's word alone: a lost final event, or a session still
 * running when we give up on it, must not put a switched device back on
 * its source. When neither tells, the vmig-track table stays (it keeps
 * I/O consistent either way) and --tidy, or running the same command
 * again, puts the right table in place later.
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

	bool tidy;		/* --tidy: only put an interrupted move's table right */

	/* the device and its original table */
	struct vmig_dm_linear dm;
	unsigned int to_major, to_minor;
	char to_name[64];	/* "MAJ:MIN" of the destination */
	bool tidying;		/* putting an interrupted move's table right */
	bool tidied_to_source;	/* and that put it back on its source */

	/* the session */
	struct vmig_nl nl, ev;
	struct vmig_follow f;
	uint32_t last_iteration;	/* last pass reported */
	bool tracking;		/* the vmig-track table is loaded */
	uint64_t start_ms;

	/* test-only knobs (storage_kill_test.sh) */
	const char *test_lose;	/* VMIGCTL_TEST_LOSE_FINAL: event or record */
	bool test_old_restore;	/* VMIGCTL_TEST_OLD_RESTORE */
};

/* Where the device's I/O goes, in its tracker's own word. */
enum sm_io {
	SM_IO_UNKNOWN,		/* no tracker of ours, or unreadable */
	SM_IO_SOURCE,		/* passed through to the source */
	SM_IO_DEST,		/* redirected: switched over, for good */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: vmigctl storage-move --dev /dev/mapper/NAME --to /dev/NEWDEV\n"
		"                            [--downtime-ms MS] [--max-iterations N] [--timeout S]\n"
		"                            [--granularity SIZE] [--sync-writes]\n"
		"       vmigctl storage-move --tidy --dev /dev/mapper/NAME\n");
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

/*
 * Test-only (storage_kill_test.sh): with VMIGCTL_TEST_LOSE_FINAL set, the
 * session's final word, event or session-get answer, counts as lost, as
 * if the event socket had overflowed, so that the outcome must be found
 * the way a real loss finds it.
 */
static void sm_test_lose_final(struct smove *m)
{
	if (!m->f.have_final || !m->test_lose)
		return;
	m->f.have_final = false;
	vmig_follow_reason(&m->f, "session %u's final event was lost (VMIGCTL_TEST_LOSE_FINAL)",
			   m->f.id);
}

/*
 * Follow the session to its end. Return with m->f.have_final, or without
 * it when its final word is missing: it ended unseen (m->f.lost), or it
 * did not end within SM_CANCEL_WAIT_MS of our cancel.
 */
static void sm_loop(struct smove *m)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(m->ev.sock), .events = POLLIN };

	for (;;) {
		uint64_t now = vmig_now_ms();
		int ret;

		vmig_follow_drain(&m->f);
		if (m->f.have_final)
			break;
		if (vmig_interrupted) {
			vmig_interrupted = 0;
			sm_cancel(m, "interrupted");
		}
		if (m->timeout_s && now - m->start_ms >= (uint64_t)m->timeout_s * 1000)
			sm_cancel(m, "not done within %u s (--timeout)", m->timeout_s);
		if (now - m->f.last_heard_ms >= SM_PROBE_MS)
			vmig_follow_probe(&m->f);
		if (m->f.have_final)
			break;
		if (m->f.lost)
			return;
		if (m->f.cancel_deadline && now >= m->f.cancel_deadline) {
			/* The kernel stops within one claim: this is a bug. */
			sm_warn("session %u did not end within %u s of its cancel", m->f.id,
				SM_CANCEL_WAIT_MS / 1000);
			return;
		}
		ret = poll(&pfd, 1, SM_TICK_MS);
		if (ret < 0 && errno != EINTR)
			sm_cancel(m, "poll: %s", strerror(errno));
	}
	sm_test_lose_final(m);
}

static void sm_report(struct smove *m, const char *result, const char *where)
{
	const struct vmig_sess *s = &m->f.last;
	uint64_t total = vmig_now_ms() - m->start_ms;
	char size[16], copied[16], dur[16];

	if (m->tidying) {
		/* No session of ours: only where the device ended up. */
		if (vmigctl_json) {
			printf("{\"event\":\"tidy\",\"device\":");
			vmig_json_str(m->dev);
			printf(",\"on\":");
			vmig_json_str(where);
			printf("}\n");
		}
		fflush(stdout);
		return;
	}
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

/*
 * The session's final word is missing: read its record instead (an ended
 * session stays listed until dismissed, or for the kernel's linger time).
 * Return: true when the session is known to have ended: its record says
 * so (m->f.last then holds it), or it is no longer listed, which only
 * happens once its worker is gone.
 */
static bool sm_read_record(struct smove *m)
{
	struct vmig_nl_error e;
	struct vmig_sess s;

	if (m->f.lost)
		return true;
	/* Test-only: the record is as good as lost too. */
	if (m->test_lose && !strcmp(m->test_lose, "record"))
		return false;
	if (vmig_sess_get(&m->nl, m->f.id, &s, &e))
		return e.err == ENOENT;
	if (!VMIG_SESS_HAS(&s, VMIG_A_SESSION_STATE) || !vmig_sess_final(s.state))
		return false;
	vmig_sess_merge(&m->f.last, &s);
	m->f.have_final = true;
	return true;
}

/*
 * Where the device's I/O goes, asked of its tracker: the authority on
 * which table is right, whatever the session said. The table must still
 * be the one this move loaded (a table somebody else loaded meanwhile is
 * nobody's to replace); why says what was found otherwise.
 */
static enum sm_io sm_tracker_io(struct smove *m, char *why, size_t whysz)
{
	struct vmig_dm_track t;
	char err[1024];
	int r;

	r = vmig_dm_read_track(m->dev, &t, err, sizeof(err));
	if (r < 0) {
		snprintf(why, whysz, "its tracker cannot be read: %s", err);
		return SM_IO_UNKNOWN;
	}
	if (!r || strcmp(t.src, m->dm.src) || t.src_off != m->dm.src_off ||
	    t.len != m->dm.len || strcmp(t.dest, m->to_name)) {
		snprintf(why, whysz, "its table is not this move's any more: '%s'", t.table);
		return SM_IO_UNKNOWN;
	}
	if (!strcmp(t.mode, "redirect"))
		return SM_IO_DEST;
	if (!strcmp(t.mode, "record") || !strcmp(t.mode, "mirror"))
		return SM_IO_SOURCE;
	snprintf(why, whysz, "its tracker is in an unknown mode '%s'", t.mode);
	return SM_IO_UNKNOWN;
}

/* The device runs on the destination: make its table plain linear over it. */
static int sm_finish_dest(struct smove *m)
{
	char table[512];

	/* I/O goes to the destination already; this makes it plain. */
	snprintf(table, sizeof(table), "0 %llu linear %s 0", m->dm.len, m->to_name);
	if (sm_swap_table(m, table, "switching the table")) {
		sm_warn("%s runs on %s through vmig-track; make its table plain by hand: dmsetup reload %s --table '%s' && dmsetup resume %s",
			m->dev, m->to, m->dm.name, table, m->dm.name);
		sm_report(m, "done", m->to);
		return VMIGCTL_FAIL;
	}
	if (m->tidying && !vmigctl_json)
		printf("%s runs on %s: an interrupted move had switched it over; its table is now linear over %s\n",
		       m->dev, m->to, m->to);
	sm_report(m, "done", m->to);
	return VMIGCTL_OK;
}

/* The move did not happen: the device gets its original table back. */
static int sm_finish_source(struct smove *m)
{
	const char *what;

	if (m->tidying) {
		if (sm_swap_table(m, m->dm.table, "restoring the table")) {
			sm_warn("%s still runs on its source through vmig-track: restore its table by hand: dmsetup reload %s --table '%s' && dmsetup resume %s",
				m->dev, m->dm.name, m->dm.table, m->dm.name);
			return VMIGCTL_FAIL;
		}
		if (!vmigctl_json)
			printf("%s runs on its source: no move is running on it and its tracker passes I/O through; its table is '%s' again\n",
			       m->dev, m->dm.table);
		m->tidied_to_source = true;
		sm_report(m, "source", "source");
		return VMIGCTL_OK;
	}
	if (m->f.have_final && m->f.last.state == VMIG_STATE_FAILED && !m->f.cancel_sent) {
		m->f.reason[0] = '\0';
		vmig_sess_reason(&m->f.last, m->f.reason, sizeof(m->f.reason));
		/* The kernel's word for a move that does not converge. */
		if (m->f.last.error == -EAGAIN &&
		    !(m->flags & VMIG_STORAGE_FLAGS_SYNC_WRITES))
			snprintf(m->f.reason + strlen(m->f.reason),
				 sizeof(m->f.reason) - strlen(m->f.reason),
				 "; --sync-writes makes it converge");
	} else if (m->f.have_final) {
		vmig_follow_reason(&m->f,
				   "cancelled by another request (vmigctl cancel?)");
	}
	if (m->f.have_final)
		what = m->f.last.state == VMIG_STATE_FAILED ? "failed" : "cancelled";
	else
		what = m->f.cancel_sent ? "cancelled" : "failed";
	if (m->tracking && sm_swap_table(m, m->dm.table, "restoring the table")) {
		sm_warn("move %s: %s; %s still runs on its source through vmig-track: restore its table by hand: dmsetup reload %s --table '%s' && dmsetup resume %s",
			what, m->f.reason, m->dev, m->dm.name, m->dm.table, m->dm.name);
	} else {
		sm_warn("move %s: %s; %s stays on its source", what, m->f.reason, m->dev);
	}
	sm_report(m, what, "source");
	return VMIGCTL_FAIL;
}

/*
 * Neither the session nor the tracker tells where the device must end
 * up: leave the vmig-track table, which sends I/O wherever the move left
 * it, and say how to put the right table in place later.
 */
static int sm_unknown(struct smove *m, const char *why)
{
	vmig_follow_reason(&m->f, "%s", why);
	sm_warn("the outcome of session %u is unknown: %s; %s keeps its vmig-track table, which keeps its data consistent whichever way the move went; put the right table in place with: vmigctl storage-move --tidy --dev %s (it waits for the session to end)",
		m->f.id, why, m->dev, m->dev);
	sm_report(m, "unknown", "vmig-track");
	return VMIGCTL_UNKNOWN;
}

/* The session ended, or we gave up on it: put the device's table right. */
static int sm_final(struct smove *m)
{
	bool ended = m->f.have_final;
	struct vmig_nl_error e;
	enum sm_io io;
	char why[1280] = "";
	int ret;

	if (!ended)
		ended = sm_read_record(m);
	/*
	 * Without the tracking table live, I/O never left the source. The
	 * kernel reports done only once the tracker redirects, which it never
	 * undoes: no need to ask (and no dmsetup runs to lengthen the time
	 * the device runs on vmig-track after the switch).
	 */
	if (!m->tracking)
		io = SM_IO_SOURCE;
	else if (m->f.have_final && m->f.last.state == VMIG_STATE_DONE)
		io = SM_IO_DEST;
	else
		io = sm_tracker_io(m, why, sizeof(why));
	vmig_test_hold("storage-move-final");

	if (!m->f.have_final && m->test_old_restore) {
		/*
		 * Test-only: what vmigctl did before issue #10 (a missing
		 * final word taken for a failure, the source table loaded
		 * unasked), so that the tests show they catch it.
		 */
		io = SM_IO_SOURCE;
		ended = true;
	}

	if (io == SM_IO_DEST) {
		if (!m->f.have_final)
			sm_warn("%s; its tracker redirects the device's I/O to %s: the move was done",
				m->f.reason[0] ? m->f.reason : "the session's outcome was not heard",
				m->to);
		else if (m->f.last.state != VMIG_STATE_DONE)
			sm_warn("session %u ended %s, but its tracker redirects the device's I/O to %s: the device stays there",
				m->f.id, vmigctl_state_name(m->f.last.state), m->to);
		ret = sm_finish_dest(m);
	} else if (io == SM_IO_SOURCE && (ended || !m->tracking) &&
		   !(m->f.have_final && m->f.last.state == VMIG_STATE_DONE)) {
		ret = sm_finish_source(m);
	} else {
		if (!why[0])
			snprintf(why, sizeof(why), m->f.have_final ?
				 "the session says done but its tracker still passes I/O through to the source" :
				 "its tracker passes I/O through to the source but the session may still switch it over");
		return sm_unknown(m, why);
	}
	vmig_test_hold("storage-move-reloaded");
	/* Acted on: unlist the session now, not after its linger. Not before. */
	vmig_sess_dismiss(&m->nl, m->f.id, &e);
	return ret;
}

static void sm_ignore(const struct vmig_sess *s __attribute__((unused)),
		      void *data __attribute__((unused)))
{
}

/* What session dumps tell about sessions that may be moving the device. */
struct sm_busy {
	uint64_t bytes;		/* the device's size */
	uint32_t ids[8];
	unsigned int n;
};

static int sm_busy_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sm_busy *b = data;
	struct vmig_sess s;

	vmig_sess_parse(nlh, &s);
	if (!VMIG_SESS_HAS(&s, VMIG_A_SESSION_ROLE) || s.role != VMIG_ROLE_STORAGE ||
	    vmig_sess_final(s.state))
		return MNL_CB_OK;
	/* A session reports its device's size from its first pass on. */
	if (s.ram_bytes && s.ram_bytes != b->bytes)
		return MNL_CB_OK;
	if (b->n < ARRAY_SIZE(b->ids))
		b->ids[b->n++] = s.id;
	return MNL_CB_OK;
}

/*
 * Put an interrupted move's table right: the device has the vmig-track
 * table of a local move (t) and no vmigctl follows it any more. A tracker
 * that redirects has switched over for good: linear over the destination.
 * One that passes I/O through may still switch while a storage session
 * runs that could be moving the device (sessions do not say which device
 * they move: any running storage session of the device's size counts),
 * so wait for those to end first; then the source's table goes back.
 * Sessions are read before the tracker: once none runs, its mode cannot
 * change any more.
 */
static int sm_tidy(struct smove *m, const struct vmig_dm_track *t)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(m->ev.sock), .events = POLLIN };
	struct vmig_dm_track now;
	char err[1024];
	bool said = false;

	m->tidying = true;
	snprintf(m->dm.name, sizeof(m->dm.name), "%s", t->name);
	m->dm.len = t->len;
	snprintf(m->dm.src, sizeof(m->dm.src), "%s", t->src);
	m->dm.src_off = t->src_off;
	snprintf(m->dm.table, sizeof(m->dm.table), "0 %llu linear %s %llu", t->len, t->src,
		 t->src_off);
	snprintf(m->to_name, sizeof(m->to_name), "%s", t->dest);
	if (!m->to)
		m->to = m->to_name;

	for (;;) {
		struct sm_busy b = { .bytes = (uint64_t)t->len << 9 };
		struct nlmsghdr *req = vmig_nl_msg(&m->nl, VMIG_CMD_SESSION_GET, NLM_F_DUMP);
		struct vmig_nl_error e;
		unsigned int i;
		int r;

		if (vmig_nl_talk(&m->nl, req, sm_busy_cb, &b, &e)) {
			vmig_nl_perror("storage-move: listing sessions", &e);
			sm_warn("%s keeps its vmig-track table: try --tidy again", m->dev);
			return VMIGCTL_UNKNOWN;
		}
		r = vmig_dm_read_track(m->dev, &now, err, sizeof(err));
		if (r < 0) {
			sm_warn("%s; its table is left as it is", err);
			return VMIGCTL_UNKNOWN;
		}
		if (!r || strcmp(now.table, t->table)) {
			sm_warn("the table of %s changed to '%s' meanwhile; nothing was changed",
				m->dm.name, now.table);
			return VMIGCTL_FAIL;
		}
		if (!strcmp(now.mode, "redirect"))
			return sm_finish_dest(m);
		if (strcmp(now.mode, "record") && strcmp(now.mode, "mirror")) {
			sm_warn("the tracker of %s is in an unknown mode '%s'; its table is left as it is",
				m->dev, now.mode);
			return VMIGCTL_UNKNOWN;
		}
		if (!b.n)
			return sm_finish_source(m);
		if (!said) {
			fprintf(stderr, "vmigctl: storage-move: %s: waiting for storage session",
				m->dev);
			for (i = 0; i < b.n; i++)
				fprintf(stderr, "%s %u", i ? "," : "", b.ids[i]);
			fprintf(stderr, " to end: it may be moving %s (vmigctl cancel ID stops one)\n",
				m->dev);
			said = true;
		}
		if (vmig_interrupted) {
			sm_warn("interrupted: %s keeps its vmig-track table; run --tidy again", m->dev);
			return VMIGCTL_UNKNOWN;
		}
		/* Any session's event may be the end we wait for. */
		if (poll(&pfd, 1, SM_TICK_MS) > 0)
			vmig_events_drain(&m->ev, 0, sm_ignore, NULL);
	}
}

static int sm_parse(struct smove *m, int argc, char **argv)
{
	enum { O_DOWNTIME = 256, O_ITER, O_TIMEOUT, O_GRAN, O_SYNCW, O_TIDY };
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "to", required_argument, NULL, 't' },
		{ "downtime-ms", required_argument, NULL, O_DOWNTIME },
		{ "max-iterations", required_argument, NULL, O_ITER },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "granularity", required_argument, NULL, O_GRAN },
		{ "sync-writes", no_argument, NULL, O_SYNCW },
		{ "tidy", no_argument, NULL, O_TIDY },
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
		case O_TIDY:
			m->tidy = true;
			break;
		default:
			return vmig_opt_usage("storage-move", c, argv, usage);
		}
		if (bad) {
			fprintf(stderr, "vmigctl: storage-move: %s\n", bad);
			return VMIGCTL_USAGE;
		}
	}
	if (optind != argc || !m->dev || (!m->to && !m->tidy)) {
		if (optind != argc)
			fprintf(stderr, "vmigctl: storage-move: unexpected '%s'\n",
				argv[optind]);
		else if (m->tidy)
			fprintf(stderr, "vmigctl: storage-move: --tidy wants --dev\n");
		else
			fprintf(stderr, "vmigctl: storage-move: --dev and --to are required\n");
		usage();
		return VMIGCTL_USAGE;
	}
	return VMIGCTL_OK;
}

/*
 * The device has a vmig-track table: a move whose vmigctl was killed, or
 * one left with an unknown outcome. Put its table right (--tidy, or the
 * same storage-move run again). Return: an exit status, or -1 when the
 * device is back on its source and a re-run should move it again.
 */
static int sm_tidy_main(struct smove *m)
{
	struct vmig_dm_track t;
	char err[1024];
	int r;

	r = vmig_dm_read_track(m->dev, &t, err, sizeof(err));
	if (r < 0) {
		sm_warn("%s", err);
		return VMIGCTL_FAIL;
	}
	if (!r) {
		if (!m->tidy)
			return -1;
		printf("%s has no vmig-track table ('%s'): nothing to tidy\n", m->dev, t.table);
		return VMIGCTL_OK;
	}
	if (!t.dest[0]) {
		sm_warn("%s has the vmig-track table of a migration (migrate --disk), not of a move: once vmigctl show lists no migration of it, restore its table: dmsetup reload %s --table '0 %llu linear %s %llu' && dmsetup resume %s",
			m->dev, t.name, t.len, t.src, t.src_off, t.name);
		return VMIGCTL_FAIL;
	}
	if (m->to && strcmp(t.dest, m->to_name)) {
		sm_warn("%s is in the middle of a move to %s, not to %s (%s): put its table right first with: vmigctl storage-move --tidy --dev %s",
			m->dev, t.dest, m->to, m->to_name, m->dev);
		return VMIGCTL_FAIL;
	}
	r = sm_tidy(m, &t);
	if (r == VMIGCTL_OK && m->tidied_to_source && !m->tidy) {
		printf("moving %s again\n", m->dev);
		fflush(stdout);
		return -1;
	}
	return r;
}

int storage_move_main(int argc, char **argv)
{
	char table[512], err[1024];
	const char *knob;
	struct smove m;
	struct stat st;
	int ret;

	memset(&m, 0, sizeof(m));
	ret = sm_parse(&m, argc, argv);
	if (ret)
		return ret;
	knob = vmig_test_knobs() ? getenv("VMIGCTL_TEST_LOSE_FINAL") : NULL;
	if (knob && (!strcmp(knob, "event") || !strcmp(knob, "record")))
		m.test_lose = knob;
	knob = vmig_test_knobs() ? getenv("VMIGCTL_TEST_OLD_RESTORE") : NULL;
	m.test_old_restore = knob && !strcmp(knob, "1");

	/* The kernel checks the destination; its number is for the tables. */
	if (m.to && !stat(m.to, &st) && S_ISBLK(st.st_mode)) {
		m.to_major = major(st.st_rdev);
		m.to_minor = minor(st.st_rdev);
	}
	snprintf(m.to_name, sizeof(m.to_name), "%u:%u", m.to_major, m.to_minor);

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

	ret = sm_tidy_main(&m);
	if (ret >= 0)
		goto out;
	m.tidying = false;
	m.tidied_to_source = false;
	ret = VMIGCTL_FAIL;
	if (vmig_dm_check_owner(m.dev, err, sizeof(err)) ||
	    vmig_dm_read_linear(m.dev, &m.dm, err, sizeof(err))) {
		sm_warn("%s", err);
		goto out;
	}
	/* Run again after it was done (a killed vmigctl's move, say). */
	if (!strcmp(m.dm.src, m.to_name) && !m.dm.src_off) {
		printf("%s runs on %s already: nothing to move\n", m.dev, m.to);
		ret = VMIGCTL_OK;
		goto out;
	}

	m.start_ms = vmig_now_ms();
	m.f = (struct vmig_follow){ .nl = &m.nl, .ev = &m.ev, .on_update = sm_on_update,
				    .data = &m, .last_heard_ms = m.start_ms };
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

	vmig_dm_track_table(table, sizeof(table), &m.dm, m.granularity, m.to_name);
	if (sm_swap_table(&m, table, "loading the tracking table")) {
		sm_cancel(&m, "the tracking table could not be loaded");
		sm_loop(&m);
		ret = sm_final(&m);
		goto out;
	}
	m.tracking = true;
	vmig_test_hold("storage-move-tracking");
	sm_loop(&m);
	ret = sm_final(&m);
out:
	vmig_nl_close(&m.ev);
	vmig_nl_close(&m.nl);
	return ret;
}
