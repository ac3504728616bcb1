/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Following one session: its attributes as a struct, the "events" socket
 * its session-ntf arrive on, session-get to catch up, session-del.
 *
 * Requests and events use two netlink sockets. The event socket joins the
 * group before the start request is sent, so no event of the new session
 * is missed, and vmig_nl_talk() on the request socket never sees (and
 * drops) a notification: events that come before the start reply simply
 * wait in the event socket until the caller knows its session id.
 */
#ifndef VMIGCTL_SESSION_H
#define VMIGCTL_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl.h"

struct vmig_sess {
	uint64_t present;	/* bit (1 << VMIG_A_SESSION_*) per attribute seen */
	uint32_t id, role, state, vmm_pid, iteration;
	int32_t error;
	char error_msg[256];	/* VMIG_A_SESSION_ERROR_MSG, "" if none */
	uint64_t ram_bytes, sent_bytes, sent_pages, zero_pages, dirty_pages;
	uint64_t dirty_rate, bandwidth, downtime_us, elapsed_ms;
	uint64_t disk_bytes, disk_sent_bytes, disk_dirty_bytes;
};

#define VMIG_SESS_HAS(s, attr)	(!!((s)->present & (1ULL << (attr))))

typedef void (*vmig_sess_cb)(const struct vmig_sess *s, void *data);

void vmig_sess_parse(const struct nlmsghdr *nlh, struct vmig_sess *s);
int vmig_sess_id_cb(const struct nlmsghdr *nlh, void *data);
int vmig_sess_start(struct vmig_nl *nl, struct nlmsghdr *req, const char *op,
		    uint32_t *id);
bool vmig_sess_put_disk(struct nlmsghdr *req, int fd, const char *name);
void vmig_sess_merge(struct vmig_sess *dst, const struct vmig_sess *src);
bool vmig_sess_final(uint32_t state);
void vmig_sess_reason(const struct vmig_sess *s, char *buf, size_t sz);
int vmig_events_open(struct vmig_nl *ev);
int vmig_events_drain(struct vmig_nl *ev, uint32_t id, vmig_sess_cb cb,
		      void *data);
int vmig_sess_get(struct vmig_nl *nl, uint32_t id, struct vmig_sess *s,
		  struct vmig_nl_error *e);
int vmig_sess_switchover(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e);
int vmig_sess_del(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e);
int vmig_sess_dismiss(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e);
void vmig_sess_json(const struct vmig_sess *s);

/*
 * Following a session to its final event, as every command that starts
 * one does: events merged into last, session-get when events were lost
 * or nothing was heard for a while, session-del to cancel.
 */
struct vmig_follow {
	struct vmig_nl *nl, *ev;	/* requests; session-ntf events */
	uint32_t id;
	struct vmig_sess last;		/* every attribute seen, latest value */
	bool have_final;		/* last.state is a final state */
	bool lost;			/* unlisted, its final event lost */
	bool cancel_sent;
	uint64_t cancel_deadline;	/* 0: none */
	uint64_t last_heard_ms;		/* last event or probe */
	char reason[512];		/* why we gave up, first reason wins */
	/* Each update after it is merged, the final one included. */
	vmig_sess_cb on_update;
	void *data;
};

void vmig_follow_event(const struct vmig_sess *s, void *follow);
void vmig_follow_drain(struct vmig_follow *f);
void vmig_follow_probe(struct vmig_follow *f);
void vmig_follow_vreason(struct vmig_follow *f, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void vmig_follow_reason(struct vmig_follow *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool vmig_follow_cancel(struct vmig_follow *f, uint64_t wait_ms);

#endif
