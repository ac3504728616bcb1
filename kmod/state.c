// SPDX-License-Identifier: GPL-2.0
/*
 * VM and vCPU state through KVM's GET/SET ioctls, in the order QEMU
 * restores it (registers before MSRs that depend on EFER, LAPIC before
 * pending events). The VMM's vCPU threads are stopped while this runs.
 */
#include <linux/kvm.h>
#include <linux/mman.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>

#include "compat/compat.h"
#include "fault.h"
#include "state.h"
#include "stream.h"
#include "vm.h"
#include "wire.h"

/**
 * struct vmig_state_desc - how to move one kind of state
 * @get: ioctl reading it
 * @set: ioctl writing it
 * @size: fixed argument size (0: variable, MSRs)
 * @vcpu: per vCPU (else VM-wide)
 * @chip: for irqchip kinds, the KVM_IRQCHIP_* id to read
 * @optional: a VM without the device (no in-kernel irqchip or PIT)
 *	answers the get with -ENXIO or -EINVAL; the record is then skipped
 */
struct vmig_state_desc {
	unsigned int get, set;
	u32 size;
	bool vcpu;
	int chip;
	bool optional;
};

static const struct vmig_state_desc vmig_state_descs[__VMIG_SK_MAX] = {
	[VMIG_SK_PIC_MASTER] = { KVM_GET_IRQCHIP, KVM_SET_IRQCHIP,
		sizeof(struct kvm_irqchip), false, KVM_IRQCHIP_PIC_MASTER, true },
	[VMIG_SK_PIC_SLAVE] = { KVM_GET_IRQCHIP, KVM_SET_IRQCHIP,
		sizeof(struct kvm_irqchip), false, KVM_IRQCHIP_PIC_SLAVE, true },
	[VMIG_SK_IOAPIC] = { KVM_GET_IRQCHIP, KVM_SET_IRQCHIP,
		sizeof(struct kvm_irqchip), false, KVM_IRQCHIP_IOAPIC, true },
	[VMIG_SK_PIT2] = { KVM_GET_PIT2, KVM_SET_PIT2,
		sizeof(struct kvm_pit_state2), false, -1, true },
	[VMIG_SK_CLOCK] = { KVM_GET_CLOCK, KVM_SET_CLOCK,
		sizeof(struct kvm_clock_data), false, -1, false },
	[VMIG_SK_REGS] = { KVM_GET_REGS, KVM_SET_REGS,
		sizeof(struct kvm_regs), true, -1, false },
	[VMIG_SK_XSAVE] = { KVM_GET_XSAVE, KVM_SET_XSAVE,
		sizeof(struct kvm_xsave), true, -1, false },
	[VMIG_SK_XCRS] = { KVM_GET_XCRS, KVM_SET_XCRS,
		sizeof(struct kvm_xcrs), true, -1, false },
	[VMIG_SK_SREGS] = { KVM_GET_SREGS, KVM_SET_SREGS,
		sizeof(struct kvm_sregs), true, -1, false },
	[VMIG_SK_MSRS] = { KVM_GET_MSRS, KVM_SET_MSRS, 0, true, -1, false },
	[VMIG_SK_MP_STATE] = { KVM_GET_MP_STATE, KVM_SET_MP_STATE,
		sizeof(struct kvm_mp_state), true, -1, false },
	[VMIG_SK_LAPIC] = { KVM_GET_LAPIC, KVM_SET_LAPIC,
		sizeof(struct kvm_lapic_state), true, -1, true },
	[VMIG_SK_EVENTS] = { KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
		sizeof(struct kvm_vcpu_events), true, -1, false },
	[VMIG_SK_DEBUGREGS] = { KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
		sizeof(struct kvm_debugregs), true, -1, false },
};

static size_t vmig_msrs_size(u32 n)
{
	return sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry);
}

/* The longest MSR list migrate-start accepts travels in one STATE frame. */
static_assert(sizeof(struct kvm_msrs) + VMIG_STATE_MAX_MSRS * sizeof(struct kvm_msr_entry) <=
	      VMIG_WIRE_MAX_STATE);

/* Record kinds are bits of a u32 in vmig_state_mark(). */
static_assert(__VMIG_SK_MAX <= 32);

/**
 * vmig_state_mark() - note a record applied on the destination
 * @seen: per vCPU, then one VM-wide entry: BIT(kind) of records applied
 * @nr_vcpus: the VM's vCPUs
 * @kind: a valid record kind
 * @vcpu: its vCPU (checked by the caller against @nr_vcpus)
 */
