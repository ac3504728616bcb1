/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin libmnl wrapper for the vmig family: resolve it, send a request,
 * walk the replies, and report kernel errors with their extack text.
 */
#ifndef VMIGCTL_NL_H
#define VMIGCTL_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

/* Size of vmig_nl.buf: one receive, any number of messages. */
#define VMIG_NL_BUFSZ (MNL_SOCKET_BUFFER_SIZE * 4)

struct vmig_nl {
	struct mnl_socket *sock;
	uint16_t family;
	uint32_t events_group;
	uint32_t seq;
	unsigned int portid;
	char *buf;
};

/* Kernel's answer to the last failed request, for the caller to print. */
struct vmig_nl_error {
	int err;		/* positive errno */
	char msg[256];		/* extack message, "" if none */
	uint32_t bad_attr_offs;	/* offset of the offending attribute, 0 if none */
};

typedef int (*vmig_nl_cb)(const struct nlmsghdr *nlh, void *data);

int vmig_nl_open(struct vmig_nl *nl);
void vmig_nl_close(struct vmig_nl *nl);
struct nlmsghdr *vmig_nl_msg(struct vmig_nl *nl, uint8_t cmd, uint16_t flags);
int vmig_nl_talk(struct vmig_nl *nl, struct nlmsghdr *req, vmig_nl_cb cb,
		 void *data, struct vmig_nl_error *e);
int vmig_nl_subscribe(struct vmig_nl *nl);
void vmig_nl_perror(const char *what, const struct vmig_nl_error *e);

#endif
