/*
 * The frame allocator's first state, from the bootloader's memory map.
 *
 * Before any frame can be allocated, the allocator's own table needs a
 * home: the highest usable address fixes its size, and it goes in the
 * first page-aligned place above 1 MiB, in the one-to-one map, that holds
 * nothing the bootloader left there (the low 1 MiB, the hypervisor image,
 * the Multiboot information, the modules and their command lines). Those
 * ranges are reserved under their owners, so that the boot figures and
 * the `m` debug key say who holds what, and the rest becomes free.
 *
 * The hypervisor maps RAM one-to-one below WINDOW_BASE; RAM above that
 * (in the PAE build, what a PC puts above 4 GiB) is used for guest memory
 * only, reached through the mapping window. What a build cannot address
 * is left out: above 4 GiB for 2-level paging, above the CPU's physical
 * address width or 64 GiB (the most the frame table covers) for PAE. The
 * boot says how much RAM the firmware reported, how much is used and how
 * much of that is above the one-to-one map, and what is left and why.
 */
#include "boot_mem.h"
#include "frame.h"
#include "window.h"
#include "../arch/x86/paging.h"
#include "../hypervisor/console.h"
#include "../lib/format.h"
#include "../lib/string.h"

extern char _image_start[], _image_end[];

#define DIRECT_LIMIT	((u64)WINDOW_BASE)	/* the one-to-one map ends here */
#define TABLE_LIMIT	(64ull << 30)		/* 16 Mi frames: a 128 MiB frame table */

struct range {
	paddr_t start, end;
	enum frame_owner owner;
};

#define MAX_BUSY	(8 + 2 * 64)
static struct range busy[MAX_BUSY];
static unsigned nr_busy;

static void busy_add(paddr_t start, paddr_t end, enum frame_owner owner)
{
	if (nr_busy < MAX_BUSY && end > start)
		busy[nr_busy++] = (struct range){ start, end, owner };
}

static bool overlaps_busy(paddr_t start, paddr_t end)
{
	for (unsigned i = 0; i < nr_busy; i++)
		if (start < busy[i].end && busy[i].start < end)
			return true;
	return false;
}

typedef void (*ram_fn)(u64 start, u64 end, void *ctx);

/*
 * RAM as the firmware reported it, in bytes, and the parts left unused:
 * below 1 MiB, and at or above `limit`, the end of what can be used, for
 * the reason `why` gives.
 */
static struct {
	u64 total, low, beyond;
	u64 limit;
	char why[80];
} ram;

static void count_ram(u64 start, u64 end, void *ctx)
{
	(void)ctx;
	ram.total += end - start;
	if (start < MiB(1))
		ram.low += MIN(end, MiB(1)) - start;
	if (end > ram.limit)
		ram.beyond += end - MAX(start, ram.limit);
}

/* The firmware's RAM below `limit`; an entry that wraps past 2^64 is no RAM. */
static void for_each_ram_below(const struct mb_info *mbi, u64 limit, ram_fn fn, void *ctx)
{
	u32 p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;

	if (!(mbi->flags & MB_INFO_MEM_MAP)) {
		fn(0, (u64)mbi->mem_lower * 1024, ctx);
		fn(MiB(1), MIN(MiB(1) + (u64)mbi->mem_upper * 1024, limit), ctx);
		return;
	}
	while (p + sizeof(struct mb_mmap_entry) <= end) {
		const struct mb_mmap_entry *e = (const void *)(uintptr_t)p;

		if (e->type == MB_MEMORY_AVAILABLE && e->addr < limit && e->addr + e->len > e->addr)
			fn(e->addr, MIN(e->addr + e->len, limit), ctx);
		p += e->size + 4;
	}
}

/* RAM the hypervisor can use. */
static void for_each_ram(const struct mb_info *mbi, ram_fn fn, void *ctx)
{
	for_each_ram_below(mbi, ram.limit, fn, ctx);
}

