/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Find the KVM VM and vCPU files of a running VMM and duplicate them into
 * our fd table, so vmig.ko can be handed the VM without the VMM's help.
 */
#ifndef VMIGCTL_VMFIND_H
#define VMIGCTL_VMFIND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <libmnl/libmnl.h>

struct vmfind {
	pid_t pid;
	int pidfd;		/* refers to the VMM for as long as we hold it */
	int vm_fd;
	unsigned int nr_vcpus;
	int *vcpu_fds;		/* in vCPU index order */
};

int vmfind_open(pid_t pid, struct vmfind *v);
bool vmfind_exact(pid_t pid, char *why, size_t len);
bool vmfind_put(struct nlmsghdr *req, const struct vmfind *v, int sock);
void vmfind_close_kvm(struct vmfind *v);
void vmfind_close(struct vmfind *v);

#endif
