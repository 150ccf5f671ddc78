/*
 * The first page table: all of physical memory at KBASE (the kernel's
 * direct map, which every address space will share) plus the low 4 MiB at
 * their own address, so that the .boot code keeps running once the table
 * is in use. Its pages come from just above the kernel image.
 */
#include "boot.h"

#define IDENTITY_END	0x400000u

static BOOT uint32_t boot_zero_page(uint32_t *next)
{
	uint32_t pa = *next;

	for (volatile uint32_t *w = (uint32_t *)pa; w < (uint32_t *)(pa + PAGE_SIZE); w++)
		*w = 0;
	*next += PAGE_SIZE;
	return pa;
}

static BOOT void boot_map(const struct pt_format *f, uint32_t top, uint32_t va, uint32_t pa,
			  uint32_t *next)
{
	void *table = (void *)top;

	for (unsigned l = 0; l < PT_LEAF(f); l++) {
		unsigned i = pt_index(f, l, va);
		uint64_t e = pt_get(f, table, i);

		if (!(e & PTE_P)) {
			e = boot_zero_page(next) | f->level[l].table_flags;
			pt_put(f, table, i, e);
		}
		table = (void *)(uint32_t)(e & PTE_ADDR);
	}
	pt_put(f, table, pt_index(f, PT_LEAF(f), va), pa | PTE_P | PTE_W | PTE_A | PTE_D);
}

void boot_page_table(uint32_t mem_end)
{
	const struct pt_format *f = LOW(PT);
	struct boot_params *bp = LOW(&boot_params);
	uint32_t next = (V2P(_end) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint32_t top;

	if (mem_end > BOOT_MEM_MAX)
		mem_end = BOOT_MEM_MAX;
	mem_end &= ~(PAGE_SIZE - 1);
	top = boot_zero_page(&next);
	for (uint32_t pa = PAGE_SIZE; pa < mem_end; pa += PAGE_SIZE) {
		boot_map(f, top, KBASE + pa, pa, &next);
		if (pa < IDENTITY_END)
			boot_map(f, top, pa, pa, &next);
	}
	bp->mem_end = mem_end;
	bp->free_start = next;
	bp->kernel_top = top;
}
