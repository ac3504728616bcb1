// SPDX-License-Identifier: GPL-2.0
/*
 * Probing a QEMU over QMP (qemuvm.h). What QEMU 7.2 answers, as measured:
 *  - qom-get /machine "memory-backend": the backend's canonical QOM path
 *    ("/objects/ram0"); plain -m creates one too, "/objects/pc.ram" of
 *    type memory-backend-ram. The property is a string that holds the id
 *    until the machine is built, so a bare id is accepted as well.
 *  - the backend's "type", "size" (int), "share" (bool); "mem-path" only
 *    on memory-backend-file. query-memdev lists it by id with size/share.
 *  - its mapping in QEMU: one rw-s line of /proc/PID/maps for the file,
 *    offset 0, as long as size; a memfd shows as "/memfd:NAME (deleted)".
 *  - devices given with -device sit in /machine/peripheral (with id=) or
 *    /machine/peripheral-anon as "child<TYPE>", whatever bus they are on
 *    (query-pci names no device types, so VFIO is found this way).
 *  - runstates: "prelaunch" (-S), "running", "paused", "inmigrate"
 *    (-incoming defer, during and before the migration), "postmigrate"
 *    (a source after completed or failed migration).
 * Newer QEMUs, from their sources (not run here): >= 8.1 x-ignore-shared
 * skips only RAM of a named file, not memfd (the rule below wants a file
 * anyway); query-status "singlestep" is deprecated in 8.1 and gone in 9.0
 * (never read here); 9.1 adds memory-backend-shm, refused like memfd.
 */
#include <errno.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemuvm.h"

static int qom_get(struct qmp *q, const char *path, const char *prop,
		   json_t **ret, char *err, size_t errlen)
{
	return qmp_exec(q, "qom-get", json_pack("{s:s, s:s}", "path", path,
						"property", prop),
			ret, qmp_timeout_ms(q), err, errlen);
}

static int qom_get_str(struct qmp *q, const char *path, const char *prop,
		       char *buf, size_t len, char *err, size_t errlen)
{
	json_t *r;
	int ret;

	ret = qom_get(q, path, prop, &r, err, errlen);
	if (ret)
		return ret;
	if (!json_is_string(r)) {
		qmp_errf(err, errlen, "qom-get %s %s: not a string", path, prop);
		json_decref(r);
		return -EPROTO;
	}
	snprintf(buf, len, "%s", json_string_value(r));
	json_decref(r);
	return 0;
}

/* The backend's QOM path, its type, size, share and (file) mem-path. */
static int probe_backend(struct qmp *q, struct qemu_vm *vm, char *err,
			 size_t errlen)
{
	char id[200];
	json_t *r;
	int ret;

	ret = qom_get_str(q, "/machine", "memory-backend", id, sizeof(id), err,
			  errlen);
	if (ret)
		return ret;
	snprintf(vm->backend, sizeof(vm->backend), "%s%s",
		 id[0] == '/' ? "" : "/objects/", id);
	ret = qom_get_str(q, vm->backend, "type", vm->backend_type,
			  sizeof(vm->backend_type), err, errlen);
	if (ret)
		return ret;
	ret = qom_get(q, vm->backend, "size", &r, err, errlen);
	if (ret)
		return ret;
	vm->size = (uint64_t)json_integer_value(r);
	json_decref(r);
	ret = qom_get(q, vm->backend, "share", &r, err, errlen);
	if (ret)
		return ret;
	vm->share = json_is_true(r);
	json_decref(r);
	if (strcmp(vm->backend_type, "memory-backend-file"))
		return 0;
	return qom_get_str(q, vm->backend, "mem-path", vm->mem_path,
			   sizeof(vm->mem_path), err, errlen);
}

/* query-memdev must list the backend (by id) with the same size and share. */
static int check_memdev(struct qmp *q, const struct qemu_vm *vm, char *err,
			size_t errlen)
{
	const char *id = strrchr(vm->backend, '/') + 1;
	json_t *r, *m;
	size_t i;
	int ret;

	ret = qmp_exec(q, "query-memdev", NULL, &r, qmp_timeout_ms(q), err,
		       errlen);
	if (ret)
		return ret;
	ret = -EPROTO;
	json_array_foreach(r, i, m) {
		const char *mid = json_string_value(json_object_get(m, "id"));

		if (!mid || strcmp(mid, id))
			continue;
		if ((uint64_t)json_integer_value(json_object_get(m, "size")) == vm->size &&
		    json_is_true(json_object_get(m, "share")) == vm->share)
			ret = 0;
		break;
	}
	json_decref(r);
	if (ret)
		qmp_errf(err, errlen, "query-memdev does not list backend %s with size %" PRIu64 " and share=%s as qom-get does",
			 id, vm->size, vm->share ? "on" : "off");
	return ret;
}

