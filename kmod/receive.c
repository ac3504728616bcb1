// SPDX-License-Identifier: GPL-2.0
/*
 * The destination end, run by the session's worker with the destination
 * VMM's address space adopted. Contract (Documentation/design.rst): the
 * VMM created a VM with the same memory slots and vCPU count and does not
 * run its vCPUs until vmigctl receive reports success.
 *
 * With a RAM backend (s->ram) the destination VMM carries vCPU and device
 * state itself; vmig lands pages into the backend, addressed by offset as
 * slot 0, and accepts no state records.
 *
 * Nothing from the wire is trusted: every header is checked (stream.c),
 * every run must name an existing slot and stay inside it, every state
 * record must have a known kind, a valid vCPU and the size KVM expects,
 * before a single byte is written into the VM.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>	/* needs fs.h first (6.1) */
#include <linux/kvm.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/sched/signal.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat/compat.h"
#include "disk.h"
#include "fault.h"
#include "ram.h"
#include "receive.h"
#include "session.h"
#include "state.h"
#include "stream.h"
#include "vm.h"
#include "wire.h"

#define VMIG_RECV_TIMEOUT	(600 * HZ)
#define VMIG_COMMIT_POLL	(HZ / 5)	/* how often the VMM is checked */
#define VMIG_TAMPERED		"a TLS record failed authentication: the stream was altered in flight"

/*
 * The whole VM is here: wait for the controller's commit (switchover on
 * this session), which alone may send the acknowledgment that makes the
 * source give the VM up. Anything else first (a cancel, the controller's
 * socket closing, the VMM exiting, the timeout) refuses the switchover,
 * and the source resumes. Return: 0 to commit, or the refusal's errno.
 */
static int vmig_receive_await_commit(struct vmig_session *s, const char **why)
{
	unsigned long deadline = jiffies + VMIG_COMMIT_TIMEOUT_S * HZ;

	mutex_lock(&s->io_lock);
	s->ready = true;
	mutex_unlock(&s->io_lock);
	vmig_session_set_state(s, VMIG_STATE_READY, 0, NULL);
	for (;;) {
		wait_event_timeout(s->wq, READ_ONCE(s->switch_req) || READ_ONCE(s->cancel),
				   VMIG_COMMIT_POLL);
		if (vmig_session_cancelled(s)) {
			*why = READ_ONCE(s->orphaned) ?
			       "the controller exited before committing" : NULL;
			return -ECANCELED;
		}
		if (vmig_session_switch_pending(s)) {
			/*
			 * The commit point: from here a cancel is refused
			 * (-EBUSY), as on a source that sent END.
			 */
			mutex_lock(&s->io_lock);
			if (!s->cancel)
				s->committed = true;
			mutex_unlock(&s->io_lock);
			if (s->committed)
				return 0;
			continue;
		}
		if (!vmig_vm_vmm_alive(s->vm)) {
			*why = "the destination VMM exited";
			return -ESRCH;
		}
		if (time_after(jiffies, deadline)) {
			*why = "no commit from the controller in time";
			return -ETIMEDOUT;
		}
	}
}

/*
 * A ready destination's controller commits (struct
 * vmig_session_ops.switchover). Return: 0 once the acknowledgment went out
 * (the caller then runs the VM), or a negative errno (the caller must
 * discard it).
 */
static int vmig_receive_commit(struct vmig_session *s, struct netlink_ext_ack *extack)
{
	int ret;

	mutex_lock(&s->switch_mutex);
	if (vmig_session_state(s, NULL, NULL, NULL) != VMIG_STATE_READY) {
		NL_SET_ERR_MSG_MOD(extack, "the session does not hold the whole VM (not ready)");
		ret = -EBUSY;
	} else {
		ret = vmig_session_switch_request(s, extack);
	}
	mutex_unlock(&s->switch_mutex);
	return ret;
}

static const struct vmig_slot *vmig_receive_slot(const struct vmig_layout *l, u32 id)
{
	u32 i;

	for (i = 0; i < l->nr_slots; i++)
		if (l->slots[i].id == id)
			return &l->slots[i];
	return NULL;
}

