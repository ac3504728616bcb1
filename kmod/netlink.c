// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink handlers of the vmig family. The API is defined by
 * Documentation/netlink/specs/vmig.yaml; policies and the op table come
 * from the generator. Every handler checks its required attributes and
 * explains each rejection through extack.
 */
#include <linux/file.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sizes.h>
#include <linux/user_namespace.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <uapi/linux/magic.h>
#include <uapi/linux/vmig.h>

#include "compat/compat.h"
#include "dirtyrate.h"
#include "disk.h"
#include "migrate.h"
#include "netlink.h"
#include "ram.h"
#include "receive.h"
#include "session.h"
#include "state.h"
#include "storage.h"
#include "stream.h"
#include "version.h"
#include "vm.h"
#include "wire.h"

/*
 * The spec must use protocol genetlink-legacy so that the generator emits
 * plain genl_ops (6.1 has no split ops); in that mode the generated source
 * keeps the multicast group table static and defines no family, so it is
 * compiled as part of this file rather than on its own.
 */
#include "netlink-gen.c"

/*
 * The generator has no notion of a privileged group, so the table is
 * repeated here with the flag: events name VMM pids and show progress,
 * which session-get (admin-perm) does not give unprivileged users either.
 */
static const struct genl_multicast_group vmig_nl_mcgrps_priv[] = {
	[VMIG_NLGRP_EVENTS] = { .name = "events", .flags = GENL_MCAST_CAP_NET_ADMIN, },
};

static_assert(ARRAY_SIZE(vmig_nl_mcgrps_priv) == ARRAY_SIZE(vmig_nl_mcgrps));

static struct genl_family vmig_nl_family __ro_after_init = {
	.name		= VMIG_FAMILY_NAME,
	.version	= VMIG_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= vmig_nl_ops,
	.n_ops		= ARRAY_SIZE(vmig_nl_ops),
	.mcgrps		= vmig_nl_mcgrps_priv,
	.n_mcgrps	= ARRAY_SIZE(vmig_nl_mcgrps_priv),
};

MODULE_ALIAS_GENL_FAMILY(VMIG_FAMILY_NAME);

/* Refuse a request: say why and point at the attribute responsible. */
#define vmig_nl_reject(extack, attr, msg) do {			\
	struct netlink_ext_ack *vmig_extack = (extack);		\
								\
	NL_SET_BAD_ATTR(vmig_extack, attr);			\
	NL_SET_ERR_MSG_MOD(vmig_extack, msg);			\
} while (0)

#define VMIG_FEATURES	(VMIG_FEATURE_DIRTY_LOG | VMIG_FEATURE_ZEROCOPY | \
			 VMIG_FEATURE_STORAGE_MOVE | VMIG_FEATURE_DISK_MIGRATE)

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
	struct vmig_stats st;
	enum vmig_state state;
	const char *why;
	void *hdr;
	int error;

	hdr = genlmsg_put(msg, portid, seq, &vmig_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	state = vmig_session_state(s, &error, &why, &st);
	if (nla_put_u32(msg, VMIG_A_SESSION_ID, s->id) ||
	    nla_put_u32(msg, VMIG_A_SESSION_ROLE, s->role) ||
	    nla_put_u32(msg, VMIG_A_SESSION_STATE, state) ||
	    nla_put_u32(msg, VMIG_A_SESSION_VMM_PID, s->vmm_pid) ||
	    nla_put_u32(msg, VMIG_A_SESSION_FLAGS, s->flags) ||
	    (error && nla_put_s32(msg, VMIG_A_SESSION_ERROR, error)) ||
	    (why && nla_put_string(msg, VMIG_A_SESSION_ERROR_MSG, why)) ||
	    nla_put_u32(msg, VMIG_A_SESSION_ITERATION, st.iteration) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_RAM_BYTES, st.ram_bytes, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_SENT_BYTES, st.sent_bytes, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_SENT_PAGES, st.sent_pages, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_ZERO_PAGES, st.zero_pages, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_DIRTY_PAGES, st.dirty_pages, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_DIRTY_RATE, st.dirty_rate, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_BANDWIDTH, st.bandwidth, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_DOWNTIME_US, st.downtime_us, 0) ||
	    (st.disk_bytes &&
	     (nla_put_u64_64bit(msg, VMIG_A_SESSION_DISK_BYTES, st.disk_bytes, 0) ||
	      nla_put_u64_64bit(msg, VMIG_A_SESSION_DISK_SENT_BYTES, st.disk_sent_bytes, 0) ||
	      nla_put_u64_64bit(msg, VMIG_A_SESSION_DISK_DIRTY_BYTES, st.disk_dirty_bytes, 0))) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_ELAPSED_MS,
			      ktime_ms_delta(ktime_get(), s->start), 0) ||
	    (READ_ONCE(s->orphaned) && nla_put_flag(msg, VMIG_A_SESSION_CONTROLLER_GONE)))
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
		NL_SET_ERR_MSG_MOD(info->extack, "session is ending; retry to dismiss it");
	else if (ret == -EBUSY)
		NL_SET_ERR_MSG_MOD(info->extack,
				   "the VM state is sent; the destination's answer decides the outcome");
	vmig_session_put(s);
	return ret;
}