/**
 * qemu_vm_find_mapping() - where pid maps file at offset 0, size bytes long
 * @file: a canonical path (realpath), as /proc/PID/maps names files
 *
 * Return: 0 with *start, -ENOENT when no such mapping, -errno (err says
 * why: reading another user's maps needs ptrace rights).
 */
int qemu_vm_find_mapping(pid_t pid, const char *file, uint64_t size,
			 uint64_t *start, char *err, size_t errlen)
{
	unsigned long long lo, hi, off;
	char path[64], line[PATH_MAX + 128];
	int ret = -ENOENT, n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		qmp_errf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &lo, &hi, &off,
			   &n) != 3)
			continue;
		if (off || hi - lo != size || strcmp(line + n, file))
			continue;
		*start = lo;
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static int probe_mapping(struct qemu_vm *vm, char *err, size_t errlen)
{
	char real[PATH_MAX];
	int ret;

	if (!vm->mem_path[0] || !realpath(vm->mem_path, real))
		return 0;	/* qemu_vm_exact() says why it is missing */
	ret = qemu_vm_find_mapping(vm->pid, real, vm->size, &vm->ram_hva, err,
				   errlen);
	if (ret == -ENOENT)
		return 0;
	if (!ret)
		vm->ram_size = vm->size;
	return ret;
}

/* The first block device whose image is opened with O_DIRECT. */
static int probe_direct_io(struct qmp *q, struct qemu_vm *vm, char *err,
			   size_t errlen)
{
	json_t *r, *b;
	size_t i;
	int ret;

	ret = qmp_exec(q, "query-block", NULL, &r, qmp_timeout_ms(q), err,
		       errlen);
	if (ret)
		return ret;
	json_array_foreach(r, i, b) {
		json_t *ins = json_object_get(b, "inserted");
		const char *name = json_string_value(json_object_get(b, "device"));

		if (!json_is_true(json_object_get(json_object_get(ins, "cache"),
						  "direct")))
			continue;
		/* -blockdev + -device leaves "device" empty; "qdev" names it. */
		if (!name || !*name)
			name = json_string_value(json_object_get(b, "qdev"));
		snprintf(vm->direct_io, sizeof(vm->direct_io), "%s",
			 name ? name : "?");
		break;
	}
	json_decref(r);
	return 0;
}

/* A child "child<vfio-pci>" (or any vfio type) of a peripheral container. */
static int probe_vfio_in(struct qmp *q, const char *container,
			 struct qemu_vm *vm, char *err, size_t errlen)
{
	json_t *r, *c;
	size_t i;
	int ret;

	ret = qmp_exec(q, "qom-list", json_pack("{s:s}", "path", container), &r,
		       qmp_timeout_ms(q), err, errlen);
	if (ret)
		return ret;
	json_array_foreach(r, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *name = json_string_value(json_object_get(c, "name"));

		if (type && name && !strncmp(type, "child<", 6) &&
		    strstr(type, "vfio")) {
			snprintf(vm->vfio, sizeof(vm->vfio), "%s/%s (%s)",
				 container, name, type);
			break;
		}
	}
	json_decref(r);
	return 0;
}

/**
 * qemu_vm_probe() - ask QEMU what vmig needs to know about it
 * @vm: filled; zeroed first
 *
 * Refusals are qemu_vm_exact()'s to make: probe fails only when QEMU does
 * not answer, answers an error, contradicts itself, or its maps cannot be
 * read. Return: 0, or -errno with a sentence in err.
 */
int qemu_vm_probe(struct qmp *q, struct qemu_vm *vm, char *err,
		  size_t errlen)
{
	char msg[256];
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->pid = qmp_peer_pid(q);
	qmp_version(q, &vm->major, &vm->minor);
	ret = qmp_status(q, vm->runstate, sizeof(vm->runstate), NULL, err,
			 errlen);
	if (!ret)
		ret = probe_backend(q, vm, err, errlen);
	if (!ret)
		ret = check_memdev(q, vm, err, errlen);
	if (!ret)
		ret = probe_mapping(vm, err, errlen);
	/* A failed migration's error-desc is not a probe failure. */
	if (!ret) {
		ret = qmp_migrate_status(q, vm->migration, sizeof(vm->migration),
					 msg, sizeof(msg));
		if (ret)
			qmp_errf(err, errlen, "%s", msg);
	}
	if (!ret)
		ret = probe_direct_io(q, vm, err, errlen);
	if (!ret)
		ret = probe_vfio_in(q, "/machine/peripheral", vm, err, errlen);
	if (!ret && !vm->vfio[0])
		ret = probe_vfio_in(q, "/machine/peripheral-anon", vm, err, errlen);
	return ret;
}

