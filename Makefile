# SPDX-License-Identifier: GPL-2.0
#
# vmig top-level build. README lists the two commands users need:
#   make demo    install what is missing, build, boot the test VM, migrate
#   make check   install what is missing, build, lint, run every test
#
# KDIR selects the kernel build tree for `make module`; the default is the
# running kernel's when it has one, else the newest installed Debian headers.

SHELL := /bin/bash
PWD_ := $(shell pwd)
BUILD := $(PWD_)/build

KVERS := $(shell for d in /lib/modules/*/build; do k=$$(basename $${d%/build}); \
	[ -e /boot/vmlinuz-$$k ] && [ -e $$d/Makefile ] && echo $$k; done | sort -V)
KDIR ?= $(shell if [ -e /lib/modules/$$(uname -r)/build/Makefile ]; then \
	echo /lib/modules/$$(uname -r)/build; else \
	ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1; fi)

KSRC := $(BUILD)/ksrc
YNL := $(KSRC)/tools/net/ynl/ynl-gen-c.py
SPEC := Documentation/netlink/specs/vmig.yaml
GENERATED := uapi/linux/vmig.h kmod/netlink-gen.h kmod/netlink-gen.c

CFLAGS_USER := -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I$(PWD_)
VMIGCTL_SRCS := $(wildcard userspace/*.c)
MOD_SRCS := Kbuild $(wildcard kmod/*.[ch] kmod/compat/*.h) $(GENERATED)

.PHONY: unittests all module prod-module kernels vmigctl selftests gen gen-check w1 sparse \
	checkpatch lint install dkms-install setup ksrc check demo run-tests run-demo clean

all: kernels vmigctl

setup:
	@scripts/setup.sh

ksrc: $(KSRC)/.done
$(KSRC)/.done:
	@scripts/ksrc.sh $(KSRC)

# ---- kernel module ----------------------------------------------------
module:
	$(MAKE) -C $(KDIR) M=$(PWD_) modules

# One shadow tree of symlinks per kernel, so builds for 6.1 and 6.12 do
# not overwrite each other's objects.
# The selftests load a test build (VMIG_TEST_BUILD=y: fault injection,
# kmod/fault.h); `make module`, install and dkms build without it.
define kbuild_one
	@mkdir -p $(BUILD)/$(1)/src
	@cp -rsf $(PWD_)/Kbuild $(PWD_)/kmod $(PWD_)/uapi $(BUILD)/$(1)/src/
	$(MAKE) -s -C /lib/modules/$(1)/build M=$(BUILD)/$(1)/src VMIG_TEST_BUILD=y $(2) modules
	@cp $(BUILD)/$(1)/src/vmig.ko $(BUILD)/$(1)/vmig.ko
endef

kernels: $(MOD_SRCS)
	$(foreach k,$(KVERS),$(call kbuild_one,$(k),)$(nl))

# A production build of the newest kernel's module, apart from the test
# build, for the host check that it has no fault_inject parameter.
prod-module: $(MOD_SRCS)
	@mkdir -p $(BUILD)/prod/src
	@cp -rsf $(PWD_)/Kbuild $(PWD_)/kmod $(PWD_)/uapi $(BUILD)/prod/src/
	$(MAKE) -s -C /lib/modules/$(lastword $(KVERS))/build M=$(BUILD)/prod/src modules

define nl


endef

w1:
	$(foreach k,$(KVERS),$(call kbuild_one,$(k),W=1 KCFLAGS=-Werror)$(nl))

sparse:
	@command -v sparse >/dev/null || { echo "sparse missing: make setup"; exit 1; }
	$(foreach k,$(KVERS),rm -f $(BUILD)/$(k)/src/kmod/*.o; \
		$(MAKE) -s -C /lib/modules/$(k)/build M=$(BUILD)/$(k)/src VMIG_TEST_BUILD=y C=2 \
		CHECK="sparse -Wsparse-error" modules 2>&1 | tee $(BUILD)/sparse-$(k).log; \
		! grep -E "warning|error" $(BUILD)/sparse-$(k).log$(nl))

# kmod/compat/ is where version checks belong, so only there are
# LINUX_VERSION_CODE comparisons accepted.
CHECKPATCH := perl $(KSRC)/scripts/checkpatch.pl --no-tree --strict --terse \
	--show-types --ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES
checkpatch: ksrc
	$(CHECKPATCH) -f $(filter-out kmod/netlink-gen.%,$(wildcard kmod/*.[ch]))
	$(CHECKPATCH) --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f kmod/compat/*.h

lint: gen-check w1 sparse checkpatch

# ---- netlink code generation -------------------------------------------
# The generator wants its schema one directory above specs/ and a
# MAINTAINERS file at the root; the schema is copied in, never committed.
Documentation/netlink/genetlink-legacy.yaml: $(KSRC)/.done
	cp $(KSRC)/Documentation/netlink/genetlink-legacy.yaml $@

define ynl_gen
	python3 $(YNL) --spec $(SPEC) $(1) -o $(2)
endef

gen: Documentation/netlink/genetlink-legacy.yaml
	$(call ynl_gen,--mode uapi --header,uapi/linux/vmig.h)
	$(call ynl_gen,--mode kernel --header,kmod/netlink-gen.h)
	$(call ynl_gen,--mode kernel --source,kmod/netlink-gen.c)

gen-check: Documentation/netlink/genetlink-legacy.yaml
	@rm -rf $(BUILD)/gen && mkdir -p $(BUILD)/gen
	@for f in $(GENERATED); do cp $$f $(BUILD)/gen/; done
	@$(MAKE) -s gen >/dev/null
	@ok=1; for f in $(GENERATED); do \
		if ! cmp -s $$f $(BUILD)/gen/$$(basename $$f); then \
			echo "gen-check: $$f differs from what $(SPEC) generates"; \
			diff -u $(BUILD)/gen/$$(basename $$f) $$f | head -20; ok=0; fi; \
		cp $(BUILD)/gen/$$(basename $$f) $$f; \
	done; [ $$ok = 1 ] && echo "gen-check: generated files match the spec"

# ---- userspace ----------------------------------------------------------
vmigctl: $(BUILD)/vmigctl
$(BUILD)/vmigctl: $(VMIGCTL_SRCS) $(wildcard userspace/*.h) uapi/linux/vmig.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_USER) $(VMIGCTL_SRCS) -lmnl -ljansson -lgnutls -lm -o $@

# Pure userspace unit tests run on the host (selftests/run.sh runs build/*_unittest).
unittests: $(BUILD)/policy_unittest $(BUILD)/qmp_unittest
$(BUILD)/policy_unittest: userspace/tests/policy_unittest.c userspace/policy.c userspace/policy.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_USER) -Iuserspace userspace/tests/policy_unittest.c userspace/policy.c -lm -o $@

# Starts real QEMUs (qemu-system-x86_64, TCG) and fake QMP servers.
QMP_UNIT_SRCS := userspace/tests/qmp_unittest.c userspace/qmp.c userspace/qemuvm.c userspace/util.c
$(BUILD)/qmp_unittest: $(QMP_UNIT_SRCS) userspace/qmp.h userspace/qemuvm.h userspace/util.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_USER) -Iuserspace $(QMP_UNIT_SRCS) -ljansson -lm -o $@
build/qmp_unittest: $(BUILD)/qmp_unittest

# The real-guest suite's programs and one guest initramfs per kernel
# (selftests/qemu/README); built here, not in the slow test VM.
selftests: ksrc vmigctl $(if $(wildcard userspace/policy.c),unittests)
	$(MAKE) -C selftests BUILD=$(BUILD) KSRC=$(KSRC) all qemu
	@for k in $(KVERS); do selftests/qemu/mkguest.sh $$k > /dev/null || exit 1; done

# ---- install ------------------------------------------------------------
install: module vmigctl
	$(MAKE) -C $(KDIR) M=$(PWD_) modules_install
	depmod -a $$(basename $$(dirname $(KDIR)))
	install -D -m 0755 $(BUILD)/vmigctl $(DESTDIR)/usr/sbin/vmigctl
	install -D -m 0644 userspace/vmigctl.8 $(DESTDIR)/usr/share/man/man8/vmigctl.8

# ---- the two README commands ---------------------------------------------
# KVERS is read when make starts, before setup may have installed the
# kernels: what runs after setup is a new make, which reads it again.
check: setup
	@$(MAKE) -s ksrc kernels vmigctl selftests
	@$(MAKE) -s run-tests

demo: setup
	@$(MAKE) -s ksrc kernels vmigctl selftests
	@$(MAKE) -s run-demo

run-tests:
	@selftests/run.sh $(KVERS)

run-demo:
	@selftests/demo.sh $(lastword $(KVERS))

clean:
	rm -rf $(BUILD) Documentation/netlink/genetlink-legacy.yaml
	$(MAKE) -C $(KDIR) M=$(PWD_) clean 2>/dev/null || true

# ---- benchmarks ------------------------------------------------------------
# `make bench` boots the test VM twice with the newest kernel and prints
# ratios: vmig's throughput, CPU and downtime (bench/in-vm.sh), then
# storage-move against dd and pvmove (bench/storage-in-vm.sh, wants lvm2
# from `make setup`). `make bench-storage` runs only the storage one, once
# per installed kernel, one VM after the other. Benchmarks, never part of
# `make check`; one failing does not stop the other.
.PHONY: bench bench-storage bench-qemu
bench: kernels vmigctl selftests
	@rc=0; bench/run.sh $(lastword $(KVERS)) || rc=$$?; \
		VMIG_BENCH_SCRIPT=qemu-in-vm.sh bench/run.sh $(lastword $(KVERS)) || rc=$$?; \
		bench/storage.sh $(lastword $(KVERS)) || rc=$$?; exit $$rc

# vmig+QEMU against QEMU's own migration of a real guest (bench/qemu-in-vm.sh).
bench-qemu: kernels vmigctl selftests
	@VMIG_BENCH_SCRIPT=qemu-in-vm.sh bench/run.sh $(lastword $(KVERS))

bench-storage: kernels vmigctl selftests
	@bench/storage.sh $(KVERS)