/*
 * The stop-pid processes, resolved in the caller's pid namespace; the
 * session keeps references. Resuming them (SIGCONT) bypasses the signal
 * permission check later, so the caller must be allowed to signal any
 * process of that namespace now.
 */
static int vmig_nl_stop_pids(struct genl_info *info, struct vmig_session *s)
{
	const struct nlattr *a;
	struct pid *pid;
	int rem;

	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(a) != VMIG_A_SESSION_STOP_PID)
			continue;
		if (!ns_capable(task_active_pid_ns(current)->user_ns, CAP_KILL)) {
			vmig_nl_reject(info->extack, a, "stop-pid needs CAP_KILL");
			return -EPERM;
		}
		if (s->nr_stop_pids == VMIG_MAX_STOP_PIDS) {
			vmig_nl_reject(info->extack, a, "too many stop-pid attributes");
			return -E2BIG;
		}
		pid = find_get_pid(nla_get_u32(a));
		if (!pid) {
			vmig_nl_reject(info->extack, a, "stop-pid: no such process");
			return -ESRCH;
		}
		s->stop_pids[s->nr_stop_pids++] = pid;
	}
	return 0;
}

/*
 * throttle-fd and throttle-restore: the VMM cgroup's cpu.max, which the
 * session writes back at its end (vmig_session_unthrottle()). Only a
 * cgroup v2 cpu.max the caller opened for writing is taken.
 */
static int vmig_nl_throttle(struct genl_info *info, struct vmig_session *s)
{
	const struct nlattr *fd_attr = info->attrs[VMIG_A_SESSION_THROTTLE_FD];
	const struct nlattr *val = info->attrs[VMIG_A_SESSION_THROTTLE_RESTORE];
	struct file *f;

	if (!fd_attr && !val)
		return 0;
	if (!fd_attr || !val) {
		vmig_nl_reject(info->extack, fd_attr ?: val,
			       "throttle-fd and throttle-restore go together");
		return -EINVAL;
	}
	f = fget(nla_get_u32(fd_attr));
	if (!f) {
		vmig_nl_reject(info->extack, fd_attr, "throttle-fd is not an open file");
		return -EBADF;
	}
	if (file_inode(f)->i_sb->s_magic != CGROUP2_SUPER_MAGIC ||
	    strcmp(f->f_path.dentry->d_name.name, "cpu.max") || !(f->f_mode & FMODE_WRITE)) {
		vmig_nl_reject(info->extack, fd_attr,
			       "throttle-fd is not a cgroup v2 cpu.max open for writing");
		fput(f);
		return -EINVAL;
	}
	s->throttle_file = f;
	nla_strscpy(s->throttle_restore, val, sizeof(s->throttle_restore));
	return 0;
}

/* Collect the multi-attr vCPU fds, in the order given. */
static int vmig_nl_vcpu_fds(struct genl_info *info, u32 *fds, u32 *n)
{
	const struct nlattr *a;
	int rem;

	*n = 0;
	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(a) != VMIG_A_SESSION_VCPU_FD)
			continue;
		if (*n == VMIG_WIRE_MAX_VCPUS) {
			vmig_nl_reject(info->extack, a, "too many vcpu-fd attributes");
			return -E2BIG;
		}
		fds[(*n)++] = nla_get_u32(a);
	}
	return 0;
}

/*
 * Everything a migrate-start or receive-start needs before a session
 * exists: the VM, its vCPUs and the connection. On success the caller owns
 * *vm and *stream.
 */
