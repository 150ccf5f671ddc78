#include "shadow.h"
#include "console.h"
#include "guest.h"
#include "../arch/x86/paging.h"
#include "../arch/x86/switcher.h"
#include "../mm/phys.h"
#include "../mm/pt.h"

#define F	(&pt_native)

/*
 * The linear boot mapping is open to ring 3 as well: like a CPU with
 * paging off, a guest without page tables has no user/supervisor split.
 */
#define LINEAR_FLAGS	(PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)

/* The shared Switcher table is linked into every shadow, never freed by one. */
static bool is_switcher(unsigned level, unsigned index, pte_t e, void *ctx)
{
	(void)level, (void)index, (void)ctx;
	return pte_mfn(F, e) == switcher_guest_pt();
}

static mfn_t shadow_frame(struct guest *g)
{
	return frame_alloc_zeroed(FRAME_SHADOW, g->id);
}

/*
 * PAE loads the four top-level entries into the CPU with CR3 and does not
 * look at them again, so a shadow keeps all four present from the start,
 * each pointing at a directory of its own that may simply be empty.
 */
static bool fill_top(struct guest *g, void *top)
{
	if (F->levels != 3)
		return true;
	for (unsigned i = 0; i < F->level[0].entries; i++) {
		mfn_t m = shadow_frame(g);

		if (m == MFN_NONE)
			return false;
		pte_set(F, top, i, ((pte_t)m << PAGE_SHIFT) | pt_link_flags(F, 0));
	}
	return true;
}

static void link_switcher(void *top)
{
	unsigned l = F->switcher_level;
	void *t = pt_table_at(F, top, l, F->switcher_base, false, FRAME_SHADOW, NO_GUEST);

	pte_set(F, t, pt_index(F, l, F->switcher_base),
		((pte_t)switcher_guest_pt() << PAGE_SHIFT) | pt_link_flags(F, l));
}

bool shadow_init(struct guest *g)
{
	struct shadow *s = &g->shadow;

	s->linear = true;
	s->top = shadow_frame(g);
	if (s->top == MFN_NONE || !fill_top(g, mfn_to_virt(s->top)))
		return false;
	link_switcher(mfn_to_virt(s->top));
	return true;
}

void shadow_destroy(struct guest *g)
{
	struct shadow *s = &g->shadow;

	if (!s->top || s->top == MFN_NONE)
		return;
	pt_free_tree(F, s->top, 0, is_switcher, NULL);
	s->top = MFN_NONE;
}

void shadow_print_stats(const struct guest *g)
{
	kprintf("umbra: guest \"%s\": shadow faults %llu, reflected faults %llu, shadow pages %u\n",
		g->name, g->shadow.faults, g->exits[EXIT_REFLECTED],
		frame_count_owned(FRAME_SHADOW, g->id));
}

u32 shadow_cr3(const struct guest *g)
{
	return g->shadow.top << PAGE_SHIFT;
}

static bool linear_ok(const struct guest *g, gva_t va)
{
	return va >= PAGE_SIZE && va < g->mem_bytes;
}

bool shadow_translate(struct guest *g, gva_t va, bool write, gpa_t *gpa)
{
	(void)write;
	if (!linear_ok(g, va))
		return false;
	*gpa = va;
	return true;
}

bool shadow_fault(struct guest *g, gva_t va, u32 errcode)
{
	unsigned leaf = F->levels - 1;
	void *t;
	pte_t old;

	(void)errcode;
	if (!linear_ok(g, va))
		return false;
	t = pt_table_at(F, mfn_to_virt(g->shadow.top), leaf, va, true, FRAME_SHADOW, g->id);
	if (!t) {
		guest_kill(g, "out of memory for shadow page tables at 0x%x", va);
		return true;
	}
	old = pte_get(F, t, pt_index(F, leaf, va));
	if (old & PTE_P)
		return false;
	pte_set(F, t, pt_index(F, leaf, va),
		((pte_t)guest_p2m(g, va >> PAGE_SHIFT) << PAGE_SHIFT) | LINEAR_FLAGS);
	g->shadow.faults++;
	return true;
}
