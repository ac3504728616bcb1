// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-rate measurement: arm KVM's dirty log, wait, harvest, disarm.
 * The harvest must come from the VMM's address space, so a short-lived
 * kthread does the work while the netlink caller waits for it.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>

#include "dirty.h"
#include "dirtyrate.h"
#include "vm.h"

struct vmig_dirtyrate_job {
	struct vmig_vm *vm;
	u32 duration_ms;
	struct vmig_dirtyrate *res;
	int ret;
	struct completion done;
};

static int vmig_dirtyrate_worker(void *data)
{
	struct vmig_dirtyrate_job *job = data;
	struct vmig_dirtyrate *res = job->res;
	struct vmig_dirty d;
	ktime_t t0;
	s64 n;
	int ret;

	ret = vmig_vm_enter(job->vm, vmig_dirty_scratch_size(job->vm));
	if (ret) {
		res->why = "cannot enter the VMM's address space";
		goto out;
	}
	ret = vmig_dirty_start(&d, job->vm, &res->why);
	if (ret)
		goto out_leave;
	res->ram_bytes = vmig_layout_pages(&d.layout) << PAGE_SHIFT;
	t0 = ktime_get();
	msleep(job->duration_ms);
	n = vmig_dirty_harvest(&d);
	res->elapsed_us = ktime_us_delta(ktime_get(), t0);
	if (n < 0) {
		ret = n;
		res->why = "harvesting the dirty log failed";
	} else {
		res->dirty_pages = n;
	}
	vmig_dirty_stop(&d);
out_leave:
	vmig_vm_leave(job->vm);
out:
	job->ret = ret;
	complete(&job->done);
	module_put_and_kthread_exit(0);
}

/**
 * vmig_dirtyrate_measure() - count pages a VM writes in a time window
 * @vm: the VM (attached, not entered)
 * @duration_ms: the window
 * @res: out: the result
 *
 * Context: process context; sleeps for the window.
 * Return: 0 or a negative errno (res->why says why).
 */
int vmig_dirtyrate_measure(struct vmig_vm *vm, u32 duration_ms,
			   struct vmig_dirtyrate *res)
{
	struct vmig_dirtyrate_job job = {
		.vm = vm,
		.duration_ms = duration_ms,
		.res = res,
	};
	struct task_struct *t;

	init_completion(&job.done);
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	t = kthread_run(vmig_dirtyrate_worker, &job, "vmig-dirtyrate");
	if (IS_ERR(t)) {
		module_put(THIS_MODULE);
		return PTR_ERR(t);
	}
	/* The worker touches job only before complete(). */
	wait_for_completion(&job.done);
	return job.ret;
}
