/*
 * Audit mode (audit=1 on the hypervisor's command line): before the guest
 * runs on a shadow top level that was switched to or flushed, every
 * present entry in it is compared with what the guest's own tables say
 * now, by the same rules the shadow was built by (invariant 1 of
 * shadow.c): the same frame, user only if every level says user, writable
 * only if every level says writable and the leaf is dirty. A disagreement
 * kills the guest with both translations and the likely cause: a change
 * the guest did not announce, most often a table freed and reused for
 * another address space without UMBRA_HC_RELEASE_PGTABLE.
 *
 * It costs a walk of the guest's tables per shadow entry, so it is off by
 * default; it is for porting a kernel, not for running one.
 */
#include "shadow.h"
#include "guest.h"
#include "guest_pt.h"
#include "../mm/phys.h"
#include "../lib/format.h"

#define F	(&pt_native)
#define LEAF	(F->leaf)

/* What the guest's tables say of va, if it is not what s says; NULL if they agree. */
static const char *disagreement(struct guest *g, gpa_t cr3, gva_t va, pte_t s, char *buf, size_t n)
{
	struct gwalk w;
	int r = guest_walk(g, "audit", cr3, va, F->levels, &w);
	pfn_t pfn;

	if (r < 0)
		return "a bad entry";
	if (r < (int)F->levels) {
		snprintf(buf, n, "nothing (level %d not present)", r);
		return buf;
	}
	pfn = (pfn_t)(pte_addr(F, w.e[LEAF]) >> PAGE_SHIFT);
	if (guest_p2m(g, pfn) != pte_mfn(F, s)) {
		snprintf(buf, n, "guest frame 0x%x (machine 0x%x)", pfn, guest_p2m(g, pfn));
		return buf;
	}
	if ((s & PTE_W) && !(w.write && (w.e[LEAF] & PTE_D)))
		return "no write (or a clean page)";
	if ((s & PTE_U) && !w.user)
		return "no ring-3 access";
	return NULL;
}

/* Check the leaf table at `leaf` covering [base, base + span); false once killed. */
static bool audit_leaf(struct guest *g, gpa_t cr3, mfn_t leaf, u32 base, const char *when)
{
	const void *t = mfn_to_virt(leaf);
	char buf[96];

	for (unsigned i = 0; i < F->level[LEAF].entries; i++) {
		pte_t s = pte_get(F, t, i);
		gva_t va = base + (i << PAGE_SHIFT);
		const char *why;

		if (!(s & PTE_P) || !(why = disagreement(g, cr3, va, s, buf, sizeof(buf))))
			continue;
		if (g->state == GUEST_DYING)
			return false;
		guest_kill(g, "audit at %s: the shadow of table 0x%x maps 0x%x to machine frame "
			   "0x%llx%s, the guest's tables say %s: freed and reused without "
			   "release_pgtable, or changed without set_pte?", when, cr3, va,
			   (u64)pte_mfn(F, s), (s & PTE_W) ? " writable" : "", why);
		return false;
	}
	return true;
}

/* Walk the shadow tree below `table` (a table at `level` covering base..). */
static bool audit_table(struct guest *g, gpa_t cr3, mfn_t table, unsigned level, u32 base,
			const char *when)
{
	const void *t = mfn_to_virt(table);

	if (level == LEAF)
		return audit_leaf(g, cr3, table, base, when);
	for (unsigned i = 0; i < F->level[level].entries; i++) {
		u64 va = base + ((u64)i << F->level[level].shift);
		pte_t e = pte_get(F, t, i);

		if (va >= F->switcher_base)
			break;
		if ((e & PTE_P) && !audit_table(g, cr3, pte_mfn(F, e), level + 1, (u32)va, when))
			return false;
	}
	return true;
}

bool shadow_audit(struct guest *g, const struct shadow_top *t, const char *when)
{
	if (g->shadow.linear || t->cr3 == NO_TABLE)
		return true;
	return audit_table(g, t->cr3, t->top, 0, 0, when);
}
