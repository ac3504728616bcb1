// SPDX-License-Identifier: GPL-2.0
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "util.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

static_assert(VMIG_A_SESSION_MAX < 64, "vmig_sess.present has a bit per attribute");

static int sess_attr(const struct nlattr *a, void *data)
{
	struct vmig_sess *s = data;
	uint16_t type = mnl_attr_get_type(a);
	uint16_t len = mnl_attr_get_payload_len(a);
	uint32_t *u32 = NULL;
	uint64_t *u64 = NULL;

	switch (type) {
	case VMIG_A_SESSION_ERROR_MSG:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			return MNL_CB_OK;
		snprintf(s->error_msg, sizeof(s->error_msg), "%s",
			 mnl_attr_get_str(a));
		s->present |= 1ULL << type;
		return MNL_CB_OK;
	case VMIG_A_SESSION_CONTROLLER_GONE:
		s->present |= 1ULL << type;
		return MNL_CB_OK;
	case VMIG_A_SESSION_ID:
		u32 = &s->id;
		break;
	case VMIG_A_SESSION_ROLE:
		u32 = &s->role;
		break;
	case VMIG_A_SESSION_STATE:
		u32 = &s->state;
		break;
	case VMIG_A_SESSION_VMM_PID:
		u32 = &s->vmm_pid;
		break;
	case VMIG_A_SESSION_ERROR:
		u32 = (uint32_t *)&s->error;
		break;
	case VMIG_A_SESSION_ITERATION:
		u32 = &s->iteration;
		break;
	case VMIG_A_SESSION_RAM_BYTES:
		u64 = &s->ram_bytes;
		break;
	case VMIG_A_SESSION_SENT_BYTES:
		u64 = &s->sent_bytes;
		break;
	case VMIG_A_SESSION_SENT_PAGES:
		u64 = &s->sent_pages;
		break;
	case VMIG_A_SESSION_ZERO_PAGES:
		u64 = &s->zero_pages;
		break;
	case VMIG_A_SESSION_DIRTY_PAGES:
		u64 = &s->dirty_pages;
		break;
	case VMIG_A_SESSION_DIRTY_RATE:
		u64 = &s->dirty_rate;
		break;
	case VMIG_A_SESSION_BANDWIDTH:
		u64 = &s->bandwidth;
		break;
	case VMIG_A_SESSION_DOWNTIME_US:
		u64 = &s->downtime_us;
		break;
	case VMIG_A_SESSION_ELAPSED_MS:
		u64 = &s->elapsed_ms;
		break;
	case VMIG_A_SESSION_DISK_BYTES:
		u64 = &s->disk_bytes;
		break;
	case VMIG_A_SESSION_DISK_SENT_BYTES:
		u64 = &s->disk_sent_bytes;
		break;
	case VMIG_A_SESSION_DISK_DIRTY_BYTES:
		u64 = &s->disk_dirty_bytes;
		break;
	default:
		return MNL_CB_OK;
	}
	/* A malformed attribute is treated as absent, not read past its end. */
	if (u32 && len == sizeof(*u32))
		*u32 = mnl_attr_get_u32(a);
	else if (u64 && len == sizeof(*u64))
		*u64 = mnl_attr_get_u64(a);
	else
		return MNL_CB_OK;
	s->present |= 1ULL << type;
	return MNL_CB_OK;
}

/* Fill s from a session-get reply or a session-ntf. */
void vmig_sess_parse(const struct nlmsghdr *nlh, struct vmig_sess *s)
{
	memset(s, 0, sizeof(*s));
	mnl_attr_parse(nlh, GENL_HDRLEN, sess_attr, s);
}

/*
 * vmig_nl_talk() callback of the start requests: the new session's id
 * into *(uint32_t *)data.
 */
int vmig_sess_id_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vmig_sess s;

	vmig_sess_parse(nlh, &s);
	if (VMIG_SESS_HAS(&s, VMIG_A_SESSION_ID))
		*(uint32_t *)data = s.id;
	return MNL_CB_OK;
}

/**
 * vmig_sess_start() - send a migrate-, receive- or storage-move-start
 * @nl: request socket
 * @req: the request, built
 * @op: its name, for messages
 * @id: out: the new session's id
 *
 * Return: 0, or -1 after printing why (the kernel's words when it refused).
 */
