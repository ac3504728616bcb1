// SPDX-License-Identifier: GPL-2.0
/*
 * tvmm - a tiny KVM test VMM.  See tvmm.h for the guest contract.
 *
 * Threading: one pthread per vCPU owns its KVM_RUN loop.  All run-state
 * changes (stop/resume requests, parking, guest reports) go through one
 * mutex and one condition variable per VM.  A vCPU is only touched from
 * another thread (registers, slot changes) while every vCPU is parked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "tvmm.h"

#define NSEC_PER_SEC	1000000000ULL
#define X86_CR0_PE	(1UL << 0)
#define X86_CR0_ET	(1UL << 4)
#define EFER_LMA	(1UL << 10)

struct tvmm_vcpu {
	struct tvmm *vm;
	int idx;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_ok;
	/* Protected by vm->lock. */
	bool stop_req;
	bool parked;
	uint64_t reports;
	uint64_t next_ns;	/* rate limit: earliest time of next batch */
	/* Owned by the vCPU thread. */
	bool exited;		/* last KVM_RUN returned an exit to complete */
	uint64_t exits;		/* PIO exits, read racily by tvmm_stats() */
};

struct tvmm {
	struct tvmm_cfg cfg;
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	uint32_t data_start;	/* first data page gpa in slot 0 */
	int nr_slots;
	struct tvmm_slot slots[TVMM_MAX_SLOTS];
	int nr_vcpus;
	struct tvmm_vcpu vcpus[TVMM_MAX_VCPUS];
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* CLOCK_MONOTONIC */
	bool running;		/* protected by lock */
	bool exiting;		/* protected by lock */
	uint64_t rate;		/* protected by lock */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = ns / NSEC_PER_SEC,
		.tv_nsec = ns % NSEC_PER_SEC,
	};

	return ts;
}

static void kick_handler(int sig)
{
	(void)sig;
}

