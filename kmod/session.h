/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A migration session: one end (source or destination) of moving one VM,
 * run by a worker kthread that adopts the VMM's address space.
 */
#ifndef _VMIG_SESSION_H
#define _VMIG_SESSION_H

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <uapi/linux/vmig.h>

#include "state.h"

struct netlink_ext_ack;
struct pid;
struct vmig_disk;
struct vmig_ram;
struct vmig_session;
struct vmig_stream;
struct vmig_vm;

/**
 * struct vmig_session_ops - what one role does in the lifecycle every
 *	session shares (as net/handshake's struct handshake_proto)
 * @role: the role these ops serve, reported over netlink
 * @name: the worker thread's name: vmig-@name-ID
 * @run: the worker's job, from its start to its outcome. Context: the
 *	session's worker kthread. It stops whatever it armed (dirty
 *	logging, quiesced I/O, the VMM's address space) before it returns,
 *	but releases nothing the session holds: the worker does that, the
 *	same way for every role, before it publishes the outcome. Return: 0
 *	(done), -ECANCELED (cancelled), or a negative errno with *@why set
 *	(a static text; NULL for a plain cancel). Sets *@unknown when the
 *	outcome cannot be known here (a source whose END went out and whose
 *	answer did not come back).
 * @release: frees the role's own state (@priv of the session). Called
 *	once: by the worker after @run, or when a session that never started
 *	is released. May be NULL.
 * @switchover: the switchover command: a source's final pass, a ready
 *	destination's commit. NULL when the role switches over by itself.
 * @stops_vmm: the controller stops the VMM for the switchover: a session
 *	that ends failed or cancelled resumes it (vmig_session_resume_stopped())
 * @outlives_controller: the controller's socket closing does not cancel
 *	it (a storage move runs to its end: Documentation/storage.rst)
 * @cancel_cuts_io: a cancel shuts the connection down, so whatever I/O
 *	error @run meets after one is the cancel, not a failure of its own
 */
struct vmig_session_ops {
	enum vmig_role role;
	const char *name;
	int (*run)(struct vmig_session *s, const char **why, bool *unknown);
	void (*release)(struct vmig_session *s);
	int (*switchover)(struct vmig_session *s, struct netlink_ext_ack *extack);
	bool stops_vmm;
	bool outlives_controller;
	bool cancel_cuts_io;
};

/**
 * struct vmig_stats - progress of a session, as reported over netlink
 * @iteration: pre-copy pass number
 * @ram_bytes: guest memory in all slots
 * @sent_bytes: bytes on the wire (sent or received)
 * @sent_pages: full pages sent (or received)
 * @zero_pages: zero-page markers sent (or received)
 * @dirty_pages: pages left to send after the latest harvest
 * @dirty_rate: bytes per second dirtied during the latest pass
 * @bandwidth: bytes per second sent during the latest pass
 * @downtime_us: switchover request to acknowledgment
 */
struct vmig_stats {
	u32 iteration;
	u64 ram_bytes;
	u64 sent_bytes;
	u64 sent_pages;
	u64 zero_pages;
	u64 dirty_pages;
	u64 dirty_rate;
	u64 bandwidth;
	u64 downtime_us;
	u64 disk_bytes;
	u64 disk_sent_bytes;
	u64 disk_dirty_bytes;
};