int vmig_sess_start(struct vmig_nl *nl, struct nlmsghdr *req, const char *op,
		    uint32_t *id)
{
	struct vmig_nl_error e;

	*id = 0;
	if (vmig_nl_talk(nl, req, vmig_sess_id_cb, id, &e)) {
		vmig_nl_perror(op, &e);
		return -1;
	}
	if (!*id) {
		fprintf(stderr, "vmigctl: %s: the reply carries no session id\n", op);
		return -1;
	}
	return 0;
}

/*
 * The disk a migrate-start or receive-start carries. Return: false when
 * the request has no room left.
 */
bool vmig_sess_put_disk(struct nlmsghdr *req, int fd, const char *name)
{
	return mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_DISK_FD,
				      (uint32_t)fd) &&
	       mnl_attr_put_strz_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_DISK_NAME,
				       name);
}

/* Take every attribute src carries into dst; keep dst's others. */
void vmig_sess_merge(struct vmig_sess *dst, const struct vmig_sess *src)
{
	struct vmig_sess old = *dst;

	*dst = *src;
#define KEEP(attr, field) \
	do { if (!VMIG_SESS_HAS(src, attr)) dst->field = old.field; } while (0)
	KEEP(VMIG_A_SESSION_ID, id);
	KEEP(VMIG_A_SESSION_ROLE, role);
	KEEP(VMIG_A_SESSION_STATE, state);
	KEEP(VMIG_A_SESSION_VMM_PID, vmm_pid);
	KEEP(VMIG_A_SESSION_ERROR, error);
	if (!VMIG_SESS_HAS(src, VMIG_A_SESSION_ERROR_MSG))
		memcpy(dst->error_msg, old.error_msg, sizeof(dst->error_msg));
	KEEP(VMIG_A_SESSION_ITERATION, iteration);
	KEEP(VMIG_A_SESSION_RAM_BYTES, ram_bytes);
	KEEP(VMIG_A_SESSION_SENT_BYTES, sent_bytes);
	KEEP(VMIG_A_SESSION_SENT_PAGES, sent_pages);
	KEEP(VMIG_A_SESSION_ZERO_PAGES, zero_pages);
	KEEP(VMIG_A_SESSION_DIRTY_PAGES, dirty_pages);
	KEEP(VMIG_A_SESSION_DIRTY_RATE, dirty_rate);
	KEEP(VMIG_A_SESSION_BANDWIDTH, bandwidth);
	KEEP(VMIG_A_SESSION_DOWNTIME_US, downtime_us);
	KEEP(VMIG_A_SESSION_ELAPSED_MS, elapsed_ms);
	KEEP(VMIG_A_SESSION_DISK_BYTES, disk_bytes);
	KEEP(VMIG_A_SESSION_DISK_SENT_BYTES, disk_sent_bytes);
	KEEP(VMIG_A_SESSION_DISK_DIRTY_BYTES, disk_dirty_bytes);
#undef KEEP
	dst->present = old.present | src->present;
}

bool vmig_sess_final(uint32_t state)
{
	return state == VMIG_STATE_DONE || state == VMIG_STATE_FAILED ||
	       state == VMIG_STATE_CANCELLED || state == VMIG_STATE_UNKNOWN;
}

/* A failed session's reason: the kernel's words, then its errno. */
void vmig_sess_reason(const struct vmig_sess *s, char *buf, size_t sz)
{
	const char *err = s->error ? strerror(-s->error) : "no error code";

	if (s->error_msg[0])
		snprintf(buf, sz, "%s (%s)", s->error_msg, err);
	else
		snprintf(buf, sz, "%s", err);
}

/**
 * vmig_events_open() - open a non-blocking socket in the "events" group
 *
 * Return: 0, or a positive errno (ENOENT: vmig.ko is not loaded).
 */
