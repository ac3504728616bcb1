// SPDX-License-Identifier: GPL-2.0
/*
 * Pre-copy convergence, throttle and abort decisions; the rules are
 * documented in policy.h and nowhere else.
 */
#include <errno.h>
#include <string.h>

#include "policy.h"

void vmig_policy_defaults(struct vmig_policy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->downtime_ms = 300;
	cfg->throttle_threshold = 50;
	cfg->throttle_start = 20;
	cfg->throttle_step = 10;
	cfg->throttle_max = 99;
	cfg->stall_passes = 3;
}

/**
 * vmig_policy_init() - start a policy for one migration
 *
 * Return: 0, or -EINVAL when the throttle settings are not usable: the
 * percentages must satisfy 1 <= start <= max <= 99 (100% would give the
 * guest no CPU at all), step >= 1, stall_passes >= 1.
 */
int vmig_policy_init(struct vmig_policy *p, const struct vmig_policy_config *cfg)
{
	if (!cfg->throttle_start || cfg->throttle_start > cfg->throttle_max ||
	    cfg->throttle_max > 99 || !cfg->throttle_step || !cfg->stall_passes)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	return 0;
}

/* bytes * 1000 / rate rounded up, saturating at VMIG_POLICY_UNKNOWN. */
static uint64_t bytes_to_ms(uint64_t bytes, uint64_t rate)
{
	unsigned __int128 ms;

	if (!bytes)
		return 0;
	if (!rate)
		return VMIG_POLICY_UNKNOWN;
	ms = ((unsigned __int128)bytes * 1000 + rate - 1) / rate;
	return ms > VMIG_POLICY_UNKNOWN ? VMIG_POLICY_UNKNOWN : (uint64_t)ms;
}

static bool timed_out(const struct vmig_policy_config *c, uint64_t elapsed_ms)
{
	return c->timeout_s && elapsed_ms >= (uint64_t)c->timeout_s * 1000;
}

static uint64_t remaining_bytes(const struct vmig_policy_pass *pass)
{
	if (pass->page_size && pass->dirty_pages > UINT64_MAX / pass->page_size)
		return UINT64_MAX;
	return pass->dirty_pages * pass->page_size;
}

/**
 * vmig_policy_pass() - decide what to do after one pre-copy pass
 * @p: the policy; its counters advance
 * @pass: what the pass did; iteration 0 is the start report (policy.h)
 *
 * Return: the decision. For THROTTLE the caller applies throttle_pct (the
 * policy assumes it did; a failure to throttle shows up as passes that do
 * not converge and ends in THROTTLE_EXHAUSTED). After SWITCHOVER or ABORT
 * the policy is not consulted again.
 */
struct vmig_policy_decision vmig_policy_pass(struct vmig_policy *p,
					     const struct vmig_policy_pass *pass)
{
	const struct vmig_policy_config *c = &p->cfg;
	struct vmig_policy_decision d = { 0 };
	bool at_max = p->throttle_pct >= c->throttle_max;
	bool hot;

	d.remaining_bytes = remaining_bytes(pass);
	d.est_downtime_ms = bytes_to_ms(d.remaining_bytes, pass->bandwidth);
	d.throttle_pct = p->throttle_pct;

	if (!pass->iteration) {
		if (timed_out(c, pass->elapsed_ms)) {
			d.action = VMIG_POLICY_ABORT;
			d.reason = VMIG_POLICY_REASON_TIMEOUT;
		}
		return d;
	}
	if (d.est_downtime_ms <= c->downtime_ms) {
		d.action = VMIG_POLICY_SWITCHOVER;
		return d;
	}

	if (at_max)
		p->stalled_passes++;
	d.action = VMIG_POLICY_ABORT;
	if (c->max_iterations && pass->iteration >= c->max_iterations) {
		d.reason = VMIG_POLICY_REASON_MAX_ITERATIONS;
		return d;
	}
	if (timed_out(c, pass->elapsed_ms)) {
		d.reason = VMIG_POLICY_REASON_TIMEOUT;
		return d;
	}
	if (p->stalled_passes >= c->stall_passes) {
		d.reason = VMIG_POLICY_REASON_THROTTLE_EXHAUSTED;
		return d;
	}

	d.action = VMIG_POLICY_CONTINUE;
	/* 128 bits: a pass may send more than UINT64_MAX / 100 bytes. */
	hot = (unsigned __int128)pass->dirtied_bytes * 100 >
	      (unsigned __int128)pass->sent_bytes * c->throttle_threshold;
	p->hot_passes = hot ? p->hot_passes + 1 : 0;
	if (p->hot_passes >= 2 && !at_max) {
		p->hot_passes = 0;
		p->throttle_pct = p->throttle_pct ?
				  p->throttle_pct + c->throttle_step :
				  c->throttle_start;
		if (p->throttle_pct > c->throttle_max)
			p->throttle_pct = c->throttle_max;
		d.action = VMIG_POLICY_THROTTLE;
		d.throttle_pct = p->throttle_pct;
	}
	return d;
}

/**
 * vmig_policy_tick() - apply the timeout between passes
 * @p: the policy
 * @elapsed_ms: time since the session started, by the caller's clock
 *
 * A pass can take longer than the whole timeout (pass 0 on a slow link),
 * so the caller asks this on a timer as well as after each pass.
 *
 * Return: ABORT TIMEOUT, or CONTINUE.
 */
struct vmig_policy_decision vmig_policy_tick(const struct vmig_policy *p,
					     uint64_t elapsed_ms)
{
	struct vmig_policy_decision d = { 0 };

	d.action = VMIG_POLICY_CONTINUE;
	d.throttle_pct = p->throttle_pct;
	d.est_downtime_ms = VMIG_POLICY_UNKNOWN;
	if (timed_out(&p->cfg, elapsed_ms)) {
		d.action = VMIG_POLICY_ABORT;
		d.reason = VMIG_POLICY_REASON_TIMEOUT;
	}
	return d;
}

/**
 * vmig_policy_eta_ms() - rough time until the dirty set is sent
 *
 * The remaining bytes shrink at bandwidth - dirty_rate; a guest that
 * dirties as fast as the link sends has no ETA (VMIG_POLICY_UNKNOWN).
 * For display only: the decisions never use it.
 */
uint64_t vmig_policy_eta_ms(const struct vmig_policy_pass *pass)
{
	uint64_t rem = remaining_bytes(pass);

	if (!rem)
		return 0;
	if (pass->bandwidth <= pass->dirty_rate)
		return VMIG_POLICY_UNKNOWN;
	return bytes_to_ms(rem, pass->bandwidth - pass->dirty_rate);
}

const char *vmig_policy_action_name(enum vmig_policy_action a)
{
	switch (a) {
	case VMIG_POLICY_CONTINUE:
		return "continue";
	case VMIG_POLICY_THROTTLE:
		return "throttle";
	case VMIG_POLICY_SWITCHOVER:
		return "switchover";
	case VMIG_POLICY_ABORT:
		return "abort";
	}
	return "unknown";
}

const char *vmig_policy_reason_str(enum vmig_policy_reason r)
{
	switch (r) {
	case VMIG_POLICY_REASON_NONE:
		return "none";
	case VMIG_POLICY_REASON_MAX_ITERATIONS:
		return "did not converge within the maximum number of passes";
	case VMIG_POLICY_REASON_TIMEOUT:
		return "did not converge before the timeout";
	case VMIG_POLICY_REASON_THROTTLE_EXHAUSTED:
		return "did not converge at the maximum CPU throttle";
	}
	return "unknown";
}
