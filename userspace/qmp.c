// SPDX-License-Identifier: GPL-2.0
/*
 * QMP over a unix socket (qmp.h states the contract).
 *
 * Framing: QEMU ends each message with "\r\n" and, unless the monitor was
 * started with pretty=on, writes none inside one; a pretty monitor spreads
 * one object over many lines. So messages are cut at the brace that closes
 * the top-level object (strings and escapes tracked), which works for
 * both, for several messages in one read and for one message over many.
 * The scan resumes where the last read ended: a large reply (qom-list,
 * query-qmp-schema: ~200 KiB) is scanned once, not once per read.
 *
 * Replies are matched by the "id" we send: a reply that comes after its
 * request timed out is dropped, never taken for the next request's.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qmp.h"
#include "util.h"

#define QMP_BUF_MIN	8192
#define QMP_BUF_MAX	(64u << 20)	/* no reply of a sane QEMU is this big */
#define QMP_POLL_MS	500		/* query-migrate between MIGRATION events */

struct qmp {
	int fd;
	pid_t pid;			/* SO_PEERCRED at connect: QEMU */
	int major, minor, micro;
	int timeout_ms;			/* for the convenience calls */
	json_int_t next_id;
	json_t *events;			/* array, oldest first */
	bool broken;			/* a request went out in part */

	/* Bytes read: [off, len) unconsumed; [off, scan) scanned already. */
	char *buf;
	size_t off, scan, len, cap;
	int depth;			/* of {} and [] at scan */
	bool in_str, esc;
};

/* The err/errlen convention of qmp.h, for its users too. */
void qmp_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int ms_left(uint64_t deadline)
{
	uint64_t now = vmig_now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/*
 * Cut the next complete message out of the buffer. Return: 1 with *msg (a
 * new reference), 0 when more bytes are needed, -EPROTO on bytes that are
 * not a JSON object (an HMP monitor's banner, garbage).
 */
static int frame_next(struct qmp *q, json_t **msg)
{
	json_error_t jerr;

	while (q->scan < q->len) {
		char c = q->buf[q->scan++];

		if (q->in_str) {
			if (q->esc)
				q->esc = false;
			else if (c == '\\')
				q->esc = true;
			else if (c == '"')
				q->in_str = false;
			continue;
		}
		if (!q->depth) {
			if (isspace((unsigned char)c)) {
				q->off = q->scan;
				continue;
			}
			if (c != '{')
				return -EPROTO;
		}
		if (c == '"') {
			q->in_str = true;
		} else if (c == '{' || c == '[') {
			q->depth++;
		} else if ((c == '}' || c == ']') && !--q->depth) {
			*msg = json_loadb(q->buf + q->off, q->scan - q->off, 0, &jerr);
			q->off = q->scan;
			return *msg ? 1 : -EPROTO;
		}
	}
	return 0;
}

/* Room for one more read: consumed bytes dropped, the buffer grown. */
static int buf_make_room(struct qmp *q)
{
	size_t cap;
	char *b;

	if (q->off) {
		memmove(q->buf, q->buf + q->off, q->len - q->off);
		q->len -= q->off;
		q->scan -= q->off;
		q->off = 0;
	}
	if (q->len < q->cap)
		return 0;
	cap = q->cap ? q->cap * 2 : QMP_BUF_MIN;
	if (cap > QMP_BUF_MAX)
		return -EPROTO;
	b = realloc(q->buf, cap);
	if (!b)
		return -ENOMEM;
	q->buf = b;
	q->cap = cap;
	return 0;
}

/*
 * Wait until deadline for bytes and append what is there. Return: bytes
 * read (> 0), -ETIMEDOUT, -ECONNRESET when QEMU closed its end, -EINTR on
 * a signal (the caller checks its flag), -errno.
 */
static int read_some(struct qmp *q, uint64_t deadline)
{
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	ssize_t n;
	int ret;

	ret = buf_make_room(q);
	if (ret)
		return ret;
	ret = poll(&pfd, 1, ms_left(deadline));
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIMEDOUT;
	n = recv(q->fd, q->buf + q->len, q->cap - q->len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN)
			return read_some(q, deadline);
		return errno == ECONNRESET ? -ECONNRESET : -errno;
	}
	if (!n)
		return -ECONNRESET;
	q->len += (size_t)n;
	return (int)n;
}

