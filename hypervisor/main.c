/*
 * From the bootloader to the first guest, and from the last guest to power
 * off. The order matters: the console first, so everything after can
 * complain; descriptors, so a fault says what it was; memory, then paging
 * and the Switcher, which need frames; then the guests.
 */
#include "cmdline.h"
#include "console.h"
#include "fpu.h"
#include "sched.h"
#include "timer.h"
#include "guest.h"
#include "hypercall.h"
#include "loader.h"
#include "power.h"
#include "run.h"
#include "world.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/paging.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/switcher.h"
#include "../arch/x86/trap.h"
#include "../arch/x86/uart.h"
#include "../boot/multiboot.h"
#include "../mm/boot_mem.h"
#include "../mm/frame.h"
#include "../mm/hvmap.h"
#include "../lib/panic.h"

extern char _image_start[], _image_end[], _bss_start[];

void kmain(u32 magic, const struct mb_info *mbi);

static void warn_option(const char *msg)
{
	kprintf("umbra: command line: %s\n", msg);
}

static void print_memory(void)
{
	u32 total = 0;

	for (unsigned o = 0; o < FRAME_OWNER_COUNT; o++)
		if (o != FRAME_RESERVED)
			total += frame_count(o);
	klog(LOG_INFO, "umbra: memory: %u KiB usable, %u KiB free, %u KiB reserved"
		" (hypervisor %u KiB, modules %u KiB, page tables %u KiB)\n",
		total * 4, frame_count(FRAME_FREE) * 4, (total - frame_count(FRAME_FREE)) * 4,
		(frame_count(FRAME_HYPERVISOR) + frame_count(FRAME_SWITCHER)) * 4,
		frame_count(FRAME_MODULE) * 4, frame_count(FRAME_PAGETABLE) * 4);
}

static void print_image(void)
{
	u32 loaded = (u32)(_bss_start - _image_start), bss = (u32)(_image_end - _bss_start);

	klog(LOG_INFO, "umbra: image: %u KiB (code and data %u KiB, bss %u KiB)\n",
		(loaded + bss) / 1024, loaded / 1024, bss / 1024);
}

static void setup_memory(const struct mb_info *mbi)
{
	paddr_t ram_end = boot_mem_init(mbi);
	mfn_t switcher_pt;

	if (!ram_end)
		panic("the bootloader gave no usable memory map");
	switcher_pt = switcher_alloc();
	if (switcher_pt == MFN_NONE || !hvmap_init(ram_end, switcher_pt))
		panic("not enough memory for the hypervisor's page tables");
	switcher_init(hvmap_cr3());
	print_memory();
}

static bool summary(u32 free_before)
{
	u32 free_after = frame_count(FRAME_FREE);
	unsigned failed = 0;

	kprintf("umbra: all guests have ended\n");
	kprintf("  %-16s %8s %10s  %s\n", "guest", "run ms", "switches", "result");
	for (unsigned i = 0; i < MAX_GUESTS; i++) {
		const struct guest *g = &guests[i];

		if (g->state != GUEST_GONE)
			continue;
		kprintf("  %-16s %8llu %10llu  ", g->name, g->run_tsc / tsc_khz, g->world_switches);
		if (g->killed)
			kprintf("killed: %s\n", g->reason);
		else
			kprintf("exit %u\n", g->exit_code);
		failed += g->killed || g->exit_code;
	}
	if (hcall_longest.tsc)
		klog(LOG_INFO, "umbra: longest hypercall: %llu us (%s, guest \"%s\")\n",
		     hcall_longest.tsc * 1000 / tsc_khz, hcall_name(hcall_longest.nr),
		     guests[hcall_longest.guest].name);
	if (host_nmis || guest_nmis || world_nmis())
		kprintf("umbra: NMIs: %u received (%u while the hypervisor ran, %u while a guest ran)\n",
			host_nmis + world_nmis() + guest_nmis, host_nmis + world_nmis(), guest_nmis);
	console_report();
	kprintf("umbra: frames free: %u before guests, %u after\n", free_before, free_after);
	if (free_after != free_before)
		kprintf("umbra: LEAK: %d frames not returned\n", (int)(free_before - free_after));
	if (modules_refused)
		kprintf("umbra: %u module(s) refused\n", modules_refused);
	return !failed && !modules_refused && free_after == free_before;
}

void kmain(u32 magic, const struct mb_info *mbi)
{
	u32 free_before;
	bool ok;

	console_init();
	/* Before the first line, which takes ms on a real UART: an NMI with no IDT resets the PC. */
	desc_init();
	kprintf("umbra: booting (%s paging)\n", pt_native.name);
	pic_init();
	/* Let guest processes ask for alignment checks with EFLAGS.AC. */
	write_cr0(read_cr0() | CR0_AM);
	if (magic != MB_BOOTLOADER_MAGIC)
		panic("not started by a Multiboot loader (eax 0x%x)", magic);
	if (mbi->flags & MB_INFO_CMDLINE)
		parse_hv_options((const char *)(uintptr_t)mbi->cmdline, &hv_opts, warn_option);
	console_set_level(hv_opts.loglevel);
	print_image();
	setup_memory(mbi);
	fpu_init();
	timer_init();
	console_start_irq();
	pic_unmask(UART_IRQ);
	sched_init(hv_opts.slice_ms);

	free_before = frame_count(FRAME_FREE);
	if (!(mbi->flags & MB_INFO_MODS) || !mbi->mods_count) {
		kprintf("umbra: no guest modules were given; nothing to run\n");
		power_off(false);
	}
	if (!load_modules(mbi)) {
		kprintf("umbra: no guest could be loaded\n");
		power_off(false);
	}
	run_guests();
	ok = summary(free_before);
	kprintf("umbra: powering off: %s\n", ok ? "success" : "failure");
	power_off(ok);
}
