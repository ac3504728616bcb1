// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM is found through /proc/PID/fd: KVM names its files
 * "anon_inode:kvm-vm" and "anon_inode:kvm-vcpu:N" (N = vCPU id). The pidfd
 * is opened first and every fd is fetched through it with pidfd_getfd, so
 * a VMM that exits and has its pid reused while we look cannot hand us
 * another process's files: pidfd_getfd on a dead process fails.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "nl.h"
#include "util.h"
#include "vmfind.h"
#include "uapi/linux/vmig.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define KVM_VM_LINK	"anon_inode:kvm-vm"
#define KVM_VCPU_LINK	"anon_inode:kvm-vcpu:"

struct vmfind_fd {
	int fd;			/* in the VMM */
	unsigned int index;	/* vCPU id */
};

static int cmp_index(const void *a, const void *b)
{
	const struct vmfind_fd *x = a, *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

static int push(struct vmfind_fd **arr, unsigned int *n, int fd,
		unsigned int index)
{
	struct vmfind_fd *a = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!a)
		return -1;
	a[*n].fd = fd;
	a[*n].index = index;
	*arr = a;
	(*n)++;
	return 0;
}

static void no_such_process(pid_t pid)
{
	fprintf(stderr, "vmigctl: no such process %d\n", (int)pid);
}

/* Reading /proc/PID/fd and pidfd_getfd both need ptrace rights. */
static void no_rights(pid_t pid, const char *what)
{
	fprintf(stderr, "vmigctl: no ptrace rights over process %d (%s: %s)\n",
		(int)pid, what, strerror(errno));
}

/* Two fds of the VMM that are the same open file (dup'd) count once. */
static int same_file(pid_t pid, int fd1, int fd2)
{
	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, fd1, fd2) == 0;
}

/* Scan /proc/PID/fd. Return: 0, or -1 after printing why. */
static int scan(pid_t pid, struct vmfind_fd **vms, unsigned int *nr_vms,
		struct vmfind_fd **vcpus, unsigned int *nr_vcpus)
{
	char path[64], link[128];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			no_such_process(pid);
		else if (errno == EACCES || errno == EPERM)
			no_rights(pid, path);
		else
			fprintf(stderr, "vmigctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		unsigned int index;
		ssize_t n;
		char *end;
		long fd;

		fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name)
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n < 0)
			continue;	/* closed meanwhile */
		link[n] = '\0';
		if (!strcmp(link, KVM_VM_LINK)) {
			if (push(vms, nr_vms, (int)fd, 0))
				goto err_nomem;
		} else if (!strncmp(link, KVM_VCPU_LINK, strlen(KVM_VCPU_LINK))) {
			const char *s = link + strlen(KVM_VCPU_LINK);

			index = (unsigned int)strtoul(s, &end, 10);
			if (*end || end == s)
				continue;
			if (push(vcpus, nr_vcpus, (int)fd, index))
				goto err_nomem;
		}
	}
	closedir(d);
	return 0;

err_nomem:
	closedir(d);
	fprintf(stderr, "vmigctl: %s\n", strerror(ENOMEM));
	return -1;
}