/* The next message, buffered or read before deadline. */
static int recv_msg(struct qmp *q, uint64_t deadline, json_t **msg)
{
	int ret;

	for (;;) {
		ret = frame_next(q, msg);
		if (ret)
			return ret < 0 ? ret : 0;
		ret = read_some(q, deadline);
		if (ret < 0)
			return ret;
	}
}

static bool is_event(json_t *msg)
{
	return json_is_string(json_object_get(msg, "event"));
}

/* Queue an event; a queue nobody empties keeps the newest QMP_EVENTS_MAX. */
static void event_queue(struct qmp *q, json_t *msg)
{
	if (json_array_size(q->events) >= QMP_EVENTS_MAX)
		json_array_remove(q->events, 0);
	json_array_append_new(q->events, msg);
}

/* Queue every event already buffered; replies nobody waits for are stale. */
static int drain_buffered(struct qmp *q)
{
	json_t *msg;
	int ret;

	while ((ret = frame_next(q, &msg)) > 0) {
		if (is_event(msg))
			event_queue(q, msg);
		else
			json_decref(msg);
	}
	return ret;
}

static void attach_fd(struct msghdr *mh, char *cbuf, size_t len, int fd)
{
	struct cmsghdr *cm;

	memset(cbuf, 0, len);
	mh->msg_control = cbuf;
	mh->msg_controllen = len;
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
}

/*
 * Send all of buf before deadline; fd >= 0 rides on the first byte
 * (SCM_RIGHTS). QEMU takes an fd it receives as the monitor's pending fd,
 * which the command in the same request (getfd, add-fd) consumes.
 */
static int send_all(struct qmp *q, const char *buf, size_t len, int fd,
		    uint64_t deadline)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	while (len) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (fd >= 0)
			attach_fd(&mh, cbuf, sizeof(cbuf), fd);
		n = sendmsg(q->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) {
			n = poll(&pfd, 1, ms_left(deadline));
			if (n < 0)
				return -errno;
			if (!n)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return errno == EPIPE || errno == ECONNRESET ?
				-ECONNRESET : -errno;
		fd = -1;
		buf += n;
		len -= (size_t)n;
		/* Until the rest goes, QEMU's parser holds half a request. */
		q->broken = len;
	}
	return 0;
}

/* A reply to request id: its own id, or none (QEMU could not parse it). */
static bool is_reply_to(json_t *msg, json_int_t id)
{
	json_t *rid = json_object_get(msg, "id");

	return !rid || (json_is_integer(rid) && json_integer_value(rid) == id);
}

static int reply_result(json_t *reply, const char *cmd, json_t **ret,
			char *err, size_t errlen)
{
	json_t *e = json_object_get(reply, "error");

	if (e) {
		const char *desc = json_string_value(json_object_get(e, "desc"));

		qmp_errf(err, errlen, "%s: %s", cmd, desc ? desc : "QEMU refused it");
		return -EREMOTEIO;
	}
	if (ret) {
		*ret = json_object_get(reply, "return");
		if (!*ret) {
			qmp_errf(err, errlen, "%s: QEMU's reply has no \"return\"", cmd);
			return -EPROTO;
		}
		json_incref(*ret);
	}
	return 0;
}

static void io_error(int ret, const char *cmd, int timeout_ms, char *err,
		     size_t errlen)
{
	if (ret == -ETIMEDOUT)
		qmp_errf(err, errlen, "%s: QEMU did not answer within %d ms", cmd,
			 timeout_ms);
	else if (ret == -ECONNRESET)
		qmp_errf(err, errlen, "%s: QEMU closed its QMP socket (did it exit?)",
			 cmd);
	else if (ret == -EPROTO)
		qmp_errf(err, errlen, "%s: QEMU sent something that is not QMP", cmd);
	else
		qmp_errf(err, errlen, "%s: %s", cmd, strerror(-ret));
}

