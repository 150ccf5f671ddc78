/*
 * Reading, checking and walking a guest's own page tables (guest_pt.c).
 * The shadow code builds on this; nothing else reads guest tables.
 */
#ifndef UMBRA_HV_GUEST_PT_H
#define UMBRA_HV_GUEST_PT_H

#include "guest.h"
#include "guest_mem.h"
#include "../arch/x86/paging.h"

/* One walk down the guest's tables for one address. */
struct gwalk {
	gpa_t at[PT_MAX_LEVELS];	/* where each entry lives in guest memory */
	pte_t e[PT_MAX_LEVELS];
	bool write, user;		/* what the levels walked allow together */
	bool dir_write, dir_user;	/* the same above the leaf level */
};

/* The entry at guest-physical a (inside guest memory). */
static inline pte_t guest_pte_read(struct guest *g, gpa_t a)
{
	void *p = guest_phys_ptr(g, a);

	return pt_native.entry_bytes == 8 ? *(u64 *)p : *(u32 *)p;
}

static inline void guest_pte_write(struct guest *g, gpa_t a, pte_t v)
{
	void *p = guest_phys_ptr(g, a);

	if (pt_native.entry_bytes == 8)
		*(u64 *)p = v;
	else
		*(u32 *)p = (u32)v;
}

/* A present entry at `level` uses allowed bits only and maps guest memory. */
static inline bool guest_entry_valid(const struct guest *g, unsigned level, pte_t e)
{
	return !(e & ~(pt_native.level[level].allowed | pt_native.addr_mask)) &&
	       (e & pt_native.addr_mask) >> PAGE_SHIFT < g->nr_pfns;
}

/*
 * The same test, ending the guest if e is bad, with a reason that names
 * `who`, va, e and what is wrong with it. Returns whether e was good.
 */
bool guest_entry_check(struct guest *g, const char *who, unsigned level, gva_t va, pte_t e);
/* The same, for an entry named by where it lives (MMU_UPDATE). */
bool guest_entry_check_gpa(struct guest *g, const char *who, unsigned level, gpa_t at, pte_t e);

/*
 * Walk the guest's tables for va from its top-level table at cr3, down to
 * (not including) level `stop`. Returns the level of the first entry that
 * is not present, `stop` if all were, or -1 if an entry was bad (the guest
 * is then dead).
 */
static inline int guest_walk(struct guest *g, const char *who, gpa_t cr3, gva_t va,
			     unsigned stop, struct gwalk *w)
{
	gpa_t table = cr3;

	w->write = w->user = true;
	for (unsigned l = 0; l < stop; l++) {
		pte_t e;

		if (l == pt_native.levels - 1u) {
			w->dir_write = w->write;
			w->dir_user = w->user;
		}
		w->at[l] = table + pt_index(&pt_native, l, va) * pt_native.entry_bytes;
		w->e[l] = e = guest_pte_read(g, w->at[l]);
		if (!(e & PTE_P))
			return (int)l;
		if (!guest_entry_valid(g, l, e)) {
			guest_entry_check(g, who, l, va, e);
			return -1;
		}
		if (pt_native.levels == 2 || l > 0) {
			w->write &= !!(e & PTE_W);
			w->user &= !!(e & PTE_U);
		}
		table = pte_addr(&pt_native, e);
	}
	return (int)stop;
}

/* Set A on every level walked (PAE's top level has none), and D if writing. */
void guest_set_accessed(struct guest *g, struct gwalk *w, bool write);

#endif