static int vmig_receive_hello(struct vmig_session *s, const struct vmig_layout *l,
			      u32 len, const char **why)
{
	struct vmig_wire_status ack = { };
	struct vmig_wire_hello *h;
	u32 i, n;
	int ret;

	if (len < sizeof(*h) || len > struct_size(h, slots, VMIG_WIRE_MAX_SLOTS)) {
		*why = "HELLO frame has an impossible length";
		return -EBADMSG;
	}
	h = kmalloc(len, GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	ret = vmig_stream_recv(s->stream, h, len);
	if (ret) {
		*why = "receiving the layout failed";
		goto out_free;
	}
	n = le32_to_cpu(h->nr_slots);
	if (len != struct_size(h, slots, n)) {
		*why = "HELLO slot count does not match its length";
		ret = -EBADMSG;
		goto out_free;
	}
	if (le32_to_cpu(h->page_size) != PAGE_SIZE) {
		*why = "page size differs";
		ret = -EINVAL;
	} else if (!!(le32_to_cpu(h->flags) & VMIG_WIRE_HELLO_RAM) != !!s->ram) {
		*why = s->ram ?
		       "the source sends KVM memory slots, this end receives a RAM backend" :
		       "the source sends a RAM backend, this end receives KVM memory slots";
		ret = -EINVAL;
	} else if (le32_to_cpu(h->nr_vcpus) != s->vm->nr_vcpus) {
		*why = "vCPU count differs from the destination VM's";
		ret = -EINVAL;
	} else if (n != l->nr_slots) {
		*why = "memory slot count differs from the destination VM's";
		ret = -EINVAL;
	}
	for (i = 0; !ret && i < n; i++) {
		const struct vmig_slot *d = vmig_receive_slot(l, le32_to_cpu(h->slots[i].id));

		if (!d || d->base_gfn != le64_to_cpu(h->slots[i].base_gfn) ||
		    d->npages != le64_to_cpu(h->slots[i].npages) ||
		    ((d->flags ^ le32_to_cpu(h->slots[i].flags)) & KVM_MEM_READONLY)) {
			*why = s->ram ? "the source's RAM backend size differs from this end's" :
			       "memory slot layout differs from the destination VM's";
			ret = -EINVAL;
		}
	}
	s->flags = le32_to_cpu(h->flags) & ~VMIG_WIRE_HELLO_RAM;
	ack.error = cpu_to_le32(-ret);
	if (vmig_stream_send(s->stream, VMIG_WIRE_HELLO_ACK, &ack, sizeof(ack), 0, false) && !ret) {
		*why = "cannot answer the source";
		ret = -EPIPE;
	}
out_free:
	kfree(h);
	return ret;
}

/*
 * The destination VMM keeps its slots as they were when the session
 * started (the contract): pages land at the addresses read then, so a
 * slot it deleted or moved meanwhile would take them at a stale address,
 * memory it may have unmapped or reused. Checked before each frame. KVM's
 * own private slots (APIC access page) move the generation too, so a
 * change is judged on the VMM's slots alone.
 */
static int vmig_receive_check_layout(struct vmig_session *s, struct vmig_layout *l,
				     const char **why)
{
	struct vmig_layout now;
	int ret;
	u32 i;

	if (s->ram || vmig_vm_generation(s->vm) == l->generation)
		return 0;
	ret = vmig_vm_layout(s->vm, &now);
	if (ret)
		return ret;
	ret = now.nr_slots == l->nr_slots ? 0 : -ESTALE;
	for (i = 0; !ret && i < now.nr_slots; i++)
		if (memcmp(&now.slots[i], &l->slots[i], sizeof(now.slots[i])))
			ret = -ESTALE;
	if (ret)
		*why = "the destination VMM changed its memory slots during the migration";
	else
		l->generation = now.generation;
	vmig_layout_free(&now);
	return ret;
}

/*
 * Make @len bytes at @addr (page aligned, in the adopted VMM mm) read as
 * zero without faulting them in: most of a fresh destination was never
 * touched, and clearing it would make a mostly-empty guest arrive fully
 * resident. So a ZERO run discards, as QEMU discards RAM: private
 * anonymous memory is zapped as by MADV_DONTNEED (present pages and swap
 * entries go; the range reads as zero again, untouched pages stay
 * unmapped); a shared tmpfs mapping gets a hole punched in its file, which
 * every mapping of it then reads as zero. zap_page_range(_single)() and
 * vfs_fallocate() are exported on 6.1 and 6.12 alike. Probing for a present
 * page instead (get_user_pages_fast_only()) cannot tell an untouched page
 * from a swapped-out one, which need not be zero. Anything else is cleared
 * through the mapping: a private file mapping would read its file again,
 * a locked one must stay populated, a hugetlb one discards only whole huge
 * pages.
 */
static int vmig_receive_zero(unsigned long addr, size_t len)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct file *file = NULL;
	bool zapped = false;
	loff_t pos = 0;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma && len <= vma->vm_end - addr) {
		if (vma_is_anonymous(vma) &&
		    !(vma->vm_flags & (VM_LOCKED | VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP))) {
			vmig_compat_zap_range(vma, addr, len);
			zapped = true;
		} else if ((vma->vm_flags & VM_SHARED) && vma->vm_file &&
			   file_inode(vma->vm_file)->i_sb->s_magic == TMPFS_MAGIC) {
			file = get_file(vma->vm_file);
			pos = ((loff_t)vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);
		}
	}
	mmap_read_unlock(mm);
	if (zapped)
		return 0;
	/* Outside mmap_lock: the file's i_rwsem ranks above it. */
	if (file) {
		int ret = vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					pos, len);

		fput(file);
		if (!ret)
			return 0;
	}
	return clear_user((void __user *)addr, len) ? -EFAULT : 0;
}