/* The request as one line of JSON, "\n" included; args stolen. NULL: ENOMEM. */
static char *request_dump(const char *cmd, json_t *args, json_int_t id)
{
	json_t *req = json_pack("{s:s, s:I, s:o*}", "execute", cmd, "id", id,
				"arguments", args);
	char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	char *line = NULL;

	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	free(s);
	json_decref(req);
	return line;
}

/**
 * qmp_exec_fd() - run one command, an fd attached
 * @args: "arguments", stolen (even on failure); NULL for none
 * @ret: a new reference to "return", or NULL when not wanted
 * @fd: passed by SCM_RIGHTS with the request; -1 for none
 *
 * Return: 0, -EREMOTEIO (err: "CMD: QEMU's desc"), -ETIMEDOUT,
 * -ECONNRESET, -EPROTO, -EINTR, -errno.
 */
int qmp_exec_fd(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
		int timeout_ms, char *err, size_t errlen, int fd)
{
	uint64_t deadline = vmig_now_ms() + (uint64_t)timeout_ms;
	json_int_t id = q->next_id++;
	json_t *msg = NULL;
	char *req;
	int r;

	if (ret)
		*ret = NULL;
	if (q->broken) {
		json_decref(args);
		qmp_errf(err, errlen, "%s: the QMP connection lost step when an earlier request was cut short; reconnect",
			 cmd);
		return -EPIPE;
	}
	req = request_dump(cmd, args, id);
	if (!req) {
		qmp_errf(err, errlen, "%s: %s", cmd, strerror(ENOMEM));
		return -ENOMEM;
	}
	r = send_all(q, req, strlen(req), fd, deadline);
	free(req);
	while (!r) {
		r = recv_msg(q, deadline, &msg);
		if (r)
			break;
		if (is_event(msg)) {
			event_queue(q, msg);
			continue;
		}
		if (is_reply_to(msg, id)) {
			r = reply_result(msg, cmd, ret, err, errlen);
			json_decref(msg);
			return r;
		}
		json_decref(msg);	/* stale: its request timed out */
	}
	io_error(r, cmd, timeout_ms, err, errlen);
	return r;
}

int qmp_exec(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
	     int timeout_ms, char *err, size_t errlen)
{
	return qmp_exec_fd(q, cmd, args, ret, timeout_ms, err, errlen, -1);
}

/**
 * qmp_event_pop() - take the oldest queued event named name (NULL: any)
 *
 * Reads nothing from the socket, but first queues the events whose bytes
 * are already buffered.
 *
 * Return: the whole message ({"event", "data", "timestamp"}), a new
 * reference, or NULL.
 */
json_t *qmp_event_pop(struct qmp *q, const char *name)
{
	size_t i;

	drain_buffered(q);
	for (i = 0; i < json_array_size(q->events); i++) {
		json_t *ev = json_array_get(q->events, i);
		const char *n = json_string_value(json_object_get(ev, "event"));

		if (!name || !strcmp(n, name)) {
			json_incref(ev);
			json_array_remove(q->events, i);
			return ev;
		}
	}
	return NULL;
}

/* The event's "data" (an empty object when it has none), a new reference. */
static json_t *event_data(json_t *ev)
{
	json_t *d = json_object_get(ev, "data");

	return d ? json_incref(d) : json_object();
}

/**
 * qmp_event_wait() - the first event named name, queued or arriving
 * @data: its "data", a new reference; NULL when not wanted
 *
 * Other events are queued on the way. Return: 0, -ETIMEDOUT, -ECONNRESET,
 * -EPROTO, -EINTR, -errno.
 */