static int vmig_nl_attach(struct genl_info *info, bool need_sock,
			  struct vmig_vm **vm, struct vmig_stream **stream)
{
	u32 *fds, n = 0;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VMIG_A_SESSION_VM_FD)) {
		NL_SET_ERR_MSG_MOD(info->extack, "vm-fd is required");
		return -EINVAL;
	}
	if (need_sock && GENL_REQ_ATTR_CHECK(info, VMIG_A_SESSION_SOCK_FD)) {
		NL_SET_ERR_MSG_MOD(info->extack, "sock-fd is required");
		return -EINVAL;
	}
	fds = kcalloc(VMIG_WIRE_MAX_VCPUS, sizeof(*fds), GFP_KERNEL);
	if (!fds)
		return -ENOMEM;
	ret = vmig_nl_vcpu_fds(info, fds, &n);
	if (ret)
		goto out_free;
	/* With a RAM backend the VMM carries vCPU state: no vCPUs here. */
	if (need_sock && info->attrs[VMIG_A_SESSION_RAM_HVA] && n) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "vcpu-fd and ram-hva exclude each other: with a RAM backend the VMM carries vCPU state");
		ret = -EINVAL;
		goto out_free;
	}
	if (need_sock && !info->attrs[VMIG_A_SESSION_RAM_HVA] && !n) {
		NL_SET_ERR_MSG_MOD(info->extack, "vcpu-fd attributes (or ram-hva) are required");
		ret = -EINVAL;
		goto out_free;
	}
	/* Without vCPU fds (dirty-rate, a RAM backend) only memory is used. */
	*vm = vmig_vm_attach(nla_get_u32(info->attrs[VMIG_A_SESSION_VM_FD]),
			     need_sock && n ? fds : NULL, n, info->extack);
	if (IS_ERR(*vm)) {
		ret = PTR_ERR(*vm);
		NL_SET_BAD_ATTR(info->extack, info->attrs[VMIG_A_SESSION_VM_FD]);
		goto out_free;
	}
	*stream = NULL;
	if (need_sock) {
		u32 flags = info->attrs[VMIG_A_SESSION_FLAGS] ?
			    nla_get_u32(info->attrs[VMIG_A_SESSION_FLAGS]) : 0;

		*stream = vmig_stream_create(nla_get_u32(info->attrs[VMIG_A_SESSION_SOCK_FD]),
					     flags & VMIG_MIGRATE_FLAGS_INSECURE, &ret);
		if (!*stream) {
			if (ret == -EKEYREJECTED)
				vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_SOCK_FD],
					       "sock-fd is not under kTLS; only the insecure flag lets plain TCP carry a VM");
			else if (ret == -ENOTCONN)
				vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_SOCK_FD],
					       "sock-fd's connection is no longer established (the destination closed it)");
			else
				vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_SOCK_FD],
					       "sock-fd is not a connected TCP socket");
			vmig_vm_detach(*vm);
			goto out_free;
		}
	}
	ret = 0;
out_free:
	kfree(fds);
	return ret;
}

/*
 * Sessions live in the namespace of the socket that starts them, and their
 * events go to its "events" group, which admits CAP_NET_ADMIN over the
 * namespace's owner (GENL_MCAST_CAP_NET_ADMIN). A namespace owned by
 * another user namespace has an owner who is no host admin, yet events
 * name VMM pids and show progress: sessions start only in namespaces of
 * the initial user namespace. One rule for 6.1 and 6.12 alike; it needs
 * no genetlink bind hook, which 6.1 lacks.
 */
static int vmig_nl_host_netns(struct genl_info *info)
{
	if (genl_info_net(info)->user_ns == &init_user_ns)
		return 0;
	NL_SET_ERR_MSG_MOD(info->extack,
			   "sessions start only in a network namespace owned by the initial user namespace (its events would reach the namespace's owner)");
	return -EPERM;
}