/* Set why (qmp_errf()) and be false. */
#define refuse(why, len, ...)	(qmp_errf(why, len, __VA_ARGS__), false)

/*
 * Guest RAM must be a named shared file: the destination's QEMU maps the
 * same pages vmig writes, and QEMU's x-ignore-shared skips only such RAM
 * (7.2: any share=on block; >= 8.1: only a named file, not memfd).
 */
/*
 * tmpfs has no writeback, which would clean the entries vmig reads. A
 * file not there (yet) is judged by its directory.
 */
static bool on_tmpfs(const char *path)
{
	char dir[PATH_MAX];
	struct statfs sf;
	char *slash;

	if (!statfs(path, &sf))
		return sf.f_type == TMPFS_MAGIC;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return false;
	slash[slash == dir] = '\0';
	return !statfs(dir, &sf) && sf.f_type == TMPFS_MAGIC;
}

static bool ram_exact(const struct qemu_vm *vm, char *why, size_t len)
{
	unsigned long long mib = vm->size >> 20;

	if (strcmp(vm->backend_type, "memory-backend-file") || !vm->share)
		return refuse(why, len,
			      "guest RAM is in a %s%s, which vmig cannot hand to the destination; start QEMU with -object memory-backend-file,id=ram0,size=%lluM,mem-path=/dev/shm/NAME,share=on -machine memory-backend=ram0",
			      vm->backend_type,
			      vm->share ? "" : " with share=off (private pages)",
			      mib);
	if (!on_tmpfs(vm->mem_path))
		return refuse(why, len,
			      "guest RAM file %s is not on tmpfs: writeback of a disk file hides writes from vmig; put mem-path on tmpfs, e.g. mem-path=/dev/shm/NAME",
			      vm->mem_path);
	if (!vm->ram_hva)
		return refuse(why, len,
			      "QEMU (pid %d) has no mapping of %s as long as its RAM (%llu MiB); give mem-path a file, not a directory (QEMU unlinks the file it creates in one): mem-path=/dev/shm/NAME",
			      (int)vm->pid, vm->mem_path, mib);
	return true;
}

/*
 * What vmig's page-table-based write tracking cannot see: DMA by the
 * host into pinned guest pages (O_DIRECT disk I/O, VFIO devices).
 */
static bool devices_exact(const struct qemu_vm *vm, char *why, size_t len)
{
	if (vm->direct_io[0])
		return refuse(why, len,
			      "disk %s uses cache.direct=on: device DMA into pinned guest pages escapes page-table-based write tracking; use cache.direct=off on its -drive or -blockdev",
			      vm->direct_io);
	if (vm->vfio[0])
		return refuse(why, len,
			      "device %s is VFIO: its DMA into guest RAM escapes page-table-based write tracking; start QEMU without -device vfio-pci (or unplug it with device_del before migrating)",
			      vm->vfio);
	return true;
}

static bool state_exact(const struct qemu_vm *vm, enum qemu_vm_role role,
			char *why, size_t len)
{
	bool incoming = !strcmp(vm->runstate, "inmigrate");

	/* Ended migrations (a failed vmig attempt leaves one) are no obstacle. */
	if (vm->migration[0] && strcmp(vm->migration, "none") &&
	    strcmp(vm->migration, "completed") && strcmp(vm->migration, "failed") &&
	    strcmp(vm->migration, "cancelled"))
		return refuse(why, len,
			      "QEMU's own migration is \"%s\": wait for it to end or cancel it (migrate_cancel)%s",
			      vm->migration,
			      role == QEMU_VM_DEST ? "; a destination must be a fresh QEMU with -incoming defer" : "");
	if (!strcmp(vm->runstate, "postmigrate"))
		return refuse(why, len,
			      "QEMU's VM was migrated away (runstate \"postmigrate\"); if it is to run here, resume it first (QMP cont)");
	if (role == QEMU_VM_DEST && !incoming)
		return refuse(why, len,
			      "destination QEMU is in runstate \"%s\", not \"inmigrate\": start the destination with -incoming defer",
			      vm->runstate);
	if (role == QEMU_VM_SOURCE && incoming)
		return refuse(why, len,
			      "QEMU waits for an incoming migration (runstate \"inmigrate\"): a source is started without -incoming");
	return true;
}

/**
 * qemu_vm_exact() - can vmig migrate this QEMU exactly, in this role?
 * @why: when not, one sentence saying what to change on QEMU's command line
 */
bool qemu_vm_exact(const struct qemu_vm *vm, enum qemu_vm_role role,
		   char *why, size_t len)
{
	return ram_exact(vm, why, len) && devices_exact(vm, why, len) &&
	       state_exact(vm, role, why, len);
}
