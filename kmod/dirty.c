// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page tracking on KVM's dirty log, through the stable ioctls only:
 * KVM_SET_USER_MEMORY_REGION to turn KVM_MEM_LOG_DIRTY_PAGES on and off,
 * KVM_GET_DIRTY_LOG to harvest (it atomically takes the log and
 * write-protects the pages again), KVM_CLEAR_DIRTY_LOG after it when the
 * VMM enabled manual protection.
 *
 * Exactness: a page's bit is harvested before its contents are read for
 * sending, so a write that races with the read sets the bit again and the
 * page goes in a later pass; the final pass runs with the vCPUs stopped.
 *
 * The VMM may change its slots while we track them. Each harvest compares
 * KVM's memslot generation with the one our layout was taken at; on a
 * change the layout is re-read, unchanged slots keep their bitmaps, and a
 * new or changed slot is treated as entirely dirty (with logging turned on
 * again), because writes to it before we noticed were not logged.
 */
#include <linux/bitmap.h>
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "dirty.h"
#include "fault.h"

#define VMIG_DIRTY_LOG_OFF	64	/* bitmap offset in the scratch buffer */
/* Layout re-reads when slots change while vmig turns logging on. */
#define VMIG_DIRTY_RELAYOUT_TRIES	3

static size_t vmig_dirty_bitmap_bytes(u64 npages)
{
	return ALIGN(npages, 64) / 8;
}

/**
 * vmig_dirty_scratch_size() - scratch space vmig_dirty_*() need in the mm
 * @vm: the VM (not entered)
 *
 * Return: bytes; the largest slot's bitmap plus room for arguments.
 */
size_t vmig_dirty_scratch_size(struct vmig_vm *vm)
{
	struct vmig_layout l;
	size_t max = 0;
	u32 i;

	if (vmig_vm_layout(vm, &l))
		return 0;
	for (i = 0; i < l.nr_slots; i++)
		max = max_t(size_t, max, vmig_dirty_bitmap_bytes(l.slots[i].npages));
	vmig_layout_free(&l);
	return VMIG_DIRTY_LOG_OFF + max + 64 * 1024;
}

/*
 * Turn dirty logging of slot @s on or off. @s was read at generation *@gen,
 * which the caller still expects. KVM_SET_USER_MEMORY_REGION sets a slot
 * whole: had the VMM deleted or moved @s since, the ioctl would bring it
 * back at its stale address. So the generation is compared right before
 * (-EAGAIN: the slots changed, nothing was written; re-read them) and right
 * after, where our own update must account for all of the change
 * (-ESTALE: the VMM changed slots during the ioctl, which may have undone
 * its change). The window left is the ioctl's own. On success *@gen is the
 * generation after our update.
 */
static int vmig_dirty_set_logging(struct vmig_dirty *d, const struct vmig_slot *s,
				  bool on, u64 *gen)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = on ? s->flags | KVM_MEM_LOG_DIRTY_PAGES :
			      s->flags & ~KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = s->base_gfn << PAGE_SHIFT,
		.memory_size = s->npages << PAGE_SHIFT,
		.userspace_addr = s->hva,
	};
	long ret;

	if (vmig_vm_generation(d->vm) != *gen)
		return -EAGAIN;
	/* The VMM deleting the slot inside the window (test only). */
	if (on && vmig_fault(VMIG_FAULT_SLOT_RACE)) {
		struct kvm_userspace_memory_region del = { .slot = s->id };

		vmig_vm_ioctl(d->vm, d->vm->vm_file, KVM_SET_USER_MEMORY_REGION,
			      &del, sizeof(del));
	}
	ret = vmig_vm_ioctl(d->vm, d->vm->vm_file, KVM_SET_USER_MEMORY_REGION,
			    &r, sizeof(r));
	if (ret)
		return ret;
	*gen += vmig_vm_generation_step(d->vm);
	return vmig_vm_generation(d->vm) == *gen ? 0 : -ESTALE;
}

