/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A migration session: one end (source or destination) of moving one VM.
 */
#ifndef _VMIG_SESSION_H
#define _VMIG_SESSION_H

#include <linux/kref.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <uapi/linux/vmig.h>

/**
 * struct vmig_session - one end of a migration
 * @ref: lifetime; the session table holds one reference until the session
 *	is removed, every lookup returns one more.
 * @id: table key, unique while the module is loaded, never 0.
 * @role: source or destination; fixed at creation.
 * @net: network namespace of the creator; sessions are visible only there.
 * @vmm_pid: the VMM process (in the creator's pid namespace).
 * @lock: protects @state and @error.
 * @state: enum vmig_state; final states never change again.
 * @error: negative errno once @state is VMIG_STATE_FAILED, else 0.
 * @rcu: frees the session after lockless readers are done.
 */
struct vmig_session {
	struct kref ref;
	u32 id;
	enum vmig_role role;
	possible_net_t net;
	pid_t vmm_pid;
	spinlock_t lock; /* protects state, error */
	enum vmig_state state;
	int error;
	struct rcu_head rcu;
};

struct vmig_session *vmig_session_create(struct net *net, enum vmig_role role,
					 pid_t vmm_pid);
struct vmig_session *vmig_session_lookup(struct net *net, u32 id);
struct vmig_session *vmig_session_next(struct net *net, u32 *id);
void vmig_session_put(struct vmig_session *s);
int vmig_session_cancel(struct vmig_session *s);
enum vmig_state vmig_session_state(struct vmig_session *s, int *error);

int vmig_session_init(void);
void vmig_session_uninit(void);

#endif /* _VMIG_SESSION_H */