void tvmm_cfg_default(struct tvmm_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_slots = 1;
	cfg->slots[0].id = 0;
	cfg->slots[0].gpa = 0;
	cfg->slots[0].size = 16 << 20;
	cfg->nr_vcpus = 1;
	cfg->batch = 8;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int tvmm_parse_slot(const char *s, struct tvmm_slot_cfg *slot)
{
	char buf[128], *gpa, *size, *end;
	unsigned long id;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	gpa = strchr(buf, ':');
	if (!gpa)
		return -EINVAL;
	*gpa++ = 0;
	size = strchr(gpa, ':');
	if (!size)
		return -EINVAL;
	*size++ = 0;
	errno = 0;
	id = strtoul(buf, &end, 0);
	if (errno || end == buf || *end || id > 0x7fff)
		return -EINVAL;
	slot->id = id;
	if (parse_size(gpa, &slot->gpa) || parse_size(size, &slot->size))
		return -EINVAL;
	return 0;
}

static size_t code_pages(void)
{
	size_t len = tvmm_guest_end - tvmm_guest_start;

	return (len + TVMM_PAGE_SIZE - 1) / TVMM_PAGE_SIZE;
}

static uint64_t guest_off(const unsigned char *sym)
{
	return TVMM_CODE_GPA + (uint64_t)(sym - tvmm_guest_start);
}

static int cmp_slot(const void *a, const void *b)
{
	const struct tvmm_slot_cfg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Validate @cfg into @vm->cfg (slots sorted) and compute the layout. */
static int check_cfg(struct tvmm *vm, const struct tvmm_cfg *cfg)
{
	struct tvmm_cfg *c = &vm->cfg;
	uint64_t total = 0;
	int i;

	*c = *cfg;
	if (c->nr_vcpus < 1 || c->nr_vcpus > TVMM_MAX_VCPUS) {
		fprintf(stderr, "tvmm: vcpus must be 1..%d\n", TVMM_MAX_VCPUS);
		return -EINVAL;
	}
	if (c->nr_slots < 1 || c->nr_slots > TVMM_MAX_SLOTS) {
		fprintf(stderr, "tvmm: slots must be 1..%d\n", TVMM_MAX_SLOTS);
		return -EINVAL;
	}
	if (c->batch < 1) {
		fprintf(stderr, "tvmm: batch must be >= 1\n");
		return -EINVAL;
	}
	qsort(c->slots, c->nr_slots, sizeof(c->slots[0]), cmp_slot);
	for (i = 0; i < c->nr_slots; i++) {
		const struct tvmm_slot_cfg *s = &c->slots[i];
		int j;

		if (!s->size || (s->gpa | s->size) % TVMM_PAGE_SIZE ||
		    s->gpa + s->size > TVMM_GPA_LIMIT ||
		    s->gpa + s->size < s->gpa) {
			fprintf(stderr,
				"tvmm: slot %u: gpa/size must be page aligned and below 0x%llx\n",
				s->id, TVMM_GPA_LIMIT);
			return -EINVAL;
		}
		if (i && s->id == c->slots[i - 1].id) {
			fprintf(stderr, "tvmm: slot %u given twice\n", s->id);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			const struct tvmm_slot_cfg *o = &c->slots[j];

			if (s->gpa < o->gpa + o->size &&
			    o->gpa < s->gpa + s->size) {
				fprintf(stderr, "tvmm: slots %u and %u overlap\n",
					o->id, s->id);
				return -EINVAL;
			}
		}
	}
	if (c->slots[0].id != 0 || c->slots[0].gpa != 0) {
		fprintf(stderr, "tvmm: slot 0 must exist at gpa 0\n");
		return -EINVAL;
	}
	vm->data_start = (1 + code_pages() + c->nr_vcpus) * TVMM_PAGE_SIZE;
	if (c->slots[0].size <= vm->data_start) {
		fprintf(stderr, "tvmm: slot 0 must be larger than 0x%x\n",
			vm->data_start);
		return -EINVAL;
	}
	total = (c->slots[0].size - vm->data_start) / TVMM_PAGE_SIZE;
	for (i = 1; i < c->nr_slots; i++)
		total += c->slots[i].size / TVMM_PAGE_SIZE;
	if (total < (uint64_t)c->nr_vcpus) {
		/* A vCPU without pages would spin without ever exiting. */
		fprintf(stderr, "tvmm: fewer data pages than vcpus\n");
		return -EINVAL;
	}
	return 0;
}

/* The ranges the control block must describe for this VM. */
static void expected_ranges(struct tvmm *vm, struct tvmm_cb_range *r)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++) {
		r[i].gpa = vm->slots[i].gpa;
		r[i].npages = vm->slots[i].size / TVMM_PAGE_SIZE;
	}
	r[0].gpa = vm->data_start;
	r[0].npages -= vm->data_start / TVMM_PAGE_SIZE;
}

uint64_t tvmm_data_pages(struct tvmm *vm)
{
	struct tvmm_cb_range r[TVMM_MAX_SLOTS];
	uint64_t total = 0;
	int i;

	expected_ranges(vm, r);
	for (i = 0; i < vm->nr_slots; i++)
		total += r[i].npages;
	return total;
}

struct tvmm_cb *tvmm_cb(struct tvmm *vm)
{
	return (struct tvmm_cb *)vm->slots[0].hva;
}

/* For fields the guest changes under the host's feet. */
static volatile struct tvmm_cb *vcb(struct tvmm *vm)
{
	return (volatile struct tvmm_cb *)vm->slots[0].hva;
}

static void init_cb(struct tvmm *vm)
{
	struct tvmm_cb *cb = tvmm_cb(vm);
	int i;

	memset(cb, 0, sizeof(*cb));
	cb->magic = TVMM_CB_MAGIC;
	cb->nr_vcpus = vm->cfg.nr_vcpus;
	cb->nr_ranges = vm->nr_slots;
	cb->mode = TVMM_MODE_RUN_WRITER;
	cb->batch = vm->cfg.batch;
	expected_ranges(vm, cb->ranges);
	cb->total = tvmm_data_pages(vm);
	for (i = 0; i < vm->cfg.nr_vcpus; i++) {
		cb->vcpu[i].gen = 1;
		cb->vcpu[i].pos = i;
	}
}

