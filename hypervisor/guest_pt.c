/*
 * The guest's own page tables, as the hypervisor reads them: entries in
 * guest memory, in the build's format, holding guest-physical addresses.
 * Nothing here is trusted until guest_entry_check() has passed it.
 */
#include "guest_pt.h"
#include "guest_mem.h"

#define F	(&pt_native)
#define LEAF	(F->levels - 1u)

pte_t guest_pte_read(struct guest *g, gpa_t a)
{
	void *p = guest_phys_ptr(g, a);

	return F->entry_bytes == 8 ? *(u64 *)p : *(u32 *)p;
}

void guest_pte_write(struct guest *g, gpa_t a, pte_t v)
{
	void *p = guest_phys_ptr(g, a);

	if (F->entry_bytes == 8)
		*(u64 *)p = v;
	else
		*(u32 *)p = (u32)v;
}

bool guest_entry_valid(const struct guest *g, unsigned level, pte_t e)
{
	return !(e & ~(F->level[level].allowed | F->addr_mask)) &&
	       (e & F->addr_mask) >> PAGE_SHIFT < g->nr_pfns;
}

bool guest_entry_check(struct guest *g, const char *who, unsigned level, gva_t va, pte_t e)
{
	pte_t reserved = e & ~(F->level[level].allowed | F->addr_mask);
	u64 frame = (e & F->addr_mask) >> PAGE_SHIFT;

	if (guest_entry_valid(g, level, e))
		return true;
	if (level < LEAF && !(F->levels == 3 && level == 0) && (e & PTE_PS))
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

int guest_walk(struct guest *g, const char *who, gpa_t cr3, gva_t va, unsigned stop,
	       struct gwalk *w)
{
	gpa_t table = cr3;

	w->write = w->user = true;
	for (unsigned l = 0; l < stop; l++) {
		pte_t e;

		if (l == LEAF) {
			w->dir_write = w->write;
			w->dir_user = w->user;
		}
		w->at[l] = table + pt_index(F, l, va) * F->entry_bytes;
		w->e[l] = e = guest_pte_read(g, w->at[l]);
		if (!(e & PTE_P))
			return (int)l;
		if (!guest_entry_check(g, who, l, va, e))
			return -1;
		if (F->levels == 2 || l > 0) {
			w->write &= !!(e & PTE_W);
			w->user &= !!(e & PTE_U);
		}
		table = pte_addr(F, e);
	}
	return (int)stop;
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
