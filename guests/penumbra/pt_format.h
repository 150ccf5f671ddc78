/*
 * The paging format as data. 2-level paging and PAE differ only in the
 * numbers below, so the walks in vm.c and boot_pt.c are written once and
 * read the format they were built for (UMBRA_PAE, a build setting).
 */
#ifndef PENUMBRA_PT_FORMAT_H
#define PENUMBRA_PT_FORMAT_H

#include <stdint.h>

#define PTE_P		0x001u
#define PTE_W		0x002u
#define PTE_U		0x004u
#define PTE_A		0x020u
#define PTE_D		0x040u
/* Software bits (9-11, ignored by the CPU and allowed by umbra). */
#define PTE_COW		0x200u	/* present, read-only until written: copy then */
#define PTE_ZERO	0x400u	/* not present: a zeroed page on first touch */
#define PTE_ADDR	0xfffff000u	/* frames below 4 GiB only */

#define PAGE_SIZE	4096u
#define PT_MAX_LEVELS	3

struct pt_level {
	uint8_t shift;		/* va bits this level's index starts at */
	uint16_t entries;	/* entries in one table of this level */
	uint32_t table_flags;	/* flags of an entry pointing to a table below */
	uint8_t hc;		/* how umbra hears of a change: UMBRA_HC_SET_PGD/PMD/PTE */
};

struct pt_format {
	const char *name;
	uint32_t paging;	/* UMBRA_PAGING_*: the ELF note and CR4.PAE */
	uint8_t levels;
	uint8_t entry_size;	/* bytes */
	struct pt_level level[PT_MAX_LEVELS];	/* top first */
};

/* Both formats; PT is the one this kernel was built for. */
extern const struct pt_format pt_formats[2];
#define PT	(&pt_formats[UMBRA_PAE ? 1 : 0])

static inline __attribute__((always_inline)) unsigned pt_index(const struct pt_format *f, unsigned level, uint32_t va)
{
	return (va >> f->level[level].shift) & (f->level[level].entries - 1u);
}

static inline __attribute__((always_inline)) uint64_t pt_get(const struct pt_format *f, const void *table, unsigned i)
{
	return f->entry_size == 8 ? ((const uint64_t *)table)[i] : ((const uint32_t *)table)[i];
}

static inline __attribute__((always_inline)) void pt_put(const struct pt_format *f, void *table, unsigned i, uint64_t v)
{
	if (f->entry_size == 8)
		((volatile uint64_t *)table)[i] = v;
	else
		((volatile uint32_t *)table)[i] = (uint32_t)v;
}

static inline __attribute__((always_inline)) void *pt_slot(const struct pt_format *f, void *table, unsigned i)
{
	return (char *)table + i * f->entry_size;
}

/* Bytes of va one entry of this level covers. */
static inline __attribute__((always_inline)) uint64_t pt_span(const struct pt_format *f, unsigned level)
{
	return 1ull << f->level[level].shift;
}

#define PT_LEAF(f)	((unsigned)(f)->levels - 1)

#endif
