// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "nl.h"
#include "uapi/linux/vmig.h"

static int vmig_nl_family_attr(const struct nlattr *a, void *data)
{
	struct vmig_nl *nl = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
		nl->family = mnl_attr_get_u16(a);
	if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GROUPS) {
		const struct nlattr *grp, *g;

		mnl_attr_for_each_nested(grp, a) {
			const char *name = NULL;
			uint32_t id = 0;

			mnl_attr_for_each_nested(g, grp) {
				if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_NAME)
					name = mnl_attr_get_str(g);
				if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_ID)
					id = mnl_attr_get_u32(g);
			}
			if (name && !strcmp(name, VMIG_MCGRP_EVENTS))
				nl->events_group = id;
		}
	}
	return MNL_CB_OK;
}

static int vmig_nl_family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr),
			      vmig_nl_family_attr, data);
}

/* Returns 0, or a positive errno with e filled from the kernel's extack. */
static int vmig_nl_error(const struct nlmsghdr *nlh, struct vmig_nl_error *e)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*err);

	if (!err->error)
		return 0;
	e->err = -err->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return e->err;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += mnl_nlmsg_get_payload_len(&err->msg) + sizeof(struct nlmsghdr);
	for (a = (const struct nlattr *)((const char *)err + off);
	     mnl_attr_ok(a, (const char *)mnl_nlmsg_get_payload_tail(nlh) - (const char *)a);
	     a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(e->msg, sizeof(e->msg), "%s", mnl_attr_get_str(a));
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS)
			e->bad_attr_offs = mnl_attr_get_u32(a);
	}
	return e->err;
}

/**
 * vmig_nl_msg() - start a vmig request in nl's buffer
 */
struct nlmsghdr *vmig_nl_msg(struct vmig_nl *nl, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = nl->family;
	/* A dump ends with NLMSG_DONE; only 6.4+ would ack it as well. */
	nlh->nlmsg_flags = NLM_F_REQUEST | flags |
			   (flags & NLM_F_DUMP ? 0 : NLM_F_ACK);
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = VMIG_FAMILY_VERSION;
	return nlh;
}

/**
 * vmig_nl_talk() - send req and feed every reply to cb until the ack
 *
 * Return: 0, or a positive errno (e says what the kernel said).
 */
int vmig_nl_talk(struct vmig_nl *nl, struct nlmsghdr *req, vmig_nl_cb cb,
		 void *data, struct vmig_nl_error *e)
{
	uint32_t seq = req->nlmsg_seq;
	int ret;

	memset(e, 0, sizeof(*e));
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return e->err = errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, VMIG_NL_BUFSZ);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;

		if (n < 0)
			return e->err = errno;
		for (; mnl_nlmsg_ok(nlh, (int)n); nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return vmig_nl_error(nlh, e);
			if (nlh->nlmsg_type == NLMSG_DONE) {
				const int *d = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int)) && *d < 0)
					return e->err = -*d;
				return 0;
			}
			if (cb) {
				ret = cb(nlh, data);
				if (ret < 0)
					return e->err = errno ? errno : EIO;
			}
		}
	}
}

/**
 * vmig_nl_open() - open a generic netlink socket and resolve "vmig"
 *
 * Return: 0, or a positive errno (ENOENT: module not loaded).
 */
int vmig_nl_open(struct vmig_nl *nl)
{
	struct vmig_nl_error e;
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int one = 1, ret;

	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(VMIG_NL_BUFSZ);
	if (!nl->buf)
		return ENOMEM;
	/* CLOEXEC: a child (dmsetup) must not keep the session's owner open. */
	nl->sock = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!nl->sock) {
		ret = errno;
		goto err_free_buf;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = errno;
		goto err_close;
	}
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);

	nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, VMIG_FAMILY_NAME);
	ret = vmig_nl_talk(nl, nlh, vmig_nl_family_cb, nl, &e);
	if (ret)
		goto err_close;
	return 0;

err_close:
	mnl_socket_close(nl->sock);
	nl->sock = NULL;
err_free_buf:
	free(nl->buf);
	nl->buf = NULL;
	return ret;
}

/**
 * vmig_nl_subscribe() - join the "events" multicast group
 */
int vmig_nl_subscribe(struct vmig_nl *nl)
{
	int grp = (int)nl->events_group;

	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return errno;
	return 0;
}

void vmig_nl_close(struct vmig_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	nl->sock = NULL;
	nl->buf = NULL;
}

/**
 * vmig_nl_perror() - print a failed request the way the kernel put it
 */
void vmig_nl_perror(const char *what, const struct vmig_nl_error *e)
{
	if (e->msg[0])
		fprintf(stderr, "vmigctl: %s: %s (%s)\n", what, e->msg,
			strerror(e->err));
	else
		fprintf(stderr, "vmigctl: %s: %s\n", what, strerror(e->err));
}
