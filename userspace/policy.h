/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pre-copy policy: after every pass the kernel reports, decide whether to
 * keep copying, slow the guest down, stop it for switchover, or give up.
 * Pure: no I/O, no clock, no globals; the caller feeds it numbers and acts
 * on the answer, so every rule is unit-tested in tests/policy_unittest.c.
 *
 * Pass numbers are the session's iteration attribute: how many passes
 * have completed. The report after the bulk copy of all RAM says 1; a
 * report saying 0 only announces that pre-copy started (nothing sent yet,
 * every page still to send) and is not a pass: it never switches over,
 * throttles or counts towards a limit; only the timeout applies to it.
 *
 * The rules, applied in this order to each pass:
 *
 * 1. Convergence. remaining = dirty_pages * page_size is what switchover
 *    still has to send with the guest stopped; the estimated downtime is
 *    remaining / bandwidth (rounded up to a millisecond). When it is at
 *    most downtime_ms the answer is SWITCHOVER. remaining == 0 always
 *    converges; bandwidth == 0 with remaining > 0 never does (the estimate
 *    is unknown, reported as VMIG_POLICY_UNKNOWN, never a division by 0).
 *    An idle guest therefore switches over after pass 1, the bulk copy.
 * 2. Limits, only for a pass that did not converge:
 *    - max_iterations (0: none): ABORT MAX_ITERATIONS once that many
 *      passes completed.
 *    - timeout_s (0: none): ABORT TIMEOUT once elapsed_ms reaches it.
 *      vmig_policy_tick() applies the same limit between passes.
 *    - ABORT THROTTLE_EXHAUSTED after stall_passes passes that ran entirely
 *      at throttle_max (the throttle was at the maximum before the pass
 *      started) and still did not converge.
 * 3. Throttle, like QEMU's auto-converge. A pass is "hot" when the guest
 *    dirtied more than throttle_threshold percent of what the pass sent
 *    (dirtied_bytes * 100 > sent_bytes * throttle_threshold). After two
 *    consecutive hot passes the answer is THROTTLE: throttle_start the
 *    first time, then the current percentage + throttle_step, capped at
 *    throttle_max. Each THROTTLE, and each pass that is not hot, starts
 *    the count of consecutive hot passes again, so every step needs two
 *    more hot passes. Once at throttle_max no further THROTTLE is given.
 *    The throttle is never lowered.
 * 4. Otherwise CONTINUE.
 */
#ifndef VMIG_POLICY_H
#define VMIG_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* est_downtime_ms / eta when it cannot be estimated (no bandwidth). */
#define VMIG_POLICY_UNKNOWN	UINT64_MAX

enum vmig_policy_action {
	VMIG_POLICY_CONTINUE,
	VMIG_POLICY_THROTTLE,
	VMIG_POLICY_SWITCHOVER,
	VMIG_POLICY_ABORT,
};

enum vmig_policy_reason {
	VMIG_POLICY_REASON_NONE,
	VMIG_POLICY_REASON_MAX_ITERATIONS,
	VMIG_POLICY_REASON_TIMEOUT,
	VMIG_POLICY_REASON_THROTTLE_EXHAUSTED,
};

struct vmig_policy_config {
	uint32_t downtime_ms;		/* target downtime; default 300 */
	uint32_t max_iterations;	/* completed passes; 0: no limit */
	uint32_t timeout_s;		/* 0: no limit */
	uint32_t throttle_threshold;	/* percent of sent bytes; default 50 */
	uint32_t throttle_start;	/* percent; default 20 */
	uint32_t throttle_step;		/* percent; default 10 */
	uint32_t throttle_max;		/* percent; default 99 */
	uint32_t stall_passes;		/* passes at throttle_max; default 3 */
};

/* What the kernel's session-ntf said about one pass, in the pass's terms. */
struct vmig_policy_pass {
	uint32_t iteration;		/* passes completed; 1 = the bulk copy */
	uint64_t dirty_pages;		/* still to send (latest harvest) */
	uint32_t page_size;
	uint64_t bandwidth;		/* bytes/s sent during the pass */
	uint64_t dirty_rate;		/* bytes/s dirtied during the pass */
	uint64_t sent_bytes;		/* bytes sent by this pass */
	uint64_t dirtied_bytes;		/* bytes dirtied while it ran */
	uint64_t elapsed_ms;		/* since the session started */
};

struct vmig_policy {
	struct vmig_policy_config cfg;
	uint32_t hot_passes;		/* consecutive hot passes since last step */
	uint32_t throttle_pct;		/* 0: not throttled */
	uint32_t stalled_passes;	/* non-converged passes run at max */
};

struct vmig_policy_decision {
	enum vmig_policy_action action;
	enum vmig_policy_reason reason;	/* ABORT only */
	uint32_t throttle_pct;		/* THROTTLE: the new value; else current */
	uint64_t remaining_bytes;
	uint64_t est_downtime_ms;	/* VMIG_POLICY_UNKNOWN without bandwidth */
};

void vmig_policy_defaults(struct vmig_policy_config *cfg);
int vmig_policy_init(struct vmig_policy *p, const struct vmig_policy_config *cfg);
struct vmig_policy_decision vmig_policy_pass(struct vmig_policy *p,
					     const struct vmig_policy_pass *pass);
struct vmig_policy_decision vmig_policy_tick(const struct vmig_policy *p,
					     uint64_t elapsed_ms);
uint64_t vmig_policy_eta_ms(const struct vmig_policy_pass *pass);
const char *vmig_policy_action_name(enum vmig_policy_action a);
const char *vmig_policy_reason_str(enum vmig_policy_reason r);

#endif