/*
 * Land @count pages at @addr in the VMM: pin them for writing (breaking
 * COW, faulting them in once, in one call) and receive into them. A range
 * that will not pin whole (a slot being unmapped) is received through the
 * VMM's mapping instead, which reports the fault.
 */
static int vmig_receive_pages(struct vmig_stream *st, unsigned long addr, u32 count)
{
	struct page *pages[VMIG_WIRE_MAX_RUN];
	int got, ret;

	got = pin_user_pages_fast(addr, count, FOLL_WRITE, pages);
	if (got != count) {
		if (got > 0)
			unpin_user_pages(pages, got);
		return vmig_stream_recv_user(st, (void __user *)addr, count << PAGE_SHIFT);
	}
	ret = vmig_stream_recv_pages(st, pages, count);
	/* Written behind the page tables' back: a file page must say so. */
	unpin_user_pages_dirty_lock(pages, count, true);
	return ret;
}

static int vmig_receive_run_frame(struct vmig_session *s, const struct vmig_layout *l,
				  u16 type, u32 len, struct vmig_stats *stats,
				  const char **why)
{
	const struct vmig_slot *slot;
	struct vmig_wire_run run;
	u32 count;
	u64 off;
	int ret;

	if (len < sizeof(run)) {
		*why = "page run frame too short";
		return -EBADMSG;
	}
	ret = vmig_stream_recv(s->stream, &run, sizeof(run));
	if (ret)
		return ret;
	slot = vmig_receive_slot(l, le32_to_cpu(run.slot));
	count = le32_to_cpu(run.count);
	off = le64_to_cpu(run.offset);
	if (!slot) {
		*why = "page run names a memory slot the VM does not have";
		return -EBADMSG;
	}
	if (!count || count > VMIG_WIRE_MAX_RUN || off >= slot->npages ||
	    count > slot->npages - off + vmig_fault(VMIG_FAULT_RUN_OVERHANG)) {
		*why = "page run lies outside its memory slot";
		return -EBADMSG;
	}
	if (len != sizeof(run) + (type == VMIG_WIRE_PAGES ? (u64)count << PAGE_SHIFT : 0)) {
		*why = "page run length does not match its page count";
		return -EBADMSG;
	}
	if (type == VMIG_WIRE_ZERO) {
		ret = vmig_receive_zero(slot->hva + (off << PAGE_SHIFT),
					(size_t)count << PAGE_SHIFT);
		if (!ret)
			stats->zero_pages += count;
		return ret;
	}
	ret = vmig_receive_pages(s->stream, slot->hva + (off << PAGE_SHIFT), count);
	if (!ret)
		stats->sent_pages += count;
	return ret;
}

