// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pre-copy policy (policy.h states the rules). Each test
 * feeds a sequence of passes and expects exact decisions at exact passes.
 * Output is TAP: "ok N name" / "not ok N name", then the plan; the exit
 * status is 1 when any test failed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define MIB	(1024ULL * 1024)
#define PAGE	4096U

static bool test_ok;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("# %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		test_ok = false;					\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	unsigned long long _a = (a), _b = (b);				\
	if (_a != _b) {							\
		printf("# %s:%d: %s == %llu, expected %s == %llu\n",	\
		       __FILE__, __LINE__, #a, _a, #b, _b);		\
		test_ok = false;					\
	}								\
} while (0)

static struct vmig_policy new_policy(const struct vmig_policy_config *cfg)
{
	struct vmig_policy_config def;
	struct vmig_policy p;

	if (!cfg) {
		vmig_policy_defaults(&def);
		cfg = &def;
	}
	if (vmig_policy_init(&p, cfg))
		printf("# vmig_policy_init refused the config\n");
	return p;
}

/* A pass with a steady link: it sent sent_bytes, dirtied dirtied_bytes. */
static struct vmig_policy_pass pass(uint32_t it, uint64_t dirty_pages,
				    uint64_t bw, uint64_t sent,
				    uint64_t dirtied)
{
	struct vmig_policy_pass ps = {
		.iteration = it,
		.dirty_pages = dirty_pages,
		.page_size = PAGE,
		.bandwidth = bw,
		.dirty_rate = 0,
		.sent_bytes = sent,
		.dirtied_bytes = dirtied,
		.elapsed_ms = (uint64_t)it * 1000,
	};
	return ps;
}

static void test_defaults(void)
{
	struct vmig_policy_config c;

	vmig_policy_defaults(&c);
	CHECK_EQ(c.downtime_ms, 300);
	CHECK_EQ(c.max_iterations, 0);
	CHECK_EQ(c.timeout_s, 0);
	CHECK_EQ(c.throttle_threshold, 50);
	CHECK_EQ(c.throttle_start, 20);
	CHECK_EQ(c.throttle_step, 10);
	CHECK_EQ(c.throttle_max, 99);
	CHECK_EQ(c.stall_passes, 3);
}

static void test_init_rejects_bad_throttle(void)
{
	struct vmig_policy_config c;
	struct vmig_policy p;

	vmig_policy_defaults(&c);
	c.throttle_max = 100;
	CHECK_EQ(vmig_policy_init(&p, &c), -EINVAL);
	vmig_policy_defaults(&c);
	c.throttle_start = 0;
	CHECK_EQ(vmig_policy_init(&p, &c), -EINVAL);
	vmig_policy_defaults(&c);
	c.throttle_start = 50;
	c.throttle_max = 40;
	CHECK_EQ(vmig_policy_init(&p, &c), -EINVAL);
	vmig_policy_defaults(&c);
	c.throttle_step = 0;
	CHECK_EQ(vmig_policy_init(&p, &c), -EINVAL);
	vmig_policy_defaults(&c);
	c.stall_passes = 0;
	CHECK_EQ(vmig_policy_init(&p, &c), -EINVAL);
	vmig_policy_defaults(&c);
	CHECK_EQ(vmig_policy_init(&p, &c), 0);
}

/*
 * 100 MB/s and a 300 ms target: 30,000,000 bytes may remain, i.e. 7324
 * pages (29,999,104 bytes, 299.99 ms -> 300 ms); 7325 pages is 301 ms.
 */
static void test_converges_at_right_pass(void)
{
	static const uint64_t dirty[] = { 200000, 50000, 10000, 7325, 7324 };
	struct vmig_policy p = new_policy(NULL);
	struct vmig_policy_decision d;
	uint32_t i;

	for (i = 0; i < 5; i++) {
		/* Cool passes 1..5: dirtied 10% of sent, no throttle. */
		struct vmig_policy_pass ps = pass(i + 1, dirty[i], 100000000,
						  1000 * MIB, 100 * MIB);

		d = vmig_policy_pass(&p, &ps);
		if (i < 4) {
			CHECK_EQ(d.action, VMIG_POLICY_CONTINUE);
		} else {
			CHECK_EQ(d.action, VMIG_POLICY_SWITCHOVER);
			CHECK_EQ(d.est_downtime_ms, 300);
			CHECK_EQ(d.remaining_bytes, 7324ULL * PAGE);
		}
		if (i == 3)
			CHECK_EQ(d.est_downtime_ms, 301);
	}
}

