/*
 * The guest loader: one Multiboot module becomes one guest, after its
 * module line and its ELF image have been checked; a module that fails a
 * check is refused with the reason, and the others still run.
 */
#include "loader.h"
#include "../arch/x86/paging.h"
#include "cmdline.h"
#include "console.h"
#include "elf.h"
#include "fpu.h"
#include "timer.h"
#include "guest.h"
#include "guest_mem.h"
#include "power.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../guest-abi/include/umbra/abi.h"
#include "../lib/format.h"
#include "../lib/string.h"

#define DEFAULT_MEM	MiB(16)
#define MIN_MEM		MiB(1)
#define MAX_MEM		((u64)MiB(1024))

#define NATIVE_PAGING	(pt_native.abi)

struct module_args {
	char name[UMBRA_NAME_MAX];
	u32 mem;
	u32 timeout_ms;		/* 0: none */
	u32 shadows;		/* cached shadow top levels */
	u8 failsafe_test;	/* enum failsafe_test */
};

/* failsafe_test= values, in enum failsafe_test's order. */
static const char *const failsafe_tests[FAILSAFE_TESTS] = {
	[FAILSAFE_NONE] = "", [FAILSAFE_GS] = "gs", [FAILSAFE_FS] = "fs", [FAILSAFE_ES] = "es",
	[FAILSAFE_DS] = "ds", [FAILSAFE_CS] = "cs", [FAILSAFE_EIP] = "eip",
};

static bool parse_failsafe_test(const char *val, u8 *out)
{
	for (unsigned i = 1; i < FAILSAFE_TESTS; i++)
		if (!strcmp(val, failsafe_tests[i])) {
			*out = (u8)i;
			return true;
		}
	return false;
}

/* The hypervisor's keys on a module line; the rest is the guest's. */
static bool parse_module_args(const char *cmdline, unsigned index, struct module_args *a,
			      char *why, size_t whylen)
{
	char val[64];
	u64 mem = DEFAULT_MEM;

	snprintf(a->name, sizeof(a->name), "guest%u", index);
	if (cmdline_get(cmdline, "name", val, sizeof(val))) {
		if (!valid_name(val))
			return snprintf(why, whylen, "name=%s: use 1-31 letters, digits, '-', '_' or '.'",
					val), false;
		strlcpy(a->name, val, sizeof(a->name));
	}
	if (cmdline_get(cmdline, "mem", val, sizeof(val)) &&
	    (!parse_size(val, &mem) || mem < MIN_MEM || mem > MAX_MEM || mem % PAGE_SIZE))
		return snprintf(why, whylen, "mem=%s: expected a whole number of pages between 1M and 1G",
				val), false;
	a->mem = (u32)mem;
	a->shadows = SHADOW_DEFAULT;
	if (cmdline_get(cmdline, "shadows", val, sizeof(val)) &&
	    (!parse_u32(val, &a->shadows) || a->shadows < 1 || a->shadows > SHADOW_MAX))
		return snprintf(why, whylen, "shadows=%s: expected 1 to %u", val, SHADOW_MAX), false;
	a->timeout_ms = 0;
	if (cmdline_get(cmdline, "timeout", val, sizeof(val)) &&
	    (!parse_u32(val, &a->timeout_ms) || !a->timeout_ms))
		return snprintf(why, whylen, "timeout=%s: expected milliseconds, at least 1", val),
		       false;
	a->failsafe_test = FAILSAFE_NONE;
	if (cmdline_get(cmdline, "failsafe_test", val, sizeof(val)) &&
	    !parse_failsafe_test(val, &a->failsafe_test))
		return snprintf(why, whylen, "failsafe_test=%s: expected gs, fs, es, ds, cs or eip", val),
		       false;
	return true;
}

static bool copy_segments(struct guest *g, const u8 *img, const struct elf_guest *e)
{
	for (unsigned i = 0; i < e->nr_load; i++) {
		const struct elf_segment *s = &e->load[i];

		if (!guest_write_phys(g, s->paddr, img + s->offset, s->filesz))
			return false;
	}
	return true;
}