/**
 * struct vmig_session - one end of a migration
 * @ref: lifetime; the table holds one reference while the session is
 *	listed, the worker one while it runs, every lookup one more
 * @id: table key, unique while the module is loaded, never 0
 * @ops: what its role does; fixed at creation
 * @role: @ops->role, for reports
 * @priv: the role's own state, freed by @ops->release
 * @net: network namespace of the creator; sessions are visible only there.
 *	Not counted (a lingering record must not keep a namespace alive for
 *	an hour): vmig's pernet pre_exit clears it, after which the session
 *	is found nowhere and notifies no one. Read under RCU.
 * @vmm_pid: the VMM process, for reports
 * @owner_portid: netlink port of the controller that started the session
 *	(0 for none); its socket closing orphans the session
 * @stop_pids: processes the controller stops at switchover (stop-pid),
 *	resumed by vmig_session_resume_stopped(); references held
 * @nr_stop_pids: entries in @stop_pids
 * @throttle_file: the VMM cgroup's cpu.max (throttle-fd), or NULL; set
 *	before the worker starts, released with the session
 * @throttle_restore: what cpu.max said before the controller throttled
 * @flags: VMIG_MIGRATE_FLAGS_*
 * @max_bandwidth: bytes per second, 0 for unlimited
 * @start: creation time
 * @lock: protects @state, @error, @why, @stats, @switch_req
 * @state: enum vmig_state; final states never change again
 * @error: negative errno once @state is VMIG_STATE_FAILED, else 0
 * @why: static text explaining @error, or NULL
 * @stats: progress
 * @io_lock: protects @vm, @stream and @disk against the worker releasing them
 *	while a netlink handler uses them
 * @vm: the attached VM; released by the worker when it ends
 * @stream: the connection; released by the worker when it ends
 * @disk: the VM disk the migration carries, or NULL; released by the
 *	worker when it ends
 * @ram: the VMM's RAM backend when the VMM carries vCPU and device state
 *	itself (ram-hva), or NULL; released by the worker when it ends
 * @msrs: MSRs to carry (source only)
 * @wq: the worker waits here for @switch_req or @cancel
 * @cancel: set once by session-del, under @io_lock
 * @committed: under @io_lock. A source sent its END frame: from then on
 *	the destination's answer alone decides the outcome, and a cancel
 *	(which would resume the source) is refused. A destination took its
 *	controller's commit: its ACK goes out, a cancel is refused.
 * @ready: a destination received END, under @io_lock: a cancel from then
 *	on keeps the connection, which carries the refusal to the source
 * @orphaned: the controller's socket closed, under @io_lock
 * @switch_req: switchover requested and not yet answered
 * @switch_done: the worker's answer to a switchover request
 * @switch_ret: the answer: 0 (switchover under way) or a negative errno
 * @switch_why: static text explaining @switch_ret
 * @switch_mutex: serialises switchover requests
 * @switch_time: when the accepted switchover request arrived
 * @linger: unlists an ended session after a while, so its outcome can be
 *	read even by a controller that missed the final event
 * @rcu: frees the session after lockless readers are done
 */
struct vmig_session {
	struct kref ref;
	u32 id;
	const struct vmig_session_ops *ops;
	enum vmig_role role;
	void *priv;
	struct net __rcu *net;
	pid_t vmm_pid;
	u32 owner_portid;
	struct pid *stop_pids[VMIG_MAX_STOP_PIDS];
	u32 nr_stop_pids;
	struct file *throttle_file;
	char throttle_restore[64];
	u32 flags;
	u64 max_bandwidth;
	ktime_t start;

	spinlock_t lock; /* protects state, error, why, stats, switch_req */
	enum vmig_state state;
	int error;
	const char *why;
	struct vmig_stats stats;

	struct mutex io_lock; /* protects vm, stream, disk, ram pointers; cancel vs committed */
	struct vmig_vm *vm;
	struct vmig_stream *stream;
	struct vmig_disk *disk;
	struct vmig_ram *ram;
	struct vmig_msr_list msrs;

	wait_queue_head_t wq;
	bool cancel;
	bool committed;
	bool ready;
	bool orphaned;
	bool switch_req;
	struct completion switch_done;
	int switch_ret;
	const char *switch_why;
	struct mutex switch_mutex; /* serialises switchover requests */
	ktime_t switch_time;

	struct delayed_work linger;
	struct rcu_head rcu;
};

struct vmig_session *vmig_session_create(struct net *net,
					 const struct vmig_session_ops *ops);
int vmig_session_start(struct vmig_session *s);
struct vmig_session *vmig_session_lookup(struct net *net, u32 id);
struct net *vmig_session_get_net(struct vmig_session *s);
struct vmig_session *vmig_session_next(struct net *net, u32 *id);
void vmig_session_put(struct vmig_session *s);
int vmig_session_cancel(struct vmig_session *s);
int vmig_session_commit(struct vmig_session *s);
enum vmig_state vmig_session_state(struct vmig_session *s, int *error,
				   const char **why, struct vmig_stats *stats);
void vmig_session_set_state(struct vmig_session *s, enum vmig_state state,
			    int error, const char *why);
void vmig_session_update(struct vmig_session *s, const struct vmig_stats *st);
bool vmig_session_cancelled(struct vmig_session *s);
void vmig_session_discard(struct vmig_session *s);

/* Done, failed, cancelled, unknown: a state never left again. */
static inline bool vmig_state_final(enum vmig_state state)
{
	return state == VMIG_STATE_DONE || state == VMIG_STATE_FAILED ||
	       state == VMIG_STATE_CANCELLED || state == VMIG_STATE_UNKNOWN;
}

int vmig_session_switchover(struct vmig_session *s, struct netlink_ext_ack *extack);
int vmig_session_switch_request(struct vmig_session *s, struct netlink_ext_ack *extack);
bool vmig_session_switch_pending(struct vmig_session *s);
void vmig_session_switch_answer(struct vmig_session *s, int ret, const char *why);
void vmig_session_owner_gone(struct net *net, u32 portid);
void vmig_session_resume_stopped(struct vmig_session *s);
void vmig_session_unthrottle(struct vmig_session *s);

int vmig_session_init(void);
void vmig_session_uninit(void);

#endif /* _VMIG_SESSION_H */
