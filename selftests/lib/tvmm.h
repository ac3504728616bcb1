/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tvmm - a tiny KVM test VMM for vmig migration tests.
 *
 * The guest runs flat 32-bit protected mode with paging off and rewrites
 * its data pages with a pattern that encodes (gfn, generation, dword index),
 * so either end of a migration can prove guest memory is exactly what the
 * guest last wrote.  Progress is published in a control block in guest page
 * 0; because it lives in guest memory it migrates with the guest, and a
 * destination VMM needs no side channel to know what to expect.
 *
 * This header is also included by tvmm_guest.S: the control block layout is
 * given as byte offsets for the assembler and as a C struct whose offsets are
 * checked against them at compile time.
 */
#ifndef TVMM_H
#define TVMM_H

#define TVMM_PAGE_SHIFT		12
#define TVMM_PAGE_SIZE		4096

#define TVMM_MAX_SLOTS		16
#define TVMM_MAX_VCPUS		16

/* Guest physical layout of slot 0: control block, code, one stack per vCPU. */
#define TVMM_CB_GPA		0x0
#define TVMM_CODE_GPA		0x1000

/* Highest GPA a slot may reach: the TSS KVM_SET_TSS_ADDR needs sits above. */
#define TVMM_TSS_GPA		0xfffbd000ULL
#define TVMM_GPA_LIMIT		0xfffbc000ULL

#define TVMM_CB_MAGIC		0x564d4947	/* "GIMV" */
#define TVMM_PAGE_MAGIC		0x54564d4d	/* "MMVT" */

#define TVMM_MODE_RUN_WRITER	1
#define TVMM_MODE_VERIFY	2

/* OUT ports the guest uses; anything else is a fatal exit. */
#define TVMM_PORT_PROGRESS	0xe0	/* every cb.batch pages written */
#define TVMM_PORT_REPORT	0xe1	/* guest verifier result is in cb */
#define TVMM_PORT_IDLE		0xe2	/* verifier done, waiting for host */

/*
 * Pattern of body dword i (4 <= i < 1024) of a data page:
 *	x = gfn * A + gen * B + i * C (mod 2^32);  dword = x ^ (x >> 15)
 * Both steps are bijections for fixed i, so a page of any other gfn or
 * generation differs in every body dword.
 */
#define TVMM_MIX_A		0x9e3779b1
#define TVMM_MIX_B		0x85ebca77
#define TVMM_MIX_C		0xc2b2ae3d
#define TVMM_HDR_DWORDS		4

/* struct tvmm_cb byte offsets (guest code uses these). */
#define TVMM_CB_MAGIC_OFF	0
#define TVMM_CB_NR_VCPUS	4
#define TVMM_CB_NR_RANGES	8
#define TVMM_CB_MODE		12
#define TVMM_CB_BATCH		16
#define TVMM_CB_TOTAL		20
#define TVMM_CB_VERIFY_SEQ	24
#define TVMM_CB_RANGES		32
#define TVMM_CB_RANGE_SIZE	8
#define TVMM_CB_VCPUS		(TVMM_CB_RANGES + \
				 TVMM_MAX_SLOTS * TVMM_CB_RANGE_SIZE)
#define TVMM_CB_VCPU_SIZE	64

/* struct tvmm_cb_vcpu byte offsets; GEN and POS form one aligned qword. */
#define TVMM_VCPU_GEN		0
#define TVMM_VCPU_POS		4
#define TVMM_VCPU_IN_PROGRESS	8
#define TVMM_VCPU_PASSES	12
#define TVMM_VCPU_WRITTEN	16
#define TVMM_VCPU_BATCH_CNT	20
#define TVMM_VCPU_VSEQ		24
#define TVMM_VCPU_VBAD		28
#define TVMM_VCPU_VFIRST	32
#define TVMM_VCPU_VGEN		36

#ifndef __ASSEMBLER__

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One run of data pages; ranges are listed in slot id order. */
struct tvmm_cb_range {
	uint32_t gpa;
	uint32_t npages;
} __attribute__((packed));

/*
 * Per-vCPU writer state.  Invariant, true between any two guest
 * instructions: every owned page with data index < pos carries generation
 * gen, every one >= pos carries gen - 1 (all zero when gen - 1 == 0), except
 * the page at pos, which may be torn while in_progress is set.  (gen, pos)
 * are updated together by one locked 8-byte store at a pass boundary.
 */
