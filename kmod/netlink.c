// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink handlers of the vmig family. The API is defined by
 * Documentation/netlink/specs/vmig.yaml; policies and the op table come
 * from the generator. Every handler checks its required attributes and
 * explains each rejection through extack.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <uapi/linux/vmig.h>

#include "compat/compat.h"
#include "netlink.h"
#include "session.h"
#include "version.h"

/*
 * The spec must use protocol genetlink-legacy so that the generator emits
 * plain genl_ops (6.1 has no split ops); in that mode the generated source
 * keeps the multicast group table static and defines no family, so it is
 * compiled as part of this file rather than on its own.
 */
#include "netlink-gen.c"

static struct genl_family vmig_nl_family __ro_after_init = {
	.name		= VMIG_FAMILY_NAME,
	.version	= VMIG_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= vmig_nl_ops,
	.n_ops		= ARRAY_SIZE(vmig_nl_ops),
	.mcgrps		= vmig_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(vmig_nl_mcgrps),
};

MODULE_ALIAS_GENL_FAMILY(VMIG_FAMILY_NAME);

/* Refuse a request: say why and point at the attribute responsible. */
#define vmig_nl_reject(extack, attr, msg) do {			\
	struct netlink_ext_ack *vmig_extack = (extack);		\
								\
	NL_SET_BAD_ATTR(vmig_extack, attr);			\
	NL_SET_ERR_MSG_MOD(vmig_extack, msg);			\
} while (0)

#define VMIG_FEATURES	VMIG_FEATURE_DIRTY_LOG

int vmig_nl_info_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	if (info->attrs[VMIG_A_INFO_API_VERSION] &&
	    nla_get_u32(info->attrs[VMIG_A_INFO_API_VERSION]) > VMIG_API_VERSION) {
		vmig_nl_reject(info->extack, info->attrs[VMIG_A_INFO_API_VERSION],
			       "caller speaks a newer vmig API than this module");
		return -EPROTONOSUPPORT;
	}

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vmig_nl_family, 0, VMIG_CMD_INFO_GET);
	if (!hdr)
		goto err_free_msg;
	if (nla_put_u32(msg, VMIG_A_INFO_API_VERSION, VMIG_API_VERSION) ||
	    nla_put_u32(msg, VMIG_A_INFO_FEATURES, VMIG_FEATURES) ||
	    nla_put_string(msg, VMIG_A_INFO_RELEASE, VMIG_RELEASE))
		goto err_free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free_msg:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int vmig_nl_session_fill(struct sk_buff *msg, struct vmig_session *s,
				u32 portid, u32 seq, int flags, u8 cmd)
{
	enum vmig_state state;
	void *hdr;
	int error;

	hdr = genlmsg_put(msg, portid, seq, &vmig_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	state = vmig_session_state(s, &error);
	if (nla_put_u32(msg, VMIG_A_SESSION_ID, s->id) ||
	    nla_put_u32(msg, VMIG_A_SESSION_ROLE, s->role) ||
	    nla_put_u32(msg, VMIG_A_SESSION_STATE, state) ||
	    nla_put_u32(msg, VMIG_A_SESSION_VMM_PID, s->vmm_pid) ||
	    (error && nla_put_s32(msg, VMIG_A_SESSION_ERROR, error)))
		goto err_cancel_msg;
	genlmsg_end(msg, hdr);
	return 0;

err_cancel_msg:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

/*
 * Resolve the session named by VMIG_A_SESSION_ID; on failure the extack
 * says why and points at the attribute.
 */
static struct vmig_session *vmig_nl_session_from_attrs(struct genl_info *info)
{
	struct vmig_session *s;

	if (GENL_REQ_ATTR_CHECK(info, VMIG_A_SESSION_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "session id is required");
		return ERR_PTR(-EINVAL);
	}
	s = vmig_session_lookup(genl_info_net(info),
				nla_get_u32(info->attrs[VMIG_A_SESSION_ID]));
	if (!s) {
		vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_ID],
			       "no such session");
		return ERR_PTR(-ENOENT);
	}
	return s;
}

int vmig_nl_session_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmig_session *s;
	struct sk_buff *msg;
	int ret;

	s = vmig_nl_session_from_attrs(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out_put_session;
	}
	ret = vmig_nl_session_fill(msg, s, info->snd_portid, info->snd_seq, 0,
				   VMIG_CMD_SESSION_GET);
	if (ret) {
		nlmsg_free(msg);
		goto out_put_session;
	}
	ret = genlmsg_reply(msg, info);
out_put_session:
	vmig_session_put(s);
	return ret;
}

/* The dump cursor, cb->ctx[0], is the next session id to report. */
int vmig_nl_session_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	u32 *next_id = (u32 *)cb->ctx;
	struct vmig_session *s;
	u32 id = *next_id;
	int ret = 0;

	while ((s = vmig_session_next(sock_net(skb->sk), &id))) {
		ret = vmig_nl_session_fill(skb, s, NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq, NLM_F_MULTI,
					   VMIG_CMD_SESSION_GET);
		vmig_session_put(s);
		if (ret)
			break;
		*next_id = id;
	}
	/* A full skb ends this round; the dump resumes at *next_id. */
	return ret == -EMSGSIZE && skb->len ? skb->len : ret ? ret : skb->len;
}

int vmig_nl_session_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmig_session *s;
	int ret;

	s = vmig_nl_session_from_attrs(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = vmig_session_cancel(s);
	if (ret == -EALREADY)
		NL_SET_ERR_MSG_MOD(info->extack, "session has already ended");
	vmig_session_put(s);
	return ret;
}

/**
 * vmig_nl_session_notify() - multicast a session's state to "events"
 * @s: session (reference held by the caller)
 *
 * Context: process context. Best effort: listeners that miss an event
 * read the state with session-get.
 */
void vmig_nl_session_notify(struct vmig_session *s)
{
	struct net *net = read_pnet(&s->net);
	struct sk_buff *msg;

	if (!genl_has_listeners(&vmig_nl_family, net, VMIG_NLGRP_EVENTS))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	if (vmig_nl_session_fill(msg, s, 0, 0, 0, VMIG_CMD_SESSION_NTF)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_multicast_netns(&vmig_nl_family, net, msg, 0,
				VMIG_NLGRP_EVENTS, GFP_KERNEL);
}

/**
 * vmig_netlink_init() - register the vmig generic netlink family
 *
 * Return: 0 or a negative errno from genl_register_family().
 */
int vmig_netlink_init(void)
{
	return genl_register_family(&vmig_nl_family);
}

/**
 * vmig_netlink_uninit() - unregister the family
 *
 * After this returns no handler runs and none will start.
 */
void vmig_netlink_uninit(void)
{
	genl_unregister_family(&vmig_nl_family);
}
