/*
 * The guest's own page tables, as the hypervisor reads them: entries in
 * guest memory, in the build's format, holding guest-physical addresses.
 * Nothing here is trusted until guest_entry_valid() has passed it; the
 * walk itself is inline in guest_pt.h, for the fault path.
 */
#include "guest_pt.h"
#include "guest_mem.h"
#include "../lib/format.h"

#define F	(&pt_native)
#define LEAF	(F->leaf)

/* `place` says where e is, for the message: "for 0x40000000", "at gpa 0x5008". */
static bool check_at(struct guest *g, const char *who, unsigned level, const char *place, pte_t e)
{
	pte_t reserved = e & ~(F->level[level].allowed | F->addr_mask);
	u64 frame = (e & F->addr_mask) >> PAGE_SHIFT;

	if (F->level[level].large && (e & PTE_PS))
		guest_kill(g, "%s: entry 0x%llx %s is a large page; umbra supports 4 KiB pages only",
			   who, e, place);
	else if (reserved)
		guest_kill(g, "%s: entry 0x%llx %s sets reserved or non-table bits 0x%llx",
			   who, e, place, reserved);
	else if (frame >= g->nr_pfns)
		guest_kill(g, "%s: entry 0x%llx %s: frame 0x%llx beyond limit 0x%x",
			   who, e, place, frame, g->nr_pfns);
	else
		return true;
	return false;
}

/* The message is made only for a bad entry: these checks are on the update paths. */
static bool check_placed(struct guest *g, const char *who, unsigned level, pte_t e,
			 const char *fmt, u32 where)
{
	char place[24];

	if (guest_entry_valid(g, level, e))
		return true;
	snprintf(place, sizeof(place), fmt, where);
	return check_at(g, who, level, place, e);
}

bool guest_entry_check(struct guest *g, const char *who, unsigned level, gva_t va, pte_t e)
{
	return check_placed(g, who, level, e, "for 0x%x", va);
}

bool guest_entry_check_gpa(struct guest *g, const char *who, unsigned level, gpa_t at, pte_t e)
{
	return check_placed(g, who, level, e, "at gpa 0x%x", at);
}

void guest_set_accessed(struct guest *g, struct gwalk *w, bool write)
{
	for (unsigned l = 0; l < F->levels; l++) {
		pte_t e = w->e[l] | PTE_A | (l == LEAF && write ? PTE_D : 0);

		if (F->level[l].accessed && e != w->e[l]) {
			w->e[l] = e;
			guest_pte_write(g, w->at[l], e);
		}
	}
}