static int vmig_nl_start(struct sk_buff *skb, struct genl_info *info, enum vmig_role role,
			 u8 cmd)
{
	struct vmig_stream *stream;
	struct vmig_session *s;
	struct sk_buff *msg;
	struct vmig_vm *vm;
	void *hdr;
	int ret;

	ret = vmig_nl_host_netns(info);
	if (ret)
		return ret;
	ret = vmig_nl_attach(info, true, &vm, &stream);
	if (ret)
		return ret;
	s = vmig_session_create(genl_info_net(info), role == VMIG_ROLE_SOURCE ?
				&vmig_migrate_ops : &vmig_receive_ops);
	if (IS_ERR(s)) {
		vmig_stream_destroy(stream);
		vmig_vm_detach(vm);
		return PTR_ERR(s);
	}
	/* The session owns them from here, started or not. */
	s->vm = vm;
	s->stream = stream;
	s->vmm_pid = vm->vmm_pid;
	if (info->attrs[VMIG_A_SESSION_FLAGS])
		s->flags = nla_get_u32(info->attrs[VMIG_A_SESSION_FLAGS]);
	/* Its controller is the socket that asked; its closing orphans it. */
	s->owner_portid = info->snd_portid;
	if (role == VMIG_ROLE_SOURCE) {
		ret = vmig_nl_stop_pids(info, s);
		if (!ret)
			ret = vmig_nl_throttle(info, s);
		if (ret)
			goto err_discard;
	}
	if (!!info->attrs[VMIG_A_SESSION_RAM_HVA] != !!info->attrs[VMIG_A_SESSION_RAM_SIZE]) {
		vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_RAM_HVA] ?:
			       info->attrs[VMIG_A_SESSION_RAM_SIZE],
			       "ram-hva and ram-size go together");
		ret = -EINVAL;
		goto err_discard;
	}
	if (info->attrs[VMIG_A_SESSION_RAM_HVA]) {
		s->ram = vmig_ram_create(vm->mm, nla_get_u64(info->attrs[VMIG_A_SESSION_RAM_HVA]),
					 nla_get_u64(info->attrs[VMIG_A_SESSION_RAM_SIZE]),
					 role == VMIG_ROLE_SOURCE, info->extack);
		if (IS_ERR(s->ram)) {
			ret = PTR_ERR(s->ram);
			s->ram = NULL;
			NL_SET_BAD_ATTR(info->extack, info->attrs[VMIG_A_SESSION_RAM_HVA]);
			goto err_discard;
		}
	}
	/*
	 * info->attrs is sized by the op's own policy: receive-start's ends
	 * before these, and its strict policy already refused them.
	 */
	if (role == VMIG_ROLE_SOURCE && info->attrs[VMIG_A_SESSION_MAX_BANDWIDTH])
		s->max_bandwidth = nla_get_u64(info->attrs[VMIG_A_SESSION_MAX_BANDWIDTH]);
	if (!!info->attrs[VMIG_A_SESSION_DISK_FD] != !!info->attrs[VMIG_A_SESSION_DISK_NAME]) {
		vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_DISK_FD] ?:
			       info->attrs[VMIG_A_SESSION_DISK_NAME],
			       "disk-fd and disk-name go together");
		ret = -EINVAL;
		goto err_discard;
	}
	/*
	 * A disk session reads or writes a whole block device beneath its
	 * users: the privilege of a storage move, more than a VM's memory.
	 */
	if (info->attrs[VMIG_A_SESSION_DISK_FD] && !netlink_capable(skb, CAP_SYS_ADMIN)) {
		vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_DISK_FD],
			       "disk-fd needs CAP_SYS_ADMIN, as storage moves do");
		ret = -EPERM;
		goto err_discard;
	}
	if (info->attrs[VMIG_A_SESSION_DISK_FD]) {
		u32 fd = nla_get_u32(info->attrs[VMIG_A_SESSION_DISK_FD]);
		const char *name = nla_data(info->attrs[VMIG_A_SESSION_DISK_NAME]);

		s->disk = role == VMIG_ROLE_SOURCE ?
			  vmig_disk_src_create(fd, name, info->extack) :
			  vmig_disk_dst_create(fd, name, info->extack);
		if (IS_ERR(s->disk)) {
			ret = PTR_ERR(s->disk);
			s->disk = NULL;
			NL_SET_BAD_ATTR(info->extack, info->attrs[VMIG_A_SESSION_DISK_FD]);
			goto err_discard;
		}
	}
	if (role == VMIG_ROLE_SOURCE && info->attrs[VMIG_A_SESSION_MSR_INDEX] && s->ram) {
		vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_MSR_INDEX],
			       "msr-index and ram-hva exclude each other: with a RAM backend the VMM carries vCPU state");
		ret = -EINVAL;
		goto err_discard;
	}
	if (role == VMIG_ROLE_SOURCE && info->attrs[VMIG_A_SESSION_MSR_INDEX]) {
		const struct nlattr *a = info->attrs[VMIG_A_SESSION_MSR_INDEX];

		if (nla_len(a) % sizeof(u32) || nla_len(a) / sizeof(u32) > VMIG_STATE_MAX_MSRS) {
			vmig_nl_reject(info->extack, a,
				       "msr-index must be an array of at most 255 u32 (KVM moves at most 255 MSRs per call)");
			ret = -EINVAL;
			goto err_discard;
		}
		s->msrs.nr = nla_len(a) / sizeof(u32);
		s->msrs.index = kmemdup(nla_data(a), nla_len(a), GFP_KERNEL);
		if (!s->msrs.index && s->msrs.nr) {
			ret = -ENOMEM;
			goto err_discard;
		}
	}

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto err_discard;
	}
	hdr = genlmsg_put_reply(msg, info, &vmig_nl_family, 0, cmd);
	if (!hdr || nla_put_u32(msg, VMIG_A_SESSION_ID, s->id)) {
		nlmsg_free(msg);
		ret = -EMSGSIZE;
		goto err_discard;
	}
	genlmsg_end(msg, hdr);

	ret = vmig_session_start(s);
	if (ret) {
		nlmsg_free(msg);
		goto err_discard;
	}
	vmig_session_put(s);
	return genlmsg_reply(msg, info);