struct tvmm_cb_vcpu {
	uint32_t gen;		/* generation being written, >= 1 */
	uint32_t pos;		/* data index of the page being/next written */
	uint32_t in_progress;	/* page at pos is being written */
	uint32_t passes;	/* completed passes (informational) */
	uint32_t written;	/* pages written since creation */
	uint32_t batch_cnt;	/* pages since the last progress OUT */
	uint32_t verify_seq;	/* cb.verify_seq the last report answers */
	uint32_t verify_bad;	/* last guest verifier: bad page count */
	uint32_t verify_first_gfn; /* ... first bad gfn (if verify_bad) */
	uint32_t verify_gen;	/* ... generation it checked against */
	uint32_t pad[6];
} __attribute__((packed, aligned(8)));

/*
 * Control block in guest page 0.  Global data index k numbers the data pages
 * of all ranges in order; vCPU i of n owns the pages with k % n == i.
 */
struct tvmm_cb {
	uint32_t magic;
	uint32_t nr_vcpus;
	uint32_t nr_ranges;
	uint32_t mode;		/* TVMM_MODE_*, written by the host */
	uint32_t batch;		/* pages between progress OUTs, >= 1 */
	uint32_t total;		/* number of data pages */
	uint32_t verify_seq;	/* bumped by the host per guest verify */
	uint32_t reserved;
	struct tvmm_cb_range ranges[TVMM_MAX_SLOTS];
	struct tvmm_cb_vcpu vcpu[TVMM_MAX_VCPUS];
} __attribute__((packed, aligned(8)));

_Static_assert(offsetof(struct tvmm_cb, magic) == TVMM_CB_MAGIC_OFF, "cb");
_Static_assert(offsetof(struct tvmm_cb, nr_vcpus) == TVMM_CB_NR_VCPUS, "cb");
_Static_assert(offsetof(struct tvmm_cb, nr_ranges) == TVMM_CB_NR_RANGES, "cb");
_Static_assert(offsetof(struct tvmm_cb, mode) == TVMM_CB_MODE, "cb");
_Static_assert(offsetof(struct tvmm_cb, batch) == TVMM_CB_BATCH, "cb");
_Static_assert(offsetof(struct tvmm_cb, total) == TVMM_CB_TOTAL, "cb");
_Static_assert(offsetof(struct tvmm_cb, verify_seq) == TVMM_CB_VERIFY_SEQ,
	       "cb");
_Static_assert(offsetof(struct tvmm_cb, ranges) == TVMM_CB_RANGES, "cb");
_Static_assert(sizeof(struct tvmm_cb_range) == TVMM_CB_RANGE_SIZE, "cb");
_Static_assert(offsetof(struct tvmm_cb, vcpu) == TVMM_CB_VCPUS, "cb");
_Static_assert(TVMM_CB_VCPUS % 8 == 0, "gen/pos qword must be aligned");
_Static_assert(sizeof(struct tvmm_cb_vcpu) == TVMM_CB_VCPU_SIZE, "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, pos) == TVMM_VCPU_POS, "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, in_progress) ==
	       TVMM_VCPU_IN_PROGRESS, "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, passes) == TVMM_VCPU_PASSES,
	       "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, written) == TVMM_VCPU_WRITTEN,
	       "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, batch_cnt) ==
	       TVMM_VCPU_BATCH_CNT, "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, verify_seq) == TVMM_VCPU_VSEQ,
	       "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, verify_bad) == TVMM_VCPU_VBAD,
	       "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, verify_first_gfn) ==
	       TVMM_VCPU_VFIRST, "cb");
_Static_assert(offsetof(struct tvmm_cb_vcpu, verify_gen) == TVMM_VCPU_VGEN,
	       "cb");
_Static_assert(sizeof(struct tvmm_cb) <= TVMM_PAGE_SIZE, "cb");

/* Guest code image, assembled from tvmm_guest.S. */
extern const unsigned char tvmm_guest_start[], tvmm_guest_end[];
/* Writer code range: there, %ebp equals cb gen except at gen_window. */
extern const unsigned char tvmm_guest_writer_end[];
/* The one instruction after cb gen is bumped and before %ebp follows. */
extern const unsigned char tvmm_guest_gen_window[];

/* Memory slot: KVM slot id, guest physical base and size (page multiples). */
struct tvmm_slot_cfg {
	uint32_t id;
	uint64_t gpa;
	uint64_t size;
};

