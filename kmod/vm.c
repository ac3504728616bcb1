// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching to a VM that another process (the VMM) created.
 *
 * vmig drives KVM only through its stable ioctl interface. KVM refuses VM
 * and vCPU ioctls from any address space but the VM's own, so they are
 * issued by a vmig worker kthread that has adopted the VMM's mm with
 * kthread_use_mm() (as vhost workers do); arguments travel through a
 * scratch buffer mapped into that mm.
 *
 * Three facts have no ioctl and are read from KVM's structures here, and
 * only here: the memory slot layout (there is no "get memory region"
 * ioctl), whether the VMM uses manual dirty-log protection or the dirty
 * ring, and which thread last ran each vCPU (to check it is stopped).
 * Documentation/design.rst lists what this needs on newer kernels.
 */
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/magic.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/xarray.h>
#include <net/netlink.h>

#include "compat/compat.h"
#include "vm.h"

/*
 * The VMs vmig is attached to, indexed by their struct kvm (the pointer
 * is only a key, never dereferenced through this table): one claim per VM.
 */
static DEFINE_XARRAY(vmig_vm_claims);

/*
 * Which vCPU of @kvm @file is: its index, -ENOTTY for a file that is no KVM
 * vCPU, -ESRCH for another VM's vCPU. KVM exports nothing to compare a
 * vCPU file's f_op with, and a file's private_data means nothing until its
 * type is known, so the type is told first from what any file shows: an
 * anon inode (made only by anon_inode_getfile()) named "kvm-vcpu:N", which
 * only KVM's vCPU files are (its stats files are "kvm-vcpu-stats:N").
 * Even then private_data is only compared with the VM's own vCPUs, never
 * followed.
 */
static int vmig_vm_vcpu_index(struct file *file, struct kvm *kvm)
{
	const char *name = file->f_path.dentry->d_name.name;
	struct kvm_vcpu *vcpu;
	unsigned long i;

	if (file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC ||
	    strncmp(name, "kvm-vcpu:", 9))
		return -ENOTTY;
	kvm_for_each_vcpu(i, vcpu, kvm)
		if (vcpu == file->private_data)
			return i;
	return -ESRCH;
}

/**
 * vmig_vm_attach() - take hold of a VM through fds in the caller's table
 * @vm_fd: the VM's fd
 * @vcpu_fds: its vCPU fds, in vCPU index order; NULL to attach to the
 *	memory only
 * @nr_vcpus: number of entries in @vcpu_fds
 * @extack: where to say why the VM is refused
 *
 * Context: process context of the netlink caller.
 * Return: the attached VM, owned by the caller (vmig_vm_detach()), or an
 * ERR_PTR.
 */
struct vmig_vm *vmig_vm_attach(int vm_fd, const u32 *vcpu_fds, u32 nr_vcpus,
			       struct netlink_ext_ack *extack)
{
	struct vmig_vm *vm;
	unsigned long i;
	int ret;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	vm->vcpu_files = kcalloc(nr_vcpus, sizeof(*vm->vcpu_files), GFP_KERNEL);
	if (nr_vcpus && !vm->vcpu_files) {
		ret = -ENOMEM;
		goto err_free_vm;
	}

	vm->vm_file = fget(vm_fd);
	if (!vm->vm_file) {
		NL_SET_ERR_MSG_MOD(extack, "vm-fd is not an open file");
		ret = -EBADF;
		goto err_free_vcpus;
	}
	if (!file_is_kvm(vm->vm_file)) {
		NL_SET_ERR_MSG_MOD(extack, "vm-fd is not a KVM VM");
		ret = -EINVAL;
		goto err_put_vm_file;
	}
	vm->kvm = vm->vm_file->private_data;
	kvm_get_kvm(vm->kvm);
	if (!mmget_not_zero(vm->kvm->mm)) {
		NL_SET_ERR_MSG_MOD(extack, "the VM's process is exiting");
		ret = -ESRCH;
		goto err_put_kvm;
	}
	vm->mm = vm->kvm->mm;
	vm->vmm_pid = vm->kvm->userspace_pid;
	/* One vmig user per VM at a time: two would fight over its dirty log. */
	ret = xa_insert(&vmig_vm_claims, (unsigned long)vm->kvm, vm, GFP_KERNEL);
	if (ret) {
		if (ret == -EBUSY)
			NL_SET_ERR_MSG_MOD(extack,
					   "the VM is already in a vmig session or measurement");
		goto err_put_mm;
	}

