/*
 * Reading, checking and walking a guest's own page tables (guest_pt.c).
 * The shadow code builds on this; nothing else reads guest tables.
 */
#ifndef UMBRA_HV_GUEST_PT_H
#define UMBRA_HV_GUEST_PT_H

#include "guest.h"
#include "../arch/x86/paging.h"

/* One walk down the guest's tables for one address. */
struct gwalk {
	gpa_t at[PT_MAX_LEVELS];	/* where each entry lives in guest memory */
	pte_t e[PT_MAX_LEVELS];
	bool write, user;		/* what the levels walked allow together */
	bool dir_write, dir_user;	/* the same above the leaf level */
};

/* The entry at guest-physical a (inside guest memory). */
pte_t guest_pte_read(struct guest *g, gpa_t a);
void guest_pte_write(struct guest *g, gpa_t a, pte_t v);

/* A present entry at `level` uses allowed bits only and maps guest memory. */
bool guest_entry_valid(const struct guest *g, unsigned level, pte_t e);

/* The same, but a bad entry ends the guest with a reason naming `who`, va and e. */
bool guest_entry_check(struct guest *g, const char *who, unsigned level, gva_t va, pte_t e);

/*
 * Walk the guest's tables for va from its top-level table at cr3, down to
 * (not including) level `stop`. Returns the level of the first entry that
 * is not present, `stop` if all were, or -1 if an entry was bad (the guest
 * is then dead).
 */
int guest_walk(struct guest *g, const char *who, gpa_t cr3, gva_t va, unsigned stop,
	       struct gwalk *w);

/* Set A on every level walked (PAE's top level has none), and D if writing. */
void guest_set_accessed(struct guest *g, struct gwalk *w, bool write);

#endif