/* Check the control block describes this VM; fill @msg if not. */
static int check_cb(struct tvmm *vm, char *msg, size_t len)
{
	struct tvmm_cb_range r[TVMM_MAX_SLOTS];
	struct tvmm_cb *cb = tvmm_cb(vm);
	int i;

	expected_ranges(vm, r);
	if (cb->magic != TVMM_CB_MAGIC) {
		snprintf(msg, len, "no control block (magic 0x%x)", cb->magic);
		return -EINVAL;
	}
	if (cb->nr_vcpus != (uint32_t)vm->nr_vcpus ||
	    cb->nr_ranges != (uint32_t)vm->nr_slots ||
	    cb->total != tvmm_data_pages(vm) ||
	    memcmp(cb->ranges, r, vm->nr_slots * sizeof(r[0]))) {
		snprintf(msg, len,
			 "control block is for another layout (vcpus %u ranges %u total %u)",
			 cb->nr_vcpus, cb->nr_ranges, cb->total);
		return -EINVAL;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (!cb->vcpu[i].gen) {
			snprintf(msg, len, "vcpu %d has generation 0", i);
			return -EINVAL;
		}
	}
	return 0;
}

static void fatal_exit(struct tvmm_vcpu *v, const char *reason)
{
	struct kvm_regs regs;
	unsigned long long rip = 0;

	if (!ioctl(v->fd, KVM_GET_REGS, &regs))
		rip = regs.rip;
	fprintf(stderr, "ERR exit=%s rip=0x%llx vcpu=%d\n", reason, rip,
		v->idx);
	_exit(1);
}

/*
 * Sleep so that this vCPU writes at most rate / nr_vcpus pages/s.  The
 * deadline is reset after falling behind by more than a second, so a
 * stopped VM does not get a burst allowance on resume.
 */
static void rate_limit(struct tvmm_vcpu *v)
{
	struct tvmm *vm = v->vm;
	uint32_t batch = vcb(vm)->batch;
	uint64_t now = now_ns(), period;

	pthread_mutex_lock(&vm->lock);
	if (!vm->rate || v->stop_req)
		goto out;
	if (batch < 1 || batch > (1U << 20))
		batch = vm->cfg.batch;
	period = (uint64_t)batch * vm->nr_vcpus * NSEC_PER_SEC / vm->rate;
	if (!v->next_ns || now > v->next_ns + NSEC_PER_SEC)
		v->next_ns = now;
	v->next_ns += period;
	while (!v->stop_req && v->next_ns && now < v->next_ns) {
		struct timespec ts = ns_to_ts(v->next_ns);

		pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
		now = now_ns();
	}
out:
	pthread_mutex_unlock(&vm->lock);
}

/* The guest verifier is done: wait until the host wants something else. */
static void idle_wait(struct tvmm_vcpu *v)
{
	struct tvmm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	while (!v->stop_req && vcb(vm)->mode == TVMM_MODE_VERIFY &&
	       vcb(vm)->verify_seq == vcb(vm)->vcpu[v->idx].verify_seq)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static void handle_exit(struct tvmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct tvmm *vm = v->vm;
	char reason[64];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.direction != KVM_EXIT_IO_OUT)
			break;
		__atomic_add_fetch(&v->exits, 1, __ATOMIC_RELAXED);
		switch (run->io.port) {
		case TVMM_PORT_PROGRESS:
			rate_limit(v);
			return;
		case TVMM_PORT_REPORT:
			pthread_mutex_lock(&vm->lock);
			v->reports++;
			pthread_cond_broadcast(&vm->cond);
			pthread_mutex_unlock(&vm->lock);
			return;
		case TVMM_PORT_IDLE:
			idle_wait(v);
			return;
		}
		break;
	}

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(reason, sizeof(reason), "io:%s:0x%x",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port);
		break;
	case KVM_EXIT_MMIO:
		snprintf(reason, sizeof(reason), "mmio:0x%llx",
			 (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(reason, sizeof(reason), "shutdown");
		break;
	case KVM_EXIT_HLT:
		snprintf(reason, sizeof(reason), "hlt");
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(reason, sizeof(reason), "internal_error:%u",
			 run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(reason, sizeof(reason), "fail_entry:0x%llx",
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		snprintf(reason, sizeof(reason), "%u", run->exit_reason);
		break;
	}
	fatal_exit(v, reason);
}

/*
 * KVM completes an exit (e.g. advances RIP past an OUT) only on the next
 * KVM_RUN.  With immediate_exit set that KVM_RUN completes it and returns
 * -EINTR before running any guest instruction, leaving a consistent state.
 */
static void complete_exit(struct tvmm_vcpu *v)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				char reason[64];

				snprintf(reason, sizeof(reason),
					 "run_errno:%d", errno);
				fatal_exit(v, reason);
			}
			v->exited = false;
			return;
		}
		handle_exit(v);
	}
	fatal_exit(v, "immediate_exit_ignored");
}