	/* Without vCPU fds (dirty-rate) only the VM's memory is used. */
	if (vcpu_fds && nr_vcpus != (u32)atomic_read(&vm->kvm->online_vcpus)) {
		NL_SET_ERR_MSG_MOD(extack, "vcpu-fd count differs from the VM's vCPU count");
		ret = -EINVAL;
		goto err_put_vcpus;
	}
	for (i = 0; i < nr_vcpus; i++) {
		struct file *f = fget(vcpu_fds[i]);

		if (!f) {
			NL_SET_ERR_MSG_MOD(extack, "a vcpu-fd is not an open file");
			ret = -EBADF;
			goto err_put_vcpus;
		}
		vm->vcpu_files[i] = f;
		ret = vmig_vm_vcpu_index(f, vm->kvm);
		if (ret < 0 || (unsigned long)ret != i) {
			if (ret == -ENOTTY)
				NL_SET_ERR_MSG_MOD(extack, "a vcpu-fd is not a KVM vCPU");
			else if (ret == -ESRCH)
				NL_SET_ERR_MSG_MOD(extack, "a vcpu-fd is a vCPU of another VM");
			else
				NL_SET_ERR_MSG_MOD(extack, "vcpu-fds must be in vCPU index order");
			ret = -EINVAL;
			goto err_put_vcpus;
		}
		vm->nr_vcpus = i + 1;
	}
	pr_debug("vm %d created\n", vm->vmm_pid);
	return vm;

err_put_vcpus:
	for (i = 0; i < nr_vcpus; i++)
		if (vm->vcpu_files[i])
			fput(vm->vcpu_files[i]);
	xa_erase(&vmig_vm_claims, (unsigned long)vm->kvm);
err_put_mm:
	mmput(vm->mm);
err_put_kvm:
	kvm_put_kvm(vm->kvm);
err_put_vm_file:
	fput(vm->vm_file);
err_free_vcpus:
	kfree(vm->vcpu_files);
err_free_vm:
	kfree(vm);
	return ERR_PTR(ret);
}

/**
 * vmig_vm_detach() - drop everything vmig_vm_attach() took
 * @vm: the VM; may be NULL or an ERR_PTR
 *
 * Context: process context, not between vmig_vm_enter() and vmig_vm_leave().
 */
void vmig_vm_detach(struct vmig_vm *vm)
{
	u32 i;

	if (IS_ERR_OR_NULL(vm))
		return;
	pr_debug("vm %d destroyed\n", vm->vmm_pid);
	for (i = 0; i < vm->nr_vcpus; i++)
		fput(vm->vcpu_files[i]);
	kfree(vm->vcpu_files);
	xa_erase(&vmig_vm_claims, (unsigned long)vm->kvm);
	mmput(vm->mm);
	kvm_put_kvm(vm->kvm);
	fput(vm->vm_file);
	kfree(vm);
}

/**
 * vmig_vm_enter() - adopt the VMM's address space in this kthread
 * @vm: the VM
 * @scratch_size: bytes of ioctl scratch space to map there
 *
 * Context: a vmig kthread. Pair with vmig_vm_leave() in the same thread.
 * Return: 0 or a negative errno.
 */
int vmig_vm_enter(struct vmig_vm *vm, size_t scratch_size)
{
	unsigned long addr;

	if (WARN_ON_ONCE(!(current->flags & PF_KTHREAD)))
		return -EINVAL;
	kthread_use_mm(vm->mm);
	scratch_size = PAGE_ALIGN(scratch_size);
	addr = vm_mmap(NULL, 0, scratch_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr)) {
		kthread_unuse_mm(vm->mm);
		return (int)addr;
	}
	vm->scratch = (void __user *)addr;
	vm->scratch_size = scratch_size;
	return 0;
}

/**
 * vmig_vm_leave() - unmap the scratch buffer and give the mm back
 * @vm: the VM
 */
void vmig_vm_leave(struct vmig_vm *vm)
{
	vm_munmap((unsigned long)vm->scratch, vm->scratch_size);
	vm->scratch = NULL;
	kthread_unuse_mm(vm->mm);
}

/**
 * vmig_vm_ioctl() - issue a KVM ioctl whose argument is a buffer
 * @vm: the VM, entered by this thread
 * @file: the VM's or one of its vCPUs' files
 * @cmd: the ioctl
 * @arg: argument buffer, copied in and back out; may be NULL if @size is 0
 * @size: bytes of @arg, at most the scratch size
 *
 * Return: the ioctl's return value or a negative errno.
 */
