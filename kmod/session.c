// SPDX-License-Identifier: GPL-2.0
/*
 * Session table, lifetimes and the worker thread.
 *
 * Sessions live in an allocating xarray; readers look up under RCU and keep
 * a session only if they win a reference (kref_get_unless_zero). Each
 * session runs one worker kthread. What differs between the roles (a
 * source's pre-copy in migrate.c, a destination's landing in receive.c, a
 * storage move in storage.c) is its struct vmig_session_ops; everything
 * else is here, once for every role: the worker's start, the release of
 * what the session holds, the one path to a final state, the controller's
 * death, and how long an outcome stays readable. A worker holds a module
 * reference, so vmig cannot be unloaded under a running migration; module
 * unload cancels what is left.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "compat/compat.h"
#include "disk.h"
#include "netlink.h"
#include "ram.h"
#include "session.h"
#include "stream.h"
#include "vm.h"

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
	u32 i;

	for (i = 0; i < s->nr_stop_pids; i++)
		put_pid(s->stop_pids[i]);
	/* Restored at the worker's end (never throttled if it never ran). */
	if (s->throttle_file)
		fput(s->throttle_file);
	/* A session that never started still owns what it was given. */
	vmig_vm_detach(s->vm);
	vmig_stream_destroy(s->stream);
	vmig_disk_destroy(s->disk);
	vmig_ram_destroy(s->ram);
	if (s->priv && s->ops->release)
		s->ops->release(s);
	kfree(s->msrs.index);
	pr_debug("session %u destroyed\n", s->id);
	call_rcu(&s->rcu, vmig_session_free_rcu);
}

/* How long an ended session stays listed unless dismissed (session-del). */
#define VMIG_SESSION_LINGER	(VMIG_LINGER_S * HZ)

static void vmig_session_linger_end(struct work_struct *work)
{
	struct vmig_session *s = container_of(to_delayed_work(work),
					      struct vmig_session, linger);

	vmig_session_discard(s);
}

/**
 * vmig_session_create() - create a session and list it
 * @net: namespace the session belongs to
 * @ops: what its role does
 *
 * Context: process context, may sleep.
 * Return: the session with a reference owned by the caller (the table holds
 * its own), or an ERR_PTR.
 */