static void *vcpu_thread(void *arg)
{
	struct tvmm_vcpu *v = arg;
	struct tvmm *vm = v->vm;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, TVMM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		pthread_mutex_lock(&vm->lock);
		if (v->stop_req) {
			pthread_mutex_unlock(&vm->lock);
			if (v->exited)
				complete_exit(v);
			pthread_mutex_lock(&vm->lock);
			v->parked = true;
			pthread_cond_broadcast(&vm->cond);
			while (v->stop_req && !vm->exiting)
				pthread_cond_wait(&vm->cond, &vm->lock);
			v->parked = false;
			if (vm->exiting) {
				pthread_mutex_unlock(&vm->lock);
				return NULL;
			}
		}
		pthread_mutex_unlock(&vm->lock);

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			char reason[64];

			if (errno == EINTR || errno == EAGAIN) {
				/* Any pending exit was completed first. */
				v->exited = false;
				continue;
			}
			snprintf(reason, sizeof(reason), "run_errno:%d", errno);
			fatal_exit(v, reason);
		}
		v->exited = true;
		handle_exit(v);
	}
}

static int get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *cpuid;
	int nent = 64;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) +
			       nent * sizeof(struct kvm_cpuid_entry2));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		free(cpuid);
		if (errno != E2BIG || nent >= 4096)
			return -errno;
		nent *= 2;
	}
	*out = cpuid;
	return 0;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->l = 0;
	s->g = 1;
}

/* Flat 32-bit protected mode, paging and interrupts off, at the entry. */
static int load_vcpu(struct tvmm *vm, struct tvmm_vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t stack = (1 + code_pages() + v->idx) * TVMM_PAGE_SIZE;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs))
		return -errno;
	flat_seg(&sregs.cs, 0x08, 0x0b);	/* code, exec/read, accessed */
	flat_seg(&sregs.ds, 0x10, 0x03);	/* data, read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* Reset CR0 has CD/NW set; clear them to avoid uncached memory. */
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs))
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = TVMM_CODE_GPA;
	regs.rsp = stack + TVMM_PAGE_SIZE;
	regs.rdi = v->idx;
	regs.rsi = TVMM_CB_GPA + TVMM_CB_VCPUS + v->idx * TVMM_CB_VCPU_SIZE;
	regs.rbp = tvmm_cb(vm)->vcpu[v->idx].gen;
	if (ioctl(v->fd, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}

static int set_region(struct tvmm *vm, const struct tvmm_slot *s, bool del)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = 0,
		.guest_phys_addr = s->gpa,
		.memory_size = del ? 0 : s->size,
		.userspace_addr = (uintptr_t)s->hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return -errno;
	return 0;
}

static void *alloc_guest_mem(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		ret = errno ? -errno : -EINVAL;				\
		fprintf(stderr, "tvmm: %s: %s\n", what, strerror(-ret)); \
		goto fail;						\
	}								\
} while (0)