static int vmig_receive_state(struct vmig_session *s, u32 len, void *buf,
			      u32 *seen, const char **why)
{
	struct vmig_wire_state rec;
	u16 kind, vcpu;
	u32 rlen;
	int ret;

	if (len < sizeof(rec)) {
		*why = "state frame too short";
		return -EBADMSG;
	}
	ret = vmig_stream_recv(s->stream, &rec, sizeof(rec));
	if (ret)
		return ret;
	kind = le16_to_cpu(rec.kind);
	vcpu = le16_to_cpu(rec.vcpu);
	rlen = le32_to_cpu(rec.len);
	if (!kind || kind >= __VMIG_SK_MAX || vcpu >= s->vm->nr_vcpus ||
	    rlen > VMIG_WIRE_MAX_STATE || len != sizeof(rec) + rlen) {
		*why = "state record has an unknown kind, vCPU or length";
		return -EBADMSG;
	}
	ret = vmig_stream_recv(s->stream, buf, rlen);
	if (ret)
		return ret;
	ret = vmig_state_apply(s->vm, kind, vcpu, buf, rlen, why);
	if (!ret)
		vmig_state_mark(seen, s->vm->nr_vcpus, kind, vcpu);
	return ret;
}

/* Socket errors mid-frame: the link, not the frame, is what failed. */
static bool vmig_receive_conn_lost(int ret)
{
	switch (ret) {
	case -ECONNRESET:
	case -ECONNABORTED:
	case -ENOTCONN:
	case -EPIPE:
	case -ETIMEDOUT:
	case -EAGAIN:
		return true;
	default:
		return false;
	}
}

/*
 * The destination's job (struct vmig_session_ops.run): land frames until
 * END, then wait for the commit and acknowledge. Context: the worker.
 */
