// SPDX-License-Identifier: GPL-2.0
/*
 * Session table and lifetimes. Sessions are kept in an allocating xarray;
 * readers look up under RCU and keep a session only if they win a reference
 * (kref_get_unless_zero), so a session being released is never returned.
 */
#include <linux/slab.h>
#include <linux/xarray.h>

#include "netlink.h"
#include "session.h"

/* Maps id -> session; the xarray's own lock serialises insert and erase. */
static DEFINE_XARRAY_ALLOC1(vmig_sessions);
static u32 vmig_session_next_id;

static void vmig_session_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct vmig_session, rcu));
}

static void vmig_session_release(struct kref *ref)
{
	struct vmig_session *s = container_of(ref, struct vmig_session, ref);

	pr_debug("session %u destroyed\n", s->id);
	call_rcu(&s->rcu, vmig_session_free_rcu);
}

/**
 * vmig_session_create() - create a session and publish it in the table
 * @net: namespace the session belongs to
 * @role: source or destination
 * @vmm_pid: the VMM process, for reporting
 *
 * Context: process context, may sleep.
 * Return: the session with a reference owned by the caller (the table holds
 * its own), or an ERR_PTR.
 */
struct vmig_session *vmig_session_create(struct net *net, enum vmig_role role,
					 pid_t vmm_pid)
{
	struct vmig_session *s;
	int ret;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	kref_init(&s->ref);
	spin_lock_init(&s->lock);
	write_pnet(&s->net, net);
	s->role = role;
	s->vmm_pid = vmm_pid;
	s->state = VMIG_STATE_NEW;

	ret = xa_alloc_cyclic(&vmig_sessions, &s->id, s, xa_limit_32b,
			      &vmig_session_next_id, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	kref_get(&s->ref);
	pr_debug("session %u created\n", s->id);
	return s;

err_free:
	kfree(s);
	return ERR_PTR(ret);
}

/**
 * vmig_session_lookup() - find a session by id
 * @net: the caller's namespace; sessions of other namespaces are not found
 * @id: session id
 *
 * Return: the session with a reference the caller must put, or NULL.
 */
struct vmig_session *vmig_session_lookup(struct net *net, u32 id)
{
	struct vmig_session *s;

	rcu_read_lock();
	s = xa_load(&vmig_sessions, id);
	if (s && (!net_eq(read_pnet(&s->net), net) || !kref_get_unless_zero(&s->ref)))
		s = NULL;
	rcu_read_unlock();
	return s;
}

/**
 * vmig_session_next() - iterate sessions for a dump
 * @net: the caller's namespace
 * @id: in: first id to consider; out: the id after the one returned
 *
 * Return: the first live session of @net with id >= *@id, with a reference
 * the caller must put, or NULL when there is none.
 */
struct vmig_session *vmig_session_next(struct net *net, u32 *id)
{
	unsigned long index = *id;
	struct vmig_session *s;

	rcu_read_lock();
	xa_for_each_start(&vmig_sessions, index, s, index) {
		if (net_eq(read_pnet(&s->net), net) && kref_get_unless_zero(&s->ref))
			break;
	}
	rcu_read_unlock();
	if (s)
		*id = s->id + 1;
	return s;
}

/**
 * vmig_session_put() - drop a reference
 * @s: session, may be NULL
 */
void vmig_session_put(struct vmig_session *s)
{
	if (s)
		kref_put(&s->ref, vmig_session_release);
}

/**
 * vmig_session_state() - read a session's state
 * @s: session (reference held by the caller)
 * @error: out: the session's error, 0 unless failed; may be NULL
 *
 * Return: the state at the time of the call.
 */
enum vmig_state vmig_session_state(struct vmig_session *s, int *error)
{
	enum vmig_state state;

	spin_lock(&s->lock);
	state = s->state;
	if (error)
		*error = s->error;
	spin_unlock(&s->lock);
	return state;
}

/**
 * vmig_session_cancel() - cancel a session and remove it from the table
 * @s: session (reference held by the caller)
 *
 * Context: process context.
 * Return: 0, or -EALREADY when the session had already ended.
 */
int vmig_session_cancel(struct vmig_session *s)
{
	bool final;

	spin_lock(&s->lock);
	final = s->state >= VMIG_STATE_DONE;
	if (!final)
		s->state = VMIG_STATE_CANCELLED;
	spin_unlock(&s->lock);
	if (final)
		return -EALREADY;

	vmig_nl_session_notify(s);
	if (xa_erase(&vmig_sessions, s->id) == s)
		vmig_session_put(s);
	return 0;
}

/**
 * vmig_session_init() - prepare the session table
 *
 * Return: 0.
 */
int vmig_session_init(void)
{
	return 0;
}

/**
 * vmig_session_uninit() - drop every session still in the table
 *
 * Context: module unload; netlink is already unregistered, so nothing can
 * look sessions up any more.
 */
void vmig_session_uninit(void)
{
	struct vmig_session *s;
	unsigned long id;

	xa_for_each(&vmig_sessions, id, s) {
		xa_erase(&vmig_sessions, id);
		vmig_session_put(s);
	}
	rcu_barrier();
	xa_destroy(&vmig_sessions);
}