int qmp_event_wait(struct qmp *q, const char *name, json_t **data,
		   int timeout_ms)
{
	uint64_t deadline = vmig_now_ms() + (uint64_t)timeout_ms;
	json_t *ev = qmp_event_pop(q, name);
	int ret = 0;

	while (!ev && !ret) {
		ret = recv_msg(q, deadline, &ev);
		if (ret)
			break;
		if (!is_event(ev)) {
			json_decref(ev);
		} else if (strcmp(json_string_value(json_object_get(ev, "event")),
				  name)) {
			event_queue(q, ev);
		} else {
			break;
		}
		ev = NULL;
	}
	if (ev && data)
		*data = event_data(ev);
	json_decref(ev);
	return ret;
}

/**
 * qmp_pump() - queue whatever arrives within timeout_ms (0: what is there)
 *
 * For a caller that polls qmp_fd() in its own loop; one read at most.
 * Return: the number of queued events, -ECONNRESET, -EPROTO, -errno.
 */
int qmp_pump(struct qmp *q, int timeout_ms)
{
	int ret = read_some(q, vmig_now_ms() + (uint64_t)timeout_ms);

	if (ret < 0 && ret != -ETIMEDOUT)
		return ret;
	ret = drain_buffered(q);
	return ret < 0 ? ret : (int)json_array_size(q->events);
}

/* connect(), retried while the listener's backlog is full (EAGAIN). */
static int connect_unix(const char *path, uint64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		if (e != EAGAIN || !ms_left(deadline)) {
			close(fd);
			return -e;
		}
		usleep(10000);
	}
	return fd;
}

/* The greeting: {"QMP": {"version": {"qemu": {"major": ...}}, ...}}. */
static int read_greeting(struct qmp *q, uint64_t deadline)
{
	json_t *msg;
	int ret;

	ret = recv_msg(q, deadline, &msg);
	if (ret)
		return ret;
	ret = json_unpack(msg, "{s:{s:{s:{s:i, s:i, s:i}}}}", "QMP", "version",
			  "qemu", "major", &q->major, "minor", &q->minor,
			  "micro", &q->micro) ? -EPROTO : 0;
	json_decref(msg);
	return ret;
}

static void open_error(int ret, const char *path, int timeout_ms, char *err,
		       size_t errlen)
{
	if (ret == -ETIMEDOUT)
		qmp_errf(err, errlen,
			 "no QMP greeting from %s within %d ms: another client may hold the monitor (QEMU serves one QMP client at a time)",
			 path, timeout_ms);
	else if (ret == -EPROTO)
		qmp_errf(err, errlen,
			 "%s does not speak QMP: is it QEMU's -qmp socket (not an HMP -monitor)?",
			 path);
	else if (ret == -ECONNRESET)
		qmp_errf(err, errlen, "QEMU closed its QMP socket %s at once (did it exit?)",
			 path);
	else
		qmp_errf(err, errlen,
			 "cannot connect to QMP socket %s: %s; is QEMU running with -qmp unix:%s,server=on,wait=off?",
			 path, strerror(-ret), path);
}

/**
 * qmp_open() - connect, check the greeting, leave capabilities negotiation
 * @timeout_ms: for the greeting, and for every later convenience call
 *
 * Return: a client for qmp_close(), or NULL with a sentence in err.
 */