static int vmig_receive_run(struct vmig_session *s, const char **whyp, bool *unknown)
{
	struct vmig_stream *st = s->stream;
	struct vmig_wire_status ack = { };
	struct vmig_stats stats = { };
	struct vmig_layout l = { };
	const char *why = NULL;
	bool hello = false;
	unsigned long next_report = jiffies;
	u32 *seen;
	void *buf;
	int ret;

	buf = kvmalloc(VMIG_WIRE_MAX_STATE, GFP_KERNEL);
	/* Which state records arrived: per vCPU, then VM-wide. */
	seen = kcalloc(s->vm->nr_vcpus + 1, sizeof(*seen), GFP_KERNEL);
	if (!buf || !seen) {
		ret = -ENOMEM;
		goto out_free;
	}
	vmig_stream_set_timeout(st, VMIG_RECV_TIMEOUT);
	ret = vmig_vm_enter(s->vm, vmig_state_scratch_size(0) + VMIG_WIRE_MAX_STATE);
	if (ret) {
		why = "cannot enter the VMM's address space";
		goto out_free;
	}
	if (s->ram) {
		/* The backend is the one region pages land in (ram.h). */
		l.slots = kmemdup(&s->ram->slot, sizeof(s->ram->slot), GFP_KERNEL);
		l.nr_slots = l.slots ? 1 : 0;
		ret = l.slots ? 0 : -ENOMEM;
	} else {
		ret = vmig_vm_layout(s->vm, &l);
	}
	if (ret)
		goto out_leave;
	stats.ram_bytes = vmig_layout_pages(&l) << PAGE_SHIFT;
	vmig_session_set_state(s, VMIG_STATE_PRECOPY, 0, NULL);

	for (;;) {
		u16 type;
		u32 len;

		ret = vmig_stream_recv_hdr(st, &type, &len);
		if (ret) {
			why = ret == -EBADMSG ? "corrupt frame header" :
			      ret == -EKEYREJECTED ? VMIG_TAMPERED :
			      "connection to the source lost";
			break;
		}
		if (vmig_session_cancelled(s)) {
			ret = -ECANCELED;
			break;
		}
		/* Only our reference left: the destination VMM has exited. */
		if (!vmig_vm_vmm_alive(s->vm)) {
			why = "the destination VMM exited";
			ret = -ESRCH;
			break;
		}
		ret = vmig_receive_check_layout(s, &l, &why);
		if (ret)
			break;
		if (!hello && type != VMIG_WIRE_HELLO) {
			why = "first frame is not HELLO";
			ret = -EBADMSG;
			break;
		}
		switch (type) {
		case VMIG_WIRE_HELLO:
			ret = hello ? -EBADMSG : vmig_receive_hello(s, &l, len, &why);
			if (hello)
				why = "second HELLO";
			hello = true;
			break;
		case VMIG_WIRE_PAGES:
		case VMIG_WIRE_ZERO:
			ret = vmig_receive_run_frame(s, &l, type, len, &stats, &why);
			/* A slot the VMM just unmapped fails the landing: say why. */
			if (ret == -EFAULT && vmig_receive_check_layout(s, &l, &why) == -ESTALE)
				ret = -ESTALE;
			break;
		case VMIG_WIRE_DISK:
			ret = vmig_disk_recv_hello(s->disk, st, len, &why);
			break;
		case VMIG_WIRE_BLOCKS:
			ret = vmig_disk_recv_blocks(s->disk, st, len, &why);
			break;
		case VMIG_WIRE_STATE:
			if (vmig_session_state(s, NULL, NULL, NULL) == VMIG_STATE_PRECOPY)
				vmig_session_set_state(s, VMIG_STATE_SWITCHOVER, 0, NULL);
			ret = vmig_receive_state(s, len, buf, seen, &why);
			break;
		case VMIG_WIRE_END:
			ret = len ? -EBADMSG : 0;
			if (ret) {
				why = "END frame with a payload";
				break;
			}
			/*
			 * A VM without all of its state would run from reset
			 * state: refused, so the source resumes. With a RAM
			 * backend the VMM carries it. An acknowledged disk is
			 * on stable storage.
			 */
			if (!s->ram && !vmig_state_received_all(seen, s->vm->nr_vcpus)) {
				why = "END before the whole VM state arrived";
				ret = -EBADMSG;
			} else {
				ret = vmig_disk_finish(s->disk, &why);
			}
			vmig_disk_fold_stats(s->disk, &stats);
			stats.sent_bytes = st->rx_bytes;
			vmig_session_update(s, &stats);
			/* A VMM with a RAM backend commits with its own migration. */
			if (!ret && !s->ram)
				ret = vmig_receive_await_commit(s, &why);
			ack.error = cpu_to_le32(-ret);
			if (!ret && vmig_fault(VMIG_FAULT_LOSE_ACK))
				vmig_stream_shutdown(st);	/* lost on the wire */
			else if (vmig_stream_send(st, VMIG_WIRE_ACK, &ack, sizeof(ack), 0, false) &&
				 !ret) {
				why = "cannot acknowledge to the source";
				ret = -EPIPE;
			}
			vmig_session_switch_answer(s, ret, why);
			if (ret)
				break;
			goto out_layout;
		default:
			why = "unexpected frame type";
			ret = -EBADMSG;
		}
		if (ret) {
			if (ret == -EKEYREJECTED)
				why = VMIG_TAMPERED;
			if (!why)
				why = vmig_receive_conn_lost(ret) ?
				      "connection to the source lost" :
				      "receiving guest memory failed";
			break;
		}
		if (time_after(jiffies, next_report)) {
			vmig_disk_fold_stats(s->disk, &stats);
			stats.sent_bytes = st->rx_bytes;
			vmig_session_update(s, &stats);
			next_report = jiffies + HZ / 4;
		}
	}
	/* Tell the source why, if it still listens; it fails on its own anyway. */
	vmig_stream_shutdown(st);

out_layout:
	vmig_layout_free(&l);
out_leave:
	vmig_vm_leave(s->vm);
out_free:
	kfree(seen);
	kvfree(buf);
	*whyp = why;
	return ret;
}

const struct vmig_session_ops vmig_receive_ops = {
	.role = VMIG_ROLE_DESTINATION,
	.name = "dst",
	.run = vmig_receive_run,
	.switchover = vmig_receive_commit,
	.cancel_cuts_io = true,
};