void vmig_state_mark(u32 *seen, u32 nr_vcpus, u16 kind, u16 vcpu)
{
	seen[vmig_state_descs[kind].vcpu ? vcpu : nr_vcpus] |= BIT(kind);
}

/**
 * vmig_state_received_all() - has every record a source always sends arrived?
 * @seen: as vmig_state_mark() filled it
 * @nr_vcpus: the VM's vCPUs
 *
 * A destination that ran a VM missing a vCPU's registers would run it
 * from reset state, over the guest's memory: END must not be
 * acknowledged then. Optional kinds (a device the source VM lacks) may
 * be absent. A new non-optional kind is a new wire version: an older
 * source would not send it.
 *
 * Return: true if no non-optional record is missing.
 */
bool vmig_state_received_all(const u32 *seen, u32 nr_vcpus)
{
	u32 want_vm = 0, want_vcpu = 0, v;
	u16 kind;

	for (kind = 1; kind < __VMIG_SK_MAX; kind++) {
		if (vmig_state_descs[kind].optional)
			continue;
		if (vmig_state_descs[kind].vcpu)
			want_vcpu |= BIT(kind);
		else
			want_vm |= BIT(kind);
	}
	for (v = 0; v < nr_vcpus; v++)
		if ((seen[v] & want_vcpu) != want_vcpu)
			return false;
	return (seen[nr_vcpus] & want_vm) == want_vm;
}

/**
 * vmig_state_scratch_size() - scratch bytes the state ioctls need
 * @nr_msrs: MSRs carried
 *
 * Return: bytes.
 */
size_t vmig_state_scratch_size(u32 nr_msrs)
{
	return max_t(size_t, 64 * 1024, vmig_msrs_size(nr_msrs));
}

/**
 * vmig_state_complete_exits() - let KVM finish exits the VMM had handled
 * @vm: the VM, entered; its vCPU threads stopped
 * @why: out: explanation on failure
 *
 * A vCPU stopped after an exit to userspace still owes a completion (for
 * an OUT, RIP moves past the instruction only on the next KVM_RUN).
 * KVM_RUN with immediate_exit set runs that completion and returns -EINTR
 * without entering the guest, as QEMU does before saving state. For an
 * exit that reads data from the VMM (IN, MMIO read) we cannot know whether
 * the VMM had filled the data in before it stopped: -EAGAIN asks the
 * caller to let the VMM run briefly and stop it again.
 *
 * Return: 0, -EAGAIN, or another negative errno.
 */
int vmig_state_complete_exits(struct vmig_vm *vm, const char **why)
{
	u32 i;
	int ret = 0;

	for (i = 0; i < vm->nr_vcpus && !ret; i++) {
		struct kvm_run __user *run;
		unsigned long addr;
		u32 reason;
		u8 dir = 0, is_write = 1;
		long r;

		addr = vm_mmap(vm->vcpu_files[i], 0, PAGE_SIZE,
			       PROT_READ | PROT_WRITE, MAP_SHARED, 0);
		if (IS_ERR_VALUE(addr)) {
			*why = "cannot map a vCPU's run structure";
			return (int)addr;
		}
		run = (struct kvm_run __user *)addr;
		if (get_user(reason, &run->exit_reason) ||
		    get_user(dir, &run->io.direction) ||
		    get_user(is_write, &run->mmio.is_write)) {
			ret = -EFAULT;
			goto unmap;
		}
		if ((reason == KVM_EXIT_IO && dir == KVM_EXIT_IO_IN) ||
		    (reason == KVM_EXIT_MMIO && !is_write)) {
			*why = "a vCPU stopped inside an I/O read; resume the VMM briefly, retry";
			ret = -EAGAIN;
			goto unmap;
		}
		if (put_user((u8)1, vmig_compat_run_immediate_exit(run))) {
			ret = -EFAULT;
			goto unmap;
		}
		r = vmig_vm_ioctl_val(vm, vm->vcpu_files[i], KVM_RUN, 0);
		if (put_user((u8)0, vmig_compat_run_immediate_exit(run)) && !ret)
			ret = -EFAULT;
		if (r != -EINTR && r != 0) {
			*why = "KVM_RUN with immediate_exit failed";
			ret = r;
		}
unmap:
		vm_munmap(addr, PAGE_SIZE);
	}
	return ret;
}