/* The estimate is compared with <=: exactly the target converges. */
static void test_exact_target_converges(void)
{
	struct vmig_policy p = new_policy(NULL);
	struct vmig_policy_pass ps = pass(1, 30000, 100000000, 0, 0);
	struct vmig_policy_decision d;

	ps.page_size = 1000;			/* 30,000,000 bytes: 300 ms */
	d = vmig_policy_pass(&p, &ps);
	CHECK_EQ(d.action, VMIG_POLICY_SWITCHOVER);
	CHECK_EQ(d.est_downtime_ms, 300);

	p = new_policy(NULL);
	ps.dirty_pages = 30001;			/* 300.01 ms rounds up to 301 */
	d = vmig_policy_pass(&p, &ps);
	CHECK_EQ(d.action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(d.est_downtime_ms, 301);
}

/*
 * The start report (iteration 0: nothing sent, all RAM to send) is not a
 * pass; the report after the bulk copy is pass 1, and an idle guest, which
 * dirtied nothing meanwhile, switches over right there.
 */
static void test_idle_vm_converges_at_pass_1(void)
{
	struct vmig_policy p = new_policy(NULL);
	struct vmig_policy_pass ps0 = pass(0, 1024 * MIB / PAGE, 0, 0, 1024 * MIB);
	struct vmig_policy_pass ps1 = pass(1, 0, 500000000, 1024 * MIB, 0);
	struct vmig_policy_decision d;

	d = vmig_policy_pass(&p, &ps0);
	CHECK_EQ(d.action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(d.est_downtime_ms, VMIG_POLICY_UNKNOWN);
	d = vmig_policy_pass(&p, &ps1);
	CHECK_EQ(d.action, VMIG_POLICY_SWITCHOVER);
	CHECK_EQ(d.est_downtime_ms, 0);
}

/* Report 0 never switches over, counts as no hot pass and hits no limit. */
static void test_report_0_is_not_a_pass(void)
{
	struct vmig_policy_config c;
	struct vmig_policy p;
	/* Would converge, would be hot: neither counts. */
	struct vmig_policy_pass ps0 = pass(0, 0, 0, 0, 1024 * MIB);
	struct vmig_policy_pass hot1 = pass(1, 1 << 20, 1, 100, 90);
	struct vmig_policy_pass hot2 = pass(2, 1 << 20, 1, 100, 90);

	vmig_policy_defaults(&c);
	c.max_iterations = 2;
	p = new_policy(&c);
	CHECK_EQ(vmig_policy_pass(&p, &ps0).action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(vmig_policy_pass(&p, &hot1).action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(vmig_policy_pass(&p, &hot2).action, VMIG_POLICY_ABORT);

	/* Only the timeout applies to it. */
	vmig_policy_defaults(&c);
	c.timeout_s = 1;
	p = new_policy(&c);
	ps0.elapsed_ms = 1000;
	CHECK_EQ(vmig_policy_pass(&p, &ps0).reason, VMIG_POLICY_REASON_TIMEOUT);
}

/* Bandwidth 0 with pages left: unknown estimate, no switchover, no crash. */
static void test_zero_bandwidth_guard(void)
{
	struct vmig_policy p = new_policy(NULL);
	struct vmig_policy_pass ps = pass(5, 1, 0, 0, 0);
	struct vmig_policy_decision d;

	d = vmig_policy_pass(&p, &ps);
	CHECK_EQ(d.action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(d.est_downtime_ms, VMIG_POLICY_UNKNOWN);
	CHECK_EQ(d.remaining_bytes, PAGE);
	CHECK_EQ(vmig_policy_eta_ms(&ps), VMIG_POLICY_UNKNOWN);
}

/* Hot means dirtied > 50% of sent; exactly 50% is not hot. */
static void test_throttle_needs_two_consecutive_hot_passes(void)
{
	struct vmig_policy p = new_policy(NULL);
	/* Never converges: 1 GiB left at 100 MB/s. */
	uint64_t left = 1024 * MIB / PAGE, bw = 100000000;
	struct vmig_policy_pass hot1 = pass(1, left, bw, 100 * MIB, 51 * MIB);
	struct vmig_policy_pass cool2 = pass(2, left, bw, 100 * MIB, 50 * MIB);
	struct vmig_policy_pass hot3 = pass(3, left, bw, 100 * MIB, 60 * MIB);
	struct vmig_policy_pass hot4 = pass(4, left, bw, 100 * MIB, 60 * MIB);
	struct vmig_policy_decision d;

	CHECK_EQ(vmig_policy_pass(&p, &hot1).action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(vmig_policy_pass(&p, &cool2).action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(vmig_policy_pass(&p, &hot3).action, VMIG_POLICY_CONTINUE);
	d = vmig_policy_pass(&p, &hot4);
	CHECK_EQ(d.action, VMIG_POLICY_THROTTLE);
	CHECK_EQ(d.throttle_pct, 20);
	CHECK_EQ(p.throttle_pct, 20);
}

/*
 * A guest that stays hot at every throttle: a step every second pass
 * (passes 2, 4, ..., 18), 20 -> 30 -> ... -> 90 -> 99 (capped), then
 * passes 19, 20, 21 run at 99% and the policy gives up after the third.
 */
static void test_throttle_steps_cap_and_exhaustion(void)
{
	static const uint32_t want[] = { 20, 30, 40, 50, 60, 70, 80, 90, 99 };
	struct vmig_policy p = new_policy(NULL);
	struct vmig_policy_decision d;
	uint32_t it, steps = 0;

	for (it = 1; it < 40; it++) {
		struct vmig_policy_pass ps = pass(it, 1024 * MIB / PAGE, 100000000,
						  100 * MIB, 90 * MIB);

		d = vmig_policy_pass(&p, &ps);
		if (it <= 18 && it % 2 == 0) {
			CHECK_EQ(d.action, VMIG_POLICY_THROTTLE);
			CHECK_EQ(d.throttle_pct, want[steps]);
			steps++;
		} else if (it < 21) {
			CHECK_EQ(d.action, VMIG_POLICY_CONTINUE);
			CHECK_EQ(d.throttle_pct, steps ? want[steps - 1] : 0);
		} else {
			CHECK_EQ(d.action, VMIG_POLICY_ABORT);
			CHECK_EQ(d.reason, VMIG_POLICY_REASON_THROTTLE_EXHAUSTED);
			break;
		}
	}
	CHECK_EQ(it, 21);
	CHECK_EQ(steps, 9);
}

/* A step that does not divide the range still ends exactly at the cap. */
static void test_throttle_custom_step_caps(void)
{
	struct vmig_policy_config c;
	struct vmig_policy p;
	struct vmig_policy_decision d;
	uint32_t it, last = 0;

	vmig_policy_defaults(&c);
	c.throttle_start = 30;
	c.throttle_step = 25;
	c.throttle_max = 90;
	p = new_policy(&c);
	for (it = 1; it <= 8; it++) {
		struct vmig_policy_pass ps = pass(it, 1 << 20, 1, 10, 9);

		d = vmig_policy_pass(&p, &ps);
		if (d.action == VMIG_POLICY_THROTTLE)
			last = d.throttle_pct;
		if (it == 2)
			CHECK_EQ(d.throttle_pct, 30);
		if (it == 4)
			CHECK_EQ(d.throttle_pct, 55);
		if (it == 6)
			CHECK_EQ(d.throttle_pct, 80);
		if (it == 8)
			CHECK_EQ(d.throttle_pct, 90);
	}
	CHECK_EQ(last, 90);
}

static void test_max_iterations_abort(void)
{
	struct vmig_policy_config c;
	struct vmig_policy p;
	struct vmig_policy_decision d;
	uint32_t it;

	vmig_policy_defaults(&c);
	c.max_iterations = 5;
	p = new_policy(&c);
	for (it = 1; it <= 5; it++) {
		struct vmig_policy_pass ps = pass(it, 100000, 100000000, 100, 0);

		d = vmig_policy_pass(&p, &ps);
		CHECK_EQ(d.action, it < 5 ? VMIG_POLICY_CONTINUE : VMIG_POLICY_ABORT);
	}
	CHECK_EQ(d.reason, VMIG_POLICY_REASON_MAX_ITERATIONS);
	CHECK(strstr(vmig_policy_reason_str(d.reason), "maximum number of passes"));
}

/* Convergence on the last allowed pass wins over the limit. */
static void test_converged_last_pass_switches_over(void)
{
	struct vmig_policy_config c;
	struct vmig_policy p;
	struct vmig_policy_pass ps = pass(3, 10, 100000000, 100, 0);

	vmig_policy_defaults(&c);
	c.max_iterations = 3;
	p = new_policy(&c);
	CHECK_EQ(vmig_policy_pass(&p, &ps).action, VMIG_POLICY_SWITCHOVER);
}

static void test_timeout_abort(void)
{
	struct vmig_policy_config c;
	struct vmig_policy p;
	struct vmig_policy_pass ps = pass(3, 100000, 100000000, 100, 0);
	struct vmig_policy_decision d;

	vmig_policy_defaults(&c);
	c.timeout_s = 10;
	p = new_policy(&c);
	ps.elapsed_ms = 9999;
	CHECK_EQ(vmig_policy_pass(&p, &ps).action, VMIG_POLICY_CONTINUE);
	ps.iteration++;
	ps.elapsed_ms = 10000;
	d = vmig_policy_pass(&p, &ps);
	CHECK_EQ(d.action, VMIG_POLICY_ABORT);
	CHECK_EQ(d.reason, VMIG_POLICY_REASON_TIMEOUT);

	/* Between passes: the timer applies the same limit. */
	CHECK_EQ(vmig_policy_tick(&p, 9999).action, VMIG_POLICY_CONTINUE);
	d = vmig_policy_tick(&p, 10000);
	CHECK_EQ(d.action, VMIG_POLICY_ABORT);
	CHECK_EQ(d.reason, VMIG_POLICY_REASON_TIMEOUT);

	/* No timeout configured: never. */
	p = new_policy(NULL);
	CHECK_EQ(vmig_policy_tick(&p, 1ULL << 40).action, VMIG_POLICY_CONTINUE);
}

/* A converged pass switches over even when it is hot. */
static void test_converged_beats_throttle(void)
{
	struct vmig_policy p = new_policy(NULL);
	struct vmig_policy_pass hot1 = pass(1, 1 << 20, 100000000, 100, 90);
	struct vmig_policy_pass hot2 = pass(2, 1, 100000000, 100, 90);

	CHECK_EQ(vmig_policy_pass(&p, &hot1).action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(vmig_policy_pass(&p, &hot2).action, VMIG_POLICY_SWITCHOVER);
	CHECK_EQ(p.throttle_pct, 0);
}

/*
 * A modelled guest: 1 GiB of RAM, a 100 MiB/s link, a guest dirtying
 * 80 MiB/s scaled by (100 - throttle)%. Worked by hand:
 *   pass 1: send 1024 MiB in 10.24 s, dirty 819.2 MiB (80%, hot)
 *   pass 2: send 819.2 in 8.19 s, dirty 655.4 (hot) -> THROTTLE 20
 *   pass 3: at 64 MiB/s: send 655.4 in 6.55 s, dirty 419.4 (64%, hot)
 *   pass 4: send 419.4, dirty 268.4 (hot) -> THROTTLE 30
 *   pass 5: at 56 MiB/s: send 268.4, dirty 150.3 (56%, hot)
 *   pass 6: send 150.3, dirty 84.2 (hot) -> THROTTLE 40
 *   pass 7: at 48 MiB/s: send 84.2, dirty 40.4 (48%, cool); 404 ms left
 *   pass 8: send 40.4, dirty 19.4: 194 ms left <= 300 -> SWITCHOVER
 */
static void test_model_converges_with_throttle(void)
{
	static const enum vmig_policy_action want[] = {
		VMIG_POLICY_CONTINUE, VMIG_POLICY_THROTTLE,
		VMIG_POLICY_CONTINUE, VMIG_POLICY_THROTTLE,
		VMIG_POLICY_CONTINUE, VMIG_POLICY_THROTTLE,
		VMIG_POLICY_CONTINUE, VMIG_POLICY_SWITCHOVER,
	};
	struct vmig_policy p = new_policy(NULL);
	double ram = 1024.0 * MIB, bw = 100.0 * MIB, rate = 80.0 * MIB;
	double to_send = ram, elapsed = 0;
	uint32_t it, pct = 0;

	for (it = 0; it < 8; it++) {
		double secs = to_send / bw;
		double dirtied = rate * (100 - pct) / 100 * secs;
		struct vmig_policy_pass ps;
		struct vmig_policy_decision d;

		if (dirtied > ram)
			dirtied = ram;
		elapsed += secs;
		ps = pass(it + 1, (uint64_t)(dirtied / PAGE), (uint64_t)bw,
			  (uint64_t)to_send, (uint64_t)dirtied);
		ps.elapsed_ms = (uint64_t)(elapsed * 1000);
		d = vmig_policy_pass(&p, &ps);
		CHECK_EQ(d.action, want[it]);
		if (d.action == VMIG_POLICY_THROTTLE)
			pct = d.throttle_pct;
		if (d.action == VMIG_POLICY_SWITCHOVER)
			CHECK_EQ(d.est_downtime_ms, 194);
		to_send = dirtied;
	}
	CHECK_EQ(pct, 40);
}

static void test_eta(void)
{
	struct vmig_policy_pass ps = pass(1, 25600, 200 * MIB, 0, 0);

	ps.dirty_rate = 100 * MIB;	/* 100 MiB left, shrinking at 100 MiB/s */
	CHECK_EQ(vmig_policy_eta_ms(&ps), 1000);
	ps.dirty_rate = 200 * MIB;
	CHECK_EQ(vmig_policy_eta_ms(&ps), VMIG_POLICY_UNKNOWN);
	ps.dirty_pages = 0;
	CHECK_EQ(vmig_policy_eta_ms(&ps), 0);
}

/* Absurd sizes saturate instead of wrapping round to "converged". */
static void test_overflow_saturates(void)
{
	struct vmig_policy p = new_policy(NULL);
	struct vmig_policy_pass ps = pass(1, UINT64_MAX / 2, 1, 0, 0);
	struct vmig_policy_decision d;

	d = vmig_policy_pass(&p, &ps);
	CHECK_EQ(d.action, VMIG_POLICY_CONTINUE);
	CHECK_EQ(d.remaining_bytes, UINT64_MAX);
	CHECK_EQ(d.est_downtime_ms, VMIG_POLICY_UNKNOWN);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "defaults", test_defaults },
	{ "init_rejects_bad_throttle", test_init_rejects_bad_throttle },
	{ "converges_at_right_pass", test_converges_at_right_pass },
	{ "exact_target_converges", test_exact_target_converges },
	{ "idle_vm_converges_at_pass_1", test_idle_vm_converges_at_pass_1 },
	{ "report_0_is_not_a_pass", test_report_0_is_not_a_pass },
	{ "zero_bandwidth_guard", test_zero_bandwidth_guard },
	{ "throttle_needs_two_consecutive_hot_passes",
	  test_throttle_needs_two_consecutive_hot_passes },
	{ "throttle_steps_cap_and_exhaustion", test_throttle_steps_cap_and_exhaustion },
	{ "throttle_custom_step_caps", test_throttle_custom_step_caps },
	{ "max_iterations_abort", test_max_iterations_abort },
	{ "converged_last_pass_switches_over", test_converged_last_pass_switches_over },
	{ "timeout_abort", test_timeout_abort },
	{ "converged_beats_throttle", test_converged_beats_throttle },
	{ "model_converges_with_throttle", test_model_converges_with_throttle },
	{ "eta", test_eta },
	{ "overflow_saturates", test_overflow_saturates },
};

int main(void)
{
	size_t n = sizeof(tests) / sizeof(tests[0]), i;
	bool all_ok = true;

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		test_ok = true;
		tests[i].fn();
		printf("%sok %zu %s\n", test_ok ? "" : "not ", i + 1, tests[i].name);
		all_ok &= test_ok;
	}
	return all_ok ? 0 : 1;
}

/*
 * These tests fail when the policy is broken. Observed on 2026-11-22 by
 * building this file against a copy of policy.c with the convergence
 * comparison flipped from <= to <, i.e.
 *	if (d.est_downtime_ms < c->downtime_ms) {
 * (a copy, so the real file was never left broken), and running it:
 *
 *	1..17
 *	ok 1 defaults
 *	ok 2 init_rejects_bad_throttle
 *	# userspace/tests/policy_unittest.c:128: d.action == 0, expected VMIG_POLICY_SWITCHOVER == 2
 *	not ok 3 converges_at_right_pass
 *	# userspace/tests/policy_unittest.c:146: d.action == 0, expected VMIG_POLICY_SWITCHOVER == 2
 *	not ok 4 exact_target_converges
 *	ok 5 idle_vm_converges_at_pass_1
 *	...
 *	ok 17 overflow_saturates
 *	(exit status 1)
 *
 * The same way, each of these mutants made at least one test fail:
 * "hot" as >= (test 8), no reset of the hot count on a cool pass (8), no
 * cap at throttle_max (9, 10), report 0 acted on (6), no zero-bandwidth
 * guard (5, 7, 16), max_iterations one pass late (6, 11), no
 * exhaustion abort (9), no timeout (6, 13).
 */