err_discard:
	vmig_session_discard(s);
	vmig_session_put(s);
	return ret;
}

int vmig_nl_migrate_start_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmig_nl_start(skb, info, VMIG_ROLE_SOURCE, VMIG_CMD_MIGRATE_START);
}

int vmig_nl_receive_start_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmig_nl_start(skb, info, VMIG_ROLE_DESTINATION, VMIG_CMD_RECEIVE_START);
}

int vmig_nl_switchover_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmig_session *s;
	int ret;

	s = vmig_nl_session_from_attrs(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = vmig_session_switchover(s, info->extack);
	vmig_session_put(s);
	return ret;
}

int vmig_nl_dirty_rate_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmig_dirtyrate res = { };
	struct vmig_stream *stream;
	struct sk_buff *msg;
	struct vmig_vm *vm;
	u32 ms;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VMIG_A_SESSION_DURATION_MS)) {
		NL_SET_ERR_MSG_MOD(info->extack, "duration-ms is required");
		return -EINVAL;
	}
	ms = nla_get_u32(info->attrs[VMIG_A_SESSION_DURATION_MS]);
	ret = vmig_nl_attach(info, false, &vm, &stream);
	if (ret)
		return ret;
	ret = vmig_dirtyrate_measure(vm, ms, &res);
	vmig_vm_detach(vm);
	if (ret) {
		if (res.why)
			vmig_compat_extack_msg(info->extack, res.why);
		return ret;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vmig_nl_family, 0, VMIG_CMD_DIRTY_RATE_GET);
	if (!hdr ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_RAM_BYTES, res.ram_bytes, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_DIRTY_PAGES, res.dirty_pages, 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_DIRTY_RATE,
			      div64_u64(res.dirty_pages * PAGE_SIZE * USEC_PER_SEC,
					max_t(u64, res.elapsed_us, 1)), 0) ||
	    nla_put_u64_64bit(msg, VMIG_A_SESSION_ELAPSED_MS,
			      div_u64(res.elapsed_us, USEC_PER_MSEC), 0)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

