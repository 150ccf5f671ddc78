/*
 * The page-table walker of pt.h: finding (and, on request, creating) the
 * table at a given level for an address, and freeing a tree of tables by
 * reference count. The format (2-level or PAE) is a value passed in, so one
 * body serves the hypervisor's tables, the shadows and the host tests.
 */
#include "pt.h"
#include "phys.h"

void *pt_table_at(const struct pt_format *f, void *top, unsigned level, u32 va,
		  bool create, enum frame_owner owner, u8 guest)
{
	void *table = top;

	for (unsigned l = 0; l < level; l++) {
		unsigned i = pt_index(f, l, va);
		pte_t e = pte_get(f, table, i);

		if (!(e & PTE_P)) {
			mfn_t m;

			if (!create)
				return NULL;
			m = frame_alloc_zeroed(owner, guest);
			if (m == MFN_NONE)
				return NULL;
			e = ((pte_t)m << PAGE_SHIFT) | pt_link_flags(f, l);
			pte_set(f, table, i, e);
		} else if (f->level[l].large && (e & PTE_PS)) {
			return NULL;
		}
		table = phys_to_virt(pte_addr(f, e));
	}
	return table;
}

void pt_put_tree(const struct pt_format *f, mfn_t table, unsigned level)
{
	void *t = mfn_to_virt(table);

	if (frame_info(table)->refs > 1 || level + 1 == f->levels) {
		frame_put(table);
		return;
	}
	for (unsigned i = 0; i < f->level[level].entries; i++) {
		pte_t e = pte_get(f, t, i);

		if ((e & PTE_P) && !(f->level[level].large && (e & PTE_PS)))
			pt_put_tree(f, pte_mfn(f, e), level + 1);
	}
	frame_put(table);
}