static void set_boot_state(struct guest *g, const struct elf_guest *e)
{
	struct umbra_boot_info bi = {
		.magic = UMBRA_BOOT_MAGIC,
		.abi_version = UMBRA_ABI_VERSION,
		.mem_bytes = g->mem_bytes,
		.guest_id = g->id,
		.paging = NATIVE_PAGING,
	};
	struct guest_regs *r = &g->regs;

	strlcpy(bi.name, g->name, sizeof(bi.name));
	strlcpy(bi.cmdline, g->cmdline, sizeof(bi.cmdline));
	guest_write_phys(g, UMBRA_BOOT_INFO_ADDR, &bi, sizeof(bi));

	memset(r, 0, sizeof(*r));
	r->eax = UMBRA_BOOT_MAGIC;
	r->ebx = UMBRA_BOOT_INFO_ADDR;
	r->eip = e->entry;
	r->cs = UMBRA_KERNEL_CS;
	r->ds = r->es = r->fs = r->gs = r->ss = UMBRA_KERNEL_DS;
	r->esp = g->mem_bytes;
	r->eflags = EFLAGS_RESERVED | EFLAGS_IF;
}

static bool load_one(const struct mb_module *m, unsigned index, const char *cmdline,
		     char *why, size_t whylen)
{
	const u8 *img = (const u8 *)(uintptr_t)m->start;
	struct module_args a;
	struct elf_guest e;
	struct guest *g;

	if (!parse_module_args(cmdline, index, &a, why, whylen))
		return false;
	if (m->end < m->start)
		return snprintf(why, whylen, "module end before its start"), false;
	if (!elf_check(img, m->end - m->start, a.mem, NATIVE_PAGING, &e, why, whylen))
		return false;
	g = guest_create(a.name, a.mem, a.shadows, why, whylen);
	if (!g)
		return false;
	strlcpy(g->cmdline, cmdline, sizeof(g->cmdline));
	if (!copy_segments(g, img, &e)) {
		snprintf(why, whylen, "segment does not fit guest memory");
		guest_teardown(g);
		return false;
	}
	set_boot_state(g, &e);
	fpu_guest_init(g);
	guest_start(g);
	if (a.timeout_ms)
		g->kill_deadline = rdtsc() + ms_to_tsc(a.timeout_ms);
	g->failsafe_test = a.failsafe_test;
	g->shadow.audit = hv_opts.audit;
	klog(LOG_INFO, "umbra: guest \"%s\" loaded: %u KiB, entry 0x%x\n", g->name,
		g->mem_bytes / 1024, e.entry);
	return true;
}

/* GRUB puts the module's path first; QEMU passes only what follows it. */
static const char *skip_path(const char *cmdline, char *path, size_t size)
{
	const char *p = cmdline;
	char word[UMBRA_CMDLINE_MAX];

	path[0] = '\0';
	if (cmdline_next(&p, word, sizeof(word)) && !strchr(word, '=')) {
		strlcpy(path, word, size);
		return p;
	}
	return cmdline;
}

unsigned modules_refused;

unsigned load_modules(const struct mb_info *mbi)
{
	unsigned loaded = 0, count = (mbi->flags & MB_INFO_MODS) ? mbi->mods_count : 0;

	for (unsigned i = 0; i < count; i++) {
		const struct mb_module *m = (const void *)(uintptr_t)(mbi->mods_addr + i * sizeof(*m));
		const char *cmdline = m->cmdline ? (const char *)(uintptr_t)m->cmdline : "";
		char why[160], path[64];

		cmdline = skip_path(cmdline, path, sizeof(path));
		while (*cmdline == ' ')
			cmdline++;
		if (i >= MAX_GUESTS)
			snprintf(why, sizeof(why), "too many modules (at most %u)", MAX_GUESTS);
		else if (load_one(m, i, cmdline, why, sizeof(why))) {
			loaded++;
			continue;
		}
		kprintf("umbra: module %u (%s%s%s) refused: %s\n", i, path[0] ? path : "",
			path[0] ? ", " : "", cmdline, why);
		modules_refused++;
	}
	return loaded;
}