int vmig_events_open(struct vmig_nl *ev)
{
	int fd, ret;

	ret = vmig_nl_open(ev);
	if (ret)
		return ret;
	ret = ev->events_group ? vmig_nl_subscribe(ev) : ENOENT;
	fd = mnl_socket_get_fd(ev->sock);
	if (!ret && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		ret = errno;
	if (ret)
		vmig_nl_close(ev);
	return ret;
}

/**
 * vmig_events_drain() - hand every queued session-ntf of session id to cb
 *
 * Return: 0 once the socket is empty, or a positive errno. ENOBUFS means
 * the socket overflowed and events were lost: the caller catches up with
 * vmig_sess_get().
 */
int vmig_events_drain(struct vmig_nl *ev, uint32_t id, vmig_sess_cb cb,
		      void *data)
{
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(ev->sock, ev->buf,
						VMIG_NL_BUFSZ);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)ev->buf;
		int len = (int)n;

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
			struct vmig_sess s;

			if (nlh->nlmsg_type != ev->family ||
			    nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN) ||
			    g->cmd != VMIG_CMD_SESSION_NTF)
				continue;
			vmig_sess_parse(nlh, &s);
			if (VMIG_SESS_HAS(&s, VMIG_A_SESSION_ID) && s.id == id)
				cb(&s, data);
		}
	}
}

static int sess_get_cb(const struct nlmsghdr *nlh, void *data)
{
	vmig_sess_parse(nlh, data);
	return MNL_CB_OK;
}

/* Return: 0, or a positive errno with e filled. */
int vmig_sess_get(struct vmig_nl *nl, uint32_t id, struct vmig_sess *s,
		  struct vmig_nl_error *e)
{
	struct nlmsghdr *req = vmig_nl_msg(nl, VMIG_CMD_SESSION_GET, 0);

	memset(s, 0, sizeof(*s));
	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
	return vmig_nl_talk(nl, req, sess_get_cb, s, e);
}

/*
 * Switchover on a source session; commit on a ready destination session.
 * Return: 0, or a positive errno with e filled.
 */
int vmig_sess_switchover(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e)
{
	struct nlmsghdr *req = vmig_nl_msg(nl, VMIG_CMD_SWITCHOVER, 0);

	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
	return vmig_nl_talk(nl, req, NULL, NULL, e);
}

/* Return: 0, or a positive errno with e filled. */
int vmig_sess_del(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e)
{
	struct nlmsghdr *req = vmig_nl_msg(nl, VMIG_CMD_SESSION_DEL, 0);

	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
	return vmig_nl_talk(nl, req, NULL, NULL, e);
}

/*
 * Unlist an ended session whose outcome was read. Its final event can
 * arrive a moment before the kernel makes it dismissable (EALREADY):
 * retry briefly. Return: 0, or a positive errno with e filled.
 */
int vmig_sess_dismiss(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e)
{
	int tries = 100, ret;

	while ((ret = vmig_sess_del(nl, id, e)) == EALREADY && --tries)
		usleep(10000);
	return ret;
}

/* The session's attributes as JSON members, each preceded by a comma. */
void vmig_sess_json(const struct vmig_sess *s)
{
	static const struct {
		int attr;
		const char *key;
		size_t off;
	} u64s[] = {
#define F(a, f) { VMIG_A_SESSION_##a, #f, offsetof(struct vmig_sess, f) }
		F(RAM_BYTES, ram_bytes), F(SENT_BYTES, sent_bytes),
		F(SENT_PAGES, sent_pages), F(ZERO_PAGES, zero_pages),
		F(DIRTY_PAGES, dirty_pages), F(DIRTY_RATE, dirty_rate),
		F(BANDWIDTH, bandwidth), F(DOWNTIME_US, downtime_us),
		F(ELAPSED_MS, elapsed_ms), F(DISK_BYTES, disk_bytes),
		F(DISK_SENT_BYTES, disk_sent_bytes),
		F(DISK_DIRTY_BYTES, disk_dirty_bytes),
#undef F
	};
	size_t i;

	if (VMIG_SESS_HAS(s, VMIG_A_SESSION_STATE))
		printf(",\"state\":\"%s\"", vmigctl_state_name(s->state));
	if (VMIG_SESS_HAS(s, VMIG_A_SESSION_ITERATION))
		printf(",\"iteration\":%u", s->iteration);
	if (VMIG_SESS_HAS(s, VMIG_A_SESSION_ERROR))
		printf(",\"error\":%d", s->error);
	if (VMIG_SESS_HAS(s, VMIG_A_SESSION_ERROR_MSG)) {
		printf(",\"error_msg\":");
		vmig_json_str(s->error_msg);
	}
	for (i = 0; i < ARRAY_SIZE(u64s); i++)
		if (VMIG_SESS_HAS(s, u64s[i].attr))
			printf(",\"%s\":%llu", u64s[i].key,
			       (unsigned long long)*(const uint64_t *)
			       ((const char *)s + u64s[i].off));
}

