// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/vmig.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "netlink-gen.h"

#include <uapi/linux/vmig.h>

/* VMIG_CMD_INFO_GET - do */
const struct nla_policy vmig_info_get_nl_policy[VMIG_A_INFO_API_VERSION + 1] = {
	[VMIG_A_INFO_API_VERSION] = { .type = NLA_U32, },
};

/* VMIG_CMD_SESSION_GET - do */
const struct nla_policy vmig_session_get_nl_policy[VMIG_A_SESSION_ID + 1] = {
	[VMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* VMIG_CMD_SESSION_DEL - do */
const struct nla_policy vmig_session_del_nl_policy[VMIG_A_SESSION_ID + 1] = {
	[VMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* Ops table for vmig */
const struct genl_ops vmig_nl_ops[3] = {
	{
		.cmd		= VMIG_CMD_INFO_GET,
		.doit		= vmig_nl_info_get_doit,
		.policy		= vmig_info_get_nl_policy,
		.maxattr	= VMIG_A_INFO_API_VERSION,
	},
	{
		.cmd		= VMIG_CMD_SESSION_GET,
		.doit		= vmig_nl_session_get_doit,
		.dumpit		= vmig_nl_session_get_dumpit,
		.policy		= vmig_session_get_nl_policy,
		.maxattr	= VMIG_A_SESSION_ID,
	},
	{
		.cmd		= VMIG_CMD_SESSION_DEL,
		.doit		= vmig_nl_session_del_doit,
		.policy		= vmig_session_del_nl_policy,
		.maxattr	= VMIG_A_SESSION_ID,
		.flags		= GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group vmig_nl_mcgrps[] = {
	[VMIG_NLGRP_EVENTS] = { "events", },
};