struct vmig_session *vmig_session_create(struct net *net,
					 const struct vmig_session_ops *ops)
{
	struct vmig_session *s;
	int ret;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	kref_init(&s->ref);
	spin_lock_init(&s->lock);
	mutex_init(&s->io_lock);
	mutex_init(&s->switch_mutex);
	init_waitqueue_head(&s->wq);
	init_completion(&s->switch_done);
	INIT_DELAYED_WORK(&s->linger, vmig_session_linger_end);
	RCU_INIT_POINTER(s->net, net);
	s->ops = ops;
	s->role = ops->role;
	s->state = VMIG_STATE_NEW;
	s->start = ktime_get();

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
 * vmig_session_discard() - unlist a session that will never start
 * @s: session (caller's reference is not consumed)
 */
void vmig_session_discard(struct vmig_session *s)
{
	/*
	 * Before it leaves the table, where vmig_session_net_pre_exit() looks:
	 * unlisted, it would keep a pointer to a namespace that may go.
	 */
	RCU_INIT_POINTER(s->net, NULL);
	if (xa_erase(&vmig_sessions, s->id) == s)
		vmig_session_put(s);
}

/*
 * The one way a session ends, whatever its role. Context: the worker,
 * under @s->io_lock, after everything the session held was released.
 */
static void vmig_session_end(struct vmig_session *s, int ret, const char *why,
			     bool unknown)
{
	lockdep_assert_held(&s->io_lock);
	if (!ret)
		vmig_session_set_state(s, VMIG_STATE_DONE, 0, NULL);
	else if (unknown)
		vmig_session_set_state(s, VMIG_STATE_UNKNOWN, ret, why);
	else if (ret == -ECANCELED)
		vmig_session_set_state(s, VMIG_STATE_CANCELLED, 0, NULL);
	else
		vmig_session_set_state(s, VMIG_STATE_FAILED, ret, why);
}

static int vmig_session_worker(void *data)
{
	struct vmig_session *s = data;
	const char *why = NULL;
	bool unknown = false;
	bool orphaned;
	int ret;

	/*
	 * A cancel shuts the connection down, so the send or receive it
	 * interrupts fails with EPIPE or end of stream: that is the cancel.
	 */
	ret = s->ops->run(s, &why, &unknown);
	if (ret && !unknown && s->ops->cancel_cuts_io && vmig_session_cancelled(s)) {
		ret = -ECANCELED;
		why = NULL;
	}

	/*
	 * Release first, then tell: whoever reads the outcome (session-get,
	 * the final event) may act on the VM, the disk or the device at once,
	 * and nothing of this session may still hold them.
	 */
	if (s->priv && s->ops->release)
		s->ops->release(s);
	s->priv = NULL;
	mutex_lock(&s->io_lock);
	vmig_vm_detach(s->vm);
	s->vm = NULL;
	vmig_stream_destroy(s->stream);
	s->stream = NULL;
	vmig_disk_destroy(s->disk);
	s->disk = NULL;
	vmig_ram_destroy(s->ram);
	s->ram = NULL;
	vmig_session_end(s, ret, why, unknown);
	/*
	 * Read under @io_lock with the final state set: either this sees
	 * the orphaning or vmig_session_orphan() sees the final state.
	 */
	orphaned = s->orphaned;
	mutex_unlock(&s->io_lock);
	/* After the final state: a later request is refused, not left waiting. */
	vmig_session_switch_answer(s, ret ?: -ESHUTDOWN, why ?: "the session ended");
	/* Its controller died before the outcome: nobody else resumes. */
	if (orphaned)
		vmig_session_resume_stopped(s);
	/* Whatever the controller does next, the VMM is not throttled for us. */
	vmig_session_unthrottle(s);

	/* Dismissable (session-del) from the moment listeners hear the end. */
	schedule_delayed_work(&s->linger, VMIG_SESSION_LINGER);
	vmig_nl_session_notify(s);
	vmig_session_put(s);
	module_put_and_kthread_exit(0);
}

/**
 * vmig_session_start() - run a session's worker
 * @s: a new session holding what its role needs (its VM and connection,
 *	or @s->priv); the caller keeps its reference
 *
 * Return: 0 or a negative errno (the caller then discards the session,
 * which still owns and releases what it was given).
 */
int vmig_session_start(struct vmig_session *s)
{
	struct task_struct *t;

	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	kref_get(&s->ref);
	t = kthread_run(vmig_session_worker, s, "vmig-%s-%u", s->ops->name, s->id);
	if (IS_ERR(t)) {
		vmig_session_put(s);
		module_put(THIS_MODULE);
		return PTR_ERR(t);
	}
	return 0;
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
	if (s && (!net_eq(rcu_dereference(s->net), net) || !kref_get_unless_zero(&s->ref)))
		s = NULL;
	rcu_read_unlock();
	return s;
}

/**
 * vmig_session_get_net() - the session's namespace, counted
 * @s: session (reference held by the caller)
 *
 * Return: the namespace with a reference the caller puts (put_net), or
 * NULL once it is dying: then there is nobody left to tell anything.
 */
struct net *vmig_session_get_net(struct vmig_session *s)
{
	struct net *net;

	rcu_read_lock();
	net = rcu_dereference(s->net);
	net = net ? maybe_get_net(net) : NULL;
	rcu_read_unlock();
	return net;
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
		if (net_eq(rcu_dereference(s->net), net) && kref_get_unless_zero(&s->ref))
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
 * vmig_session_state() - read a session's state and progress
 * @s: session (reference held by the caller)
 * @error: out: the session's error, 0 unless failed; may be NULL
 * @why: out: text explaining @error or NULL; may be NULL
 * @stats: out: progress; may be NULL
 *
 * Return: the state at the time of the call.
 */
enum vmig_state vmig_session_state(struct vmig_session *s, int *error,
				   const char **why, struct vmig_stats *stats)
{
	enum vmig_state state;

	spin_lock(&s->lock);
	state = s->state;
	if (error)
		*error = s->error;
	if (why)
		*why = s->why;
	if (stats)
		*stats = s->stats;
	spin_unlock(&s->lock);
	return state;
}

/**
 * vmig_session_set_state() - move to a new state and tell listeners
 * @s: session
 * @state: new state
 * @error: negative errno for VMIG_STATE_FAILED, else 0
 * @why: static text explaining @error, or NULL
 *
 * A final state is never left; a later call is ignored. The final
 * notification is sent by the worker after it released the VM.
 */
void vmig_session_set_state(struct vmig_session *s, enum vmig_state state,
			    int error, const char *why)
{
	bool changed = false;

	spin_lock(&s->lock);
	if (!vmig_state_final(s->state)) {
		s->state = state;
		s->error = error;
		s->why = why;
		changed = true;
	}
	spin_unlock(&s->lock);
	if (changed && !vmig_state_final(state))
		vmig_nl_session_notify(s);
	if (changed && vmig_state_final(state))
		pr_debug("session %u ended: state %d error %d%s%s\n", s->id, state,
			 error, why ? ": " : "", why ?: "");
}

/**
 * vmig_session_update() - publish new progress numbers and tell listeners
 * @s: session
 * @st: the numbers
 */
void vmig_session_update(struct vmig_session *s, const struct vmig_stats *st)
{
	spin_lock(&s->lock);
	s->stats = *st;
	spin_unlock(&s->lock);
	vmig_nl_session_notify(s);
}

/**
 * vmig_session_cancelled() - has the session been asked to stop?
 * @s: session
 *
 * Return: true once vmig_session_cancel() ran.
 */
bool vmig_session_cancelled(struct vmig_session *s)
{
	return READ_ONCE(s->cancel);
}

/*
 * The cancel proper: never dismisses (an ended session's worker ignores
 * it). Return: 0, or -EBUSY when a source has committed.
 */
static int vmig_session_stop(struct vmig_session *s)
{
	mutex_lock(&s->io_lock);
	if (s->committed) {
		mutex_unlock(&s->io_lock);
		return -EBUSY;
	}
	WRITE_ONCE(s->cancel, true);
	/* A ready destination answers the source "no" over the connection. */
	if (s->stream && !s->ready)
		vmig_stream_shutdown(s->stream);
	mutex_unlock(&s->io_lock);
	wake_up(&s->wq);
	return 0;
}

/**
 * vmig_session_cancel() - ask a session's worker to stop, or dismiss it
 * @s: session (reference held by the caller)
 *
 * The worker notices at its next step, or at once if it is blocked on the
 * connection (which is shut down; a ready destination's is kept for its
 * refusal). A source VM keeps running. A session
 * that has ended is unlisted at once instead of after its linger time.
 *
 * Context: process context.
 * Return: 0, -EALREADY when the session is still winding down, or -EBUSY
 * when a source has committed (vmig_session_commit()).
 */
int vmig_session_cancel(struct vmig_session *s)
{
	if (vmig_state_final(vmig_session_state(s, NULL, NULL, NULL))) {
		/* Listed until its worker is gone, then until linger or now. */
		if (!cancel_delayed_work(&s->linger))
			return -EALREADY;
		vmig_session_discard(s);
		return 0;
	}
	return vmig_session_stop(s);
}

/**
 * vmig_session_commit() - a source is about to send its END frame
 * @s: the source session, from its worker
 *
 * Once the destination has the whole VM it may resume it, so the source
 * must not resume on a cancel any more: only the destination's answer (or
 * its absence) decides. Lost answers still fail the source; this closes
 * the window in which an operator's cancel would run the VM twice.
 *
 * Return: 0, or -ECANCELED when a cancel came first.
 */
int vmig_session_commit(struct vmig_session *s)
{
	int ret = 0;

	mutex_lock(&s->io_lock);
	if (s->cancel)
		ret = -ECANCELED;
	else
		s->committed = true;
	mutex_unlock(&s->io_lock);
	return ret;
}

/**
 * vmig_session_switchover() - the switchover command, for any role
 * @s: session (reference held by the caller)
 * @extack: where to say why not
 *
 * Context: netlink handler, may sleep.
 * Return: what the role's switchover returns, or -EOPNOTSUPP for a role
 * that switches over by itself.
 */
int vmig_session_switchover(struct vmig_session *s, struct netlink_ext_ack *extack)
{
	if (!s->ops->switchover) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a storage move switches over by itself once it converges");
		return -EOPNOTSUPP;
	}
	return s->ops->switchover(s, extack);
}

/**
 * vmig_session_switch_request() - hand the worker a switchover request
 * @s: session; the caller holds @s->switch_mutex and checked the state
 * @extack: receives the worker's reason on refusal
 *
 * A source's worker answers once its final pass is under way, a ready
 * destination's once its acknowledgment went out (or could not).
 *
 * Context: netlink handler, may sleep; a fatal signal stops the wait.
 * Return: the worker's answer, or -EINTR.
 */
int vmig_session_switch_request(struct vmig_session *s, struct netlink_ext_ack *extack)
{
	int ret;

	lockdep_assert_held(&s->switch_mutex);
	reinit_completion(&s->switch_done);
	spin_lock(&s->lock);
	/* The worker answers what is pending after its final state. */
	if (vmig_state_final(s->state)) {
		spin_unlock(&s->lock);
		NL_SET_ERR_MSG_MOD(extack, "the session has ended");
		return -ESHUTDOWN;
	}
	s->switch_req = true;
	s->switch_time = ktime_get();
	spin_unlock(&s->lock);
	wake_up(&s->wq);
	ret = wait_for_completion_killable(&s->switch_done);
	if (ret) {
		spin_lock(&s->lock);
		s->switch_req = false;
		spin_unlock(&s->lock);
		return ret;
	}
	ret = s->switch_ret;
	if (ret)
		vmig_compat_extack_msg(extack, s->switch_why);
	return ret;
}

/**
 * vmig_session_switch_pending() - is a switchover request waiting?
 * @s: session
 *
 * Return: true between vmig_session_switch_request() and the answer.
 */
bool vmig_session_switch_pending(struct vmig_session *s)
{
	bool req;

	spin_lock(&s->lock);
	req = s->switch_req;
	spin_unlock(&s->lock);
	return req;
}

/**
 * vmig_session_switch_answer() - answer a pending switchover request
 * @s: session, from its worker
 * @ret: 0 or a negative errno
 * @why: static text explaining @ret
 *
 * Does nothing when no request waits.
 */
void vmig_session_switch_answer(struct vmig_session *s, int ret, const char *why)
{
	spin_lock(&s->lock);
	if (s->switch_req) {
		s->switch_req = false;
		s->switch_ret = ret;
		s->switch_why = why;
		complete(&s->switch_done);
	}
	spin_unlock(&s->lock);
}

/**
 * vmig_session_resume_stopped() - resume what the controller stopped
 * @s: session (reference held by the caller)
 *
 * For a source that ended failed or cancelled: the VM stays here, so the
 * VMM and the stop-pid processes must run (SIGCONT; harmless when they
 * run already). Nothing is done for any other role or outcome: after a
 * done or unknown switchover the destination runs, or may run, the VM.
 */
void vmig_session_resume_stopped(struct vmig_session *s)
{
	enum vmig_state state = vmig_session_state(s, NULL, NULL, NULL);
	u32 i;

	if (!s->ops->stops_vmm ||
	    (state != VMIG_STATE_FAILED && state != VMIG_STATE_CANCELLED))
		return;
	for (i = 0; i < s->nr_stop_pids; i++)
		kill_pid(s->stop_pids[i], SIGCONT, 1);
	pr_debug("session %u: resumed %u stopped processes\n", s->id, s->nr_stop_pids);
}

/**
 * vmig_session_unthrottle() - give the VMM's cgroup its cpu.max back
 * @s: session (reference held by the caller)
 *
 * At the worker's end, and again when the controller goes after it: a
 * controller still alive may throttle once more (an event it had queued)
 * and die before it restores. Writing the same value twice is harmless;
 * the file is released with the session. cgroup validates the value,
 * which the controller read from the same file at start.
 *
 * Context: process context, may sleep (a kthread or the closing task).
 */
void vmig_session_unthrottle(struct vmig_session *s)
{
	loff_t pos = 0;
	ssize_t n;

	if (!s->throttle_file)
		return;
	n = kernel_write(s->throttle_file, s->throttle_restore,
			 strlen(s->throttle_restore), &pos);
	pr_debug("session %u: cpu.max restored to \"%s\": %zd\n", s->id,
		 s->throttle_restore, n);
}

/*
 * The controller's socket closed. What it would have done on its way out
 * is done here: a source not yet committed is cancelled (its worker then
 * resumes the VMM), one that ended without the VM moving resumes it now; a
 * destination not yet committed refuses the switchover (vmig_session_cancel
 * keeps a ready destination's connection for that). A committed source
 * runs on: the destination's answer decides, and the VMM stays stopped
 * unless that answer is no. Storage moves run on (storage.rst).
 */
static void vmig_session_orphan(struct vmig_session *s)
{
	bool running;

	mutex_lock(&s->io_lock);
	WRITE_ONCE(s->orphaned, true);
	mutex_unlock(&s->io_lock);
	pr_debug("session %u: its controller is gone\n", s->id);
	running = !vmig_state_final(vmig_session_state(s, NULL, NULL, NULL));
	if (!running) {
		vmig_session_resume_stopped(s);
		vmig_session_unthrottle(s);
	} else if (!s->ops->outlives_controller) {
		vmig_session_stop(s);	/* its record must stay listed */
	}
	vmig_nl_session_notify(s);
}

/**
 * vmig_session_owner_gone() - a netlink socket closed
 * @net: its namespace
 * @portid: its port
 *
 * Context: process context (the netlink release notifier), may sleep.
 */
void vmig_session_owner_gone(struct net *net, u32 portid)
{
	struct vmig_session *s;
	unsigned long id = 0;

	if (!portid)
		return;
	for (;;) {
		rcu_read_lock();
		xa_for_each_start(&vmig_sessions, id, s, id) {
			if (s->owner_portid == portid && net_eq(rcu_dereference(s->net), net) &&
			    !READ_ONCE(s->orphaned) && kref_get_unless_zero(&s->ref))
				break;
		}
		rcu_read_unlock();
		if (!s)
			return;
		vmig_session_orphan(s);
		vmig_session_put(s);
		id++;
	}
}

/*
 * A namespace is going away: its sessions stop being visible anywhere. By
 * now no socket of it is open (each holds a reference), so every controller
 * there is gone and vmig_session_owner_gone() has run. Sessions themselves
 * run on, unlisted after their linger time. cleanup_net() waits an RCU
 * grace period after every pre_exit, so once the namespace is freed no
 * reader still holds the pointer; vmig_session_get_net() already fails
 * because the count is zero.
 */
static void __net_exit vmig_session_net_pre_exit(struct net *net)
{
	struct vmig_session *s;
	unsigned long id;

	rcu_read_lock();
	xa_for_each(&vmig_sessions, id, s) {
		if (rcu_access_pointer(s->net) != net)
			continue;
		RCU_INIT_POINTER(s->net, NULL);
		pr_debug("session %u: its network namespace is gone\n", s->id);
	}
	rcu_read_unlock();
}

static struct pernet_operations vmig_session_net_ops = {
	.pre_exit = vmig_session_net_pre_exit,
};

/**
 * vmig_session_init() - prepare the session table
 *
 * Return: 0 or a negative errno.
 */
int vmig_session_init(void)
{
	return register_pernet_subsys(&vmig_session_net_ops);
}

/**
 * vmig_session_uninit() - release the session table
 *
 * Context: module unload. Workers hold module references, so none runs
 * any more; netlink is unregistered, so nothing can create sessions.
 */
void vmig_session_uninit(void)
{
	struct vmig_session *s;
	unsigned long id;

	unregister_pernet_subsys(&vmig_session_net_ops);
	xa_for_each(&vmig_sessions, id, s) {
		cancel_delayed_work_sync(&s->linger);
		if (xa_erase(&vmig_sessions, id) == s)
			vmig_session_put(s);
	}
	rcu_barrier();
	xa_destroy(&vmig_sessions);
}
