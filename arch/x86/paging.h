/*
 * Page-table entries, and the two paging formats described as data.
 *
 * umbra builds for one format (PAE=0: 2-level, 32-bit entries; PAE=1:
 * 3-level PAE, 64-bit entries), and every difference between the two is a
 * field of struct pt_format: the levels, per level its index bits, what a
 * guest entry may hold, how a table is linked, whether W/U count and A is
 * kept, large pages; per format the leaf and directory levels, the top's
 * alignment, the CR4 bit, the ABI's code and whether SET_PMD exists. Code
 * reads the fields, never the number of levels. The walkers (mm/pt.c) take
 * the format as a value, so their host tests cover both in one binary; the
 * shadow code uses the build's own format (pt_native) as constants, which
 * the compiler folds away, so its host tests are built once per format.
 */
#ifndef UMBRA_ARCH_PAGING_H
#define UMBRA_ARCH_PAGING_H

#include "../../lib/types.h"
#include "../../guest-abi/include/umbra/abi.h"
#include "cpu.h"

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
	pte_t link;		/* the flags of an entry that links a table of the next level */
	bool large;		/* PS here makes the entry a large page, not a table link */
	bool rights;		/* W and U here count (the PAE PDPT has neither) */
	bool accessed;		/* the CPU sets A here, so umbra keeps it true too */
};

struct pt_format {
	const char *name;	/* "2-level" or "PAE" */
	u8 levels;
	u8 leaf;		/* the level of the tables that map pages: levels - 1 */
	u8 dir;			/* the level whose entries link leaf tables: levels - 2 */
	u8 entry_bytes;		/* 4 or 8 */
	pte_t addr_mask;	/* the frame-address bits of an entry */
	u8 phys_bits;		/* the widest machine address an entry holds (the CPU's may be less) */
	u32 top_align;		/* alignment of a top-level table in bytes */
	u32 cr4;		/* the CR4 bit that turns the format (and its large pages) on */
	u32 abi;		/* UMBRA_PAGING_2LEVEL or UMBRA_PAGING_PAE, in a guest's note */
	bool set_pmd;		/* whether SET_PMD names a level (the directory) */
	u32 switcher_base;	/* start of the Switcher region */
	u8 switcher_level;	/* the level whose one entry covers the region */
	u32 large_page;		/* size a PS entry maps at the level above the leaf */
	struct pt_level level[PT_MAX_LEVELS];	/* [0] is the top level */
};

#define PTE_LINK	(PTE_P | PTE_W | PTE_U | PTE_A)

/*
 * The two formats (Intel SDM vol. 3, 4.3 and 4.4). Defined here, static,
 * so that code using the build's own format sees constants and the
 * compiler folds the description away: one algorithm, no cost for it.
 */
#define LEAF_FLAGS	(PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G | PTE_AVAIL)

static const struct pt_format pt_2level = {
	.name = "2-level",
	.levels = 2,
	.leaf = 1,
	.dir = 0,
	.entry_bytes = 4,
	.addr_mask = 0xfffff000ull,
	.phys_bits = 32,
	.top_align = 4096,
	.cr4 = CR4_PSE,
	.abi = UMBRA_PAGING_2LEVEL,
	.set_pmd = false,
	.switcher_base = UMBRA_SWITCHER_BASE_2LEVEL,
	.switcher_level = 0,
	.large_page = MiB(4),
	.level = {
		{ .shift = 22, .entries = 1024, .allowed = PTE_TABLE_FLAGS | PTE_PWT | PTE_PCD,
		  .link = PTE_LINK, .large = true, .rights = true, .accessed = true },
		{ .shift = 12, .entries = 1024, .allowed = LEAF_FLAGS, .rights = true, .accessed = true },
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
	.leaf = 2,
	.dir = 1,
	.entry_bytes = 8,
	.addr_mask = 0x000ffffffffff000ull,
	.phys_bits = 52,
	.top_align = 32,
	.cr4 = CR4_PAE,
	.abi = UMBRA_PAGING_PAE,
	.set_pmd = true,
	.switcher_base = UMBRA_SWITCHER_BASE_PAE,
	.switcher_level = 1,
	.large_page = MiB(2),
	.level = {
		{ .shift = 30, .entries = 4,
		  .allowed = PTE_P | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_AVAIL, .link = PTE_P },
		{ .shift = 21, .entries = 512, .allowed = PTE_TABLE_FLAGS | PTE_PWT | PTE_PCD,
		  .link = PTE_LINK, .large = true, .rights = true, .accessed = true },
		{ .shift = 12, .entries = 512, .allowed = LEAF_FLAGS, .rights = true, .accessed = true },
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
