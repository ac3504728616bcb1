/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/vmig.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_VMIG_GEN_H
#define _LINUX_VMIG_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/vmig.h>

extern const struct nla_policy vmig_info_get_nl_policy[VMIG_A_INFO_API_VERSION + 1];

extern const struct nla_policy vmig_session_get_nl_policy[VMIG_A_SESSION_ID + 1];

extern const struct nla_policy vmig_migrate_start_nl_policy[VMIG_A_SESSION_THROTTLE_RESTORE + 1];

extern const struct nla_policy vmig_receive_start_nl_policy[VMIG_A_SESSION_RAM_SIZE + 1];

extern const struct nla_policy vmig_switchover_nl_policy[VMIG_A_SESSION_ID + 1];

extern const struct nla_policy vmig_dirty_rate_get_nl_policy[VMIG_A_SESSION_DURATION_MS + 1];

extern const struct nla_policy vmig_session_del_nl_policy[VMIG_A_SESSION_ID + 1];

extern const struct nla_policy vmig_storage_move_start_nl_policy[VMIG_A_SESSION_STORAGE_FLAGS + 1];

/* Ops table for vmig */
extern const struct genl_ops vmig_nl_ops[8];

int vmig_nl_info_get_doit(struct sk_buff *skb, struct genl_info *info);
int vmig_nl_session_get_doit(struct sk_buff *skb, struct genl_info *info);
int vmig_nl_session_get_dumpit(struct sk_buff *skb,
			       struct netlink_callback *cb);
int vmig_nl_migrate_start_doit(struct sk_buff *skb, struct genl_info *info);
int vmig_nl_receive_start_doit(struct sk_buff *skb, struct genl_info *info);
int vmig_nl_switchover_doit(struct sk_buff *skb, struct genl_info *info);
int vmig_nl_dirty_rate_get_doit(struct sk_buff *skb, struct genl_info *info);
int vmig_nl_session_del_doit(struct sk_buff *skb, struct genl_info *info);
int vmig_nl_storage_move_start_doit(struct sk_buff *skb,
				    struct genl_info *info);

enum {
	VMIG_NLGRP_EVENTS,
};

#endif /* _LINUX_VMIG_GEN_H */
