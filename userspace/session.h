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
bool vmig_sess_put_disk(struct nlmsghdr *req, int fd, const char *name);
void vmig_sess_merge(struct vmig_sess *dst, const struct vmig_sess *src);
bool vmig_sess_final(uint32_t state);
void vmig_sess_reason(const struct vmig_sess *s, char *buf, size_t sz);
int vmig_events_open(struct vmig_nl *ev);
int vmig_events_drain(struct vmig_nl *ev, uint32_t id, vmig_sess_cb cb,
		      void *data);
int vmig_sess_get(struct vmig_nl *nl, uint32_t id, struct vmig_sess *s,
		  struct vmig_nl_error *e);
int vmig_sess_del(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e);
int vmig_sess_dismiss(struct vmig_nl *nl, uint32_t id, struct vmig_nl_error *e);
void vmig_sess_json(const struct vmig_sess *s);

#endif
