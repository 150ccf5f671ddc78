/*
 * The guest's own page tables, as the hypervisor reads them: entries in
 * guest memory, in the build's format, holding guest-physical addresses.
 * Nothing here is trusted until guest_entry_valid() has passed it; the
 * walk itself is inline in guest_pt.h, for the fault path.
 */
#include "guest_pt.h"
#include "guest_mem.h"

#define F	(&pt_native)
#define LEAF	(F->levels - 1u)

bool guest_entry_check(struct guest *g, const char *who, unsigned level, gva_t va, pte_t e)
{
	pte_t reserved = e & ~(F->level[level].allowed | F->addr_mask);
	u64 frame = (e & F->addr_mask) >> PAGE_SHIFT;

	if (F->level[level].large && (e & PTE_PS))
		guest_kill(g, "%s: entry 0x%llx for 0x%x is a large page; umbra supports 4 KiB pages only",
			   who, e, va);
	else if (reserved)
		guest_kill(g, "%s: entry 0x%llx for 0x%x sets reserved or non-table bits 0x%llx",
			   who, e, va, reserved);
	else if (frame >= g->nr_pfns)
		guest_kill(g, "%s: entry 0x%llx for 0x%x: frame 0x%llx beyond limit 0x%x",
			   who, e, va, frame, g->nr_pfns);
	else
		return true;
	return false;
}

void guest_set_accessed(struct guest *g, struct gwalk *w, bool write)
{
	for (unsigned l = (F->levels == 3); l < F->levels; l++) {
		pte_t e = w->e[l] | PTE_A | (l == LEAF && write ? PTE_D : 0);

		if (e != w->e[l]) {
			w->e[l] = e;
			guest_pte_write(g, w->at[l], e);
		}
	}
}