struct qmp *qmp_open(const char *path, int timeout_ms, char *err,
		     size_t errlen)
{
	uint64_t deadline = vmig_now_ms() + (uint64_t)timeout_ms;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct qmp *q;
	int ret;

	q = calloc(1, sizeof(*q));
	if (q)
		q->events = json_array();
	if (!q || !q->events) {
		free(q);
		qmp_errf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	q->next_id = 1;
	q->timeout_ms = timeout_ms;
	q->fd = connect_unix(path, deadline);
	if (q->fd < 0) {
		ret = q->fd;
		goto err_free;
	}
	/* The peer is the process that called listen(): QEMU itself. */
	if (!getsockopt(q->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		q->pid = cred.pid;
	ret = read_greeting(q, deadline);
	if (ret)
		goto err_close;
	if (qmp_exec(q, "qmp_capabilities", NULL, NULL, ms_left(deadline) + 1,
		     err, errlen))
		goto err_close_quiet;
	return q;

err_close:
	open_error(ret, path, timeout_ms, err, errlen);
err_close_quiet:
	qmp_close(q);
	return NULL;
err_free:
	open_error(ret, path, timeout_ms, err, errlen);
	q->fd = -1;
	qmp_close(q);
	return NULL;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	json_decref(q->events);
	free(q->buf);
	free(q);
}

pid_t qmp_peer_pid(const struct qmp *q)
{
	return q->pid;
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

void qmp_version(const struct qmp *q, int *major, int *minor)
{
	*major = q->major;
	*minor = q->minor;
}

int qmp_timeout_ms(const struct qmp *q)
{
	return q->timeout_ms;
}

/* ---- the calls the migration flow makes ------------------------------- */

static int call(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
		char *err, size_t errlen)
{
	return qmp_exec(q, cmd, args, ret, q->timeout_ms, err, errlen);
}

static void copy_str(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* query-status: runstate ("prelaunch", "running", "paused", "inmigrate"...). */
int qmp_status(struct qmp *q, char *status, size_t len, bool *running,
	       char *err, size_t errlen)
{
	json_t *r;
	int ret;

	ret = call(q, "query-status", NULL, &r, err, errlen);
	if (ret)
		return ret;
	copy_str(status, len, json_string_value(json_object_get(r, "status")));
	if (running)
		*running = json_is_true(json_object_get(r, "running"));
	json_decref(r);
	return 0;
}

/* Queues a STOP event (when the VM was running). */
int qmp_stop(struct qmp *q, char *err, size_t errlen)
{
	return call(q, "stop", NULL, NULL, err, errlen);
}

/*
 * Queues a RESUME event. Hazard: in "inmigrate" QEMU answers success
 * without running anything and sets autostart, so the destination runs as
 * soon as its migration completes; a source in "postmigrate" runs again.
 */
int qmp_cont(struct qmp *q, char *err, size_t errlen)
{
	return call(q, "cont", NULL, NULL, err, errlen);
}

/*
 * QEMU queues SHUTDOWN {"guest": false, "reason": "host-qmp-quit"},
 * answers and exits; a socket closed before the answer counts as success.
 */
int qmp_quit(struct qmp *q, char *err, size_t errlen)
{
	int ret = call(q, "quit", NULL, NULL, err, errlen);

	return ret == -ECONNRESET ? 0 : ret;
}

/* migrate-set-capabilities: names[i] set to values[i], in one request. */
int qmp_set_caps(struct qmp *q, const char *const names[],
		 const bool values[], size_t n, char *err, size_t errlen)
{
	json_t *caps = json_array();
	size_t i;

	for (i = 0; caps && i < n; i++) {
		if (json_array_append_new(caps, json_pack("{s:s, s:b}", "capability",
							  names[i], "state",
							  values[i]))) {
			json_decref(caps);
			caps = NULL;
		}
	}
	if (!caps) {
		qmp_errf(err, errlen, "migrate-set-capabilities: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return call(q, "migrate-set-capabilities",
		    json_pack("{s:o}", "capabilities", caps), NULL, err, errlen);
}

/*
 * Hand QEMU fd under name (getfd), then run cmd on "fd:NAME". 7.2 takes
 * the fd out of the monitor's table when cmd uses it; after a refusal it
 * may still be there, so it is closed (QEMU's copy; ours stays ours).
 * >= 8.2 also accepts "channels" instead of "uri"; "uri" still works.
 */
static int on_named_fd(struct qmp *q, const char *cmd, int fd,
		       const char *name, char *err, size_t errlen)
{
	char uri[128];
	int ret;

	ret = qmp_exec_fd(q, "getfd", json_pack("{s:s}", "fdname", name), NULL,
			  q->timeout_ms, err, errlen, fd);
	if (ret)
		return ret;
	snprintf(uri, sizeof(uri), "fd:%s", name);
	ret = call(q, cmd, json_pack("{s:s}", "uri", uri), NULL, err, errlen);
	if (ret == -EREMOTEIO)
		call(q, "closefd", json_pack("{s:s}", "fdname", name), NULL,
		     NULL, 0);
	return ret;
}

/* Start QEMU's migration (device state; RAM too unless ignored) onto fd. */
int qmp_migrate_fd(struct qmp *q, int fd, const char *name, char *err,
		   size_t errlen)
{
	return on_named_fd(q, "migrate", fd, name, err, errlen);
}

/* A destination started with -incoming defer: receive from fd. */
int qmp_incoming_fd(struct qmp *q, int fd, const char *name, char *err,
		    size_t errlen)
{
	return on_named_fd(q, "migrate-incoming", fd, name, err, errlen);
}

/*
 * query-migrate "status" ("" before any migration: QEMU returns {}). When
 * it is "failed", err gets QEMU's "error-desc".
 */
int qmp_migrate_status(struct qmp *q, char *status, size_t len, char *err,
		       size_t errlen)
{
	const char *desc;
	json_t *r;
	int ret;

	ret = call(q, "query-migrate", NULL, &r, err, errlen);
	if (ret)
		return ret;
	copy_str(status, len, json_string_value(json_object_get(r, "status")));
	desc = json_string_value(json_object_get(r, "error-desc"));
	if (desc)
		qmp_errf(err, errlen, "migration failed: %s", desc);
	json_decref(r);
	return 0;
}

static bool migration_final(const char *status)
{
	return !strcmp(status, "completed") || !strcmp(status, "failed") ||
	       !strcmp(status, "cancelled");
}

/* Wait for a MIGRATION event up to ms. Return: 1 final, 0 not, -errno. */
static int migration_event(struct qmp *q, int ms, char *status, size_t len)
{
	json_t *data;
	int ret;

	ret = qmp_event_wait(q, "MIGRATION", &data, ms);
	if (ret)
		return ret == -ETIMEDOUT ? 0 : ret;
	copy_str(status, len, json_string_value(json_object_get(data, "status")));
	json_decref(data);
	return migration_final(status);
}

/**
 * qmp_wait_migration() - wait until QEMU's migration ends, either role
 *
 * MIGRATION events ({"status": "setup" | "active" | "device" |
 * "completed" | "failed" | "cancelled" ...}) need the "events" capability;
 * without it, or when one is missed, query-migrate every QMP_POLL_MS finds
 * the end anyway. Queued MIGRATION events are dropped on return.
 *
 * Hazard: on a 7.2 source the runstate is still "finish-migrate" for a
 * moment after "completed"; it becomes "postmigrate" soon after.
 *
 * Return: 0 with the final status ("completed", "failed" with QEMU's
 * reason in err, "cancelled"), -ETIMEDOUT, -ECONNRESET, -errno.
 */
int qmp_wait_migration(struct qmp *q, int timeout_ms, char *status,
		       size_t len, char *err, size_t errlen)
{
	uint64_t deadline = vmig_now_ms() + (uint64_t)timeout_ms;
	json_t *ev;
	int ret;

	copy_str(status, len, "");
	for (;;) {
		int left = ms_left(deadline);

		if (!left) {
			qmp_errf(err, errlen, "QEMU's migration did not end within %d ms (status \"%s\")",
				 timeout_ms, status);
			return -ETIMEDOUT;
		}
		ret = migration_event(q, left < QMP_POLL_MS ? left : QMP_POLL_MS,
				      status, len);
		if (ret < 0) {
			io_error(ret, "MIGRATION event", timeout_ms, err, errlen);
			return ret;
		}
		if (!ret)
			ret = qmp_migrate_status(q, status, len, err, errlen);
		if (ret < 0)
			return ret;
		if (migration_final(status))
			break;
	}
	while ((ev = qmp_event_pop(q, "MIGRATION")))
		json_decref(ev);
	if (!strcmp(status, "failed"))
		qmp_migrate_status(q, status, len, err, errlen);
	return 0;
}
