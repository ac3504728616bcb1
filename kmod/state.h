/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything KVM holds for a VM besides its memory: VM-wide device state
 * and per-vCPU registers, captured on the source and applied on the
 * destination as STATE records (wire.h).
 */
#ifndef _VMIG_STATE_H
#define _VMIG_STATE_H

#include <linux/types.h>

struct vmig_stream;
struct vmig_vm;

/* On-wire record kinds: never renumber. Sent and applied in this order. */
enum vmig_state_kind {
	VMIG_SK_PIC_MASTER = 1,
	VMIG_SK_PIC_SLAVE,
	VMIG_SK_IOAPIC,
	VMIG_SK_PIT2,
	VMIG_SK_CLOCK,
	VMIG_SK_REGS,
	VMIG_SK_XSAVE,
	VMIG_SK_XCRS,
	VMIG_SK_SREGS,
	VMIG_SK_MSRS,
	VMIG_SK_MP_STATE,
	VMIG_SK_LAPIC,
	VMIG_SK_EVENTS,
	VMIG_SK_DEBUGREGS,
	__VMIG_SK_MAX,
};

/*
 * MSRs a session may carry: KVM_GET_MSRS and KVM_SET_MSRS refuse 256 or
 * more in one call (MAX_IO_MSRS, arch/x86/kvm/x86.c), and the record of
 * 255 (4 KiB) fits a STATE frame. migrate-start refuses a longer list, so
 * the limit is not found at switchover.
 */
#define VMIG_STATE_MAX_MSRS	255

/**
 * struct vmig_msr_list - MSRs to carry, filtered to those KVM can read
 * @nr: entries in @index
 * @index: MSR numbers
 */
struct vmig_msr_list {
	u32 nr;
	u32 *index;
};

void vmig_state_mark(u32 *seen, u32 nr_vcpus, u16 kind, u16 vcpu);
bool vmig_state_received_all(const u32 *seen, u32 nr_vcpus);
size_t vmig_state_scratch_size(u32 nr_msrs);
int vmig_state_complete_exits(struct vmig_vm *vm, const char **why);
int vmig_state_filter_msrs(struct vmig_vm *vm, struct vmig_msr_list *msrs);
int vmig_state_send(struct vmig_vm *vm, struct vmig_stream *st,
		    const struct vmig_msr_list *msrs, const char **why);
int vmig_state_apply(struct vmig_vm *vm, u16 kind, u16 vcpu, void *buf,
		     u32 len, const char **why);

#endif /* _VMIG_STATE_H */
