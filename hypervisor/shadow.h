/*
 * Shadow page tables: the tables the CPU really walks while a guest runs.
 *
 * A guest never sees or writes them. They hold machine addresses, are
 * filled lazily on the guest's page faults, and always link the Switcher's
 * page table at the top of the address space.
 *
 * Before the guest installs page tables of its own it runs on a linear
 * mapping: guest-virtual address v is guest-physical v for every v in
 * [PAGE_SIZE, mem_bytes). Page 0 stays unmapped so a null pointer faults.
 */
#ifndef UMBRA_HV_SHADOW_H
#define UMBRA_HV_SHADOW_H

#include "../lib/types.h"

struct guest;

struct shadow {
	mfn_t top;		/* the top-level table the guest's CR3 points at */
	bool linear;		/* still on the linear boot mapping */
	u64 faults;		/* shadow faults filled in */
};

bool shadow_init(struct guest *g);
void shadow_destroy(struct guest *g);

/* The CR3 to load for this guest. */
u32 shadow_cr3(const struct guest *g);

/*
 * A page fault from the guest at va with the CPU's error code. Returns
 * true if a shadow entry now maps it and the guest can retry; false if the
 * guest's own mappings do not allow the access (the fault is the guest's).
 */
bool shadow_fault(struct guest *g, gva_t va, u32 errcode);

/* One line of statistics for the debug keys. */
void shadow_print_stats(const struct guest *g);

/*
 * Translate a guest-virtual address the guest handed to a hypercall, for a
 * read (or a write if `write`). False if the guest has no such mapping.
 */
bool shadow_translate(struct guest *g, gva_t va, bool write, gpa_t *gpa);

#endif