/**
 * vmig_state_filter_msrs() - keep only the MSRs KVM lets us read
 * @vm: the VM, entered
 * @msrs: in: the VMM host's MSR index list; out: the readable subset
 *
 * KVM_GET_MSRS stops at the first MSR it cannot read, so each is probed.
 * Return: 0 or a negative errno.
 */
int vmig_state_filter_msrs(struct vmig_vm *vm, struct vmig_msr_list *msrs)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} one;
	u32 i, n = 0;
	long r;

	if (!vm->nr_vcpus)
		return 0;
	for (i = 0; i < msrs->nr; i++) {
		memset(&one, 0, sizeof(one));
		one.h.nmsrs = 1;
		one.e.index = msrs->index[i];
		r = vmig_vm_ioctl(vm, vm->vcpu_files[0], KVM_GET_MSRS, &one, sizeof(one));
		if (r == 1)
			msrs->index[n++] = msrs->index[i];
	}
	msrs->nr = n;
	return 0;
}

/*
 * A state no x86 CPU can be in, which KVM_SET_SREGS refuses on every host:
 * a 64-bit code segment outside long mode. Refused here, before the
 * destination is handed it, and said to be the source's: the source VM is
 * broken (the nested-SVM emulation of the test rig has done this).
 */
static int vmig_state_check_sregs(u32 vcpu, struct kvm_sregs *sr, const char **why)
{
	if (vcpu == 0 && vmig_fault(VMIG_FAULT_IMPOSSIBLE_SREGS)) {
		sr->cs.l = 1;
		sr->efer &= ~EFER_LMA;
	}
	if (!sr->cs.l || (sr->efer & EFER_LMA))
		return 0;
	pr_warn("vCPU %u: impossible sregs at the source: cr0 %#llx cr4 %#llx efer %#llx cs.l %u\n",
		vcpu, sr->cr0, sr->cr4, sr->efer, sr->cs.l);
	*why = "a source vCPU is in an impossible state (64-bit code outside long mode)";
	return -EINVAL;
}

static int vmig_state_send_one(struct vmig_vm *vm, struct vmig_stream *st,
			       u16 kind, u16 vcpu, void *buf, u32 len)
{
	struct vmig_wire_state rec = {
		.kind = cpu_to_le16(kind),
		.vcpu = cpu_to_le16(vcpu),
		.len = cpu_to_le32(len),
	};
	int ret;

	ret = vmig_stream_send(st, VMIG_WIRE_STATE, &rec, sizeof(rec), len, true);
	if (ret)
		return ret;
	return vmig_stream_send_buf(st, buf, len, true);
}

/**
 * vmig_state_send() - capture and send all VM and vCPU state
 * @vm: the VM, entered; vCPUs stopped and their exits completed
 * @st: the stream
 * @msrs: MSRs to carry (filtered)
 * @why: out: explanation on failure
 *
 * Return: 0 or a negative errno.
 */