static bool vmig_slot_same(const struct vmig_slot *a, const struct vmig_slot *b)
{
	return a->id == b->id && a->base_gfn == b->base_gfn &&
	       a->npages == b->npages && a->hva == b->hva;
}

static void vmig_dirty_free_bitmaps(struct vmig_dirty *d, u32 n,
				    unsigned long **bitmaps, bool *logging)
{
	u32 i;

	for (i = 0; bitmaps && i < n; i++)
		kvfree(bitmaps[i]);
	kfree(bitmaps);
	kfree(logging);
}

/*
 * Turn off the dirty logging vmig turned on (@logging, per slot of @l) in
 * the slots that are still as @l has them, logging; slots the VMM changed
 * since are left as it set them. Each write is checked against the layout
 * just read, so none recreates a slot the VMM deleted meanwhile; when the
 * slots keep changing the rest stay logged, which costs speed, not data.
 */
static void vmig_dirty_unlog(struct vmig_dirty *d, const struct vmig_layout *l,
			     const bool *logging)
{
	struct vmig_layout now;
	u32 i, j;
	u64 gen;

	if (vmig_vm_layout(d->vm, &now))
		return;
	gen = now.generation;
	for (i = 0; i < l->nr_slots; i++) {
		if (!logging[i])
			continue;
		for (j = 0; j < now.nr_slots; j++)
			if (vmig_slot_same(&now.slots[j], &l->slots[i]) &&
			    (now.slots[j].flags & KVM_MEM_LOG_DIRTY_PAGES) &&
			    vmig_dirty_set_logging(d, &l->slots[i], false, &gen))
				goto out_free;
	}
out_free:
	vmig_layout_free(&now);
}

/*
 * Adopt a new layout: carry over bitmaps of unchanged, still-logged slots,
 * mark every other slot entirely dirty and (re)arm its dirty log.
 */
