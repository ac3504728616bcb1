/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching to a KVM VM owned by another process (the VMM): its VM and
 * vCPU files, its address space, its memory slot layout.
 */
#ifndef _VMIG_VM_H
#define _VMIG_VM_H

#include <linux/types.h>

struct file;
struct kvm;
struct mm_struct;
struct netlink_ext_ack;

/**
 * struct vmig_slot - one KVM memory slot as vmig sees it, or a RAM backend
 * @id: KVM slot id, address space in bits 16 and up (as KVM's ioctls take it)
 * @flags: KVM_MEM_* flags as the VMM set them
 * @base_gfn: first guest frame
 * @npages: size in pages
 * @hva: address of the slot's memory in the VMM's address space
 */
struct vmig_slot {
	u32 id;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	u64 hva;
};

/**
 * struct vmig_layout - the memory slots of a VM at one memslot generation
 * @generation: KVM's memslot generation the snapshot was taken at
 * @nr_slots: entries in @slots, sorted by id
 * @slots: the slots
 */
struct vmig_layout {
	u64 generation;
	u32 nr_slots;
	struct vmig_slot *slots;
};

/**
 * struct vmig_vm - a VM vmig works on
 * @vm_file: the VM's file (reference held)
 * @kvm: the VM (reference held with kvm_get_kvm)
 * @mm: the VMM's address space (mmget reference held)
 * @vmm_pid: the VMM's pid as KVM recorded it, for reports
 * @nr_vcpus: entries in @vcpu_files
 * @vcpu_files: vCPU files in vCPU index order (references held)
 * @scratch: a buffer in @mm for ioctl arguments; valid between
 *	vmig_vm_enter() and vmig_vm_leave(), in the entering thread only
 * @scratch_size: its size
 *
 * Owned by one session; only that session's worker thread issues ioctls.
 */
struct vmig_vm {
	struct file *vm_file;
	struct kvm *kvm;
	struct mm_struct *mm;
	pid_t vmm_pid;
	u32 nr_vcpus;
	struct file **vcpu_files;
	void __user *scratch;
	size_t scratch_size;
};

struct vmig_vm *vmig_vm_attach(int vm_fd, const u32 *vcpu_fds, u32 nr_vcpus,
			       struct netlink_ext_ack *extack);
void vmig_vm_detach(struct vmig_vm *vm);
int vmig_vm_enter(struct vmig_vm *vm, size_t scratch_size);
void vmig_vm_leave(struct vmig_vm *vm);
long vmig_vm_ioctl(struct vmig_vm *vm, struct file *file, unsigned int cmd,
		   void *arg, size_t size);
long vmig_vm_ioctl_val(struct vmig_vm *vm, struct file *file,
		       unsigned int cmd, unsigned long val);
int vmig_vm_layout(struct vmig_vm *vm, struct vmig_layout *layout);
u64 vmig_vm_generation(struct vmig_vm *vm);
u64 vmig_vm_generation_step(struct vmig_vm *vm);
void vmig_layout_free(struct vmig_layout *layout);
u64 vmig_layout_pages(const struct vmig_layout *layout);
int vmig_vm_dirty_mode(struct vmig_vm *vm, bool *manual_protect);
int vmig_vm_vcpus_stopped(struct vmig_vm *vm);
int vmig_vm_vcpus_idle(struct vmig_vm *vm);
bool vmig_vm_vmm_alive(struct vmig_vm *vm);

#endif /* _VMIG_VM_H */
