/*
 * The hypervisor's own page tables: RAM mapped one-to-one with large
 * pages up to the mapping window (window.h), the window's leaf table, and
 * the Switcher's page table linked at the top, in the paging format the
 * hypervisor was built for. Every
 * shadow table links the Switcher's guest-side table at the same address,
 * so the world-switch code runs at one address on both sides of a switch.
 */
#include "hvmap.h"
#include "pt.h"
#include "phys.h"
#include "window.h"
#include "../arch/x86/cpu.h"

static mfn_t top_mfn;

u32 hvmap_cr3(void)
{
	return top_mfn << PAGE_SHIFT;
}

static bool map_large(const struct pt_format *f, void *top, u32 va)
{
	unsigned level = f->dir;
	void *t = pt_table_at(f, top, level, va, true, FRAME_PAGETABLE, NO_GUEST);

	if (!t)
		return false;
	pte_set(f, t, pt_index(f, level, va), va | PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D);
	return true;
}

bool hvmap_init(paddr_t ram_end, mfn_t switcher_pt)
{
	const struct pt_format *f = &pt_native;
	unsigned sl = f->switcher_level;
	void *top, *t;

	top_mfn = frame_alloc_zeroed(FRAME_PAGETABLE, NO_GUEST);
	if (top_mfn == MFN_NONE)
		return false;
	top = mfn_to_virt(top_mfn);
	for (u64 va = 0; va < ram_end && va < WINDOW_BASE; va += f->large_page)
		if (!map_large(f, top, (u32)va))
			return false;
	t = pt_table_at(f, top, f->leaf, WINDOW_BASE, true, FRAME_PAGETABLE, NO_GUEST);
	if (!t)
		return false;
	window_init(t);

	t = pt_table_at(f, top, sl, f->switcher_base, true, FRAME_PAGETABLE, NO_GUEST);
	if (!t)
		return false;
	pte_set(f, t, pt_index(f, sl, f->switcher_base),
		((pte_t)switcher_pt << PAGE_SHIFT) | pt_link_flags(f, sl));

	write_cr4(read_cr4() | f->cr4);
	write_cr3(hvmap_cr3());
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	return true;
}

/*
 * Device registers get a 4 KiB page, uncached, at their own address.
 * Only the hypervisor's tables hold it; a new table may have changed a
 * PAE PDPTE, which the CPU reads only at a CR3 load.
 */
bool hvmap_mmio(paddr_t pa)
{
	const struct pt_format *f = &pt_native;
	unsigned leaf = f->levels - 1;
	void *t;

	if (pa % PAGE_SIZE || pa >= WINDOW_BASE)
		return false;
	t = pt_table_at(f, mfn_to_virt(top_mfn), leaf, (u32)pa, true, FRAME_PAGETABLE, NO_GUEST);
	if (!t || (pte_get(f, t, pt_index(f, leaf, (u32)pa)) & PTE_P))
		return false;
	pte_set(f, t, pt_index(f, leaf, (u32)pa), pa | PTE_P | PTE_W | PTE_PWT | PTE_PCD | PTE_A | PTE_D);
	write_cr3(hvmap_cr3());
	return true;
}