int vmig_nl_storage_move_start_doit(struct sk_buff *skb, struct genl_info *info)
{
	static const int bad_attr[] = {
		[VMIG_STORAGE_BAD_DEV] = VMIG_A_SESSION_STORAGE_DEV,
		[VMIG_STORAGE_BAD_DEST] = VMIG_A_SESSION_STORAGE_DEST,
	};
	struct vmig_storage_req req = {
		.granularity = VMIG_STORAGE_DEF_GRANULARITY,
		.downtime_ms = VMIG_STORAGE_DEF_DOWNTIME_MS,
		.max_iterations = VMIG_STORAGE_DEF_MAX_ITERATIONS,
	};
	enum vmig_storage_bad bad;
	struct vmig_move *m;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	/* It reads and writes whole block devices, as device-mapper does. */
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG_MOD(info->extack, "storage moves need CAP_SYS_ADMIN");
		return -EPERM;
	}
	ret = vmig_nl_host_netns(info);
	if (ret)
		return ret;
	if (GENL_REQ_ATTR_CHECK(info, VMIG_A_SESSION_STORAGE_DEV)) {
		NL_SET_ERR_MSG_MOD(info->extack, "storage-dev is required");
		return -EINVAL;
	}
	if (GENL_REQ_ATTR_CHECK(info, VMIG_A_SESSION_STORAGE_DEST)) {
		NL_SET_ERR_MSG_MOD(info->extack, "storage-dest is required");
		return -EINVAL;
	}
	req.dev = nla_data(info->attrs[VMIG_A_SESSION_STORAGE_DEV]);
	req.dest = nla_data(info->attrs[VMIG_A_SESSION_STORAGE_DEST]);
	if (info->attrs[VMIG_A_SESSION_GRANULARITY]) {
		req.granularity = nla_get_u32(info->attrs[VMIG_A_SESSION_GRANULARITY]);
		if (!is_power_of_2(req.granularity) || req.granularity > SZ_1G) {
			vmig_nl_reject(info->extack, info->attrs[VMIG_A_SESSION_GRANULARITY],
				       "granularity must be a power of two up to 1 GiB");
			return -EINVAL;
		}
	}
	if (info->attrs[VMIG_A_SESSION_DOWNTIME_MS])
		req.downtime_ms = nla_get_u32(info->attrs[VMIG_A_SESSION_DOWNTIME_MS]);
	if (info->attrs[VMIG_A_SESSION_MAX_ITERATIONS])
		req.max_iterations = nla_get_u32(info->attrs[VMIG_A_SESSION_MAX_ITERATIONS]);
	if (info->attrs[VMIG_A_SESSION_STORAGE_FLAGS])
		req.flags = nla_get_u32(info->attrs[VMIG_A_SESSION_STORAGE_FLAGS]);

	m = vmig_storage_create(genl_info_net(info), &req, info->extack, &bad);
	if (IS_ERR(m)) {
		if (bad != VMIG_STORAGE_BAD_NONE)
			NL_SET_BAD_ATTR(info->extack, info->attrs[bad_attr[bad]]);
		return PTR_ERR(m);
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto err_discard;
	}
	hdr = genlmsg_put_reply(msg, info, &vmig_nl_family, 0, VMIG_CMD_STORAGE_MOVE_START);
	if (!hdr || nla_put_u32(msg, VMIG_A_SESSION_ID, vmig_storage_id(m))) {
		ret = -EMSGSIZE;
		goto err_free_msg;
	}
	genlmsg_end(msg, hdr);
	ret = vmig_storage_start(m);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);

err_free_msg:
	nlmsg_free(msg);
err_discard:
	vmig_storage_discard(m);
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
	struct net *net = vmig_session_get_net(s);
	struct sk_buff *msg;

	if (!net)
		return;
	if (!genl_has_listeners(&vmig_nl_family, net, VMIG_NLGRP_EVENTS))
		goto out_put_net;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		goto out_put_net;
	if (vmig_nl_session_fill(msg, s, 0, 0, 0, VMIG_CMD_SESSION_NTF)) {
		nlmsg_free(msg);
		goto out_put_net;
	}
	genlmsg_multicast_netns(&vmig_nl_family, net, msg, 0,
				VMIG_NLGRP_EVENTS, GFP_KERNEL);
out_put_net:
	put_net(net);
}

/* A generic netlink socket closed: the sessions it started are orphans. */
static int vmig_nl_release(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC)
		vmig_session_owner_gone(n->net, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block vmig_nl_notifier = {
	.notifier_call = vmig_nl_release,
};

/**
 * vmig_netlink_init() - register the vmig generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int vmig_netlink_init(void)
{
	int ret;

	ret = netlink_register_notifier(&vmig_nl_notifier);
	if (ret)
		return ret;
	ret = genl_register_family(&vmig_nl_family);
	if (ret)
		goto err_unregister_notifier;
	return 0;

err_unregister_notifier:
	netlink_unregister_notifier(&vmig_nl_notifier);
	return ret;
}

/**
 * vmig_netlink_uninit() - unregister the family
 *
 * After this returns no handler runs and none will start.
 */
void vmig_netlink_uninit(void)
{
	netlink_unregister_notifier(&vmig_nl_notifier);
	genl_unregister_family(&vmig_nl_family);
}
