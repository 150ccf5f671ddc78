/*
 * The mapping window (see window.h): a leaf table of the hypervisor's own,
 * whose entries are rewritten as frames above the one-to-one map are
 * needed. A small hint table, indexed by frame number, finds a frame still
 * in the ring without a search; a miss takes the ring's next slot. The
 * window's entries are not global, and each rewrite is followed by an
 * invlpg of its address (Intel SDM vol. 3, 4.10.4.1), so no stale
 * translation of a slot survives the change.
 */
#include "window.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/paging.h"
#include "frame.h"
#include "../lib/panic.h"

static void *leaf;
static mfn_t slot_mfn[WINDOW_SLOTS];
static u16 hint[WINDOW_SLOTS];		/* for frame m: the ring slot that last held it */
static unsigned next = WINDOW_PINS;

static inline u32 slot_va(unsigned s)
{
	return WINDOW_BASE + s * PAGE_SIZE;
}

void window_init(void *leaf_table)
{
	leaf = leaf_table;
	for (unsigned s = 0; s < WINDOW_SLOTS; s++) {
		slot_mfn[s] = MFN_NONE;
		hint[s] = WINDOW_PINS;
	}
}

static void *slot_set(unsigned s, mfn_t m)
{
	const struct pt_format *f = &pt_native;
	u32 va = slot_va(s);

	slot_mfn[s] = m;
	pte_set(f, leaf, pt_index(f, f->leaf, va),
		(pte_t)m << PAGE_SHIFT | PTE_P | PTE_W | PTE_A | PTE_D);
	invlpg(va);
	return (void *)(uintptr_t)va;
}

void *window_map(mfn_t m)
{
	unsigned h = m % WINDOW_SLOTS, s = hint[h];

	if (slot_mfn[s] == m)
		return (void *)(uintptr_t)slot_va(s);
	s = next;
	next = next + 1 < WINDOW_SLOTS ? next + 1 : WINDOW_PINS;
	hint[h] = (u16)s;
	return slot_set(s, m);
}

void *window_pin(unsigned pin, mfn_t m)
{
	BUG_ON(pin >= WINDOW_PINS);
	if (m < frames_direct)
		return mfn_to_virt(m);
	return slot_set(pin, m);
}