/* Duplicate the VMM's fd and check it is still what the scan saw. */
static int getfd(struct vmfind *v, int target, const char *want_link)
{
	char path[64], link[128];
	ssize_t n;
	int fd;

	fd = (int)syscall(SYS_pidfd_getfd, v->pidfd, target, 0);
	if (fd < 0) {
		if (errno == EPERM)
			no_rights(v->pid, "pidfd_getfd");
		else if (errno == ESRCH)
			no_such_process(v->pid);
		else
			fprintf(stderr, "vmigctl: fd %d of process %d: pidfd_getfd: %s\n",
				target, (int)v->pid, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n >= 0)
		link[n] = '\0';
	if (n < 0 || strcmp(link, want_link)) {
		fprintf(stderr, "vmigctl: process %d replaced fd %d while vmigctl looked at it\n",
			(int)v->pid, target);
		close(fd);
		return -1;
	}
	return fd;
}

/**
 * vmfind_open() - get a pidfd, the VM fd and the vCPU fds of VMM pid
 * @pid: the VMM
 * @v: filled on success; release with vmfind_close()
 *
 * Exactly one VM and at least one vCPU must be found. vCPUs come sorted by
 * id; an fd that duplicates another of the same id is skipped.
 *
 * Return: 0, or -1 after printing the reason on stderr.
 */
int vmfind_open(pid_t pid, struct vmfind *v)
{
	struct vmfind_fd *vms = NULL, *vcpus = NULL;
	unsigned int nr_vms = 0, nr_vcpus = 0, i;
	char want[64];
	int ret = -1;

	memset(v, 0, sizeof(*v));
	v->pid = pid;
	v->vm_fd = -1;
	v->pidfd = vmig_pidfd_open(pid);
	if (v->pidfd < 0) {
		if (errno == ESRCH)
			no_such_process(pid);
		else
			fprintf(stderr, "vmigctl: pidfd_open(%d): %s\n", (int)pid,
				strerror(errno));
		return -1;
	}
	if (scan(pid, &vms, &nr_vms, &vcpus, &nr_vcpus))
		goto out;
	if (!nr_vms) {
		fprintf(stderr, "vmigctl: process %d has no KVM VM\n", (int)pid);
		goto out;
	}
	for (i = 1; i < nr_vms; i++) {
		if (!same_file(pid, vms[0].fd, vms[i].fd)) {
			fprintf(stderr, "vmigctl: process %d has more than one KVM VM\n",
				(int)pid);
			goto out;
		}
	}
	if (!nr_vcpus) {
		fprintf(stderr, "vmigctl: process %d has a KVM VM but no vCPUs\n",
			(int)pid);
		goto out;
	}
	qsort(vcpus, nr_vcpus, sizeof(*vcpus), cmp_index);

	v->vm_fd = getfd(v, vms[0].fd, KVM_VM_LINK);
	if (v->vm_fd < 0)
		goto out;
	v->vcpu_fds = calloc(nr_vcpus, sizeof(*v->vcpu_fds));
	if (!v->vcpu_fds) {
		fprintf(stderr, "vmigctl: %s\n", strerror(ENOMEM));
		goto out;
	}
	for (i = 0; i < nr_vcpus; i++) {
		if (v->nr_vcpus && vcpus[i].index == vcpus[i - 1].index)
			continue;
		snprintf(want, sizeof(want), KVM_VCPU_LINK "%u", vcpus[i].index);
		v->vcpu_fds[v->nr_vcpus] = getfd(v, vcpus[i].fd, want);
		if (v->vcpu_fds[v->nr_vcpus] < 0)
			goto out;
		v->nr_vcpus++;
	}
	ret = 0;
out:
	free(vms);
	free(vcpus);
	if (ret)
		vmfind_close(v);
	return ret;
}

/*
 * The VM, its vCPUs and the connection, as a start request hands them to
 * the kernel. Return: false when the request has no room left.
 */
bool vmfind_put(struct nlmsghdr *req, const struct vmfind *v, int sock)
{
	bool fits = mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_VM_FD,
					   (uint32_t)v->vm_fd);
	unsigned int i;

	for (i = 0; i < v->nr_vcpus; i++)
		fits &= mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ,
					       VMIG_A_SESSION_VCPU_FD,
					       (uint32_t)v->vcpu_fds[i]);
	return fits && mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ,
					      VMIG_A_SESSION_SOCK_FD, (uint32_t)sock);
}

/* Close the VM and vCPU fds once the kernel holds its own references. */
void vmfind_close_kvm(struct vmfind *v)
{
	unsigned int i;

	for (i = 0; i < v->nr_vcpus; i++)
		close(v->vcpu_fds[i]);
	free(v->vcpu_fds);
	v->vcpu_fds = NULL;
	v->nr_vcpus = 0;
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	v->vm_fd = -1;
}

void vmfind_close(struct vmfind *v)
{
	vmfind_close_kvm(v);
	if (v->pidfd >= 0)
		close(v->pidfd);
	v->pidfd = -1;
}

/**
 * vmfind_exact() - is KVM's dirty log all a --pid migration of pid needs?
 * @pid: the VMM
 * @why: when not, one sentence saying why and what to use instead
 * @len: its size
 *
 * KVM's log sees what vCPUs and KVM write, nothing else. A VMM that lets
 * the host write guest RAM (vhost, VFIO) or is QEMU, whose device models
 * write it from userspace, needs --qmp and a shared RAM backend
 * (Documentation/design.rst, "Seeing every write").
 *
 * Return: true when nothing else is known to write guest RAM.
 */
bool vmfind_exact(pid_t pid, char *why, size_t len)
{
	char path[64], link[256], comm[64] = "";
	struct dirent *de;
	bool ok = true;
	ssize_t n;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	if (!strncmp(comm, "qemu", 4)) {
		snprintf(why, len, "process %d is QEMU, whose device models write guest RAM unseen by KVM: migrate it with --qmp",
			 (int)pid);
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return true;	/* vmfind_open() says why */
	while (ok && (de = readdir(d))) {
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (!strncmp(link, "/dev/vhost-", 11) || !strncmp(link, "/dev/vfio/", 10)) {
			snprintf(why, len, "process %d uses %s, which writes guest RAM unseen by KVM's dirty log: give it a shared RAM backend and use --qmp (QEMU) or ram-hva",
				 (int)pid, link);
			ok = false;
		}
	}
	closedir(d);
	return ok;
}