int tvmm_create(const struct tvmm_cfg *cfg, struct tvmm **out)
{
	struct kvm_cpuid2 *cpuid = NULL;
	struct sigaction sa;
	pthread_condattr_t ca;
	struct tvmm *vm;
	int i, ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->kvm_fd = vm->vm_fd = -1;
	for (i = 0; i < TVMM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->cond, &ca);
	pthread_condattr_destroy(&ca);

	ret = check_cfg(vm, cfg);
	if (ret)
		goto fail;
	vm->rate = vm->cfg.rate;

	errno = 0;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	CHECK(vm->kvm_fd >= 0, "open /dev/kvm");
	CHECK(ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION,
	      "KVM_GET_API_VERSION");
	CHECK(ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0,
	      "KVM_CAP_IMMEDIATE_EXIT");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	CHECK(vm->vm_fd >= 0, "KVM_CREATE_VM");
	ret = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK(ret > 0, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = ret;
	/* Must precede vCPU creation; unused by the guest (no task switch). */
	CHECK(!ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TVMM_TSS_GPA),
	      "KVM_SET_TSS_ADDR");
	if (vm->cfg.irqchip) {
		struct kvm_pit_config pit = { .flags = 0 };

		CHECK(!ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0),
		      "KVM_CREATE_IRQCHIP");
		CHECK(!ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit),
		      "KVM_CREATE_PIT2");
	}

	for (i = 0; i < vm->cfg.nr_slots; i++) {
		struct tvmm_slot *s = &vm->slots[i];

		s->id = vm->cfg.slots[i].id;
		s->gpa = vm->cfg.slots[i].gpa;
		s->size = vm->cfg.slots[i].size;
		errno = 0;
		s->hva = alloc_guest_mem(s->size);
		CHECK(s->hva, "mmap guest memory");
		vm->nr_slots = i + 1;
		errno = 0;
		CHECK(!set_region(vm, s, false), "KVM_SET_USER_MEMORY_REGION");
	}

	if (!vm->cfg.no_load) {
		memcpy((char *)vm->slots[0].hva + TVMM_CODE_GPA,
		       tvmm_guest_start, tvmm_guest_end - tvmm_guest_start);
		init_cb(vm);
	}

	ret = get_supported_cpuid(vm->kvm_fd, &cpuid);
	if (ret) {
		fprintf(stderr, "tvmm: KVM_GET_SUPPORTED_CPUID: %s\n",
			strerror(-ret));
		goto fail;
	}
	for (i = 0; i < vm->cfg.nr_vcpus; i++) {
		struct tvmm_vcpu *v = &vm->vcpus[i];
		void *run;

		v->vm = vm;
		v->idx = i;
		v->stop_req = true;
		errno = 0;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		CHECK(v->fd >= 0, "KVM_CREATE_VCPU");
		vm->nr_vcpus = i + 1;
		run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, v->fd, 0);
		CHECK(run != MAP_FAILED, "mmap kvm_run");
		v->run = run;
		CHECK(!ioctl(v->fd, KVM_SET_CPUID2, cpuid), "KVM_SET_CPUID2");
		if (vm->cfg.irqchip) {
			/*
			 * With an in-kernel LAPIC, APs start waiting for
			 * INIT/SIPI; this guest has no BSP to send them.
			 */
			struct kvm_mp_state mp = {
				.mp_state = KVM_MP_STATE_RUNNABLE,
			};

			CHECK(!ioctl(v->fd, KVM_SET_MP_STATE, &mp),
			      "KVM_SET_MP_STATE");
		}
		if (!vm->cfg.no_load) {
			ret = load_vcpu(vm, v);
			errno = -ret;
			CHECK(!ret, "load vcpu registers");
		}
	}
	free(cpuid);
	cpuid = NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: KVM_RUN must see -EINTR */
	CHECK(!sigaction(TVMM_KICK_SIGNAL, &sa, NULL), "sigaction");

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct tvmm_vcpu *v = &vm->vcpus[i];

		ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
		errno = ret;
		CHECK(!ret, "pthread_create");
		v->thread_ok = true;
	}
	*out = vm;
	return 0;

fail:
	free(cpuid);
	tvmm_destroy(vm);
	return ret;
}

void tvmm_destroy(struct tvmm *vm)
{
	int i;

	if (!vm)
		return;
	tvmm_stop(vm);
	pthread_mutex_lock(&vm->lock);
	vm->exiting = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct tvmm_vcpu *v = &vm->vcpus[i];

		if (v->thread_ok)
			pthread_join(v->thread, NULL);
		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	for (i = 0; i < vm->nr_slots; i++)
		munmap(vm->slots[i].hva, vm->slots[i].size);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int tvmm_resume(struct tvmm *vm)
{
	int i;

	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct tvmm_vcpu *v = &vm->vcpus[i];

		if (!v->run)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELEASE);
		v->stop_req = false;
		v->next_ns = 0;
	}
	vm->running = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int tvmm_stop(struct tvmm *vm)
{
	bool all;
	int i;

	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct tvmm_vcpu *v = &vm->vcpus[i];

		v->stop_req = true;
		/* Covers a thread about to enter KVM_RUN: it returns -EINTR. */
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1,
					 __ATOMIC_RELEASE);
	}
	pthread_cond_broadcast(&vm->cond);
	/* Covers a thread inside KVM_RUN: the signal makes it exit. */
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].thread_ok && !vm->vcpus[i].parked)
			pthread_kill(vm->vcpus[i].thread, TVMM_KICK_SIGNAL);
	for (;;) {
		all = true;
		for (i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].thread_ok && !vm->vcpus[i].parked)
				all = false;
		if (all)
			break;
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	vm->running = false;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