static int vmig_dirty_adopt(struct vmig_dirty *d, struct vmig_layout *nl,
			    const char **why)
{
	u64 gen = nl->generation;
	unsigned long **bm;
	bool *logging;
	u32 i, j;
	int ret;

	bm = kcalloc(nl->nr_slots ?: 1, sizeof(*bm), GFP_KERNEL);
	logging = kcalloc(nl->nr_slots ?: 1, sizeof(*logging), GFP_KERNEL);
	if (!bm || !logging) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (i = 0; i < nl->nr_slots; i++) {
		struct vmig_slot *s = &nl->slots[i];
		size_t bytes = vmig_dirty_bitmap_bytes(s->npages);
		bool kept = false;

		if (s->flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)) {
			*why = "a memory slot has flags vmig does not know";
			ret = -EOPNOTSUPP;
			goto err_free;
		}
		for (j = 0; j < d->layout.nr_slots; j++) {
			struct vmig_slot *o = &d->layout.slots[j];

			if (!vmig_slot_same(o, s) || !d->bitmaps[j])
				continue;
			/* Still logging, or read-only and never logged. */
			if ((s->flags & KVM_MEM_LOG_DIRTY_PAGES) == d->logging[j]) {
				bm[i] = d->bitmaps[j];
				logging[i] = d->logging[j];
				d->bitmaps[j] = NULL;
				kept = true;
			}
			break;
		}
		if (kept)
			continue;

		if (!d->bitmaps && (s->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
			*why = "the VMM already logs dirty pages of a slot (its own migration?)";
			ret = -EBUSY;
			goto err_free;
		}
		bm[i] = kvzalloc(bytes, GFP_KERNEL);
		if (!bm[i]) {
			ret = -ENOMEM;
			goto err_free;
		}
		bitmap_set(bm[i], 0, s->npages);
		if (s->flags & KVM_MEM_READONLY)
			continue;
		if (!(s->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
			ret = vmig_dirty_set_logging(d, s, true, &gen);
			if (ret == -ESTALE) {
				/* Ours is on: the undo below decides on the slot as it is now. */
				logging[i] = true;
				*why = VMIG_DIRTY_SLOTS_RACED;
			} else if (ret == -EAGAIN) {
				*why = "memory slots changed as vmig armed dirty logging; retry";
			} else if (ret) {
				*why = "KVM refused to turn on dirty logging";
			}
			if (ret)
				goto err_free;
		}
		logging[i] = true;
		s->flags &= ~KVM_MEM_LOG_DIRTY_PAGES;
	}

	/* Slots that disappeared take their bitmaps with them. */
	vmig_dirty_free_bitmaps(d, d->layout.nr_slots, d->bitmaps, d->logging);
	vmig_layout_free(&d->layout);
	d->layout = *nl;
	/* Our own flag changes moved the generation; this is the new base. */
	d->layout.generation = gen;
	d->bitmaps = bm;
	d->logging = logging;
	return 0;

err_free:
	/* Undo only what this call turned on; carried-over slots keep logging. */
	for (i = 0; logging && i < nl->nr_slots; i++)
		logging[i] &= !(nl->slots[i].flags & KVM_MEM_LOG_DIRTY_PAGES);
	if (logging)
		vmig_dirty_unlog(d, nl, logging);
	vmig_dirty_free_bitmaps(d, nl->nr_slots, bm, NULL);
	kfree(logging);
	vmig_layout_free(nl);
	return ret;
}

/**
 * vmig_dirty_start() - turn dirty logging on; every page starts dirty
 * @d: tracker to initialise
 * @vm: the VM, entered by this thread with vmig_dirty_scratch_size() bytes
 * @why: out: a static explanation when the VM cannot be tracked
 *
 * Return: 0 or a negative errno (-EBUSY: the VMM logs dirty pages itself;
 * -EOPNOTSUPP: the VM uses the dirty ring or unknown slot flags; -EAGAIN or
 * -ESTALE: the VMM changed slots while logging was turned on, see
 * vmig_dirty_set_logging()).
 */
int vmig_dirty_start(struct vmig_dirty *d, struct vmig_vm *vm, const char **why)
{
	struct vmig_layout nl;
	size_t max = 0;
	u32 i;
	int ret;

	memset(d, 0, sizeof(*d));
	d->vm = vm;
	ret = vmig_vm_dirty_mode(vm, &d->manual_protect);
	if (ret) {
		*why = "the VM uses KVM's dirty ring; vmig harvests the dirty log";
		return ret;
	}
	ret = vmig_vm_layout(vm, &nl);
	if (ret)
		return ret;
	for (i = 0; i < nl.nr_slots; i++)
		max = max_t(size_t, max, vmig_dirty_bitmap_bytes(nl.slots[i].npages));
	if (VMIG_DIRTY_LOG_OFF + max > vm->scratch_size) {
		vmig_layout_free(&nl);
		*why = "memory slots grew beyond the scratch buffer";
		return -E2BIG;
	}
	d->kbuf_size = max ?: sizeof(long);
	d->kbuf = kvzalloc(d->kbuf_size, GFP_KERNEL);
	if (!d->kbuf) {
		vmig_layout_free(&nl);
		return -ENOMEM;
	}
	ret = vmig_dirty_adopt(d, &nl, why);
	if (ret) {
		kvfree(d->kbuf);
		d->kbuf = NULL;
	}
	return ret;
}

static int vmig_dirty_harvest_slot(struct vmig_dirty *d, u32 i, u64 *found)
{
	struct vmig_slot *s = &d->layout.slots[i];
	size_t bytes = vmig_dirty_bitmap_bytes(s->npages);
	void __user *ubm = d->vm->scratch + VMIG_DIRTY_LOG_OFF;
	struct kvm_dirty_log log = { .slot = s->id, .dirty_bitmap = ubm };
	struct file *f = d->vm->vm_file;
	long ret;

	if (bytes > d->kbuf_size ||
	    VMIG_DIRTY_LOG_OFF + bytes > d->vm->scratch_size)
		return -E2BIG;
	if (copy_to_user(d->vm->scratch, &log, sizeof(log)))
		return -EFAULT;
	ret = vmig_vm_ioctl_val(d->vm, f, KVM_GET_DIRTY_LOG,
				(unsigned long)d->vm->scratch);
	if (ret)
		return ret;
	if (d->manual_protect) {
		struct kvm_clear_dirty_log clr = {
			.slot = s->id,
			.num_pages = s->npages,
			.first_page = 0,
			.dirty_bitmap = ubm,
		};

		if (copy_to_user(d->vm->scratch, &clr, sizeof(clr)))
			return -EFAULT;
		ret = vmig_vm_ioctl_val(d->vm, f, KVM_CLEAR_DIRTY_LOG,
					(unsigned long)d->vm->scratch);
		if (ret)
			return ret;
	}
	if (copy_from_user(d->kbuf, ubm, bytes))
		return -EFAULT;
	*found += bitmap_weight(d->kbuf, s->npages);
	bitmap_or(d->bitmaps[i], d->bitmaps[i], d->kbuf, s->npages);
	return 0;
}

/**
 * vmig_dirty_harvest() - collect pages written since the last harvest
 * @d: tracker
 *
 * Adds every page KVM logged (and every page of a slot the VMM changed)
 * to the bitmaps and re-arms write protection.
 *
 * Return: pages newly reported dirty, or a negative errno (-ENOENT: a slot
 * the VMM changed between our layout check and the harvest; retried once.
 * -ESTALE: the VMM changed slots while logging was re-armed, and the VM's
 * slots may no longer be what it set).
 */
s64 vmig_dirty_harvest(struct vmig_dirty *d)
{
	int relayout_tries = 0;
	u64 found = 0;
	int tries = 0;
	const char *why;
	u32 i;
	int ret;

again:
	if (vmig_vm_generation(d->vm) != d->layout.generation) {
		struct vmig_layout nl;
		u64 before = vmig_dirty_pending(d);

		ret = vmig_vm_layout(d->vm, &nl);
		if (ret)
			return ret;
		ret = vmig_dirty_adopt(d, &nl, &why);
		if (ret == -EAGAIN && relayout_tries++ < VMIG_DIRTY_RELAYOUT_TRIES)
			goto again;
		if (ret) {
			pr_warn("cannot follow a memory slot change: %s\n", why);
			return ret;
		}
		d->relayouts++;
		found += vmig_dirty_pending(d) > before ?
			 vmig_dirty_pending(d) - before : 0;
	}
	for (i = 0; i < d->layout.nr_slots; i++) {
		if (!d->logging[i])
			continue;
		ret = vmig_dirty_harvest_slot(d, i, &found);
		if (ret == -ENOENT && !tries++)
			goto again;
		if (ret)
			return ret;
	}
	return found;
}

/**
 * vmig_dirty_pending() - pages marked for sending
 * @d: tracker
 *
 * Return: the number of set bits over all slots.
 */
u64 vmig_dirty_pending(const struct vmig_dirty *d)
{
	u64 n = 0;
	u32 i;

	for (i = 0; i < d->layout.nr_slots; i++)
		if (d->bitmaps[i])
			n += bitmap_weight(d->bitmaps[i], d->layout.slots[i].npages);
	return n;
}

/**
 * vmig_dirty_stop() - turn off the dirty logging vmig turned on; free
 * @d: tracker (may be zeroed, never started)
 *
 * Slots the VMM changed since our last harvest are left as the VMM set
 * them. Context: the worker that started @d, still entered.
 */
void vmig_dirty_stop(struct vmig_dirty *d)
{
	if (!d->vm)
		return;
	vmig_dirty_unlog(d, &d->layout, d->logging);
	vmig_dirty_free_bitmaps(d, d->layout.nr_slots, d->bitmaps, d->logging);
	vmig_layout_free(&d->layout);
	kvfree(d->kbuf);
	memset(d, 0, sizeof(*d));
}
