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

/* VMIG_CMD_MIGRATE_START - do */
const struct nla_policy vmig_migrate_start_nl_policy[VMIG_A_SESSION_THROTTLE_RESTORE + 1] = {
	[VMIG_A_SESSION_VM_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_VCPU_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_SOCK_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_FLAGS] = NLA_POLICY_MASK(NLA_U32, 0x7),
	[VMIG_A_SESSION_MAX_BANDWIDTH] = { .type = NLA_U64, },
	[VMIG_A_SESSION_MSR_INDEX] = { .type = NLA_BINARY, },
	[VMIG_A_SESSION_DISK_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_DISK_NAME] = { .type = NLA_NUL_STRING, .len = 255, },
	[VMIG_A_SESSION_RAM_HVA] = { .type = NLA_U64, },
	[VMIG_A_SESSION_RAM_SIZE] = { .type = NLA_U64, },
	[VMIG_A_SESSION_STOP_PID] = { .type = NLA_U32, },
	[VMIG_A_SESSION_THROTTLE_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_THROTTLE_RESTORE] = { .type = NLA_NUL_STRING, .len = 63, },
};

/* VMIG_CMD_RECEIVE_START - do */
const struct nla_policy vmig_receive_start_nl_policy[VMIG_A_SESSION_RAM_SIZE + 1] = {
	[VMIG_A_SESSION_VM_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_VCPU_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_SOCK_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_FLAGS] = NLA_POLICY_MASK(NLA_U32, 0x7),
	[VMIG_A_SESSION_DISK_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_DISK_NAME] = { .type = NLA_NUL_STRING, .len = 255, },
	[VMIG_A_SESSION_RAM_HVA] = { .type = NLA_U64, },
	[VMIG_A_SESSION_RAM_SIZE] = { .type = NLA_U64, },
};

/* VMIG_CMD_SWITCHOVER - do */
const struct nla_policy vmig_switchover_nl_policy[VMIG_A_SESSION_ID + 1] = {
	[VMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* VMIG_CMD_DIRTY_RATE_GET - do */
const struct nla_policy vmig_dirty_rate_get_nl_policy[VMIG_A_SESSION_DURATION_MS + 1] = {
	[VMIG_A_SESSION_VM_FD] = { .type = NLA_U32, },
	[VMIG_A_SESSION_DURATION_MS] = NLA_POLICY_RANGE(NLA_U32, 10, 30000),
};

/* VMIG_CMD_SESSION_DEL - do */
const struct nla_policy vmig_session_del_nl_policy[VMIG_A_SESSION_ID + 1] = {
	[VMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* VMIG_CMD_STORAGE_MOVE_START - do */
const struct nla_policy vmig_storage_move_start_nl_policy[VMIG_A_SESSION_STORAGE_FLAGS + 1] = {
	[VMIG_A_SESSION_STORAGE_DEV] = { .type = NLA_NUL_STRING, .len = 4095, },
	[VMIG_A_SESSION_STORAGE_DEST] = { .type = NLA_NUL_STRING, .len = 4095, },
	[VMIG_A_SESSION_GRANULARITY] = NLA_POLICY_MIN(NLA_U32, 4096),
	[VMIG_A_SESSION_DOWNTIME_MS] = NLA_POLICY_RANGE(NLA_U32, 1, 30000),
	[VMIG_A_SESSION_MAX_ITERATIONS] = NLA_POLICY_RANGE(NLA_U32, 1, 10000),
	[VMIG_A_SESSION_STORAGE_FLAGS] = NLA_POLICY_MASK(NLA_U32, 0x1),
};

/* Ops table for vmig */
const struct genl_ops vmig_nl_ops[8] = {
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
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMIG_CMD_MIGRATE_START,
		.doit		= vmig_nl_migrate_start_doit,
		.policy		= vmig_migrate_start_nl_policy,
		.maxattr	= VMIG_A_SESSION_THROTTLE_RESTORE,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMIG_CMD_RECEIVE_START,
		.doit		= vmig_nl_receive_start_doit,
		.policy		= vmig_receive_start_nl_policy,
		.maxattr	= VMIG_A_SESSION_RAM_SIZE,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMIG_CMD_SWITCHOVER,
		.doit		= vmig_nl_switchover_doit,
		.policy		= vmig_switchover_nl_policy,
		.maxattr	= VMIG_A_SESSION_ID,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMIG_CMD_DIRTY_RATE_GET,
		.doit		= vmig_nl_dirty_rate_get_doit,
		.policy		= vmig_dirty_rate_get_nl_policy,
		.maxattr	= VMIG_A_SESSION_DURATION_MS,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMIG_CMD_SESSION_DEL,
		.doit		= vmig_nl_session_del_doit,
		.policy		= vmig_session_del_nl_policy,
		.maxattr	= VMIG_A_SESSION_ID,
		.flags		= GENL_ADMIN_PERM,
	},
	{
		.cmd		= VMIG_CMD_STORAGE_MOVE_START,
		.doit		= vmig_nl_storage_move_start_doit,
		.policy		= vmig_storage_move_start_nl_policy,
		.maxattr	= VMIG_A_SESSION_STORAGE_FLAGS,
		.flags		= GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group vmig_nl_mcgrps[] = {
	[VMIG_NLGRP_EVENTS] = { "events", },
};