/**
 * vmig_follow_event() - take one update of the followed session
 * @s: the update (an event or a session-get answer)
 * @follow: the struct vmig_follow
 *
 * Nothing after the final state counts: a late event cannot undo it.
 */
void vmig_follow_event(const struct vmig_sess *s, void *follow)
{
	struct vmig_follow *f = follow;

	if (f->have_final)
		return;
	f->last_heard_ms = vmig_now_ms();
	vmig_sess_merge(&f->last, s);
	if (VMIG_SESS_HAS(s, VMIG_A_SESSION_STATE) && vmig_sess_final(s->state))
		f->have_final = true;
	if (f->on_update)
		f->on_update(s, f->data);
}

/**
 * vmig_follow_probe() - ask for the session instead of waiting for events
 * @f: the follower
 *
 * A session is unlisted once it ended, just after its final event was
 * queued to us: on ENOENT that event is in the socket already, or it was
 * lost and the outcome cannot be learnt any more (@f->lost).
 */
void vmig_follow_probe(struct vmig_follow *f)
{
	struct vmig_nl_error e;
	struct vmig_sess s;

	f->last_heard_ms = vmig_now_ms();
	if (!vmig_sess_get(f->nl, f->id, &s, &e)) {
		if ((VMIG_SESS_HAS(&s, VMIG_A_SESSION_STATE) && vmig_sess_final(s.state)) ||
		    s.iteration > f->last.iteration)
			vmig_follow_event(&s, f);
	} else if (e.err == ENOENT) {
		vmig_events_drain(f->ev, f->id, vmig_follow_event, f);
		if (!f->have_final) {
			f->lost = true;
			vmig_follow_reason(f, "session %u ended and its final event was lost",
					   f->id);
		}
	}
}

/**
 * vmig_follow_drain() - take every queued event; catch up if some were lost
 * @f: the follower
 */
void vmig_follow_drain(struct vmig_follow *f)
{
	int ret = vmig_events_drain(f->ev, f->id, vmig_follow_event, f);

	if (ret == ENOBUFS)
		vmig_follow_probe(f);
	else if (ret)
		fprintf(stderr, "vmigctl: events: %s\n", strerror(ret));
}

/**
 * vmig_follow_vreason() - say why we gave up, unless a reason was given
 * @f: the follower
 * @fmt: printf format
 * @ap: its arguments
 */
void vmig_follow_vreason(struct vmig_follow *f, const char *fmt, va_list ap)
{
	if (!f->reason[0])
		vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
}

/**
 * vmig_follow_reason() - vmig_follow_vreason() with the arguments inline
 * @f: the follower
 * @fmt: printf format
 */
void vmig_follow_reason(struct vmig_follow *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmig_follow_vreason(f, fmt, ap);
	va_end(ap);
}

/**
 * vmig_follow_cancel() - ask the kernel to end the session, once
 * @f: the follower
 * @wait_ms: how long its final event may take to come; 0 for ever
 *
 * Return: true when this call sent the request.
 */
bool vmig_follow_cancel(struct vmig_follow *f, uint64_t wait_ms)
{
	struct vmig_nl_error e;

	if (f->cancel_sent)
		return false;
	f->cancel_sent = true;
	f->cancel_deadline = wait_ms ? vmig_now_ms() + wait_ms : 0;
	/* Gone or ended: the final event is on its way or already queued. */
	if (vmig_sess_del(f->nl, f->id, &e) && e.err != ENOENT && e.err != EALREADY)
		vmig_nl_perror("cancel", &e);
	return true;
}
