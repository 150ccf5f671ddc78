/*
 * The frame allocator's first state, from the bootloader's memory map.
 *
 * Before any frame can be allocated, the allocator's own table needs a
 * home: the highest usable address fixes its size, and it goes in the
 * first page-aligned place above 1 MiB that holds nothing the bootloader
 * left there (the low 1 MiB, the hypervisor image, the Multiboot
 * information, the modules and their command lines). Those ranges are
 * reserved under their owners, so that the boot figures and the `m`
 * debug key say who holds what, and the rest becomes free. RAM at or above the
 * Switcher region is left out, since the hypervisor maps RAM one-to-one
 * only below it; so is RAM above 4 GiB, which 2-level paging cannot reach
 * and which the PAE build does not use yet (its frames, the frame table
 * and the one-to-one map are all 32-bit). The boot says how much RAM the
 * firmware reported, how much is used, and what is left and why: on a PC
 * with more than about 3 GiB the firmware moves the RAM that the PCI hole
 * below 4 GiB would hide above 4 GiB, where it goes unused for now.
 */
#include "boot_mem.h"
#include "frame.h"
#include "../arch/x86/paging.h"
#include "../arch/x86/switcher_layout.h"
#include "../hypervisor/console.h"
#include "../lib/string.h"

extern char _image_start[], _image_end[];

/*
 * RAM the hypervisor can use ends below the Switcher region: above it is
 * not mapped one-to-one, and usable frames must be reachable.
 */
#define RAM_LIMIT	((u64)SWITCHER_BASE)

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

#define GiB4		(1ull << 32)

typedef void (*ram_fn)(u64 start, u64 end, void *ctx);

/* RAM as the firmware reported it, in bytes, and the parts left unused. */
static struct {
	u64 total, low, above_4g, beyond_map;
} ram;

static void count_ram(u64 start, u64 end, void *ctx)
{
	(void)ctx;
	ram.total += end - start;
	if (start < MiB(1))
		ram.low += MIN(end, MiB(1)) - start;
	if (end > GiB4)
		ram.above_4g += end - MAX(start, GiB4);
	if (start < GiB4 && end > RAM_LIMIT)
		ram.beyond_map += MIN(end, GiB4) - MAX(start, RAM_LIMIT);
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
	for_each_ram_below(mbi, RAM_LIMIT, fn, ctx);
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
	u64 pieces = unused - MIN(unused, ram.low + ram.above_4g + ram.beyond_map);

	klog(LOG_INFO, "umbra: RAM: the firmware reports %llu KiB%s; umbra uses %llu KiB, "
	     "and leaves %llu KiB unused\n", ram.total / 1024,
	     mbi->flags & MB_INFO_MEM_MAP ? "" : " (no memory map: lower and upper memory only)",
	     used / 1024,
	     unused / 1024);
	if (ram.low)
		klog(LOG_INFO, "  %llu KiB below 1 MiB: left to the BIOS and the firmware's tables\n",
		     ram.low / 1024);
	if (ram.beyond_map)
		klog(LOG_INFO, "  %llu KiB from 0x%x to 4 GiB: the hypervisor maps RAM one-to-one "
		     "only below its Switcher region\n", ram.beyond_map / 1024, (u32)RAM_LIMIT);
	if (ram.above_4g)
		klog(LOG_INFO, "  %llu KiB above 4 GiB: %s\n", ram.above_4g / 1024,
		     pt_native.levels == 2 ? "2-level paging reaches only the first 4 GiB"
					   : "this PAE build does not use RAM above 4 GiB yet");
	if (pieces)
		klog(LOG_INFO, "  %llu KiB in partial pages at the ends of the firmware's ranges\n",
		     pieces / 1024);
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

paddr_t boot_mem_init(const struct mb_info *mbi)
{
	u64 top = 0;
	struct table_spot spot = { 0, 0 };
	mfn_t nframes;

	if (!(mbi->flags & (MB_INFO_MEM_MAP | MB_INFO_MEMORY)))
		return 0;
	for_each_ram_below(mbi, UINT64_MAX, count_ram, NULL);
	for_each_ram(mbi, find_top, &top);
	nframes = top >> PAGE_SHIFT;
	note_busy(mbi);
	spot.bytes = ALIGN_UP(nframes * sizeof(struct frame), PAGE_SIZE);
	for_each_ram(mbi, find_spot, &spot);
	if (!spot.found)
		return 0;

	frame_init((struct frame *)(uintptr_t)spot.found, nframes);
	for_each_ram(mbi, add_ram, NULL);
	for (unsigned i = 0; i < nr_busy; i++)
		frame_reserve(busy[i].start, busy[i].end, busy[i].owner);
	frame_reserve(spot.found, spot.found + spot.bytes, FRAME_HYPERVISOR);
	frame_seal();
	report_ram(mbi, used_bytes());
	return (paddr_t)top;
}