struct tvmm_cfg {
	int nr_slots;
	struct tvmm_slot_cfg slots[TVMM_MAX_SLOTS];
	int nr_vcpus;
	bool irqchip;		/* KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2 */
	/*
	 * Migration destination: create slots and vCPUs but leave memory zero
	 * and vCPU registers at KVM's reset state, to be filled by someone
	 * else before tvmm_resume().
	 */
	bool no_load;
	uint32_t batch;		/* pages per progress OUT (>= 1) */
	uint64_t rate;		/* total pages/s over all vCPUs, 0: no limit */
};

/* A slot as created; hva changes when tvmm_slot_replace() copies. */
struct tvmm_slot {
	uint32_t id;
	uint64_t gpa;
	uint64_t size;
	void *hva;
};

struct tvmm;

/* Fill @cfg with defaults: one slot 0:0:16M, one vCPU, batch 8, no limit. */
void tvmm_cfg_default(struct tvmm_cfg *cfg);

/*
 * Parse "ID:GPA:SIZE" (GPA in C notation, SIZE with optional K/M/G suffix)
 * into @slot.  Returns 0 or -EINVAL.
 */
int tvmm_parse_slot(const char *s, struct tvmm_slot_cfg *slot);

/*
 * Create the VM described by @cfg: slots sorted by id (slot 0 must exist at
 * GPA 0), vCPUs created and, unless cfg->no_load, code, control block and
 * registers loaded.  vCPU threads exist but are stopped; call tvmm_resume()
 * to run.  With cfg->irqchip every vCPU's MP state is set RUNNABLE, also
 * for no_load (APs would otherwise wait for an INIT/SIPI nobody sends).
 * Installs a process-wide no-op handler for TVMM_KICK_SIGNAL.
 * Returns 0 and sets *@out, or -errno (a message goes to stderr).
 *
 * An unexpected exit (shutdown, internal error, unknown port, MMIO, ...)
 * is fatal for the whole process: "ERR exit=<reason> rip=0x.." is printed
 * to stderr and the process exits with status 1.
 */
int tvmm_create(const struct tvmm_cfg *cfg, struct tvmm **out);

/* Stop and join the vCPU threads, release all of @vm (NULL: no-op). */
void tvmm_destroy(struct tvmm *vm);

/*
 * Run all vCPUs from their current state (the first call starts them).
 * Returns 0; idempotent.
 */
int tvmm_resume(struct tvmm *vm);

/*
 * Stop all vCPUs and wait until each is parked outside KVM_RUN with any
 * pending PIO completed, so registers and memory are quiescent and
 * consistent (RIP is past the last OUT).  Returns 0; idempotent.
 */
int tvmm_stop(struct tvmm *vm);

/* True while vCPUs are running (between tvmm_resume() and tvmm_stop()). */
bool tvmm_running(struct tvmm *vm);

/* Set the total write rate limit in pages/s (0: none), effective at once. */
void tvmm_set_rate(struct tvmm *vm, uint64_t rate);

/* Number of vCPUs of @vm. */
int tvmm_nr_vcpus(struct tvmm *vm);

/* Number of memory slots of @vm. */
int tvmm_nr_slots(struct tvmm *vm);

/* KVM VM fd of @vm, e.g. for dirty logging by a test. */
int tvmm_vm_fd(struct tvmm *vm);

/* KVM fd of vCPU @idx; only touch it while the vCPUs are stopped. */
int tvmm_vcpu_fd(struct tvmm *vm, int idx);

/* Slot number @idx (0 .. nr_slots - 1, in id order), or NULL. */
const struct tvmm_slot *tvmm_slot(struct tvmm *vm, int idx);

/* Host address of @len bytes at @gpa, NULL unless one slot holds them all. */
void *tvmm_hva(struct tvmm *vm, uint64_t gpa, size_t len);

/* The control block (guest page 0). */
struct tvmm_cb *tvmm_cb(struct tvmm *vm);

/* Number of data pages the control block describes. */
uint64_t tvmm_data_pages(struct tvmm *vm);

/*
 * 64-bit FNV-1a over every byte of every slot in id order.  Only stable
 * while the vCPUs are stopped.
 */
uint64_t tvmm_hash(struct tvmm *vm);