/* The end of what this build, on this CPU, can address, and why it ends there. */
static void set_limit(void)
{
	unsigned bits = MIN(pt_native.phys_bits, cpu_phys_bits());

	ram.limit = MIN(1ull << bits, TABLE_LIMIT);
	if (pt_native.phys_bits == 32)
		snprintf(ram.why, sizeof(ram.why), "2-level paging reaches only the first 4 GiB");
	else if (ram.limit == TABLE_LIMIT)
		snprintf(ram.why, sizeof(ram.why), "umbra's frame table covers at most 64 GiB");
	else
		snprintf(ram.why, sizeof(ram.why), "this CPU's physical addresses have %u bits", bits);
}

/*
 * What the firmware called RAM and what became of it: used (the frames
 * the allocator holds, whoever owns them), or unused, each part with its
 * reason. The parts add up to the total; what no reason covers is the
 * partial pages at the ends of the firmware's ranges.
 */
static void report_ram(const struct mb_info *mbi, u64 used)
{
	u64 unused = ram.total - MIN(used, ram.total);
	u64 pieces = unused - MIN(unused, ram.low + ram.beyond);

	klog(LOG_INFO, "umbra: RAM: the firmware reports %llu KiB%s; umbra uses %llu KiB, "
	     "and leaves %llu KiB unused\n", ram.total / 1024,
	     mbi->flags & MB_INFO_MEM_MAP ? "" : " (no memory map: lower and upper memory only)",
	     used / 1024,
	     unused / 1024);
	if (ram.low)
		klog(LOG_INFO, "  %llu KiB below 1 MiB: left to the BIOS and the firmware's tables\n",
		     ram.low / 1024);
	if (ram.beyond && ram.limit % (1ull << 30) == 0)
		klog(LOG_INFO, "  %llu KiB above %llu GiB: %s\n", ram.beyond / 1024, ram.limit >> 30,
		     ram.why);
	else if (ram.beyond)
		klog(LOG_INFO, "  %llu KiB from 0x%llx up: %s\n", ram.beyond / 1024, ram.limit, ram.why);
	if (pieces)
		klog(LOG_INFO, "  %llu KiB in partial pages at the ends of the firmware's ranges\n",
		     pieces / 1024);
	if (frame_count_above())
		klog(LOG_INFO, "umbra: RAM: %u KiB of it lies above the one-to-one map, which ends "
		     "at 0x%llx: guest memory only, reached through a %u-page window\n",
		     frame_count_above() * 4, (u64)frames_direct << PAGE_SHIFT, WINDOW_RING);
}

static u64 used_bytes(void)
{
	u64 frames = 0;

	for (unsigned o = 0; o < FRAME_OWNER_COUNT; o++)
		if (o != FRAME_RESERVED)
			frames += frame_count(o);
	return frames << PAGE_SHIFT;
}

static void find_top(u64 start, u64 end, void *ctx)
{
	u64 *top = ctx;

	(void)start;
	if (end > *top)
		*top = end;
}

struct table_spot {
	u32 bytes;
	paddr_t found;
};

/* First page-aligned place in this range, clear of everything in use. */
static void find_spot(u64 start, u64 end, void *ctx)
{
	struct table_spot *s = ctx;

	for (u64 a = ALIGN_UP(MAX(start, MiB(1)), PAGE_SIZE); !s->found && a + s->bytes <= end;
	     a += PAGE_SIZE)
		if (!overlaps_busy(a, a + s->bytes))
			s->found = a;
}

static void add_ram(u64 start, u64 end, void *ctx)
{
	(void)ctx;
	frame_add_ram(start, end);
}

