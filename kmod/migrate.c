// SPDX-License-Identifier: GPL-2.0
/*
 * The source end of a migration, run by the session's worker with the
 * VMM's address space adopted:
 *
 *   HELLO (layout) -> HELLO_ACK
 *   pass 0: every page; pass n: pages dirtied during pass n-1; after each
 *   pass a harvest and a progress notification
 *   ... until vmigctl, having stopped the VMM, asks for switchover:
 *   complete pending exits, final harvest and pass, VM and vCPU state,
 *   END -> ACK, done.
 *
 * The source VM is only read: on any failure before the ACK it resumes
 * (vmigctl sends SIGCONT) exactly as it was, minus vmig's dirty logging,
 * which is turned off again.
 *
 * With a RAM backend (s->ram: the VMM carries vCPU and device state
 * itself, as QEMU does) the session sends that backend as one region,
 * harvests writes through page tables as well as KVM's log (ram.c), and
 * sends no VM or vCPU state: END follows the final pass.
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/netlink.h>

#include "compat/compat.h"
#include "dirty.h"
#include "disk.h"
#include "fault.h"
#include "migrate.h"
#include "ram.h"
#include "session.h"
#include "state.h"
#include "stream.h"
#include "vm.h"
#include "wire.h"

#define VMIG_MIN_PASS_MS	50

#define VMIG_REFUSED_SLOTS \
	"the destination refused the VM: memory layout or vCPU count differ"
#define VMIG_REFUSED_RAM \
	"the destination refused the VM: its RAM backend differs in size or it receives KVM slots"

#define VMIG_ACK_TIMEOUT	(60 * HZ)
#define VMIG_VMM_GONE		"the source VMM exited"

/* Why a source that sent END heard nothing back; compared by address. */
static const char vmig_no_answer[] = "no answer from the destination to the end of the VM state";
/* Longest stretch of disk sending between two memory passes. */
#define VMIG_DISK_SLICE_MS	100
#define VMIG_DISK_STEP		SZ_1M

/*
 * What a pass sends: regions of the VMM's memory, each with its bitmap of
 * pages to send. KVM's slots, or the one RAM backend.
 */
struct vmig_sendset {
	const struct vmig_slot *slots;
	unsigned long **bitmaps;
	u32 nr;
};

static struct vmig_sendset vmig_migrate_sendset(struct vmig_session *s,
						struct vmig_dirty *d)
{
	if (s->ram)
		return (struct vmig_sendset){ &s->ram->slot, &s->ram->bitmap, 1 };
	return (struct vmig_sendset){ d->layout.slots, d->bitmaps, d->layout.nr_slots };
}

/* Pages still to send, after the latest harvest. */
static u64 vmig_migrate_pending(struct vmig_session *s, struct vmig_dirty *d)
{
	return s->ram ? vmig_ram_pending(s->ram) : vmig_dirty_pending(d);
}

/*
 * Harvest writes since the last harvest; see vmig_dirty_harvest().
 * @running: the guest runs (pre-copy), not the final harvest.
 */
static s64 vmig_migrate_harvest(struct vmig_session *s, struct vmig_dirty *d, bool running)
{
	if (s->ram)
		return vmig_ram_harvest(s->ram, d, !vmig_fault(VMIG_FAULT_NO_PAGE_TABLES),
					running);
	return vmig_dirty_harvest(d);
}

enum vmig_pass_end {
	VMIG_PASS_DONE,
	VMIG_PASS_SWITCH,	/* switchover requested: stop early */
};

/*
 * Receive the destination's answer, a frame of type @want carrying a
 * status: 0 when it agrees, else the errno it sent back (@refused) or the
 * receive error (@lost).
 */