struct tvmm_verify_result {
	uint64_t bad_pages;
	uint64_t first_bad_gfn;		/* valid if bad_pages */
	int reg_bad_vcpu;		/* -1, or vCPU whose %ebp != cb gen */
	uint32_t reg_ebp, reg_gen;	/* ... its values */
	int mode_bad_vcpu;		/* -1, or vCPU no longer in flat 32-bit mode */
	/*
	 * ... and in a state no x86 CPU can be in (a 64-bit code segment
	 * without long mode). Nothing the guest, KVM's uapi or vmig does puts
	 * a vCPU there; the test rig's nested SVM (QEMU TCG) has, by writing
	 * the L1 kernel's own CR0 and CS into the guest's VMCB. Tests use it
	 * to tell a rig-corrupted source VM from a failure of theirs.
	 */
	bool mode_impossible;
	char msg[256];			/* first problem, human readable */
};

/*
 * Check every data page against the control block with the guest
 * verifier's rules (the page at a vCPU's pos may be torn while
 * in_progress), and that each vCPU whose RIP is in writer code holds
 * %ebp == cb gen, and that every vCPU is still in the flat 32-bit mode
 * it was loaded in (the guest never changes it).  vCPUs must be stopped.
 * Returns 0 when all is exact, 1 when @res describes a mismatch, -EBUSY
 * when running, -EINVAL when the control block does not describe this VM
 * (res->msg says why).
 */
int tvmm_verify(struct tvmm *vm, struct tvmm_verify_result *res);

struct tvmm_guest_report {
	uint64_t bad_pages;		/* sum over vCPUs */
	uint64_t first_bad_gfn;		/* lowest vCPU with bad pages */
	uint32_t gen[TVMM_MAX_VCPUS];	/* generation each vCPU checked */
};

/*
 * Have the guest verify itself: set cb mode VERIFY, run the vCPUs until
 * each has reported through TVMM_PORT_REPORT, then set mode RUN_WRITER
 * again and leave the vCPUs running or stopped as they were before.
 * Returns 0 (clean), 1 (bad pages, see @rep), -ETIMEDOUT after
 * @timeout_ms, or -EINVAL when there is no valid control block.
 */
int tvmm_guest_verify(struct tvmm *vm, struct tvmm_guest_report *rep,
		      int timeout_ms);

struct tvmm_stats {
	uint32_t gen_min, gen_max;	/* over vCPUs, from the control block */
	uint64_t pages;			/* pages written, all vCPUs */
	uint64_t exits;			/* PIO exits seen by this process */
};

/* Snapshot progress counters; fine while running. */
void tvmm_stats(struct tvmm *vm, struct tvmm_stats *st);

struct tvmm_vcpu_state {
	uint64_t rip;
	uint32_t ebp;		/* the guest's generation register */
	uint32_t cb_gen;	/* the control block's generation */
};

/* Read vCPU @idx's state; vCPUs must be stopped.  0, -EBUSY or -errno. */
int tvmm_vcpu_state(struct tvmm *vm, int idx, struct tvmm_vcpu_state *st);

/*
 * Delete KVM memory slot @id and create it again at the same GPA and size,
 * as a VMM does when it remaps memory.  With @copy the slot gets fresh
 * memory holding a copy of the old contents (the HVA changes); otherwise
 * the same memory is registered again.  vCPUs are stopped around the change
 * and resumed if they were running.  Returns 0 or -errno.
 */
int tvmm_slot_replace(struct tvmm *vm, uint32_t id, bool copy);

/*
 * Keep KVM's static keys enabled for the rest of this process by creating
 * two idle VMs that are never destroyed: one with a vCPU without in-kernel
 * LAPIC, one with an in-kernel irqchip and a (software disabled) LAPIC.
 *
 * Why: creating the first VM / vCPU of a kind and destroying the last one
 * flips static keys (preempt notifiers, no-APIC vCPUs, LAPIC state), which
 * live-patches kernel text with text_poke_bp().  In the QEMU TCG test rig
 * that patching occasionally leaves the L1 kernel looping in int3 handlers
 * for good.  With the keys held, later create/destroy cycles patch nothing.
 * Forked children inherit the holders harmlessly.  Returns 0 or -errno;
 * calling it again is a no-op.
 */
int tvmm_pin_kvm_keys(void);

/* Signal used to kick vCPU threads out of KVM_RUN. */
#define TVMM_KICK_SIGNAL	SIGUSR1

#endif /* __ASSEMBLER__ */
#endif /* TVMM_H */