long vmig_vm_ioctl(struct vmig_vm *vm, struct file *file, unsigned int cmd,
		   void *arg, size_t size)
{
	long ret;

	if (WARN_ON_ONCE(current->mm != vm->mm) || size > vm->scratch_size)
		return -EINVAL;
	if (size && copy_to_user(vm->scratch, arg, size))
		return -EFAULT;
	ret = file->f_op->unlocked_ioctl(file, cmd, (unsigned long)vm->scratch);
	if (ret >= 0 && size && copy_from_user(arg, vm->scratch, size))
		return -EFAULT;
	return ret;
}

/**
 * vmig_vm_ioctl_val() - issue a KVM ioctl whose argument is a value
 * @vm: the VM, entered by this thread
 * @file: the VM's or a vCPU's file
 * @cmd: the ioctl
 * @val: its argument
 *
 * Return: the ioctl's return value.
 */
long vmig_vm_ioctl_val(struct vmig_vm *vm, struct file *file,
		       unsigned int cmd, unsigned long val)
{
	if (WARN_ON_ONCE(current->mm != vm->mm))
		return -EINVAL;
	return file->f_op->unlocked_ioctl(file, cmd, val);
}

static int vmig_slot_cmp(const void *a, const void *b)
{
	const struct vmig_slot *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/**
 * vmig_vm_layout() - snapshot the VM's memory slots, every address space
 * @vm: the VM
 * @layout: filled in; release with vmig_layout_free()
 *
 * Slots of address space N > 0 (x86: SMM) get id "N << 16 | slot", the
 * number KVM's ioctls take. The generation is the sum of the address
 * spaces' own generations (vmig_vm_generation()), each of which only grows.
 *
 * Context: process context; takes KVM's slots_lock, so it serialises with
 * the VMM changing slots. Private (KVM-internal) slots are left out.
 * Return: 0 or -ENOMEM.
 */
int vmig_vm_layout(struct vmig_vm *vm, struct vmig_layout *layout)
{
	int nr_as = vmig_compat_kvm_nr_as(vm->kvm);
	struct kvm_memory_slot *ms;
	struct kvm_memslots *slots;
	int bkt, as;
	u32 n = 0;

	mutex_lock(&vm->kvm->slots_lock);
	for (as = 0; as < nr_as; as++)
		kvm_for_each_memslot(ms, bkt, __kvm_memslots(vm->kvm, as))
			n++;
	layout->slots = kcalloc(n ?: 1, sizeof(*layout->slots), GFP_KERNEL);
	if (!layout->slots) {
		mutex_unlock(&vm->kvm->slots_lock);
		return -ENOMEM;
	}
	layout->generation = 0;
	for (as = 0; as < nr_as; as++)
		layout->generation += __kvm_memslots(vm->kvm, as)->generation;
	layout->nr_slots = 0;
	for (as = 0; as < nr_as; as++) {
		slots = __kvm_memslots(vm->kvm, as);
		kvm_for_each_memslot(ms, bkt, slots) {
			struct vmig_slot *s;

			if (ms->id >= KVM_USER_MEM_SLOTS)
				continue;
			s = &layout->slots[layout->nr_slots++];
			s->id = (u32)as << 16 | ms->id;
			s->flags = ms->flags;
			s->base_gfn = ms->base_gfn;
			s->npages = ms->npages;
			s->hva = ms->userspace_addr;
		}
	}
	mutex_unlock(&vm->kvm->slots_lock);
	sort(layout->slots, layout->nr_slots, sizeof(*layout->slots),
	     vmig_slot_cmp, NULL);
	return 0;
}

/**
 * vmig_vm_generation() - KVM's current memslot generation
 * @vm: the VM
 *
 * Return: a value that changes whenever any memory slot changes.
 */
u64 vmig_vm_generation(struct vmig_vm *vm)
{
	int nr_as = vmig_compat_kvm_nr_as(vm->kvm);
	u64 gen = 0;
	int idx, as;

	idx = srcu_read_lock(&vm->kvm->srcu);
	for (as = 0; as < nr_as; as++)
		gen += __kvm_memslots(vm->kvm, as)->generation;
	srcu_read_unlock(&vm->kvm->srcu, idx);
	return gen;
}

/**
 * vmig_vm_generation_step() - how far one slot update moves the generation
 * @vm: the VM
 *
 * KVM commits each update of one slot (a flags change) with one swap of its
 * address space's slots, which adds the number of address spaces to that
 * space's generation (kvm_swap_active_memslots(), 6.1 and 6.12 alike). A
 * caller that knows the generation before its own update can so tell
 * whether anyone else's came in between.
 *
 * Return: the step of vmig_vm_generation() for one slot update.
 */
u64 vmig_vm_generation_step(struct vmig_vm *vm)
{
	return vmig_compat_kvm_nr_as(vm->kvm);
}

/**
 * vmig_layout_free() - release a layout snapshot
 * @layout: the snapshot
 */
void vmig_layout_free(struct vmig_layout *layout)
{
	kfree(layout->slots);
	layout->slots = NULL;
	layout->nr_slots = 0;
}

/**
 * vmig_layout_pages() - guest pages in all slots of a layout
 * @layout: the snapshot
 *
 * Return: the sum of the slots' sizes in pages.
 */
u64 vmig_layout_pages(const struct vmig_layout *layout)
{
	u64 n = 0;
	u32 i;

	for (i = 0; i < layout->nr_slots; i++)
		n += layout->slots[i].npages;
	return n;
}

/**
 * vmig_vm_dirty_mode() - how the VMM set up KVM's dirty tracking
 * @vm: the VM
 * @manual_protect: out: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is enabled, so a
 *	harvest must be followed by KVM_CLEAR_DIRTY_LOG to re-protect pages
 *
 * Return: 0, or -EOPNOTSUPP when the VM uses the dirty ring (KVM then
 * refuses KVM_GET_DIRTY_LOG).
 */
int vmig_vm_dirty_mode(struct vmig_vm *vm, bool *manual_protect)
{
	if (READ_ONCE(vm->kvm->dirty_ring_size))
		return -EOPNOTSUPP;
	*manual_protect = READ_ONCE(vm->kvm->manual_dirty_log_protect);
	return 0;
}

/**
 * vmig_vm_vcpus_stopped() - check that no vCPU can run
 * @vm: the VM
 *
 * A vCPU counts as stopped when the thread that last ran it is stopped
 * (SIGSTOP, as vmigctl does before switchover) or gone, or it never ran.
 * The check is a snapshot: the caller relies on the VMM staying stopped.
 *
 * Return: 0, or -EBUSY naming nothing: the caller reports which contract
 * was broken.
 */
int vmig_vm_vcpus_stopped(struct vmig_vm *vm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	int ret = 0;

	kvm_for_each_vcpu(i, vcpu, vm->kvm) {
		struct task_struct *t;
		struct pid *pid;

		rcu_read_lock();
		pid = rcu_dereference(vcpu->pid);
		t = pid ? pid_task(pid, PIDTYPE_PID) : NULL;
		if (t && !(t->flags & PF_KTHREAD) && !task_is_stopped(t) &&
		    !(t->flags & PF_EXITING))
			ret = -EBUSY;
		rcu_read_unlock();
	}
	return ret;
}

/**
 * vmig_vm_vcpus_idle() - check that no vCPU is inside a KVM ioctl
 * @vm: the VM
 *
 * For a VMM that pauses its vCPU threads itself (QEMU's "stop") rather
 * than being stopped by a signal: a paused vCPU thread waits outside
 * KVM_RUN, so its vCPU mutex is free. The check is a snapshot: the caller
 * relies on the VMM staying paused.
 *
 * Return: 0, or -EBUSY when a vCPU is inside an ioctl (running).
 */
int vmig_vm_vcpus_idle(struct vmig_vm *vm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, vm->kvm)
		if (mutex_is_locked(&vcpu->mutex))
			return -EBUSY;
	return 0;
}

/**
 * vmig_vm_vmm_alive() - does the VMM still run?
 * @vm: the VM, entered by the calling worker (vmig_vm_enter())
 *
 * The worker's own reference on the VMM's address space (vmig_vm_attach's
 * mmget) is the last one once every VMM thread has exited: KVM's files pin
 * the mm only through mm_count. Another holder of mm_users (a second vmig
 * session on the same VMM) hides the exit until it lets go.
 *
 * Return: false once the VMM has exited.
 */
bool vmig_vm_vmm_alive(struct vmig_vm *vm)
{
	return atomic_read(&vm->mm->mm_users) > 1;
}