bool tvmm_running(struct tvmm *vm)
{
	bool r;

	pthread_mutex_lock(&vm->lock);
	r = vm->running;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

void tvmm_set_rate(struct tvmm *vm, uint64_t rate)
{
	int i;

	pthread_mutex_lock(&vm->lock);
	vm->rate = rate;
	for (i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].next_ns = 0;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int tvmm_nr_vcpus(struct tvmm *vm)
{
	return vm->nr_vcpus;
}

int tvmm_nr_slots(struct tvmm *vm)
{
	return vm->nr_slots;
}

int tvmm_vm_fd(struct tvmm *vm)
{
	return vm->vm_fd;
}

int tvmm_vcpu_fd(struct tvmm *vm, int idx)
{
	if (idx < 0 || idx >= vm->nr_vcpus)
		return -1;
	return vm->vcpus[idx].fd;
}

const struct tvmm_slot *tvmm_slot(struct tvmm *vm, int idx)
{
	if (idx < 0 || idx >= vm->nr_slots)
		return NULL;
	return &vm->slots[idx];
}

void *tvmm_hva(struct tvmm *vm, uint64_t gpa, size_t len)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++) {
		struct tvmm_slot *s = &vm->slots[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size &&
		    len <= s->size - (gpa - s->gpa))
			return (char *)s->hva + (gpa - s->gpa);
	}
	return NULL;
}

uint64_t tvmm_hash(struct tvmm *vm)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < vm->nr_slots; i++) {
		const unsigned char *p = vm->slots[i].hva;
		uint64_t n;

		for (n = 0; n < vm->slots[i].size; n++) {
			h ^= p[n];
			h *= 0x100000001b3ULL;
		}
	}
	return h;
}

static uint32_t mix(uint32_t gfn, uint32_t gen, uint32_t i)
{
	uint32_t x = gfn * TVMM_MIX_A + gen * TVMM_MIX_B + i * TVMM_MIX_C;

	return x ^ (x >> 15);
}

/*
 * Compare a data page with what generation @gen of @owner wrote (all zero
 * for gen 0).  Returns -1 on match, else the index of the first bad dword.
 */
static int check_page(const uint32_t *p, uint32_t gfn, uint32_t gen,
		      uint32_t owner)
{
	const uint32_t hdr[TVMM_HDR_DWORDS] = {
		TVMM_PAGE_MAGIC, gfn, gen, owner,
	};
	int i;

	if (!gen) {
		for (i = 0; i < TVMM_PAGE_SIZE / 4; i++)
			if (p[i])
				return i;
		return -1;
	}
	for (i = 0; i < TVMM_HDR_DWORDS; i++)
		if (p[i] != hdr[i])
			return i;
	for (; i < TVMM_PAGE_SIZE / 4; i++)
		if (p[i] != mix(gfn, gen, i))
			return i;
	return -1;
}

static bool sregs_impossible(const struct kvm_sregs *s)
{
	return s->cs.l && !(s->efer & EFER_LMA);
}

/* Every vCPU still in the mode load_vcpu() set: see tvmm_verify(). */
static void check_modes(struct tvmm *vm, struct tvmm_verify_result *res)
{
	struct kvm_sregs s;
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		if (ioctl(vm->vcpus[i].fd, KVM_GET_SREGS, &s)) {
			memset(&s, 0, sizeof(s));
		} else if (s.cr0 == (X86_CR0_PE | X86_CR0_ET) && !s.cr4 &&
			   !s.efer && s.cs.selector == 0x08 && !s.cs.base &&
			   s.cs.db && !s.cs.l && s.ss.selector == 0x10) {
			continue;
		}
		res->mode_bad_vcpu = i;
		res->mode_impossible = sregs_impossible(&s);
		if (!res->msg[0])
			snprintf(res->msg, sizeof(res->msg),
				 "vcpu %d: %s mode state: cr0 0x%llx cr4 0x%llx efer 0x%llx cs 0x%x base 0x%llx db %d l %d",
				 i, res->mode_impossible ? "impossible" : "changed",
				 (unsigned long long)s.cr0, (unsigned long long)s.cr4,
				 (unsigned long long)s.efer, s.cs.selector,
				 (unsigned long long)s.cs.base, s.cs.db, s.cs.l);
		return;
	}
}