static void note_busy(const struct mb_info *mbi)
{
	const enum frame_owner hv = FRAME_HYPERVISOR;

	busy_add(0, MiB(1), FRAME_RESERVED);
	busy_add((paddr_t)(uintptr_t)_image_start, (paddr_t)(uintptr_t)_image_end, hv);
	busy_add((paddr_t)(uintptr_t)mbi, (paddr_t)(uintptr_t)mbi + sizeof(*mbi), hv);
	if (mbi->flags & MB_INFO_CMDLINE)
		busy_add(mbi->cmdline, mbi->cmdline + strlen((char *)(uintptr_t)mbi->cmdline) + 1, hv);
	if (mbi->flags & MB_INFO_MEM_MAP)
		busy_add(mbi->mmap_addr, mbi->mmap_addr + mbi->mmap_length, hv);
	if (!(mbi->flags & MB_INFO_MODS))
		return;
	busy_add(mbi->mods_addr, mbi->mods_addr + mbi->mods_count * sizeof(struct mb_module), hv);
	for (u32 i = 0; i < mbi->mods_count; i++) {
		const struct mb_module *m = (const void *)(uintptr_t)(mbi->mods_addr + i * sizeof(*m));

		busy_add(m->start, m->end, FRAME_MODULE);
		if (m->cmdline)
			busy_add(m->cmdline, m->cmdline + strlen((char *)(uintptr_t)m->cmdline) + 1,
				 FRAME_MODULE);
	}
}

static u32 table_bytes(u64 top)
{
	return ALIGN_UP((u32)(top >> PAGE_SHIFT) * (u32)sizeof(struct frame), PAGE_SIZE);
}

/* A place for a table of frames [0, top >> PAGE_SHIFT) in the one-to-one map, or 0. */
static paddr_t place_table(const struct mb_info *mbi, u64 top)
{
	struct table_spot spot = { table_bytes(top), 0 };

	for_each_ram_below(mbi, DIRECT_LIMIT, find_spot, &spot);
	return spot.found;
}

paddr_t boot_mem_init(const struct mb_info *mbi)
{
	u64 top = 0, direct_top = 0;
	paddr_t table;

	if (!(mbi->flags & (MB_INFO_MEM_MAP | MB_INFO_MEMORY)))
		return 0;
	set_limit();
	note_busy(mbi);
	for_each_ram(mbi, find_top, &top);
	table = place_table(mbi, top);
	if (!table && top > DIRECT_LIMIT) {	/* no room to cover it all: only what is mapped */
		ram.limit = DIRECT_LIMIT;
		snprintf(ram.why, sizeof(ram.why), "no room in the one-to-one map for a frame table that covers it");
		top = 0;
		for_each_ram(mbi, find_top, &top);
		table = place_table(mbi, top);
	}
	if (!table)
		return 0;
	for_each_ram_below(mbi, UINT64_MAX, count_ram, NULL);

	for_each_ram_below(mbi, DIRECT_LIMIT, find_top, &direct_top);
	frame_init((struct frame *)(uintptr_t)table, top >> PAGE_SHIFT, direct_top >> PAGE_SHIFT);
	for_each_ram(mbi, add_ram, NULL);
	for (unsigned i = 0; i < nr_busy; i++)
		frame_reserve(busy[i].start, busy[i].end, busy[i].owner);
	frame_reserve(table, table + table_bytes(top), FRAME_HYPERVISOR);
	frame_seal();
	report_ram(mbi, used_bytes());
	return direct_top;
}

bool boot_mem_firmware_range(const struct mb_info *mbi, u64 start, u64 len)
{
	u32 p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;

	if (start + len < start)
		return false;
	if (start + len <= MiB(1))
		return true;
	if (!(mbi->flags & MB_INFO_MEM_MAP))
		return false;
	while (p + sizeof(struct mb_mmap_entry) <= end) {
		const struct mb_mmap_entry *e = (const void *)(uintptr_t)p;

		if (e->type >= MB_MEMORY_AVAILABLE && e->type <= MB_MEMORY_NVS &&
		    start >= e->addr && start + len <= e->addr + e->len)
			return true;
		p += e->size + 4;
	}
	return false;
}
