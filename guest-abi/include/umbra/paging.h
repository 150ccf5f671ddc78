/*
 * Page tables for umbra guests: the entry bits, the format the guest was
 * built for, and a small library that builds tables in guest memory and
 * keeps the hypervisor told (UMBRA_HC_SET_PTE and friends).
 *
 * The library assumes what a simple kernel does: page tables are allocated
 * from a pool of guest-physical pages that are also mapped at the same
 * virtual address (so a table's address is its pointer).
 */
#ifndef UMBRA_PAGING_H
#define UMBRA_PAGING_H

#include <stdint.h>
#include "runtime.h"

#define UMBRA_PTE_P	0x001u
#define UMBRA_PTE_W	0x002u
#define UMBRA_PTE_U	0x004u
#define UMBRA_PTE_A	0x020u
#define UMBRA_PTE_D	0x040u
#define UMBRA_PTE_PS	0x080u
#define UMBRA_TABLE	(UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A)
#define UMBRA_PAGE	4096u

#if UMBRA_PAE
typedef uint64_t umbra_pte_t;
#define UMBRA_PT_LEVELS		3
#define UMBRA_PT_TOP_ENTRIES	4
#define UMBRA_PT_ENTRIES	512
#define UMBRA_PT_DIR_SHIFT	21	/* one leaf table maps 2 MiB */
#else
typedef uint32_t umbra_pte_t;
#define UMBRA_PT_LEVELS		2
#define UMBRA_PT_TOP_ENTRIES	1024
#define UMBRA_PT_ENTRIES	1024
#define UMBRA_PT_DIR_SHIFT	22	/* one leaf table maps 4 MiB */
#endif

static inline long umbra_new_pgtable(uint32_t top)
{
	return umbra_hcall(UMBRA_HC_NEW_PGTABLE, top, 0, 0, 0);
}

static inline long umbra_set_pte(uint32_t top, uint32_t va, umbra_pte_t v)
{
	return umbra_hcall(UMBRA_HC_SET_PTE, top, va, (uint32_t)v, (uint32_t)((uint64_t)v >> 32));
}

static inline long umbra_set_pmd(uint32_t top, uint32_t va, umbra_pte_t v)
{
	return umbra_hcall(UMBRA_HC_SET_PMD, top, va, (uint32_t)v, (uint32_t)((uint64_t)v >> 32));
}

static inline long umbra_set_pgd(uint32_t top, uint32_t index, umbra_pte_t v)
{
	return umbra_hcall(UMBRA_HC_SET_PGD, top, index, (uint32_t)v, (uint32_t)((uint64_t)v >> 32));
}

static inline long umbra_flush(uint32_t kind, uint32_t va)
{
	return umbra_hcall(UMBRA_HC_FLUSH_TLB, kind, va, 0, 0);
}

/* The leaf entries of [va, va + pages pages) in `top` were written in place. */
static inline long umbra_update_range(uint32_t top, uint32_t va, uint32_t pages)
{
	return umbra_hcall(UMBRA_HC_UPDATE_RANGE, top, va, pages, 0);
}

/*
 * Clear W in every present leaf entry of [va, va + pages pages) that has
 * it, and set `set` (bits 9-11) there; returns how many changed.
 */
static inline long umbra_protect_range(uint32_t top, uint32_t va, uint32_t pages, uint32_t set)
{
	return umbra_hcall(UMBRA_HC_PROTECT_RANGE, top, va, pages, set);
}

static inline long umbra_mmu_update(struct umbra_mmu_update *u, uint32_t n)
{
	return umbra_hcall(UMBRA_HC_MMU_UPDATE, (uint32_t)(uintptr_t)u, n, 0, 0);
}

/* NEW_PGTABLE(top) and, if esp is not 0, SET_STACK(UMBRA_KERNEL_DS, esp, pages). */
static inline long umbra_switch(uint32_t top, uint32_t esp, uint32_t pages)
{
	return umbra_hcall(UMBRA_HC_SWITCH, top, esp, pages, 0);
}

static inline long umbra_multicall(struct umbra_multicall *calls, uint32_t n)
{
	return umbra_hcall(UMBRA_HC_MULTICALL, (uint32_t)(uintptr_t)calls, n, 0, 0);
}

/* Page-table pages come from [start, end), guest-physical = virtual. */
void umbra_pt_pool(uint32_t start, uint32_t end);
uint32_t umbra_pt_page(void);	/* a zeroed page, or 0 when the pool is empty */

/* A new top-level table (PAE: with its four directories linked). */
uint32_t umbra_pt_new_top(void);

/*
 * Map one page: va -> pa with flags (UMBRA_PTE_*), making the leaf table if
 * needed. The entry is written and announced; while a batch is open the
 * announcement is queued instead. Returns 0 or a negative error.
 */
long umbra_map(uint32_t top, uint32_t va, uint32_t pa, uint32_t flags);
long umbra_unmap(uint32_t top, uint32_t va);

/* The guest's own leaf entry for va (0 if no leaf table). */
umbra_pte_t umbra_pte(uint32_t top, uint32_t va);

/* Where that entry lives, or NULL: for writes the hypervisor is not told of. */
umbra_pte_t *umbra_pte_slot(uint32_t top, uint32_t va);

/* Link the leaf table of `from` for va's directory slot into `top` too. */
long umbra_share_dir(uint32_t top, uint32_t from, uint32_t va);

/*
 * Queue set_pte announcements until umbra_batch_end(), which sends them in
 * one multicall per 1024. It returns how many were sent, or the first error.
 */
void umbra_batch_begin(void);
long umbra_batch_end(void);

#endif
