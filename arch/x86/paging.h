/*
 * Page-table entries, and the two paging formats described as data.
 *
 * umbra builds for one format (PAE=0: 2-level, 32-bit entries; PAE=1:
 * 3-level PAE, 64-bit entries), but every walker works from a struct
 * pt_format so that one piece of code serves both, and so that host-side
 * tests can exercise both formats in one binary.
 */
#ifndef UMBRA_ARCH_PAGING_H
#define UMBRA_ARCH_PAGING_H

#include "../../lib/types.h"
#include "../../guest-abi/include/umbra/abi.h"

/* Entry bits (Intel SDM vol. 3, tables 4-4 to 4-20). */
#define PTE_P		(1ull << 0)	/* present */
#define PTE_W		(1ull << 1)	/* writable */
#define PTE_U		(1ull << 2)	/* user */
#define PTE_PWT		(1ull << 3)	/* write-through */
#define PTE_PCD		(1ull << 4)	/* cache disable */
#define PTE_A		(1ull << 5)	/* accessed */
#define PTE_D		(1ull << 6)	/* dirty (last level only) */
#define PTE_PS		(1ull << 7)	/* large page (PDE) / PAT (PTE) */
#define PTE_G		(1ull << 8)	/* global */
#define PTE_AVAIL	(7ull << 9)	/* free for software */
#define PTE_NX		(1ull << 63)	/* PAE, only with EFER.NXE */

/*
 * The flags a table (non-leaf) entry may carry. D and G mean nothing in an
 * entry that links a table (the CPU ignores them, SDM vol. 3, tables 4-5
 * and 4-9), and a guest that maps a directory into itself finds D set
 * there by umbra's own dirty-bit emulation: accepted, never punished.
 */
#define PTE_TABLE_FLAGS	(PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | PTE_G | PTE_AVAIL)

#define PT_MAX_LEVELS	3

typedef u64 pte_t;

struct pt_level {
	u8 shift;		/* bit where this level's index starts */
	u16 entries;		/* entries in one table of this level */
	pte_t allowed;		/* flag bits a present guest entry may hold */
	bool large;		/* PS here makes the entry a large page, not a table link */
};

struct pt_format {
	const char *name;	/* "2-level" or "PAE" */
	u8 levels;
	u8 entry_bytes;		/* 4 or 8 */
	pte_t addr_mask;	/* the frame-address bits of an entry */
	u32 switcher_base;	/* start of the Switcher region */
	u8 switcher_level;	/* the level whose one entry covers the region */
	u32 large_page;		/* size a PS entry maps at the level above the leaf */
	struct pt_level level[PT_MAX_LEVELS];	/* [0] is the top level */
};

/*
 * The two formats (Intel SDM vol. 3, 4.3 and 4.4). Defined here, static,
 * so that code using the build's own format sees constants and the
 * compiler folds the description away: one algorithm, no cost for it.
 */
#define LEAF_FLAGS	(PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G | PTE_AVAIL)

static const struct pt_format pt_2level = {
	.name = "2-level",
	.levels = 2,
	.entry_bytes = 4,
	.addr_mask = 0xfffff000ull,
	.switcher_base = UMBRA_SWITCHER_BASE_2LEVEL,
	.switcher_level = 0,
	.large_page = MiB(4),
	.level = {
		{ .shift = 22, .entries = 1024, .allowed = PTE_TABLE_FLAGS | PTE_PWT | PTE_PCD,
		  .large = true },
		{ .shift = 12, .entries = 1024, .allowed = LEAF_FLAGS },
	},
};

/*
 * PAE page-directory-pointer entries are loaded into the CPU when CR3 is
 * written and allow only P, PWT and PCD: W, U, A and D are reserved there.
 * umbra never gives the CPU a guest's PDPTE (the shadow's are its own), so
 * it can accept A and D, which its own accessed and dirty emulation sets
 * when a guest maps its PDPT as a page through a self-map.
 */
static const struct pt_format pt_pae = {
	.name = "PAE",
	.levels = 3,
	.entry_bytes = 8,
	.addr_mask = 0x000ffffffffff000ull,
	.switcher_base = UMBRA_SWITCHER_BASE_PAE,
	.switcher_level = 1,
	.large_page = MiB(2),
	.level = {
		{ .shift = 30, .entries = 4,
		  .allowed = PTE_P | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_AVAIL },
		{ .shift = 21, .entries = 512, .allowed = PTE_TABLE_FLAGS | PTE_PWT | PTE_PCD,
		  .large = true },
		{ .shift = 12, .entries = 512, .allowed = LEAF_FLAGS },
	},
};


#if UMBRA_PAE
#define pt_native pt_pae
#else
#define pt_native pt_2level
#endif

static inline unsigned pt_index(const struct pt_format *f, unsigned level, u32 va)
{
	return (va >> f->level[level].shift) & (f->level[level].entries - 1);
}

static inline pte_t pte_get(const struct pt_format *f, const void *table, unsigned i)
{
	if (f->entry_bytes == 8)
		return ((const u64 *)table)[i];
	return ((const u32 *)table)[i];
}

/*
 * A 64-bit PAE entry is written as two 32-bit stores. That is safe here
 * because umbra only edits a shadow table while the CPU is not walking it:
 * the guest it belongs to is not running, and the CPU is uniprocessor.
 */
static inline void pte_set(const struct pt_format *f, void *table, unsigned i, pte_t v)
{
	if (f->entry_bytes == 8)
		((u64 *)table)[i] = v;
	else
		((u32 *)table)[i] = (u32)v;
}

static inline paddr_t pte_addr(const struct pt_format *f, pte_t e)
{
	return (paddr_t)(e & f->addr_mask);
}

static inline mfn_t pte_mfn(const struct pt_format *f, pte_t e)
{
	return pte_addr(f, e) >> PAGE_SHIFT;
}

/* Bytes of address space one entry at this level covers. */
static inline u64 pt_span(const struct pt_format *f, unsigned level)
{
	return 1ull << f->level[level].shift;
}

#endif
