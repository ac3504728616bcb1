// SPDX-License-Identifier: GPL-2.0
/*
 * tvmm - command line wrapper of the tvmm library for migration tests.
 *
 *   tvmm [--slot ID:GPA:SIZE]... [--vcpus N] [--irqchip]
 *        [--rate PAGES_PER_SEC] [--batch N] [--wait] [--pin-keys]
 *
 * Prints "READY pid=<pid> vcpus=<n>" and one "SLOT id=.. gpa=.. size=..
 * hva=.." line per slot, then answers each command line on stdin with
 * exactly one line starting with "OK" or "ERR <reason>".  Without --wait
 * the guest starts writing at once; with --wait nothing is loaded or run
 * until "resume" (the migration destination case).  EOF acts as "quit".
 * --pin-keys holds KVM's static keys for the life of the process (see
 * tvmm_pin_kvm_keys()); a long-lived "tvmm --wait --pin-keys" keeps them
 * held across a whole test run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tvmm.h"

/* Under vmm_cmd's 120 s, so a slow guest is told apart from a dead VMM. */
#define GUEST_VERIFY_TIMEOUT_MS	100000

static void usage(void)
{
	fprintf(stderr,
		"usage: tvmm [--slot ID:GPA:SIZE]... [--vcpus N] [--irqchip]\n"
		"            [--rate PAGES_PER_SEC] [--batch N] [--wait]\n"
		"            [--pin-keys]\n");
	exit(2);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void cmd_verify(struct tvmm *vm)
{
	struct tvmm_verify_result res;
	int ret = tvmm_verify(vm, &res);

	if (ret && res.msg[0])
		fprintf(stderr, "tvmm: verify: %s\n", res.msg);
	if (ret == -EBUSY)
		reply("ERR running");
	else if (ret < 0)
		reply("ERR cb invalid");
	else if (res.bad_pages)
		reply("ERR bad=%" PRIu64 " first_gfn=0x%" PRIx64,
		      res.bad_pages, res.first_bad_gfn);
	else if (res.reg_bad_vcpu >= 0)
		reply("ERR regs vcpu=%d ebp=%u gen=%u", res.reg_bad_vcpu,
		      res.reg_ebp, res.reg_gen);
	else if (ret)
		reply("ERR mode vcpu=%d%s", res.mode_bad_vcpu,
		      res.mode_impossible ? " impossible" : "");
	else
		reply("OK bad=0");
}

static void cmd_guest_verify(struct tvmm *vm)
{
	struct tvmm_guest_report rep;
	char gens[16 * TVMM_MAX_VCPUS] = "";
	int i, ret, n = 0;

	ret = tvmm_guest_verify(vm, &rep, GUEST_VERIFY_TIMEOUT_MS);
	if (ret == -ETIMEDOUT) {
		reply("ERR timeout");
		return;
	}
	if (ret < 0) {
		reply("ERR cb invalid");
		return;
	}
	for (i = 0; i < tvmm_nr_vcpus(vm); i++)
		n += snprintf(gens + n, sizeof(gens) - n, "%s%u", i ? "," : "",
			      rep.gen[i]);
	if (ret)
		reply("ERR bad=%" PRIu64 " first_gfn=0x%" PRIx64 " gens=%s",
		      rep.bad_pages, rep.first_bad_gfn, gens);
	else
		reply("OK bad=0 gens=%s", gens);
}

static void cmd_regs(struct tvmm *vm)
{
	char rip[24 * TVMM_MAX_VCPUS] = "", ebp[12 * TVMM_MAX_VCPUS] = "";
	char gen[12 * TVMM_MAX_VCPUS] = "";
	int i, a = 0, b = 0, c = 0;

	for (i = 0; i < tvmm_nr_vcpus(vm); i++) {
		struct tvmm_vcpu_state st;
		const char *sep = i ? "," : "";
		int ret = tvmm_vcpu_state(vm, i, &st);

		if (ret) {
			reply("ERR %s", ret == -EBUSY ? "running" :
			      strerror(-ret));
			return;
		}
		a += snprintf(rip + a, sizeof(rip) - a, "%s0x%" PRIx64, sep,
			      st.rip);
		b += snprintf(ebp + b, sizeof(ebp) - b, "%s%u", sep, st.ebp);
		c += snprintf(gen + c, sizeof(gen) - c, "%s%u", sep,
			      st.cb_gen);
	}
	reply("OK rip=%s ebp=%s gen=%s", rip, ebp, gen);
}

static void cmd_slot_replace(struct tvmm *vm, char *args)
{
	char *id_s = strtok(args, " \t"), *mode = strtok(NULL, " \t");
	bool copy = mode && !strcmp(mode, "copy");
	uint64_t id;
	int i, ret;

	if (!id_s || parse_u64(id_s, &id) || (mode && !copy)) {
		reply("ERR usage: slot-replace <id> [copy]");
		return;
	}
	ret = tvmm_slot_replace(vm, id, copy);
	if (ret) {
		reply("ERR %s", strerror(-ret));
		return;
	}
	for (i = 0; i < tvmm_nr_slots(vm); i++)
		if (tvmm_slot(vm, i)->id == id)
			reply("OK hva=%p", tvmm_slot(vm, i)->hva);
}

static void cmd_poke(struct tvmm *vm, char *args)
{
	char *gpa_s = strtok(args, " \t"), *val_s = strtok(NULL, " \t");
	uint64_t gpa, val;
	unsigned char *p;

	if (!gpa_s || !val_s || parse_u64(gpa_s, &gpa) ||
	    parse_u64(val_s, &val) || val > 0xff) {
		reply("ERR usage: poke <gpa> <byte>");
		return;
	}
	p = tvmm_hva(vm, gpa, 1);
	if (!p) {
		reply("ERR gpa not in a slot");
		return;
	}
	*p = val;
	reply("OK");
}

static void cmd_peek(struct tvmm *vm, char *args)
{
	char *gpa_s = strtok(args, " \t");
	unsigned char *p;
	uint64_t gpa;

	if (!gpa_s || parse_u64(gpa_s, &gpa)) {
		reply("ERR usage: peek <gpa>");
		return;
	}
	p = tvmm_hva(vm, gpa, 1);
	if (!p) {
		reply("ERR gpa not in a slot");
		return;
	}
	reply("OK byte=0x%02x", *p);
}

/* Returns false when the session should end. */
static bool command(struct tvmm *vm, char *line)
{
	char *cmd = strtok(line, " \t"), *args = strtok(NULL, "");
	struct tvmm_stats st;
	uint64_t v;

	if (!cmd) {
		reply("ERR empty command");
	} else if (!strcmp(cmd, "quit")) {
		reply("OK");
		return false;
	} else if (!strcmp(cmd, "stop")) {
		tvmm_stop(vm);
		reply("OK");
	} else if (!strcmp(cmd, "resume")) {
		tvmm_resume(vm);
		reply("OK");
	} else if (!strcmp(cmd, "hash")) {
		if (tvmm_running(vm))
			reply("ERR running");
		else
			reply("OK hash=%016" PRIx64, tvmm_hash(vm));
	} else if (!strcmp(cmd, "verify")) {
		cmd_verify(vm);
	} else if (!strcmp(cmd, "guest-verify")) {
		cmd_guest_verify(vm);
	} else if (!strcmp(cmd, "stats")) {
		tvmm_stats(vm, &st);
		reply("OK gen=%u/%u pages=%" PRIu64 " exits=%" PRIu64,
		      st.gen_min, st.gen_max, st.pages, st.exits);
	} else if (!strcmp(cmd, "regs")) {
		cmd_regs(vm);
	} else if (!strcmp(cmd, "slot-replace")) {
		cmd_slot_replace(vm, args);
	} else if (!strcmp(cmd, "poke")) {
		cmd_poke(vm, args);
	} else if (!strcmp(cmd, "peek")) {
		cmd_peek(vm, args);
	} else if (!strcmp(cmd, "rate")) {
		if (!args || parse_u64(args, &v)) {
			reply("ERR usage: rate <pages_per_sec>");
		} else {
			tvmm_set_rate(vm, v);
			reply("OK");
		}
	} else {
		reply("ERR unknown command %s", cmd);
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slot", required_argument, NULL, 's' },
		{ "vcpus", required_argument, NULL, 'v' },
		{ "irqchip", no_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "wait", no_argument, NULL, 'w' },
		{ "pin-keys", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct tvmm_cfg cfg;
	bool user_slots = false, pin_keys = false;
	char line[256];
	struct tvmm *vm;
	uint64_t v;
	int c, i;

	tvmm_cfg_default(&cfg);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!user_slots)
				cfg.nr_slots = 0;
			user_slots = true;
			if (cfg.nr_slots == TVMM_MAX_SLOTS ||
			    tvmm_parse_slot(optarg, &cfg.slots[cfg.nr_slots]))
				usage();
			cfg.nr_slots++;
			break;
		case 'v':
			if (parse_u64(optarg, &v) || v < 1 ||
			    v > TVMM_MAX_VCPUS)
				usage();
			cfg.nr_vcpus = v;
			break;
		case 'i':
			cfg.irqchip = true;
			break;
		case 'r':
			if (parse_u64(optarg, &v))
				usage();
			cfg.rate = v;
			break;
		case 'b':
			if (parse_u64(optarg, &v) || v < 1 || v > (1 << 20))
				usage();
			cfg.batch = v;
			break;
		case 'w':
			cfg.no_load = true;
			break;
		case 'p':
			pin_keys = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if (pin_keys && tvmm_pin_kvm_keys())
		fprintf(stderr, "tvmm: cannot pin KVM static keys\n");
	if (tvmm_create(&cfg, &vm))
		return 1;
	printf("READY pid=%d vcpus=%d\n", getpid(), tvmm_nr_vcpus(vm));
	for (i = 0; i < tvmm_nr_slots(vm); i++) {
		const struct tvmm_slot *s = tvmm_slot(vm, i);

		printf("SLOT id=%u gpa=0x%" PRIx64 " size=0x%" PRIx64
		       " hva=%p\n", s->id, s->gpa, s->size, s->hva);
	}
	fflush(stdout);
	if (!cfg.no_load)
		tvmm_resume(vm);

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!command(vm, line))
			break;
	}
	tvmm_destroy(vm);
	return 0;
}