int vmig_state_send(struct vmig_vm *vm, struct vmig_stream *st,
		    const struct vmig_msr_list *msrs, const char **why)
{
	size_t bufsz = max_t(size_t, sizeof(struct kvm_xsave),
			     vmig_msrs_size(msrs->nr));
	void *buf;
	u16 kind;
	u32 v;
	int ret = 0;

	buf = kvzalloc(max_t(size_t, bufsz, sizeof(struct kvm_pit_state2)), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (kind = 1; kind < __VMIG_SK_MAX && !ret; kind++) {
		const struct vmig_state_desc *d = &vmig_state_descs[kind];
		u32 nv = d->vcpu ? vm->nr_vcpus : 1;

		for (v = 0; v < nv && !ret; v++) {
			struct file *f = d->vcpu ? vm->vcpu_files[v] : vm->vm_file;
			u32 len = d->size;
			long r;

			memset(buf, 0, bufsz);
			if (kind == VMIG_SK_MSRS) {
				struct kvm_msrs *m = buf;
				u32 i;

				m->nmsrs = msrs->nr;
				for (i = 0; i < msrs->nr; i++)
					m->entries[i].index = msrs->index[i];
				len = vmig_msrs_size(msrs->nr);
			}
			if (d->chip >= 0)
				((struct kvm_irqchip *)buf)->chip_id = d->chip;
			r = vmig_vm_ioctl(vm, f, d->get, buf, len);
			if (d->optional && (r == -ENXIO || r == -EINVAL))
				continue;
			if (kind == VMIG_SK_MSRS && r != msrs->nr) {
				*why = "KVM_GET_MSRS read fewer MSRs than probed";
				ret = r < 0 ? r : -EIO;
				break;
			}
			if (r < 0) {
				*why = "a KVM state read (GET ioctl) failed";
				ret = r;
				break;
			}
			if (kind == VMIG_SK_SREGS) {
				ret = vmig_state_check_sregs(v, buf, why);
				if (ret)
					break;
			}
			ret = vmig_state_send_one(vm, st, kind, v, buf, len);
		}
	}
	kvfree(buf);
	return ret;
}

/*
 * KVM refuses host writes to some MSRs it lets us read, depending on the
 * VM's configuration (MSR_KVM_ASYNC_PF_INT needs an in-kernel LAPIC even
 * to write 0). Such an MSR is accepted when the destination already holds
 * the source's value; any real difference fails the migration.
 */
static int vmig_state_apply_msrs(struct vmig_vm *vm, struct file *f, u16 vcpu,
				 struct kvm_msrs *m, const char **why)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} one;
	u32 done = 0, total = m->nmsrs;
	long r;

	while (done < total) {
		m->nmsrs = total - done;
		if (done)
			memmove(m->entries, m->entries + done, m->nmsrs * sizeof(m->entries[0]));
		total -= done;
		done = 0;
		r = vmig_vm_ioctl(vm, f, KVM_SET_MSRS, m, vmig_msrs_size(m->nmsrs));
		if (r < 0) {
			*why = "KVM_SET_MSRS failed";
			return r;
		}
		if (r == m->nmsrs)
			return 0;
		memset(&one, 0, sizeof(one));
		one.h.nmsrs = 1;
		one.e.index = m->entries[r].index;
		if (vmig_vm_ioctl(vm, f, KVM_GET_MSRS, &one, sizeof(one)) != 1 ||
		    one.e.data != m->entries[r].data) {
			pr_warn("vCPU %u: KVM_SET_MSRS refused MSR %#x = %#llx\n", vcpu,
				m->entries[r].index, m->entries[r].data);
			*why = "KVM_SET_MSRS refused an MSR the destination cannot match";
			return -EIO;
		}
		done = r + 1;
	}
	return 0;
}

/**
 * vmig_state_apply() - write one received state record into the VM
 * @vm: destination VM, entered; vCPUs not running
 * @kind: enum vmig_state_kind, checked by the caller to be known
 * @vcpu: vCPU index, checked by the caller to be < nr_vcpus
 * @buf: the record
 * @len: its length
 * @why: out: explanation on failure
 *
 * Return: 0, -EBADMSG for a record whose size cannot be right, or the
 * SET ioctl's error.
 */
int vmig_state_apply(struct vmig_vm *vm, u16 kind, u16 vcpu, void *buf,
		     u32 len, const char **why)
{
	const struct vmig_state_desc *d = &vmig_state_descs[kind];
	struct file *f = d->vcpu ? vm->vcpu_files[vcpu] : vm->vm_file;
	long r;

	if (kind == VMIG_SK_MSRS) {
		struct kvm_msrs *m = buf;

		if (len < sizeof(*m) || len != vmig_msrs_size(m->nmsrs)) {
			*why = "MSR record length does not match its count";
			return -EBADMSG;
		}
	} else if (len != d->size || (!d->vcpu && vcpu)) {
		*why = "state record has the wrong size";
		return -EBADMSG;
	}
	if (kind == VMIG_SK_CLOCK) {
		struct kvm_clock_data *c = buf;

		/* Only REALTIME is meaningful to SET: KVM then adds the elapsed wall time. */
		c->flags &= KVM_CLOCK_REALTIME;
	}
	if (kind == VMIG_SK_MSRS)
		return vmig_state_apply_msrs(vm, f, vcpu, buf, why);
	r = vmig_vm_ioctl(vm, f, d->set, buf, len);
	if (r < 0) {
		/* The operator's only clue to which record KVM refused. */
		pr_info("vCPU %u: state record kind %u: SET ioctl %#x failed: %ld\n",
			vcpu, kind, d->set, r);
		if (kind == VMIG_SK_SREGS) {
			struct kvm_sregs *sr = buf;

			pr_info("vCPU %u: refused sregs: cr0 %#llx cr4 %#llx efer %#llx cs.l %u\n",
				vcpu, sr->cr0, sr->cr4, sr->efer, sr->cs.l);
		}
		*why = "a KVM state write (SET ioctl) failed";
		return r;
	}
	return 0;
}