int tvmm_verify(struct tvmm *vm, struct tvmm_verify_result *res)
{
	struct tvmm_cb *cb = tvmm_cb(vm);
	uint32_t n = vm->nr_vcpus, k, r = 0, base = 0;
	int i, ret;

	memset(res, 0, sizeof(*res));
	res->reg_bad_vcpu = -1;
	res->mode_bad_vcpu = -1;
	if (tvmm_running(vm)) {
		snprintf(res->msg, sizeof(res->msg), "vcpus are running");
		return -EBUSY;
	}
	ret = check_cb(vm, res->msg, sizeof(res->msg));
	if (ret)
		return ret;

	for (k = 0; k < cb->total; k++) {
		const struct tvmm_cb_vcpu *c = &cb->vcpu[k % n];
		uint32_t gpa, gfn, exp;
		const uint32_t *p;
		int bad;

		while (k - base >= cb->ranges[r].npages)
			base += cb->ranges[r++].npages;
		gpa = cb->ranges[r].gpa + (k - base) * TVMM_PAGE_SIZE;
		gfn = gpa >> TVMM_PAGE_SHIFT;
		if (k == c->pos && c->in_progress)
			continue;	/* may be torn */
		exp = k < c->pos ? c->gen : c->gen - 1;
		p = tvmm_hva(vm, gpa, TVMM_PAGE_SIZE);
		bad = check_page(p, gfn, exp, k % n);
		if (bad < 0)
			continue;
		if (!res->bad_pages++) {
			res->first_bad_gfn = gfn;
			snprintf(res->msg, sizeof(res->msg),
				 "gfn 0x%x (vcpu %u index %u pos %u): expected gen %u, dword %d is 0x%08x; header %08x %08x %08x %08x",
				 gfn, k % n, k, c->pos, exp, bad, p[bad],
				 p[0], p[1], p[2], p[3]);
		}
	}

	for (i = 0; i < vm->nr_vcpus && cb->mode == TVMM_MODE_RUN_WRITER;
	     i++) {
		struct tvmm_vcpu_state st;

		ret = tvmm_vcpu_state(vm, i, &st);
		if (ret)
			return ret;
		if (st.rip < TVMM_CODE_GPA ||
		    st.rip >= guest_off(tvmm_guest_writer_end) ||
		    st.rip == guest_off(tvmm_guest_gen_window) ||
		    st.ebp == st.cb_gen)
			continue;
		res->reg_bad_vcpu = i;
		res->reg_ebp = st.ebp;
		res->reg_gen = st.cb_gen;
		if (!res->bad_pages)
			snprintf(res->msg, sizeof(res->msg),
				 "vcpu %d: ebp %u != control block gen %u (rip 0x%llx)",
				 i, st.ebp, st.cb_gen,
				 (unsigned long long)st.rip);
		break;
	}
	check_modes(vm, res);
	return res->bad_pages || res->reg_bad_vcpu >= 0 ||
	       res->mode_bad_vcpu >= 0;
}

static bool all_reported(struct tvmm *vm, uint32_t seq)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		if (vcb(vm)->vcpu[i].verify_seq != seq)
			return false;
	return true;
}