static int vmig_migrate_recv_status(struct vmig_stream *st, u16 want,
				    const char *lost, const char *refused,
				    const char **why)
{
	struct vmig_wire_status ack;
	u16 type;
	u32 len;
	int ret;

	ret = vmig_stream_recv_hdr(st, &type, &len);
	if (!ret && (type != want || len != sizeof(ack)))
		ret = -EBADMSG;
	if (!ret)
		ret = vmig_stream_recv(st, &ack, sizeof(ack));
	if (ret) {
		*why = lost;
		return ret;
	}
	if (le32_to_cpu(ack.error)) {
		*why = refused;
		ret = -min_t(u32, le32_to_cpu(ack.error), MAX_ERRNO);
		/* Only this end's own cancel makes the session "cancelled". */
		return ret == -ECANCELED ? -ECONNABORTED : ret;
	}
	return 0;
}

static int vmig_migrate_hello(struct vmig_session *s, struct vmig_dirty *d,
			      const char **why)
{
	struct vmig_sendset set = vmig_migrate_sendset(s, d);
	struct vmig_stream *st = s->stream;
	struct vmig_wire_hello *h;
	size_t len = struct_size(h, slots, set.nr);
	u32 i;
	int ret;

	if (set.nr > VMIG_WIRE_MAX_SLOTS) {
		*why = "the VM has more memory slots than the wire format carries";
		return -E2BIG;
	}
	h = kzalloc(len, GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	h->page_size = cpu_to_le32(PAGE_SIZE);
	h->nr_vcpus = cpu_to_le32(s->vm->nr_vcpus);
	h->nr_slots = cpu_to_le32(set.nr);
	h->flags = cpu_to_le32(s->flags | (s->ram ? VMIG_WIRE_HELLO_RAM : 0));
	for (i = 0; i < set.nr; i++) {
		h->slots[i].id = cpu_to_le32(set.slots[i].id);
		h->slots[i].flags = cpu_to_le32(set.slots[i].flags & ~KVM_MEM_LOG_DIRTY_PAGES);
		h->slots[i].base_gfn = cpu_to_le64(set.slots[i].base_gfn);
		h->slots[i].npages = cpu_to_le64(set.slots[i].npages);
	}
	ret = vmig_stream_send(st, VMIG_WIRE_HELLO, h, len, 0, false);
	kfree(h);
	if (ret) {
		*why = "cannot send to the destination";
		return ret;
	}
	ret = vmig_migrate_recv_status(st, VMIG_WIRE_HELLO_ACK,
				       "no valid answer from the destination to the layout",
				       s->ram ? VMIG_REFUSED_RAM : VMIG_REFUSED_SLOTS, why);
	if (ret || !s->disk)
		return ret;

	ret = vmig_disk_send_hello(s->disk, st);
	if (ret) {
		*why = "cannot send to the destination";
		return ret;
	}
	ret = vmig_migrate_recv_status(st, VMIG_WIRE_DISK_ACK,
				       "no valid answer from the destination to the disk",
				       "the destination refused the disk", why);
	/* The destination's reasons, as its errno tells them. */
	if (ret == -ENOSPC)
		*why = "the destination refused the disk: its device is smaller";
	else if (ret == -ENODEV)
		*why = "the destination refused the disk: it receives none (receive --disk)";
	else if (ret == -EINVAL)
		*why = "the destination refused the disk: it receives another one (names differ)";
	return ret;
}

static bool vmig_page_is_zero(struct page *page)
{
	void *p = kmap_local_page(page);
	bool zero = !memchr_inv(p, 0, PAGE_SIZE);

	kunmap_local(p);
	return zero;
}

/* Send @n pages starting at slot page @off as PAGES and ZERO frames. */
static int vmig_migrate_send_run(struct vmig_session *s, const struct vmig_slot *slot,
				 u64 off, u32 n, struct vmig_stats *stats)
{
	struct vmig_stream *st = s->stream;
	bool detect = !(s->flags & VMIG_MIGRATE_FLAGS_NO_ZERO_DETECT);
	struct page *pages[VMIG_WIRE_MAX_RUN];
	bool zero[VMIG_WIRE_MAX_RUN];
	int got, ret = 0;
	u32 i, j;

	if (s->ram) {
		ret = vmig_ram_get_pages(s->ram, off, n, pages, detect);
		if (ret)
			return ret;
		got = n;
	} else {
		got = get_user_pages_fast(slot->hva + (off << PAGE_SHIFT), n, 0, pages);
		if (got < 0)
			return got;
		if (got < n) {
			ret = -EFAULT;
			goto out_put;
		}
	}
	/* A backend page that was never written (NULL) is a zero page. */
	for (i = 0; i < n; i++)
		zero[i] = detect && (!pages[i] || vmig_page_is_zero(pages[i]));
	for (i = 0; i < n && !ret; i = j) {
		struct vmig_wire_run run = {
			.slot = cpu_to_le32(slot->id),
			.offset = cpu_to_le64(off + i),
		};

		for (j = i + 1; j < n && zero[j] == zero[i]; j++)
			;
		run.count = cpu_to_le32(j - i);
		if (zero[i]) {
			ret = vmig_stream_send(st, VMIG_WIRE_ZERO, &run, sizeof(run), 0, true);
			stats->zero_pages += j - i;
			continue;
		}
		ret = vmig_stream_send(st, VMIG_WIRE_PAGES, &run, sizeof(run),
				       (j - i) << PAGE_SHIFT, true);
		if (!ret)
			ret = vmig_stream_send_pages(st, pages + i, j - i, true);
		stats->sent_pages += j - i;
	}
out_put:
	for (i = 0; i < got; i++)
		if (pages[i])
			put_page(pages[i]);
	return ret;
}

/*
 * Nanoseconds @bytes take at @bw bytes per second, saturating: bytes *
 * NSEC_PER_SEC overflows u64 past 18.4 GB, and x86's mul_u64_u64_div_u64()
 * traps (#DE) when its quotient does not fit, so only the remainder, below
 * @bw, goes through it.
 */
static u64 vmig_migrate_due_ns(u64 bytes, u64 bw)
{
	u64 whole = div64_u64(bytes, bw), ns;

	if (check_mul_overflow(whole, (u64)NSEC_PER_SEC, &ns))
		return U64_MAX;
	return ns + mul_u64_u64_div_u64(bytes - whole * bw, NSEC_PER_SEC, bw);
}

/*
 * Hold the pass back to max-bandwidth: @bytes sent since @t0. The wait ends
 * early on cancel or a switchover request (both wake s->wq), so a tiny
 * limit cannot pin the worker, and it is interruptible so that a long one
 * neither counts as a hung task nor in the load average (a kthread takes
 * no signals). Slept in steps of a second to notice the VMM exiting.
 */
static void vmig_migrate_throttle(struct vmig_session *s, ktime_t t0, u64 bytes)
{
	u64 due_ns, spent_ns, left;

	if (!s->max_bandwidth)
		return;
	due_ns = vmig_migrate_due_ns(bytes, s->max_bandwidth);
	for (;;) {
		spent_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
		if (due_ns <= spent_ns || !vmig_vm_vmm_alive(s->vm))
			return;
		left = min_t(u64, nsecs_to_jiffies(due_ns - spent_ns) + 1, HZ);
		if (wait_event_interruptible_timeout(s->wq,
						     READ_ONCE(s->switch_req) ||
						     READ_ONCE(s->cancel), left))
			return;
	}
}

/*
 * Send every page marked in @d, clearing marks as they go. A pre-copy pass
 * (@final false) stops early on cancel or a switchover request and obeys
 * the bandwidth limit; the final pass sends everything at full speed.
 */
static int vmig_migrate_pass(struct vmig_session *s, struct vmig_dirty *d,
			     struct vmig_stats *stats, bool final,
			     enum vmig_pass_end *end)
{
	struct vmig_sendset set = vmig_migrate_sendset(s, d);
	u64 bytes0 = s->stream->tx_bytes;
	ktime_t t0 = ktime_get();
	u32 i;
	int ret;

	*end = VMIG_PASS_DONE;
	/* A page past the test VMM's code and control pages, never sent. */
	if (vmig_fault(VMIG_FAULT_DROP_PAGE) && set.nr && set.slots[0].npages > 64)
		clear_bit(64, set.bitmaps[0]);
	for (i = 0; i < set.nr; i++) {
		const struct vmig_slot *slot = &set.slots[i];
		unsigned long *bm = set.bitmaps[i];
		unsigned long off = 0;

		if (!bm)
			continue;
		while ((off = find_next_bit(bm, slot->npages, off)) < slot->npages) {
			unsigned long n = 1;

			while (n < VMIG_WIRE_MAX_RUN && off + n < slot->npages &&
			       test_bit(off + n, bm))
				n++;
			if (!final && vmig_session_cancelled(s))
				return -ECANCELED;
			if (!final && !vmig_vm_vmm_alive(s->vm))
				return -ESRCH;
			if (!final && vmig_session_switch_pending(s)) {
				*end = VMIG_PASS_SWITCH;
				return 0;
			}
			ret = vmig_migrate_send_run(s, slot, off, n, stats);
			/*
			 * The VMM unmapped memory of a slot it just replaced:
			 * end the pass; the next harvest re-reads the layout
			 * and sends the new slot in full.
			 */
			if (ret == -EFAULT && !final && !s->ram &&
			    vmig_vm_generation(s->vm) != d->layout.generation)
				return 0;
			if (ret)
				return ret;
			bitmap_clear(bm, off, n);
			off += n;
			if (!final)
				vmig_migrate_throttle(s, t0, s->stream->tx_bytes - bytes0);
			cond_resched();
		}
	}
	return 0;
}

/*
 * Send dirty disk regions for up to VMIG_DISK_SLICE_MS, stopping early on
 * cancel or a switchover request. *more tells whether the sweep goes on.
 */
static int vmig_migrate_disk_slice(struct vmig_session *s, bool *more,
				   const char **why)
{
	u64 bytes0 = s->stream->tx_bytes;
	ktime_t t0 = ktime_get();
	int ret;

	do {
		if (vmig_session_cancelled(s))
			return -ECANCELED;
		if (vmig_session_switch_pending(s))
			return 0;
		ret = vmig_disk_send(s->disk, s->stream, VMIG_DISK_STEP,
				     vmig_fault(VMIG_FAULT_LOSE_DISK), more, why);
		if (ret)
			return ret;
		vmig_migrate_throttle(s, t0, s->stream->tx_bytes - bytes0);
	} while (*more && ktime_ms_delta(ktime_get(), t0) < VMIG_DISK_SLICE_MS);
	return 0;
}

/*
 * Whether the guest wrote in the last instants before the stop depends on
 * scheduling; losing every harvest after the first pass does not, so the
 * test of the verifier is deterministic.
 */
static void vmig_fault_lose_redirtied(struct vmig_session *s, struct vmig_dirty *d)
{
	struct vmig_sendset set = vmig_migrate_sendset(s, d);
	u32 i;

	if (!vmig_fault(VMIG_FAULT_LOSE_REDIRTIED))
		return;
	for (i = 0; i < set.nr; i++)
		if (set.bitmaps[i])
			bitmap_zero(set.bitmaps[i], set.slots[i].npages);
}

/*
 * A refused switchover: the destination says why in its errno (receive.c),
 * and will not run the VM.
 */
#define VMIG_REFUSED_SWITCH	"the destination refused the switchover: "

static const char *vmig_migrate_refusal(int ret)
{
	switch (ret) {
	case -ECONNABORTED:	/* its ECANCELED (vmig_migrate_recv_status) */
		return VMIG_REFUSED_SWITCH "cancelled, or its controller exited";
	case -ETIMEDOUT:
		return VMIG_REFUSED_SWITCH "no commit from its controller in time";
	case -ESRCH:
		return VMIG_REFUSED_SWITCH "the destination VMM exited";
	default:
		return "the destination could not apply the VM state";
	}
}

/*
 * Test-only pause point (fault bit 1024): every page and every state record
 * is out, END is not, so a test can cut the link at exactly this step.
 * Logged, so the test knows it is here; a cancel ends the wait.
 */
static void vmig_fault_hold_before_end(struct vmig_session *s)
{
	if (!vmig_fault(VMIG_FAULT_HOLD_BEFORE_END))
		return;
	pr_info("session %u: held before END (fault_inject)\n", s->id);
	/* Interruptible only so that the wait does not count as load. */
	while (vmig_fault(VMIG_FAULT_HOLD_BEFORE_END) && !vmig_session_cancelled(s))
		wait_event_interruptible_timeout(s->wq, vmig_session_cancelled(s), HZ / 10);
}

/*
 * The switchover: final pass, state, END, and the destination's answer.
 * Sets *unknown when END went out and no answer came: the destination may
 * run the VM (or may not), so the source must not run it again.
 */
static int vmig_migrate_finish(struct vmig_session *s, struct vmig_dirty *d,
			       struct vmig_stats *stats, const char **why,
			       bool *unknown)
{
	struct vmig_stream *st = s->stream;
	enum vmig_pass_end end;
	s64 n;
	int ret;

	vmig_session_set_state(s, VMIG_STATE_SWITCHOVER, 0, NULL);
	if (s->disk) {
		/* The VMM is stopped: what is in flight is its last I/O. */
		ret = vmig_disk_quiesce(s->disk, why);
		if (!ret)
			ret = vmig_disk_send_final(s->disk, st,
						   vmig_fault(VMIG_FAULT_LOSE_DISK),
						   why);
		if (ret)
			return ret;
	}
	n = vmig_migrate_harvest(s, d, false);
	if (n < 0) {
		*why = n == -ESTALE ? VMIG_DIRTY_SLOTS_RACED : "final dirty harvest failed";
		return n;
	}
	vmig_fault_lose_redirtied(s, d);
	ret = vmig_migrate_pass(s, d, stats, true, &end);
	if (ret) {
		*why = "sending the last dirty pages failed";
		return ret;
	}
	/* The VMM carries vCPU and device state itself when it has a backend. */
	ret = s->ram ? 0 : vmig_state_send(s->vm, st, &s->msrs, why);
	if (ret)
		return ret;
	/*
	 * A destination runs the VM only after it acknowledged END on this
	 * connection: one that closed its end before END went out never will,
	 * so this is a failure, not an unknown outcome. (A close that races
	 * past this check still leaves the outcome unknown, as it must.)
	 */
	if (vmig_stream_peer_closed(st)) {
		*why = "the destination closed the connection before the end of the VM state";
		return -ECONNRESET;
	}
	vmig_fault_hold_before_end(s);
	ret = vmig_session_commit(s);
	if (ret)
		return ret;
	ret = vmig_stream_send(st, VMIG_WIRE_END, NULL, 0, 0, false);
	if (ret) {
		*why = "sending the end of the VM state failed";
		return ret;
	}
	vmig_stream_set_timeout(st, VMIG_ACK_TIMEOUT);
	ret = vmig_migrate_recv_status(st, VMIG_WIRE_ACK, vmig_no_answer, NULL, why);
	if (ret && *why != vmig_no_answer) {
		*why = vmig_migrate_refusal(ret);
		return ret;
	}
	/*
	 * With a RAM backend the VMM's own migration, not yet begun, is the
	 * commit: the destination cannot run the VM, so a lost answer fails.
	 */
	if (ret) {
		*unknown = !s->ram;
		return ret;
	}
	stats->sent_bytes = st->tx_bytes;
	stats->dirty_pages = 0;
	vmig_disk_fold_stats(s->disk, stats);
	stats->downtime_us = ktime_us_delta(ktime_get(), s->switch_time);
	return 0;
}

/*
 * The source's job (struct vmig_session_ops.run): pre-copy passes until a
 * switchover request, then the final pass and END. Context: the worker.
 */
static int vmig_migrate_run(struct vmig_session *s, const char **whyp, bool *unknown)
{
	struct vmig_stream *st = s->stream;
	struct vmig_vm *vm = s->vm;
	struct vmig_stats stats = { };
	struct vmig_disk_stats ds;
	struct vmig_dirty d = { };
	u64 disk_dirtied = 0;
	bool disk_more = false;
	enum vmig_pass_end end;
	const char *why = NULL;
	ktime_t harvested;
	size_t scratch;
	int ret;

	st->zerocopy = !(s->flags & VMIG_MIGRATE_FLAGS_NO_ZEROCOPY);
	vmig_stream_set_timeout(st, VMIG_ACK_TIMEOUT);
	scratch = max(vmig_dirty_scratch_size(vm), vmig_state_scratch_size(s->msrs.nr));
	ret = vmig_vm_enter(vm, scratch);
	if (ret) {
		why = "cannot enter the VMM's address space";
		goto out;
	}
	ret = s->ram ? 0 : vmig_state_filter_msrs(vm, &s->msrs);
	if (ret) {
		why = "cannot probe the VM's MSRs";
		goto out_leave;
	}
	ret = vmig_dirty_start(&d, vm, &why);
	if (ret)
		goto out_leave;
	/*
	 * Every page of a backend goes in pass 0: arm both trackers first (KVM
	 * reports every page once after logging is turned on, page tables
	 * every page written before), so that pass 1 resends only pages
	 * written since.
	 */
	if (s->ram) {
		s64 armed = vmig_migrate_harvest(s, &d, true);

		if (armed < 0) {
			ret = armed;
			why = "arming write tracking of the RAM backend failed";
			goto out_stop_dirty;
		}
		bitmap_fill(s->ram->bitmap, s->ram->slot.npages);
	}

	ret = vmig_migrate_hello(s, &d, &why);
	if (ret)
		goto out_stop_dirty;

	stats.ram_bytes = (s->ram ? s->ram->slot.npages : vmig_layout_pages(&d.layout))
			  << PAGE_SHIFT;
	stats.dirty_pages = vmig_migrate_pending(s, &d);
	vmig_disk_fold_stats(s->disk, &stats);
	vmig_session_update(s, &stats);
	vmig_session_set_state(s, VMIG_STATE_PRECOPY, 0, NULL);
	harvested = ktime_get();
	for (;;) {
		u64 bytes0 = st->tx_bytes;
		ktime_t t0 = ktime_get();
		s64 n, pass_us, since_us;
		u64 dirtied;

		ret = vmig_migrate_pass(s, &d, &stats, false, &end);
		if (ret) {
			why = ret == -ECANCELED ? NULL : ret == -ESRCH ? VMIG_VMM_GONE :
			      "sending guest memory failed";
			goto out_stop_dirty;
		}
		if (s->disk && end == VMIG_PASS_DONE) {
			ret = vmig_migrate_disk_slice(s, &disk_more, &why);
			if (ret) {
				if (ret == -ECANCELED)
					why = NULL;
				goto out_stop_dirty;
			}
		}
		pass_us = max_t(s64, ktime_us_delta(ktime_get(), t0), 1);
		if (end == VMIG_PASS_DONE && !disk_more &&
		    pass_us < VMIG_MIN_PASS_MS * USEC_PER_MSEC)
			wait_event_timeout(s->wq,
					   READ_ONCE(s->switch_req) || READ_ONCE(s->cancel),
					   usecs_to_jiffies(VMIG_MIN_PASS_MS * USEC_PER_MSEC -
							    pass_us));
		if (vmig_session_cancelled(s)) {
			ret = -ECANCELED;
			goto out_stop_dirty;
		}
		if (!vmig_vm_vmm_alive(vm)) {
			ret = -ESRCH;
			why = VMIG_VMM_GONE;
			goto out_stop_dirty;
		}
		/*
		 * A switchover goes straight to the final harvest: another one
		 * here would only lengthen the downtime (with a RAM backend a
		 * harvest walks every page of it).
		 */
		if (vmig_session_switch_pending(s)) {
			ret = s->ram ? 0 : vmig_state_complete_exits(vm, &why);
			vmig_session_switch_answer(s, ret, why);
			if (!ret)
				break;
			why = NULL;
		}
		n = vmig_migrate_harvest(s, &d, true);
		if (n < 0) {
			ret = n;
			why = n == -ESTALE ? VMIG_DIRTY_SLOTS_RACED :
			      "harvesting the dirty log failed";
			goto out_stop_dirty;
		}
		vmig_fault_lose_redirtied(s, &d);
		since_us = max_t(s64, ktime_us_delta(ktime_get(), harvested), 1);
		harvested = ktime_get();
		stats.dirty_pages = vmig_migrate_pending(s, &d);
		dirtied = (u64)n * PAGE_SIZE;
		if (s->disk) {
			vmig_disk_fold_stats(s->disk, &stats);
			vmig_disk_stats(s->disk, &ds);
			dirtied += ds.dirtied - disk_dirtied;
			disk_dirtied = ds.dirtied;
		}
		stats.dirty_rate = div64_u64(dirtied * USEC_PER_SEC, since_us);
		stats.bandwidth = div64_u64((st->tx_bytes - bytes0) * USEC_PER_SEC, pass_us);
		stats.sent_bytes = st->tx_bytes;
		if (end == VMIG_PASS_DONE)
			stats.iteration++;
		vmig_session_update(s, &stats);
	}

	ret = vmig_migrate_finish(s, &d, &stats, &why, unknown);
	if (!ret)
		vmig_session_update(s, &stats);

out_stop_dirty:
	/* Before the outcome is told: vmigctl resumes a VM that stays here. */
	vmig_disk_unquiesce(s->disk);
	vmig_dirty_stop(&d);
out_leave:
	vmig_vm_leave(vm);
out:
	*whyp = why;
	return ret;
}

/*
 * A source's switchover command (struct vmig_session_ops.switchover).
 * Precondition: the caller stopped the VMM. Returns once the worker has
 * either accepted (the final pass is under way; the outcome comes as an
 * event) or refused. Context: netlink handler, may sleep.
 */
static int vmig_migrate_switchover(struct vmig_session *s, struct netlink_ext_ack *extack)
{
	int ret;

	mutex_lock(&s->switch_mutex);
	if (vmig_session_state(s, NULL, NULL, NULL) != VMIG_STATE_PRECOPY) {
		NL_SET_ERR_MSG_MOD(extack, "session is not in pre-copy");
		ret = -EBUSY;
		goto out_unlock;
	}
	mutex_lock(&s->io_lock);
	if (!s->vm)
		ret = -ESRCH;
	else if (s->ram)
		ret = vmig_vm_vcpus_idle(s->vm);
	else
		ret = vmig_vm_vcpus_stopped(s->vm);
	mutex_unlock(&s->io_lock);
	if (ret == -ESRCH) {
		/* Its worker released the VM on its way to a final state. */
		NL_SET_ERR_MSG_MOD(extack, "the session is ending");
		goto out_unlock;
	}
	if (ret) {
		if (s->ram)
			NL_SET_ERR_MSG_MOD(extack,
					   "a vCPU is running; pause the VMM (QMP stop) first");
		else
			NL_SET_ERR_MSG_MOD(extack,
					   "the VMM's vCPU threads are running; stop the VMM (SIGSTOP) first");
		goto out_unlock;
	}
	ret = vmig_session_switch_request(s, extack);
out_unlock:
	mutex_unlock(&s->switch_mutex);
	return ret;
}

const struct vmig_session_ops vmig_migrate_ops = {
	.role = VMIG_ROLE_SOURCE,
	.name = "src",
	.run = vmig_migrate_run,
	.switchover = vmig_migrate_switchover,
	.stops_vmm = true,
	.cancel_cuts_io = true,
};