int tvmm_guest_verify(struct tvmm *vm, struct tvmm_guest_report *rep,
		      int timeout_ms)
{
	struct tvmm_cb *cb = tvmm_cb(vm);
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	struct timespec ts = ns_to_ts(deadline);
	bool was_running = tvmm_running(vm);
	char msg[128];
	uint32_t seq;
	int i, ret = 0;

	memset(rep, 0, sizeof(*rep));
	tvmm_stop(vm);
	if (check_cb(vm, msg, sizeof(msg))) {
		fprintf(stderr, "tvmm: guest verify: %s\n", msg);
		ret = -EINVAL;
		goto out;
	}
	seq = cb->verify_seq + 1;
	__atomic_store_n(&cb->verify_seq, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&cb->mode, TVMM_MODE_VERIFY, __ATOMIC_RELEASE);
	tvmm_resume(vm);

	pthread_mutex_lock(&vm->lock);
	while (!all_reported(vm, seq) && !ret)
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) ==
		    ETIMEDOUT && !all_reported(vm, seq))
			ret = -ETIMEDOUT;
	pthread_mutex_unlock(&vm->lock);

	tvmm_stop(vm);
	if (!ret) {
		for (i = 0; i < vm->nr_vcpus; i++) {
			const struct tvmm_cb_vcpu *c = &cb->vcpu[i];

			rep->gen[i] = c->verify_gen;
			if (c->verify_bad && !rep->bad_pages)
				rep->first_bad_gfn = c->verify_first_gfn;
			rep->bad_pages += c->verify_bad;
		}
		ret = rep->bad_pages ? 1 : 0;
	}
	__atomic_store_n(&cb->mode, TVMM_MODE_RUN_WRITER, __ATOMIC_RELEASE);
out:
	if (was_running)
		tvmm_resume(vm);
	return ret;
}

void tvmm_stats(struct tvmm *vm, struct tvmm_stats *st)
{
	volatile struct tvmm_cb *cb = vcb(vm);
	int i;

	memset(st, 0, sizeof(*st));
	st->gen_min = UINT32_MAX;
	for (i = 0; i < vm->nr_vcpus; i++) {
		uint32_t g = cb->vcpu[i].gen;

		if (g < st->gen_min)
			st->gen_min = g;
		if (g > st->gen_max)
			st->gen_max = g;
		st->pages += cb->vcpu[i].written;
		st->exits += __atomic_load_n(&vm->vcpus[i].exits,
					     __ATOMIC_RELAXED);
	}
}

int tvmm_vcpu_state(struct tvmm *vm, int idx, struct tvmm_vcpu_state *st)
{
	struct kvm_regs regs;

	if (idx < 0 || idx >= vm->nr_vcpus)
		return -EINVAL;
	if (tvmm_running(vm))
		return -EBUSY;
	if (ioctl(vm->vcpus[idx].fd, KVM_GET_REGS, &regs))
		return -errno;
	st->rip = regs.rip;
	st->ebp = regs.rbp;
	st->cb_gen = tvmm_cb(vm)->vcpu[idx].gen;
	return 0;
}

int tvmm_pin_kvm_keys(void)
{
	static bool pinned;
	int kvm, vm, i, ret = 0;

	if (pinned)
		return 0;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -errno;
	/* The VM and vCPU fds are leaked on purpose: they hold the keys. */
	for (i = 0; i < 2 && !ret; i++) {
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
		if (vm < 0 ||
		    (i == 1 && ioctl(vm, KVM_CREATE_IRQCHIP, 0)) ||
		    ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
			ret = -errno;
	}
	close(kvm);
	pinned = !ret;
	return ret;
}

int tvmm_slot_replace(struct tvmm *vm, uint32_t id, bool copy)
{
	bool was_running = tvmm_running(vm);
	struct tvmm_slot *s = NULL;
	void *old, *mem = NULL;
	int i, ret;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].id == id)
			s = &vm->slots[i];
	if (!s)
		return -ENOENT;
	tvmm_stop(vm);
	old = s->hva;
	if (copy) {
		/* Copy before deleting so a failure leaves the slot intact. */
		mem = alloc_guest_mem(s->size);
		if (!mem) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(mem, old, s->size);
	}
	ret = set_region(vm, s, true);
	if (ret) {
		if (mem)
			munmap(mem, s->size);
		goto out;
	}
	if (mem)
		s->hva = mem;
	ret = set_region(vm, s, false);
	if (ret) {
		fprintf(stderr, "tvmm: re-adding slot %u: %s\n", id,
			strerror(-ret));
		goto out;
	}
	if (mem)
		munmap(old, s->size);
out:
	if (was_running)
		tvmm_resume(vm);
	return ret;
}
